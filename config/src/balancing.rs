//! The validated L4 balancing config: listeners (VIP, port, protocol) that send their flows to named pools
//! of backends, and the `l4` settings of the Maglev tables, the per-core flow tables and FullNAT.
//!
//! Pools are named and kept apart from listeners so that L7 routes (issue 4) can share them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::ApplianceConfig;

/// The Maglev table size when the file gives none: a prime, about 5× fewer moved flows than 4093.
pub const DEFAULT_MAGLEV_SIZE: u32 = 65_537;
/// The `affinity_timeout` of `affinity: client-ip` when the file gives none (Kubernetes' default).
pub const DEFAULT_AFFINITY_TIMEOUT: Duration = Duration::from_secs(10_800);

/// A VIP:port/protocol balanced over a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Unique among listeners; names it in logs and metrics.
    pub name: String,
    /// The address clients connect to; the appliance owns it (answers ARP/ND and ping).
    pub vip: IpAddr,
    /// The destination port, 1..=65535.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The name of the pool whose backends serve this listener; they are all of the VIP's family.
    pub pool: String,
    /// What the Maglev hash is computed over.
    pub affinity: Affinity,
}

/// The transport protocol of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (IP protocol 17).
    Udp,
}

impl Protocol {
    /// The IP protocol number.
    pub fn ip_protocol(self) -> u8 {
        match self {
            Self::Tcp => 6,
            Self::Udp => 17,
        }
    }

    /// The name as the config writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What picks a new flow's backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Affinity {
    /// The 5-tuple's hash: every flow on its own.
    None,
    /// The client's address only (Kubernetes `sessionAffinity: ClientIP`, IPVS `sh`); a client keeps its
    /// backend for `timeout` after its last flow.
    ClientIp {
        /// How long the choice is kept, 1 s..=86400 s.
        timeout: Duration,
    },
}

/// A named set of backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Unique among pools; listeners (and later L7 routes) refer to it.
    pub name: String,
    /// The backends, unique by (address, port); may be empty (a listener then drops and counts).
    pub backends: Vec<BackendConfig>,
}

/// One backend of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackendConfig {
    /// The backend's address: not one the appliance owns, and reachable (connected or routed).
    pub address: IpAddr,
    /// The backend's port, 1..=65535.
    pub port: u16,
    /// Share of new flows, 0..=65535; 0 takes no new flows.
    pub weight: u32,
    /// Whether it takes new flows.
    pub state: BackendState,
}

impl BackendConfig {
    /// Whether Maglev gives the backend table slots: active with a weight.
    pub fn takes_new_flows(&self) -> bool {
        self.state == BackendState::Active && self.weight > 0
    }
}

/// A backend's administrative state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendState {
    /// Takes new flows (by weight) and keeps its established ones.
    Active,
    /// Takes no new flows; its established flows go on until they end.
    Draining,
}

/// The `l4` section: Maglev, flow tables, FullNAT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L4Config {
    /// Maglev lookup table size per listener: a prime in 251..=1_000_003.
    pub maglev_size: u32,
    /// Maglev hash seed; the same on every appliance behind one ECMP group gives the same tables.
    pub maglev_seed: u64,
    /// Flow table capacity per worker core, 1024..=16_777_216 (fixed at start; a reload keeps it).
    pub flows_per_core: u32,
    /// Cap on flows a worker core creates per second (SYN floods); 0 is unlimited.
    pub max_new_flows_per_core_per_sec: u32,
    /// Idle timeouts of flows.
    pub timeouts: FlowTimeouts,
    /// What happens to a removed backend's established flows.
    pub on_backend_removed: RemovedBackendPolicy,
    /// Clamp the MSS option of SYNs toward backends to this, 536..=9000; `None` leaves it.
    pub mss_clamp: Option<u16>,
    /// Source addresses and ports of FullNAT.
    pub snat: SnatConfig,
}

impl Default for L4Config {
    /// The defaults that an absent `l4` section gives.
    fn default() -> Self {
        Self {
            maglev_size: DEFAULT_MAGLEV_SIZE,
            maglev_seed: 0,
            flows_per_core: 262_144,
            max_new_flows_per_core_per_sec: 500_000,
            timeouts: FlowTimeouts::default(),
            on_backend_removed: RemovedBackendPolicy::Reset,
            mss_clamp: None,
            snat: SnatConfig::default(),
        }
    }
}

/// Idle timeouts of flows by TCP state, and of UDP flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowTimeouts {
    /// A TCP flow that has seen a SYN but no handshake completion.
    pub tcp_syn: Duration,
    /// An established TCP flow.
    pub tcp_established: Duration,
    /// A TCP flow after the first FIN.
    pub tcp_fin: Duration,
    /// A TCP flow after an RST or both FINs.
    pub tcp_closed: Duration,
    /// A UDP flow.
    pub udp: Duration,
}

