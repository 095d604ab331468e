//! The immutable configuration a worker runs with.
//!
//! The appliance builds a [`Snapshot`] from its YAML configuration, checks it with
//! [`Snapshot::validate`], and hands the same `Arc` to every worker; a new one is swapped in between
//! bursts. Nothing here is read on a path that could fail: whatever the fast path relies on
//! (port indices fit `u16`, routes name existing ports) is checked once, here.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::time::Duration;

use crate::l4::snat::SnatSources;
use crate::l4::L4Snapshot;
use crate::l7::snapshot::L7Snapshot;
use crate::maglev::MaglevError;
use crate::PortId;
use std::collections::HashSet;
use std::sync::Arc;

/// Immutable configuration the workers run with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// The appliance's ports; a [`PortId`] is an index into this list.
    pub ports: Vec<PortSpec>,
    /// Static routes. Connected routes come from the port prefixes.
    pub routes: Vec<Route>,
    /// Virtual addresses the appliance answers for on every port.
    pub vips: Vec<IpAddr>,
    /// Neighbour (ARP/ND) timers and queue limits.
    pub neighbour: NeighbourTimers,
    /// L4 listeners, pools and settings (built with [`L4Snapshot::build`]). Listener VIPs and
    /// configured SNAT addresses are owned like `vips`.
    pub l4: L4Snapshot,
    /// L7 (HTTP/HTTPS) listeners, their routers and TLS configs, and their pools (built with
    /// [`L7Snapshot::build`]). Listener VIPs are owned like `vips`.
    pub l7: Arc<L7Snapshot>,
}

/// One port of the appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// A name for logs and counters.
    pub name: String,
    /// The port's Ethernet address.
    pub mac: [u8; 6],
    /// The 802.1Q VLAN the port lives in: frames must carry this tag, and every frame sent carries it.
    pub vlan: Option<u16>,
    /// The port's IP MTU.
    pub mtu: u16,
    /// IPv4 addresses with their prefix lengths (each one also makes a connected route).
    pub ipv4: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses with their prefix lengths (each one also makes a connected route). The port's
    /// EUI-64 link-local address is added by the engine and need not be listed.
    pub ipv6: Vec<(Ipv6Addr, u8)>,
}

/// A static route; connected routes come from the port prefixes and need not be listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The destination prefix (host bits are ignored).
    pub prefix: IpAddr,
    /// Its length in bits.
    pub prefix_len: u8,
    /// The port to send through.
    pub port: PortId,
    /// The next hop, or None when destinations are on the link.
    pub gateway: Option<IpAddr>,
}

/// Neighbour resolution timers and the limits on packets waiting for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighbourTimers {
    /// How long a confirmed entry stays reachable before it turns stale (and is re-probed on use).
    pub reachable: Duration,
    /// Entries not used (nor confirmed) for this long are removed.
    pub stale_gc: Duration,
    /// Interval between requests while resolving or probing.
    pub retransmit: Duration,
    /// Requests sent (the first included) before a resolution or probe gives up.
    pub max_probes: u8,
    /// Packets that may wait for one neighbour.
    pub queue_per_neighbour: usize,
    /// Packets that may wait for all neighbours together (also bounded by [`crate::Capacity`]).
    pub queue_total: usize,
}

impl Default for NeighbourTimers {
    fn default() -> Self {
        Self {
            reachable: Duration::from_secs(30),
            stale_gc: Duration::from_secs(60),
            retransmit: Duration::from_secs(1),
            max_probes: 3,
            queue_per_neighbour: 8,
            queue_total: 256,
        }
    }
}

