//! The routing table: connected routes from the port prefixes plus the snapshot's static routes.
//!
//! Built once per snapshot, looked up per packet sent. A short linear list sorted longest prefix
//! first is enough for the handful of routes an edge appliance has; the first match wins, and
//! connected routes come before static ones of the same length.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::addresses::{is_link_local, prefix_contains_v4, prefix_contains_v6};
use crate::snapshot::Snapshot;
use crate::PortId;

/// Where to send a packet: out of `port`, to the neighbour `ip` (the gateway or the destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    /// The egress port.
    pub port: PortId,
    /// The neighbour to resolve on that port.
    pub ip: IpAddr,
}

#[derive(Debug, Clone, Copy)]
struct Entry<A> {
    net: A,
    len: u8,
    port: PortId,
    gateway: Option<A>,
}

/// The routes of one snapshot.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    v4: Vec<Entry<Ipv4Addr>>,
    v6: Vec<Entry<Ipv6Addr>>,
}

impl RouteTable {
    /// Connected routes of every port, then the static routes, longest prefix first.
    pub fn new(snapshot: &Snapshot) -> Self {
        let mut table = RouteTable::default();
        for (i, p) in snapshot.ports.iter().enumerate() {
            let port = PortId(u16::try_from(i).unwrap_or(u16::MAX));
            table.v4.extend(p.ipv4.iter().map(|(net, len)| Entry {
                net: *net,
                len: *len,
                port,
                gateway: None,
            }));
            table.v6.extend(p.ipv6.iter().map(|(net, len)| Entry {
                net: *net,
                len: *len,
                port,
                gateway: None,
            }));
        }
        for r in &snapshot.routes {
            match (r.prefix, r.gateway) {
                (IpAddr::V4(net), None) => table.v4.push(Entry {
                    net,
                    len: r.prefix_len,
                    port: r.port,
                    gateway: None,
                }),
                (IpAddr::V4(net), Some(IpAddr::V4(gw))) => table.v4.push(Entry {
                    net,
                    len: r.prefix_len,
                    port: r.port,
                    gateway: Some(gw),
                }),
                (IpAddr::V6(net), None) => table.v6.push(Entry {
                    net,
                    len: r.prefix_len,
                    port: r.port,
                    gateway: None,
                }),
                (IpAddr::V6(net), Some(IpAddr::V6(gw))) => table.v6.push(Entry {
                    net,
                    len: r.prefix_len,
                    port: r.port,
                    gateway: Some(gw),
                }),
                // A gateway of the other family is rejected by `Snapshot::validate`.
                _ => {}
            }
        }
        // Stable: among equal lengths the connected routes stay first.
        table.v4.sort_by_key(|e| core::cmp::Reverse(e.len));
        table.v6.sort_by_key(|e| core::cmp::Reverse(e.len));
        table
    }

    /// The next hop for `dst`. A link-local IPv6 destination is only reachable on the link it was
    /// seen on, so it needs `scope` (the port a request came in on).
    pub fn lookup(&self, dst: IpAddr, scope: Option<PortId>) -> Option<NextHop> {
        match dst {
            IpAddr::V4(dst) => {
                let e = self
                    .v4
                    .iter()
                    .find(|e| prefix_contains_v4(e.net, e.len, dst))?;
                Some(NextHop {
                    port: e.port,
                    ip: IpAddr::V4(e.gateway.unwrap_or(dst)),
                })
            }
            IpAddr::V6(dst) if is_link_local(dst) => scope.map(|port| NextHop {
                port,
                ip: IpAddr::V6(dst),
            }),
            IpAddr::V6(dst) => {
                let e = self
                    .v6
                    .iter()
                    .find(|e| prefix_contains_v6(e.net, e.len, dst))?;
                Some(NextHop {
                    port: e.port,
                    ip: IpAddr::V6(e.gateway.unwrap_or(dst)),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{PortSpec, Route};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn table() -> RouteTable {
        let port = |name: &str, v4: &str, v6: &str| PortSpec {
            name: name.into(),
            mac: [2, 0, 0, 0, 0, 1],
            vlan: None,
            mtu: 1500,
            ipv4: vec![(v4.parse().unwrap(), 24)],
            ipv6: vec![(v6.parse().unwrap(), 64)],
        };
        let snapshot = Snapshot {
            ports: vec![
                port("a", "198.18.0.1", "2001:2::1"),
                port("b", "198.18.1.1", "2001:2:0:1::1"),
            ],
            routes: vec![
                Route {
                    prefix: ip("0.0.0.0"),
                    prefix_len: 0,
                    port: PortId(0),
                    gateway: Some(ip("198.18.0.254")),
                },
                Route {
                    prefix: ip("10.0.0.0"),
                    prefix_len: 8,
                    port: PortId(1),
                    gateway: Some(ip("198.18.1.9")),
                },
                Route {
                    prefix: ip("10.1.0.0"),
                    prefix_len: 16,
                    port: PortId(1),
                    gateway: None,
                },
                Route {
                    prefix: ip("::"),
                    prefix_len: 0,
                    port: PortId(1),
                    gateway: Some(ip("fe80::9")),
                },
            ],
            ..Snapshot::default()
        };
        RouteTable::new(&snapshot)
    }

    #[test]
    fn longest_prefix_wins() {
        let t = table();
        let hop = |port, s: &str| {
            Some(NextHop {
                port: PortId(port),
                ip: ip(s),
            })
        };
        assert_eq!(t.lookup(ip("198.18.1.7"), None), hop(1, "198.18.1.7"));
        assert_eq!(t.lookup(ip("198.18.0.7"), None), hop(0, "198.18.0.7"));
        assert_eq!(t.lookup(ip("10.2.3.4"), None), hop(1, "198.18.1.9"));
        assert_eq!(t.lookup(ip("10.1.3.4"), None), hop(1, "10.1.3.4"));
        assert_eq!(t.lookup(ip("192.0.2.1"), None), hop(0, "198.18.0.254"));
        assert_eq!(t.lookup(ip("2001:2:0:1::5"), None), hop(1, "2001:2:0:1::5"));
        assert_eq!(t.lookup(ip("2001:db8::5"), None), hop(1, "fe80::9"));
    }

    #[test]
    fn link_local_needs_a_scope_and_no_default_means_no_route() {
        let t = table();
        assert_eq!(t.lookup(ip("fe80::5"), None), None);
        assert_eq!(
            t.lookup(ip("fe80::5"), Some(PortId(0))),
            Some(NextHop {
                port: PortId(0),
                ip: ip("fe80::5")
            })
        );
        assert_eq!(
            RouteTable::new(&Snapshot::default()).lookup(ip("198.18.0.1"), None),
            None
        );
    }
}
