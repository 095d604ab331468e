//! The addresses the appliance owns, derived once per snapshot.
//!
//! A port owns its configured addresses and its EUI-64 link-local address; VIPs (the snapshot's
//! `vips`, the L4 listeners' VIPs and the configured SNAT addresses) are owned on every port. ARP
//! and ND answer for the ingress port's addresses and the VIPs; IP delivery accepts any port's
//! global addresses (weak host model), but link-local only on the port it belongs to.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::l4::snat::SnatSources;
use crate::snapshot::{PortSpec, Snapshot};
use crate::PortId;

/// What kind of owned address a packet was addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// A port address (configured or link-local).
    Interface,
    /// A virtual address.
    Vip,
}

/// The snapshot with what the engine derives from it.
#[derive(Debug)]
pub(crate) struct Local {
    pub(crate) snapshot: Arc<Snapshot>,
    link_local: Vec<Ipv6Addr>,
    /// Virtual IPv4 addresses, sorted: `vips`, listener VIPs, configured SNAT addresses.
    virtual_v4: Vec<Ipv4Addr>,
    /// Virtual IPv6 addresses, sorted.
    virtual_v6: Vec<Ipv6Addr>,
    /// The SNAT addresses of each port.
    pub(crate) snat: SnatSources,
}

impl Local {
    pub(crate) fn new(snapshot: Arc<Snapshot>) -> Self {
        let link_local = snapshot
            .ports
            .iter()
            .map(|p| link_local_from_mac(p.mac))
            .collect();
        let l4 = &snapshot.l4;
        let settings = l4.settings();
        let all = snapshot.vips.iter().copied();
        let all = all.chain(l4.listeners().iter().map(|l| l.vip));
        let all = all.chain(snapshot.l7.listeners().iter().map(|l| l.addr.ip()));
        let all = all.chain(settings.snat_ipv4.iter().map(|a| IpAddr::V4(*a)));
        let all = all.chain(settings.snat_ipv6.iter().map(|a| IpAddr::V6(*a)));
        let (mut virtual_v4, mut virtual_v6) = (Vec::new(), Vec::new());
        for ip in all {
            match ip {
                IpAddr::V4(a) => virtual_v4.push(a),
                IpAddr::V6(a) => virtual_v6.push(a),
            }
        }
        virtual_v4.sort_unstable();
        virtual_v4.dedup();
        virtual_v6.sort_unstable();
        virtual_v6.dedup();
        Self {
            snat: SnatSources::derive(&snapshot),
            snapshot,
            link_local,
            virtual_v4,
            virtual_v6,
        }
    }

    pub(crate) fn port(&self, port: PortId) -> Option<&PortSpec> {
        self.snapshot.ports.get(port.index())
    }

    /// The port's EUI-64 link-local address.
    pub(crate) fn link_local(&self, port: PortId) -> Option<Ipv6Addr> {
        self.link_local.get(port.index()).copied()
    }

    #[inline]
    fn vip_v4(&self, ip: Ipv4Addr) -> bool {
        self.virtual_v4.binary_search(&ip).is_ok()
    }

    #[inline]
    fn vip_v6(&self, ip: Ipv6Addr) -> bool {
        self.virtual_v6.binary_search(&ip).is_ok()
    }

    /// Whether ARP on `port` answers for `ip`.
    pub(crate) fn arp_owned(&self, port: PortId, ip: Ipv4Addr) -> bool {
        self.port(port)
            .is_some_and(|p| p.ipv4.iter().any(|(a, _)| *a == ip))
            || self.vip_v4(ip)
    }

    /// Whether ND on `port` answers for `ip`.
    pub(crate) fn nd_owned(&self, port: PortId, ip: Ipv6Addr) -> bool {
        self.link_local(port) == Some(ip)
            || self
                .port(port)
                .is_some_and(|p| p.ipv6.iter().any(|(a, _)| *a == ip))
            || self.vip_v6(ip)
    }

    /// Whether an IPv4 packet to `ip` is for this appliance.
    pub(crate) fn local_v4(&self, ip: Ipv4Addr) -> Option<Owner> {
        if self.vip_v4(ip) {
            Some(Owner::Vip)
        } else if self
            .snapshot
            .ports
            .iter()
            .any(|p| p.ipv4.iter().any(|(a, _)| *a == ip))
        {
            Some(Owner::Interface)
        } else {
            None
        }
    }

    /// Whether an IPv6 packet to `ip` arriving on `port` is for this appliance (unicast only).
    pub(crate) fn local_v6(&self, port: PortId, ip: Ipv6Addr) -> Option<Owner> {
        if self.vip_v6(ip) {
            Some(Owner::Vip)
        } else if self.link_local(port) == Some(ip)
            || self
                .snapshot
                .ports
                .iter()
                .any(|p| p.ipv6.iter().any(|(a, _)| *a == ip))
        {
            Some(Owner::Interface)
        } else {
            None
        }
    }

