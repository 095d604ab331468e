//! The set of flows a run sweeps: flow `i` of `n` is one (source address, source port) pair out of
//! the source ranges, the destination being the same for all. Addresses vary fastest, so that even
//! a few flows spread over several sources (what ECMP, RSS and per-source conntrack see first).

use std::net::Ipv4Addr;

use crate::spec::{Ipv4Range, PortRange};

/// `flows` distinct (source address, source port) pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSet {
    ip_first: u32,
    ip_count: u32,
    port_lo: u16,
    port_count: u32,
    flows: u32,
}

impl FlowSet {
    /// `flows` pairs from the ranges; an error when the ranges hold fewer distinct pairs.
    pub fn new(ips: Ipv4Range, ports: PortRange, flows: u32) -> Result<Self, String> {
        let pairs = u64::from(ips.count) * u64::from(ports.count());
        if flows == 0 || u64::from(flows) > pairs {
            return Err(format!(
                "{flows} flows asked for, but the sources {ips} and ports {ports} hold {pairs} distinct pairs \
                 (need 1..={pairs})"
            ));
        }
        Ok(FlowSet {
            ip_first: u32::from(ips.first),
            ip_count: ips.count,
            port_lo: ports.lo,
            port_count: ports.count(),
            flows,
        })
    }

    /// How many flows (at least one).
    pub fn count(&self) -> u32 {
        self.flows
    }

    /// The source address and port of flow `index % count()`.
    #[inline]
    pub fn flow(&self, index: u32) -> (Ipv4Addr, u16) {
        let i = index % self.flows;
        let ip = self.ip_first.wrapping_add(i % self.ip_count);
        let port_offset = (i / self.ip_count) % self.port_count;
        // port_offset < port_count <= 65536 - port_lo, so the sum stays a port.
        let port = u32::from(self.port_lo) + port_offset;
        (
            Ipv4Addr::from(ip),
            u16::try_from(port).unwrap_or(self.port_lo),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn set(ips: &str, ports: &str, flows: u32) -> Result<FlowSet, String> {
        FlowSet::new(ips.parse().unwrap(), ports.parse().unwrap(), flows)
    }

    #[test]
    fn addresses_vary_first_then_ports() {
        let s = set("198.18.1.0-198.18.1.2", "1000-1001", 6).unwrap();
        let got: Vec<(Ipv4Addr, u16)> = (0..7).map(|i| s.flow(i)).collect();
        let ip = |d| Ipv4Addr::new(198, 18, 1, d);
        assert_eq!(
            got,
            [
                (ip(0), 1000),
                (ip(1), 1000),
                (ip(2), 1000),
                (ip(0), 1001),
                (ip(1), 1001),
                (ip(2), 1001),
                (ip(0), 1000)
            ]
        );
    }

    #[test]
    fn every_flow_is_distinct_and_the_sweep_repeats() {
        let s = set("198.18.1.0/24", "1024-65535", 65_536).unwrap();
        let distinct: HashSet<(Ipv4Addr, u16)> = (0..65_536).map(|i| s.flow(i)).collect();
        assert_eq!(distinct.len(), 65_536);
        assert_eq!(s.flow(65_536 + 17), s.flow(17));
        assert_eq!(s.flow(u32::MAX), s.flow(u32::MAX % 65_536));
    }

    #[test]
    fn the_top_port_is_reachable() {
        let s = set("198.18.0.2", "65534-65535", 2).unwrap();
        assert_eq!(s.flow(1), (Ipv4Addr::new(198, 18, 0, 2), 65535));
    }

    #[test]
    fn too_many_flows_is_an_error() {
        let err = set("198.18.1.0/30", "5000-5001", 9).unwrap_err();
        assert!(err.contains("hold 8 distinct pairs"), "{err}");
        assert!(set("198.18.1.0/30", "5000-5001", 0).is_err());
        assert_eq!(set("198.18.1.0/30", "5000-5001", 8).unwrap().count(), 8);
    }
}