impl Default for FlowTimeouts {
    fn default() -> Self {
        Self {
            tcp_syn: Duration::from_secs(30),
            tcp_established: Duration::from_secs(900),
            tcp_fin: Duration::from_secs(120),
            tcp_closed: Duration::from_secs(10),
            udp: Duration::from_secs(300),
        }
    }
}

/// What happens to the established flows of a backend that left its pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemovedBackendPolicy {
    /// TCP flows get an RST both ways; UDP flows are dropped.
    Reset,
    /// Their packets are dropped silently.
    Drop,
}

/// FullNAT's source addresses and ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnatConfig {
    /// IPv4 source addresses; empty: the egress port's first IPv4 address. Each is a port address or on a
    /// port's connected prefix.
    pub ipv4: Vec<Ipv4Addr>,
    /// IPv6 source addresses; empty: the egress port's first IPv6 address.
    pub ipv6: Vec<Ipv6Addr>,
    /// Source ports, shared out among the worker cores.
    pub ports: PortRange,
}

impl Default for SnatConfig {
    fn default() -> Self {
        Self {
            ipv4: Vec::new(),
            ipv6: Vec::new(),
            ports: PortRange {
                lo: 1024,
                hi: 65_535,
            },
        }
    }
}

/// An inclusive range of ports, `lo < hi`, written `LO-HI`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// The first port, at least 1.
    pub lo: u16,
    /// The last port.
    pub hi: u16,
}

impl PortRange {
    /// How many ports it holds.
    pub fn len(&self) -> u32 {
        u32::from(self.hi).saturating_sub(u32::from(self.lo)) + 1
    }

    /// Never: a valid range holds at least two ports (for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.hi < self.lo
    }

    /// Whether `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.lo..=self.hi).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.lo, self.hi)
    }
}

impl ApplianceConfig {
    /// Every address the appliance answers ARP/ND and ping for as a VIP: `vips`, then the listeners' VIPs
    /// not already there, each once, in file order.
    pub fn owned_vips(&self) -> Vec<IpAddr> {
        let mut owned: Vec<IpAddr> = Vec::with_capacity(self.vips.len() + self.listeners.len());
        let all = self
            .vips
            .iter()
            .copied()
            .chain(self.listeners.iter().map(|l| l.vip));
        for vip in all {
            if !owned.contains(&vip) {
                owned.push(vip);
            }
        }
        owned
    }

    /// The pool called `name`.
    pub fn pool(&self, name: &str) -> Option<&PoolConfig> {
        self.pools.iter().find(|pool| pool.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::test_support::{base_config, BASE};

    #[test]
    fn owned_vips_merge_vips_and_listener_vips_once_in_order() {
        let owned = |config: ApplianceConfig| -> Vec<String> {
            config
                .owned_vips()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            owned(base_config(BASE)),
            ["198.18.10.10", "2001:2:0:10::10", "198.18.10.11"]
        );
        let text = BASE.replace("  - 198.18.10.10\n", "");
        assert_eq!(
            owned(base_config(&text)),
            ["2001:2:0:10::10", "198.18.10.10", "198.18.10.11"]
        );
    }

    #[test]
    fn pool_by_name() {
        let config = base_config(BASE);
        assert_eq!(config.pool("pool-http6").map(|p| p.backends.len()), Some(1));
        assert!(config.pool("missing").is_none());
    }

    #[test]
    fn port_range_len_and_display() {
        let range = PortRange {
            lo: 1024,
            hi: 65_535,
        };
        assert_eq!(
            (range.len(), range.to_string()),
            (64_512, "1024-65535".to_owned())
        );
        assert!(range.contains(1024) && range.contains(65_535) && !range.contains(1023));
        assert!(!range.is_empty());
    }

    #[test]
    fn protocol_numbers_and_names() {
        assert_eq!(
            (Protocol::Tcp.ip_protocol(), Protocol::Udp.ip_protocol()),
            (6, 17)
        );
        assert_eq!(Protocol::Udp.to_string(), "udp");
    }

    #[test]
    fn only_active_weighted_backends_take_new_flows() {
        let backend = BackendConfig {
            address: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 11)),
            port: 80,
            weight: 1,
            state: BackendState::Active,
        };
        assert!(backend.takes_new_flows());
        assert!(!BackendConfig {
            weight: 0,
            ..backend
        }
        .takes_new_flows());
        assert!(!BackendConfig {
            state: BackendState::Draining,
            ..backend
        }
        .takes_new_flows());
    }
}
