//! The config file's schema as written: sections, field names, defaults. Values stay as the file spells them
//! (numbers as `u64`, addresses as text) so that validation can check them all and report every problem,
//! not only the first.
//! `deny_unknown_fields` everywhere: a misspelt field is an error, not a silent default.

use serde::{Deserialize, Serialize};

use crate::balancing::{BackendState, Protocol, RemovedBackendPolicy, DEFAULT_MAGLEV_SIZE};
use crate::l7::{L7Config, L7Timeouts};
use crate::model::{LogLevel, DEFAULT_ADMIN_SOCKET};

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a mapping of config sections")]
pub(crate) struct FileConfig {
    #[serde(default)]
    pub eal: FileEal,
    pub workers: FileWorkers,
    #[serde(default)]
    pub mbufs: FileMbufs,
    pub ports: Vec<FilePort>,
    #[serde(default)]
    pub routes: Vec<FileRoute>,
    #[serde(default)]
    pub vips: Vec<String>,
    #[serde(default)]
    pub neighbours: FileNeighbours,
    #[serde(default)]
    pub admin: FileAdmin,
    #[serde(default)]
    pub l4: FileL4,
    #[serde(default)]
    pub l7: FileL7,
    #[serde(default)]
    pub pools: Vec<FilePool>,
    #[serde(default)]
    pub listeners: Vec<FileListener>,
}

/// `eal:`, every field optional.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "a mapping of eal settings")]
pub(crate) struct FileEal {
    pub file_prefix: String,
    pub main_lcore: u64,
    pub hugepages: bool,
    pub memory_mb: u64,
    pub in_memory: bool,
    pub log_level: LogLevel,
    pub extra_args: Vec<String>,
}

impl Default for FileEal {
    fn default() -> Self {
        Self {
            file_prefix: "edgelb".into(),
            main_lcore: 0,
            hugepages: false,
            memory_mb: 1024,
            in_memory: false,
            log_level: LogLevel::Notice,
            extra_args: Vec::new(),
        }
    }
}

/// `workers:`; `lcores` is required.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a mapping of worker settings")]
pub(crate) struct FileWorkers {
    pub lcores: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<std::collections::BTreeMap<u64, u64>>,
    #[serde(default = "default_burst")]
    pub burst: u64,
    #[serde(default = "default_idle_sleep_us")]
    pub idle_sleep_us: u64,
}

fn default_burst() -> u64 {
    32
}

fn default_idle_sleep_us() -> u64 {
    0
}

/// `mbufs:`, every field optional.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "a mapping of mbuf settings")]
pub(crate) struct FileMbufs {
    pub per_port: u64,
    pub cache: u64,
}

impl Default for FileMbufs {
    fn default() -> Self {
        Self {
            per_port: 8192,
            cache: 256,
        }
    }
}

/// One entry of `ports:`; `name` and `device` are required.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a mapping of port settings")]
pub(crate) struct FilePort {
    pub name: String,
    pub device: FileDevice,
    #[serde(default)]
    pub ipv4: Vec<String>,
    #[serde(default)]
    pub ipv6: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u64>,
    #[serde(default = "default_mtu")]
    pub mtu: u64,
    #[serde(default = "default_desc")]
    pub rx_desc: u64,
    #[serde(default = "default_desc")]
    pub tx_desc: u64,
    #[serde(default)]
    pub promiscuous: bool,
}

fn default_mtu() -> u64 {
    1500
}

fn default_desc() -> u64 {
    1024
}

/// `device:` of a port: exactly one of the two.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with vdev or pci")]
pub(crate) struct FileDevice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vdev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci: Option<String>,
}

/// One entry of `routes:`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with to, via and port")]
pub(crate) struct FileRoute {
    pub to: String,
    pub via: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
}

/// `neighbours:`, every field optional.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(
    default,
    deny_unknown_fields,
    expecting = "a mapping of neighbour settings"
)]
pub(crate) struct FileNeighbours {
    pub reachable_s: u64,
    pub stale_gc_s: u64,
    pub retransmit_ms: u64,
    pub max_probes: u64,
    pub queue_per_neighbour: u64,
    pub queue_total: u64,
}

impl Default for FileNeighbours {
    fn default() -> Self {
        Self {
            reachable_s: 30,
            stale_gc_s: 300,
            retransmit_ms: 1000,
            max_probes: 3,
            queue_per_neighbour: 8,
            queue_total: 256,
        }
    }
}

/// `admin:`, every field optional.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(
    default,
    deny_unknown_fields,
    expecting = "a mapping of admin settings"
)]
pub(crate) struct FileAdmin {
    pub socket: String,
}

