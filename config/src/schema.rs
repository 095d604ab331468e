//! The config file's schema as written: sections, field names, defaults. Values stay as the file spells them
//! (numbers as `u64`, addresses as text) so that validation can check them all and report every problem,
//! not only the first.
//! `deny_unknown_fields` everywhere: a misspelt field is an error, not a silent default.

use serde::{Deserialize, Serialize};

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
