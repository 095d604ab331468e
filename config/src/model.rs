//! The validated appliance config: what `edgelb-dataplane` runs with once [`crate::parse`] accepted a file.
//!
//! Every value here has passed the checks that `config/README.md` lists; the types carry the meaning
//! (addresses, prefixes, durations) so the appliance never parses text again.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::balancing::{L4Config, ListenerConfig, PoolConfig};
use crate::cidr::{IpCidr, Ipv4Cidr, Ipv6Cidr};
use crate::l7::L7Config;
use crate::pci::PciAddress;

/// Most packets a worker receives in one `rx_burst`; workers may size stack arrays with it.
pub const MAX_BURST: u16 = 64;
/// DPDK's `RTE_MAX_LCORE` in the distribution's build: lcore ids are below it.
pub const MAX_LCORES: u32 = 128;
/// DPDK's `RTE_MAX_ETHPORTS` in the distribution's build.
pub const MAX_PORTS: usize = 32;
/// The admin socket when the file names none.
pub const DEFAULT_ADMIN_SOCKET: &str = "/run/edgelb/dataplane.sock";

/// The whole appliance config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplianceConfig {
    /// DPDK's environment abstraction layer.
    pub eal: EalConfig,
    /// The worker lcores and how they poll.
    pub workers: WorkersConfig,
    /// Packet buffer pools.
    pub mbufs: MbufConfig,
    /// The ports, in file order; their index is the appliance's port number.
    pub ports: Vec<PortConfig>,
    /// Static routes beyond the connected prefixes.
    pub routes: Vec<Route>,
    /// Extra addresses the appliance owns and answers ARP/ND and ping for; see
    /// [`ApplianceConfig::owned_vips`] for these with the listeners' VIPs.
    pub vips: Vec<IpAddr>,
    /// Neighbour (ARP/ND) cache behaviour.
    pub neighbours: NeighbourConfig,
    /// The admin API.
    pub admin: AdminConfig,
    /// L4 balancing settings: Maglev, flow tables, FullNAT.
    pub l4: L4Config,
    /// L7 proxy settings: per-core connection limit, request limits, buffers, timeouts.
    pub l7: L7Config,
    /// Named pools of backends, in file order.
    pub pools: Vec<PoolConfig>,
    /// L4 listeners, in file order; their pools exist and match their VIP's family.
    pub listeners: Vec<ListenerConfig>,
}

impl ApplianceConfig {
    /// The port called `name` and its index.
    pub fn port(&self, name: &str) -> Option<(usize, &PortConfig)> {
        self.ports
            .iter()
            .enumerate()
            .find(|(_, port)| port.name == name)
    }
}

/// DPDK EAL settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EalConfig {
    /// `--file-prefix`: two instances on one machine need different ones.
    pub file_prefix: String,
    /// `--main-lcore`: the lcore of the management thread.
    pub main_lcore: u32,
    /// Hugepages; without them `--no-huge` and `memory_mb` of ordinary memory.
    pub hugepages: bool,
    /// `-m`: memory for DPDK, in MiB.
    pub memory_mb: u32,
    /// `--in-memory`: no runtime files at all.
    pub in_memory: bool,
    /// `--log-level`.
    pub log_level: LogLevel,
    /// More EAL arguments, passed verbatim after the ones this config sets.
    pub extra_args: Vec<String>,
}

/// DPDK's log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// System is unusable.
    Emerg,
    /// Action must be taken immediately.
    Alert,
    /// Critical conditions.
    Crit,
    /// Error conditions.
    Error,
    /// Warning conditions.
    Warning,
    /// Normal but significant.
    Notice,
    /// Informational.
    Info,
    /// Debugging.
    Debug,
}

impl LogLevel {
    /// DPDK's number for the level (`RTE_LOG_EMERG` = 1 … `RTE_LOG_DEBUG` = 8).
    pub fn rte_level(self) -> u32 {
        match self {
            Self::Emerg => 1,
            Self::Alert => 2,
            Self::Crit => 3,
            Self::Error => 4,
            Self::Warning => 5,
            Self::Notice => 6,
            Self::Info => 7,
            Self::Debug => 8,
        }
    }
}

/// Worker lcores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkersConfig {
    /// Worker lcore ids, unique, none equal to the main lcore; each port gets one rx and one tx queue per
    /// worker, in this order.
    pub lcores: Vec<u32>,
    /// lcore → CPU, for lcores that do not run on the CPU of their own number (`--lcores 2@1`); empty when
    /// every lcore runs on its own CPU.
    pub cpus: BTreeMap<u32, u32>,
    /// Packets per `rx_burst`, 1..=[`MAX_BURST`].
    pub burst: u16,
    /// How long an idle worker sleeps after many empty polls; zero busy-polls.
    pub idle_sleep: Duration,
}