impl Default for FileAdmin {
    fn default() -> Self {
        Self {
            socket: DEFAULT_ADMIN_SOCKET.into(),
        }
    }
}

/// `l4:`, every field optional.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "a mapping of l4 settings")]
pub(crate) struct FileL4 {
    pub maglev_size: u64,
    pub maglev_seed: u64,
    pub flows_per_core: u64,
    pub max_new_flows_per_core_per_sec: u64,
    pub timeouts: FileTimeouts,
    pub on_backend_removed: RemovedBackendPolicy,
    pub mss_clamp: Option<u64>,
    pub snat: FileSnat,
}

impl Default for FileL4 {
    fn default() -> Self {
        Self {
            maglev_size: DEFAULT_MAGLEV_SIZE.into(),
            maglev_seed: 0,
            flows_per_core: 262_144,
            max_new_flows_per_core_per_sec: 500_000,
            timeouts: FileTimeouts::default(),
            on_backend_removed: RemovedBackendPolicy::Reset,
            mss_clamp: None,
            snat: FileSnat::default(),
        }
    }
}

/// `l4.timeouts:` in seconds, every field optional.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(
    default,
    deny_unknown_fields,
    expecting = "a mapping of timeouts in seconds"
)]
pub(crate) struct FileTimeouts {
    pub tcp_syn: u64,
    pub tcp_established: u64,
    pub tcp_fin: u64,
    pub tcp_closed: u64,
    pub udp: u64,
}

impl Default for FileTimeouts {
    fn default() -> Self {
        Self {
            tcp_syn: 30,
            tcp_established: 900,
            tcp_fin: 120,
            tcp_closed: 10,
            udp: 300,
        }
    }
}

/// `l4.snat:`, every field optional.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "a mapping of snat settings")]
pub(crate) struct FileSnat {
    pub ipv4: Vec<String>,
    pub ipv6: Vec<String>,
    pub ports: String,
}

impl Default for FileSnat {
    fn default() -> Self {
        Self {
            ipv4: Vec::new(),
            ipv6: Vec::new(),
            ports: "1024-65535".into(),
        }
    }
}

/// `l7:`, every field optional.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "a mapping of l7 settings")]
pub(crate) struct FileL7 {
    pub max_connections_per_core: u64,
    pub idle_upstreams_per_backend: u64,
    pub max_request_head: u64,
    pub max_request_body: u64,
    pub client_buffers: FileBuffers,
    pub upstream_buffers: FileBuffers,
    pub timeouts: FileL7Timeouts,
}

impl Default for FileL7 {
    fn default() -> Self {
        Self::from(&L7Config::default())
    }
}

/// `l7.client_buffers:` and `l7.upstream_buffers:` in bytes. Each field is optional; the two sections have
/// different defaults, so a missing one is filled in by validation, from the section it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(
    default,
    deny_unknown_fields,
    expecting = "a mapping with rx and tx in bytes"
)]
pub(crate) struct FileBuffers {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rx: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx: Option<u64>,
}

/// `l7.timeouts:` in seconds, every field optional.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(
    default,
    deny_unknown_fields,
    expecting = "a mapping of timeouts in seconds"
)]
pub(crate) struct FileL7Timeouts {
    pub header: u64,
    pub keepalive: u64,
    pub connect: u64,
    pub idle: u64,
}

impl Default for FileL7Timeouts {
    fn default() -> Self {
        L7Timeouts::default().into()
    }
}

/// One entry of `pools:`; `name` is required.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with name and backends")]
pub(crate) struct FilePool {
    pub name: String,
    #[serde(default)]
    pub backends: Vec<FileBackend>,
}

/// One backend of a pool; `address` and `port` are required.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with address, port, weight and state"
)]
pub(crate) struct FileBackend {
    pub address: String,
    pub port: u64,
    #[serde(default = "default_weight")]
    pub weight: u64,
    #[serde(default = "default_backend_state")]
    pub state: BackendState,
}

fn default_weight() -> u64 {
    1
}

fn default_backend_state() -> BackendState {
    BackendState::Active
}

/// One entry of `listeners:`; all but the affinity settings are required.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a mapping of listener settings")]
pub(crate) struct FileListener {
    pub name: String,
    pub vip: String,
    pub port: u64,
    pub protocol: Protocol,
    pub pool: String,
    #[serde(default = "default_affinity")]
    pub affinity: FileAffinity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity_timeout: Option<u64>,
}

/// `affinity:` of a listener as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum FileAffinity {
    None,
    ClientIp,
}

fn default_affinity() -> FileAffinity {
    FileAffinity::None
}
