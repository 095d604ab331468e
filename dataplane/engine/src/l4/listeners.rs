//! The listener lookup: (VIP, port, protocol) → listener index, once per L4 packet.
//!
//! A small open-addressing table, built with the snapshot, at most half full, probed linearly.
//! Lookups never allocate and stop after the longest probe sequence seen at build time, so a
//! packet to a port nobody listens on costs a bounded number of comparisons.

use core::net::IpAddr;

use super::snapshot::Listener;
use crate::flow::Proto;

const EMPTY: u32 = u32::MAX;

/// (VIP, port, protocol) → index into the snapshot's listeners.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerIndex {
    slots: Vec<u32>,
    /// The longest run of slots any key needed (lookups stop there).
    max_probe: usize,
}

impl ListenerIndex {
    /// Indexes `listeners`; the caller has rejected duplicate keys (a duplicate would be shadowed).
    pub fn build(listeners: &[Listener]) -> Self {
        let size = (listeners.len() * 2).next_power_of_two().max(8);
        let mut index = Self {
            slots: vec![EMPTY; size],
            max_probe: 0,
        };
        for (i, l) in listeners.iter().enumerate() {
            let Ok(i) = u32::try_from(i) else { break };
            let start = index.home(l.vip, l.port, l.proto);
            for probe in 0..size {
                let at = (start + probe) & (size - 1);
                if let Some(slot) = index.slots.get_mut(at).filter(|s| **s == EMPTY) {
                    *slot = i;
                    index.max_probe = index.max_probe.max(probe + 1);
                    break;
                }
            }
        }
        index
    }

    /// The listener for a packet to `vip`:`port` over `proto`.
    #[inline]
    pub fn lookup(
        &self,
        listeners: &[Listener],
        vip: IpAddr,
        port: u16,
        proto: Proto,
    ) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let start = self.home(vip, port, proto);
        for probe in 0..self.max_probe {
            let i = *self.slots.get((start + probe) & mask)?;
            if i == EMPTY {
                return None;
            }
            let found = listeners
                .get(i as usize)
                .is_some_and(|l| l.port == port && l.proto == proto && l.vip == vip);
            if found {
                return Some(i as usize);
            }
        }
        None
    }

    #[inline]
    fn home(&self, vip: IpAddr, port: u16, proto: Proto) -> usize {
        let addr = match vip {
            IpAddr::V4(a) => u64::from(u32::from(a)),
            IpAddr::V6(a) => {
                let v = u128::from(a);
                (v as u64) ^ ((v >> 64) as u64)
            }
        };
        let mut x = addr ^ (u64::from(port) << 40) ^ (u64::from(proto.number()) << 56);
        // The 64-bit finaliser of MurmurHash3: every input bit moves every output bit.
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^= x >> 33;
        (x as usize) & self.slots.len().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use core::net::Ipv4Addr;

    use super::*;

    fn listener(vip: IpAddr, port: u16, proto: Proto) -> Listener {
        Listener {
            name: format!("{vip}:{port}"),
            vip,
            port,
            proto,
            pool: 0,
            affinity: None,
        }
    }

    #[test]
    fn finds_each_listener_and_nothing_else() {
        let mut ls = Vec::new();
        for a in 0..40u8 {
            let vip = IpAddr::V4(Ipv4Addr::new(198, 18, 10, a));
            ls.push(listener(vip, 80, Proto::Tcp));
            ls.push(listener(vip, 53, Proto::Udp));
        }
        ls.push(listener("2001:2::10".parse().unwrap(), 443, Proto::Tcp));
        let index = ListenerIndex::build(&ls);
        for (i, l) in ls.iter().enumerate() {
            assert_eq!(index.lookup(&ls, l.vip, l.port, l.proto), Some(i));
        }
        let vip = IpAddr::V4(Ipv4Addr::new(198, 18, 10, 1));
        assert_eq!(index.lookup(&ls, vip, 80, Proto::Udp), None);
        assert_eq!(index.lookup(&ls, vip, 81, Proto::Tcp), None);
        assert_eq!(
            index.lookup(
                &ls,
                IpAddr::V4(Ipv4Addr::new(198, 18, 11, 1)),
                80,
                Proto::Tcp
            ),
            None
        );
        assert_eq!(
            ListenerIndex::default().lookup(&ls, vip, 80, Proto::Tcp),
            None
        );
    }
}