impl WorkersConfig {
    /// The CPU that `lcore` runs on.
    pub fn cpu_of(&self, lcore: u32) -> u32 {
        self.cpus.get(&lcore).copied().unwrap_or(lcore)
    }
}

/// Packet buffer pools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MbufConfig {
    /// Mbufs in each port's mempool.
    pub per_port: u32,
    /// Per-lcore cache of each mempool.
    pub cache: u32,
}

/// One DPDK port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// The port's name in config, logs and metrics; also the exception-path TAP interface's name.
    pub name: String,
    /// The DPDK device behind the port.
    pub device: Device,
    /// IPv4 addresses with their connected prefixes.
    pub ipv4: Vec<Ipv4Cidr>,
    /// IPv6 addresses with their connected prefixes.
    pub ipv6: Vec<Ipv6Cidr>,
    /// 802.1Q VLAN id, when the port's traffic is tagged.
    pub vlan: Option<u16>,
    /// IP MTU in bytes.
    pub mtu: u16,
    /// Receive descriptors per queue.
    pub rx_desc: u16,
    /// Transmit descriptors per queue.
    pub tx_desc: u16,
    /// Receive frames for any MAC address.
    pub promiscuous: bool,
}

impl PortConfig {
    /// The port's prefixes, IPv4 first.
    pub fn prefixes(&self) -> impl Iterator<Item = IpCidr> + '_ {
        self.ipv4
            .iter()
            .map(|&c| IpCidr::V4(c))
            .chain(self.ipv6.iter().map(|&c| IpCidr::V6(c)))
    }

    /// Whether `ip` is one of the port's own addresses.
    pub fn owns(&self, ip: IpAddr) -> bool {
        self.prefixes().any(|prefix| prefix.addr() == ip)
    }
}

/// The device behind a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Device {
    /// A virtual device, as `--vdev` takes it: `net_af_packet0,iface=p0,qpairs=1`.
    Vdev(String),
    /// A PCI NIC, bound to vfio-pci.
    Pci(PciAddress),
}

impl Device {
    /// The name DPDK gives the device, for `rte_eth_dev_get_port_by_name`: the vdev's name before its
    /// first comma, or the full PCI address.
    pub fn dpdk_name(&self) -> String {
        match self {
            Self::Vdev(spec) => spec.split(',').next().unwrap_or(spec).to_owned(),
            Self::Pci(address) => address.to_string(),
        }
    }
}

/// A static route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The destination prefix (host bits zero).
    pub to: IpCidr,
    /// The gateway, of the same family as `to`.
    pub via: IpAddr,
    /// The name of the port the gateway is reached through.
    pub port: String,
}

/// Neighbour (ARP/ND) cache behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighbourConfig {
    /// How long a confirmed neighbour stays reachable without new confirmation.
    pub reachable: Duration,
    /// How long an unused stale entry stays before it is removed.
    pub stale_gc: Duration,
    /// Time between resolution probes.
    pub retransmit: Duration,
    /// Probes before a neighbour is declared unreachable.
    pub max_probes: u8,
    /// Packets held per neighbour while it is being resolved.
    pub queue_per_neighbour: usize,
    /// Packets held for all unresolved neighbours together.
    pub queue_total: usize,
}

/// The admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// Path of the Unix socket (mode 0600) that serves status and takes snapshots.
    pub socket: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vdev_name_is_the_part_before_the_first_comma() {
        let vdev = Device::Vdev("net_af_packet0,iface=p0,qpairs=1".into());
        assert_eq!(vdev.dpdk_name(), "net_af_packet0");
        assert_eq!(Device::Vdev("net_null0".into()).dpdk_name(), "net_null0");
        let pci = Device::Pci(PciAddress {
            domain: 0,
            bus: 0x3b,
            device: 0,
            function: 1,
        });
        assert_eq!(pci.dpdk_name(), "0000:3b:00.1");
    }

    #[test]
    fn cpu_of_defaults_to_the_lcore_number() {
        let workers = WorkersConfig {
            lcores: vec![1, 2],
            cpus: BTreeMap::from([(2, 1)]),
            burst: 32,
            idle_sleep: Duration::ZERO,
        };
        assert_eq!((workers.cpu_of(1), workers.cpu_of(2)), (1, 1));
    }

    #[test]
    fn log_levels_have_dpdk_numbers() {
        assert_eq!(LogLevel::Emerg.rte_level(), 1);
        assert_eq!(LogLevel::Notice.rte_level(), 6);
        assert_eq!(LogLevel::Debug.rte_level(), 8);
    }
}