    /// The source for an ARP request to `target` on `port`: the port address on the target's
    /// prefix, else the port's first address, else 0.0.0.0 (an ARP probe).
    pub(crate) fn arp_source(&self, port: PortId, target: Ipv4Addr) -> Ipv4Addr {
        let Some(p) = self.port(port) else {
            return Ipv4Addr::UNSPECIFIED;
        };
        p.ipv4
            .iter()
            .find(|(a, len)| prefix_contains_v4(*a, *len, target))
            .or(p.ipv4.first())
            .map_or(Ipv4Addr::UNSPECIFIED, |(a, _)| *a)
    }

    /// The source for a neighbour solicitation for `target` on `port`: the port address on the
    /// target's prefix, else the link-local address.
    pub(crate) fn nd_source(&self, port: PortId, target: Ipv6Addr) -> Ipv6Addr {
        let on_prefix = self.port(port).and_then(|p| {
            p.ipv6
                .iter()
                .find(|(a, len)| !is_link_local(target) && prefix_contains_v6(*a, *len, target))
        });
        match on_prefix {
            Some((a, _)) => *a,
            None => self.link_local(port).unwrap_or(Ipv6Addr::UNSPECIFIED),
        }
    }
}

/// The EUI-64 link-local address of a MAC (RFC 4291 appendix A).
pub(crate) fn link_local_from_mac(mac: [u8; 6]) -> Ipv6Addr {
    let [a, b, c, d, e, f] = mac;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        a ^ 0x02,
        b,
        c,
        0xff,
        0xfe,
        d,
        e,
        f,
    ])
}

/// The solicited-node multicast address of `ip` (ff02::1:ffXX:XXXX).
pub(crate) fn solicited_node(ip: Ipv6Addr) -> Ipv6Addr {
    let o = ip.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
    ])
}

/// The Ethernet multicast address of an IPv6 multicast address (33:33 + its low 32 bits).
pub(crate) fn multicast_mac(ip: Ipv6Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// fe80::/10.
pub(crate) fn is_link_local(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

pub(crate) fn prefix_contains_v4(net: Ipv4Addr, len: u8, ip: Ipv4Addr) -> bool {
    let mask = u32::MAX
        .checked_shl(32u32.saturating_sub(u32::from(len)))
        .unwrap_or(0);
    u32::from(net) & mask == u32::from(ip) & mask
}

pub(crate) fn prefix_contains_v6(net: Ipv6Addr, len: u8, ip: Ipv6Addr) -> bool {
    let mask = u128::MAX
        .checked_shl(128u32.saturating_sub(u32::from(len)))
        .unwrap_or(0);
    u128::from(net) & mask == u128::from(ip) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eui64_link_local_flips_the_universal_bit() {
        let ll = link_local_from_mac([0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);
        assert_eq!(ll, "fe80::5eff:fe10:2030".parse::<Ipv6Addr>().unwrap());
    }

    #[test]
    fn solicited_node_and_its_mac() {
        let sn = solicited_node("2001:2::1:2:3:4567".parse().unwrap());
        assert_eq!(sn, "ff02::1:ff03:4567".parse::<Ipv6Addr>().unwrap());
        assert_eq!(multicast_mac(sn), [0x33, 0x33, 0xff, 0x03, 0x45, 0x67]);
    }

    #[test]
    fn prefixes() {
        let net = Ipv4Addr::new(198, 18, 0, 1);
        assert!(prefix_contains_v4(net, 24, Ipv4Addr::new(198, 18, 0, 200)));
        assert!(!prefix_contains_v4(net, 24, Ipv4Addr::new(198, 18, 1, 1)));
        assert!(prefix_contains_v4(net, 0, Ipv4Addr::new(1, 2, 3, 4)));
        assert!(!prefix_contains_v4(net, 32, Ipv4Addr::new(198, 18, 0, 2)));
        let net6: Ipv6Addr = "2001:2::1".parse().unwrap();
        assert!(prefix_contains_v6(
            net6,
            64,
            "2001:2::ffff".parse().unwrap()
        ));
        assert!(!prefix_contains_v6(
            net6,
            64,
            "2001:2:0:1::1".parse().unwrap()
        ));
        assert!(prefix_contains_v6(net6, 0, Ipv6Addr::LOCALHOST));
        assert!(is_link_local("fe80::1".parse().unwrap()));
        assert!(!is_link_local("fec0::1".parse().unwrap()));
    }
}