/// Why a snapshot was rejected; each variant names the offending item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// More ports than a [`PortId`] can index.
    #[error("{0} ports: at most 65535 are supported")]
    TooManyPorts(usize),
    /// A port MAC that is zero, multicast or broadcast.
    #[error("port {port}: MAC address must be a non-zero unicast address")]
    BadMac { port: String },
    /// A VLAN id outside 1..=4094.
    #[error("port {port}: VLAN id {vlan} is outside 1..=4094")]
    BadVlan { port: String, vlan: u16 },
    /// An MTU below IPv4's minimum, or below IPv6's where the port has IPv6 addresses.
    #[error("port {port}: MTU {mtu} is too small")]
    MtuTooSmall { port: String, mtu: u16 },
    /// A port address that cannot be one (unspecified, multicast, broadcast, loopback).
    #[error("port {port}: {addr} cannot be a port address")]
    BadPortAddress { port: String, addr: IpAddr },
    /// A prefix length longer than the address.
    #[error("{what}: prefix length {len} is too long")]
    BadPrefixLen { what: String, len: u8 },
    /// A route through a port that does not exist.
    #[error("route {prefix}/{len}: port {port} does not exist")]
    RouteUnknownPort { prefix: IpAddr, len: u8, port: u16 },
    /// A route whose gateway is of the other address family.
    #[error("route {prefix}/{len}: gateway {gateway} is of the other address family")]
    RouteGatewayFamily {
        prefix: IpAddr,
        len: u8,
        gateway: IpAddr,
    },
    /// A VIP that cannot be one (unspecified, multicast, broadcast, loopback).
    #[error("VIP {0} cannot be a virtual address")]
    BadVip(IpAddr),
    /// Timers the neighbour machinery cannot run with.
    #[error("neighbour timers: {0}")]
    BadTimers(&'static str),
    /// A listener naming a pool that does not exist.
    #[error("listener {listener}: pool {pool} does not exist")]
    UnknownPool { listener: String, pool: usize },
    /// A listener with port 0 or a zero affinity timeout.
    #[error("listener {listener}: port must be above 0 and an affinity timeout above zero")]
    BadListener { listener: String },
    /// Two listeners with the same VIP, port and protocol.
    #[error("listener {listener}: another listener has the same VIP, port and protocol")]
    DuplicateListener { listener: String },
    /// A backend of the other address family than its listener's VIP.
    #[error("listener {listener}: backend {backend} is of the other address family")]
    BackendFamily {
        listener: String,
        backend: SocketAddr,
    },
    /// A backend that cannot be one (port 0, an unassignable or owned address).
    #[error("pool {pool}: backend {backend} cannot be a backend")]
    BadBackend { pool: String, backend: SocketAddr },
    /// A pool whose Maglev table cannot be built.
    #[error("pool {pool}: {source}")]
    Maglev { pool: String, source: MaglevError },
    /// A SNAT port range that is empty or starts at 0.
    #[error("SNAT ports {lo}-{hi}: the range must be non-empty and start above 0")]
    BadSnatPorts { lo: u16, hi: u16 },
    /// A SNAT address that cannot be one.
    #[error("SNAT address {0} cannot be an address of the appliance")]
    BadSnatAddress(IpAddr),
    /// An MSS clamp of 0.
    #[error("MSS clamp must be above 0")]
    BadMssClamp,
    /// RSS with a key shorter than 40 bytes or an empty redirection table.
    #[error("port {port}: RSS needs a key of at least 40 bytes and a non-empty redirection table")]
    BadRss { port: usize },
    /// RSS given for a port that does not exist.
    #[error("RSS given for {0} ports, more than exist")]
    RssUnknownPort(usize),
    /// A listener on a SNAT address whose port is in the SNAT range (its packets would be taken
    /// for return traffic).
    #[error("listener {listener}: port {port} on a SNAT address is inside the SNAT port range")]
    ListenerInSnatRange { listener: String, port: u16 },
    /// An L7 listener on the VIP, port and protocol (TCP) of an L4 listener.
    #[error("L7 listener {listener}: an L4 TCP listener has the same VIP and port")]
    L7ListenerTaken { listener: String },
    /// An L7 upstream backend at an address of the appliance.
    #[error("L7 pool {pool}: backend {backend} cannot be a backend")]
    L7BadBackend { pool: String, backend: SocketAddr },
}

/// What the appliance owns, for checking that no backend is one of its own addresses.
struct Owned {
    snat: SnatSources,
    addresses: HashSet<IpAddr>,
}

impl Owned {
    fn contains(&self, ip: IpAddr) -> bool {
        self.snat.contains(ip) || self.addresses.contains(&ip)
    }
}

impl Snapshot {
    /// Checks everything the workers rely on.
    pub fn validate(&self) -> Result<(), SnapshotError> {
        if self.ports.len() > usize::from(u16::MAX) {
            return Err(SnapshotError::TooManyPorts(self.ports.len()));
        }
        self.ports.iter().try_for_each(PortSpec::validate)?;
        self.routes
            .iter()
            .try_for_each(|r| r.validate(self.ports.len()))?;
        if let Some(vip) = self.vips.iter().find(|vip| !is_assignable(**vip)) {
            return Err(SnapshotError::BadVip(*vip));
        }
        self.neighbour.validate()?;
        let owned = Owned {
            snat: SnatSources::derive(self),
            addresses: self.owned_addresses(),
        };
        self.validate_l4(&owned)?;
        self.validate_l7(&owned)
    }

    /// Every address the appliance owns besides SNAT: one set, since a snapshot may hold 10,000 listeners and
    /// 100,000 backends to check against it.
    fn owned_addresses(&self) -> HashSet<IpAddr> {
        let mut addresses: HashSet<IpAddr> = self.vips.iter().copied().collect();
        addresses.extend(self.l4.listeners().iter().map(|l| l.vip));
        addresses.extend(self.l7.listeners().iter().map(|l| l.addr.ip()));
        for p in &self.ports {
            addresses.extend(p.ipv4.iter().map(|(a, _)| IpAddr::V4(*a)));
            addresses.extend(p.ipv6.iter().map(|(a, _)| IpAddr::V6(*a)));
        }
        addresses
    }

    /// L7 listeners clear of L4 TCP listeners and of the SNAT ranges; upstream backends not at an address
    /// of the appliance.
    fn validate_l7(&self, owned: &Owned) -> Result<(), SnapshotError> {
        let l7 = &self.l7;
        if l7.is_empty() {
            return Ok(());
        }
        let ports = self.l4.settings().snat_ports;
        for l in l7.listeners() {
            let (vip, port) = (l.addr.ip(), l.addr.port());
            if ports.contains(port) && owned.snat.contains(vip) {
                return Err(SnapshotError::ListenerInSnatRange {
                    listener: l.name.to_string(),
                    port,
                });
            }
            if self
                .l4
                .listener(vip, port, crate::flow::Proto::Tcp)
                .is_some()
            {
                return Err(SnapshotError::L7ListenerTaken {
                    listener: l.name.to_string(),
                });
            }
        }
        for pool in &l7.input().pools {
            let bad = pool.backends.iter().find(|b| {
                b.addr.port() == 0 || !is_assignable(b.addr.ip()) || owned.contains(b.addr.ip())
            });
            if let Some(b) = bad {
                return Err(SnapshotError::L7BadBackend {
                    pool: pool.name.clone(),
                    backend: b.addr,
                });
            }
        }
        Ok(())
    }

    /// What the L4 part relies on that depends on the ports (the rest is checked when it is
    /// built): RSS only for existing ports; listeners clear of the SNAT ranges on SNAT addresses;
    /// backends not at an address of the appliance.
    fn validate_l4(&self, owned: &Owned) -> Result<(), SnapshotError> {
        let l4 = &self.l4;
        if l4.rss_ports() > self.ports.len() {
            return Err(SnapshotError::RssUnknownPort(l4.rss_ports()));
        }
        let ports = l4.settings().snat_ports;
        if let Some(l) = l4
            .listeners()
            .iter()
            .find(|l| ports.contains(l.port) && owned.snat.contains(l.vip))
        {
            return Err(SnapshotError::ListenerInSnatRange {
                listener: l.name.clone(),
                port: l.port,
            });
        }
        for pool in l4.pools() {
            if let Some(b) = pool.backends().iter().find(|b| owned.contains(b.addr)) {
                return Err(SnapshotError::BadBackend {
                    pool: pool.name().to_string(),
                    backend: SocketAddr::new(b.addr, b.port),
                });
            }
        }
        Ok(())
    }

    /// The port at `port`, if it exists.
    pub fn port(&self, port: PortId) -> Option<&PortSpec> {
        self.ports.get(port.index())
    }
}

impl PortSpec {
    fn validate(&self) -> Result<(), SnapshotError> {
        let port = || self.name.clone();
        if self.mac == [0; 6] || self.mac[0] & 1 == 1 {
            return Err(SnapshotError::BadMac { port: port() });
        }
        if let Some(vlan) = self.vlan.filter(|v| !(1..=4094).contains(v)) {
            return Err(SnapshotError::BadVlan { port: port(), vlan });
        }
        let min_mtu = if self.ipv6.is_empty() { 68 } else { 1280 };
        if self.mtu < min_mtu {
            return Err(SnapshotError::MtuTooSmall {
                port: port(),
                mtu: self.mtu,
            });
        }
        let addrs = self.ipv4.iter().map(|(a, l)| (IpAddr::V4(*a), *l, 32));
        let addrs = addrs.chain(self.ipv6.iter().map(|(a, l)| (IpAddr::V6(*a), *l, 128)));
        for (addr, len, max) in addrs {
            if !is_assignable(addr) {
                return Err(SnapshotError::BadPortAddress { port: port(), addr });
            }
            if len > max {
                return Err(SnapshotError::BadPrefixLen {
                    what: format!("port {} address {addr}", self.name),
                    len,
                });
            }
        }
        Ok(())
    }
}

impl Route {
    fn validate(&self, ports: usize) -> Result<(), SnapshotError> {
        let (prefix, len) = (self.prefix, self.prefix_len);
        let max = if prefix.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(SnapshotError::BadPrefixLen {
                what: format!("route {prefix}"),
                len,
            });
        }
        if self.port.index() >= ports {
            return Err(SnapshotError::RouteUnknownPort {
                prefix,
                len,
                port: self.port.0,
            });
        }
        match self.gateway {
            Some(gateway) if gateway.is_ipv4() != prefix.is_ipv4() => {
                Err(SnapshotError::RouteGatewayFamily {
                    prefix,
                    len,
                    gateway,
                })
            }
            _ => Ok(()),
        }
    }
}

impl NeighbourTimers {
    fn validate(&self) -> Result<(), SnapshotError> {
        if self.retransmit.is_zero() {
            return Err(SnapshotError::BadTimers("retransmit must be above zero"));
        }
        if self.max_probes == 0 {
            return Err(SnapshotError::BadTimers("max_probes must be at least 1"));
        }
        Ok(())
    }
}

/// Whether `addr` can be assigned to this box (a port address or a VIP).
pub(crate) fn is_assignable(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => {
            !(a.is_unspecified() || a.is_multicast() || a.is_broadcast() || a.is_loopback())
        }
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast() || a.is_loopback()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port() -> PortSpec {
        PortSpec {
            name: "p0".into(),
            mac: [2, 0, 0, 0, 0, 1],
            vlan: None,
            mtu: 1500,
            ipv4: vec![(Ipv4Addr::new(198, 18, 0, 1), 24)],
            ipv6: vec![("2001:2::1".parse().unwrap(), 64)],
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            ports: vec![port()],
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_sound_snapshot_passes() {
        let mut s = snapshot();
        s.routes.push(Route {
            prefix: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            prefix_len: 0,
            port: PortId(0),
            gateway: Some(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 254))),
        });
        s.vips.push(IpAddr::V4(Ipv4Addr::new(198, 19, 0, 10)));
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn each_fault_is_named() {
        let mut s = snapshot();
        s.ports[0].mac = [1, 0, 0, 0, 0, 1];
        assert_eq!(
            s.validate(),
            Err(SnapshotError::BadMac { port: "p0".into() })
        );

        let mut s = snapshot();
        s.ports[0].vlan = Some(4095);
        assert_eq!(
            s.validate(),
            Err(SnapshotError::BadVlan {
                port: "p0".into(),
                vlan: 4095
            })
        );

        let mut s = snapshot();
        s.ports[0].mtu = 1279;
        assert_eq!(
            s.validate(),
            Err(SnapshotError::MtuTooSmall {
                port: "p0".into(),
                mtu: 1279
            })
        );

        let mut s = snapshot();
        s.ports[0].ipv4[0].1 = 33;
        assert!(matches!(
            s.validate(),
            Err(SnapshotError::BadPrefixLen { len: 33, .. })
        ));

        let mut s = snapshot();
        s.ports[0].ipv4[0].0 = Ipv4Addr::BROADCAST;
        assert!(matches!(
            s.validate(),
            Err(SnapshotError::BadPortAddress { .. })
        ));

        let mut s = snapshot();
        let prefix = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0));
        s.routes.push(Route {
            prefix,
            prefix_len: 8,
            port: PortId(1),
            gateway: None,
        });
        assert_eq!(
            s.validate(),
            Err(SnapshotError::RouteUnknownPort {
                prefix,
                len: 8,
                port: 1
            })
        );

        let mut s = snapshot();
        let gateway = IpAddr::V6(Ipv6Addr::LOCALHOST);
        s.routes.push(Route {
            prefix,
            prefix_len: 8,
            port: PortId(0),
            gateway: Some(gateway),
        });
        assert_eq!(
            s.validate(),
            Err(SnapshotError::RouteGatewayFamily {
                prefix,
                len: 8,
                gateway
            })
        );

        let mut s = snapshot();
        s.vips.push(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        assert_eq!(
            s.validate(),
            Err(SnapshotError::BadVip(IpAddr::V6(Ipv6Addr::UNSPECIFIED)))
        );

        let mut s = snapshot();
        s.neighbour.max_probes = 0;
        assert!(matches!(s.validate(), Err(SnapshotError::BadTimers(_))));
    }
}
