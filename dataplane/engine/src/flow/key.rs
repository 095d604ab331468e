//! The 5-tuple that names one direction of a flow, and its canonical byte encoding.

use core::net::IpAddr;

/// The transport protocols the L4 path balances.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proto {
    /// TCP (IP protocol 6).
    Tcp = 6,
    /// UDP (IP protocol 17).
    Udp = 17,
}

impl Proto {
    /// The IP protocol number.
    pub const fn number(self) -> u8 {
        self as u8
    }
}

/// One direction of a flow as a packet carries it: source, destination, ports, protocol.
///
/// Deliberately not `Hash`: tables hash it with their own seeded hash (see
/// [`crate::maglev::hash_5tuple`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Transport protocol.
    pub proto: Proto,
}

impl FlowKey {
    /// The longest encoding: two IPv6 addresses, two ports, the protocol.
    pub const MAX_ENCODED_LEN: usize = 16 + 16 + 2 + 2 + 1;

    /// The key of the other direction: source and destination swapped.
    pub const fn reversed(&self) -> FlowKey {
        FlowKey {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            proto: self.proto,
        }
    }

    /// Writes the canonical bytes of the key into `out` and returns their length: source address,
    /// destination address (4 or 16 bytes each, network order), source port, destination port (big
    /// endian), protocol number. 13 bytes for IPv4, 37 for IPv6.
    ///
    /// This layout feeds the Maglev hash, which appliances sharing a seed must agree on: do not
    /// change it.
    #[inline]
    pub fn encode(&self, out: &mut [u8; Self::MAX_ENCODED_LEN]) -> usize {
        let mut at = 0;
        put_addr(out, &mut at, self.src);
        put_addr(out, &mut at, self.dst);
        put(out, &mut at, &self.sport.to_be_bytes());
        put(out, &mut at, &self.dport.to_be_bytes());
        put(out, &mut at, &[self.proto.number()]);
        at
    }
}

#[inline]
fn put_addr(out: &mut [u8], at: &mut usize, addr: IpAddr) {
    match addr {
        IpAddr::V4(v4) => put(out, at, &v4.octets()),
        IpAddr::V6(v6) => put(out, at, &v6.octets()),
    }
}

/// Copies `src` to `out[*at..]` and advances `at`; the buffer is sized for the longest key, so the
/// copy always fits.
#[inline]
fn put(out: &mut [u8], at: &mut usize, src: &[u8]) {
    let end = *at + src.len();
    if let Some(dst) = out.get_mut(*at..end) {
        dst.copy_from_slice(src);
    }
    *at = end;
}

#[cfg(test)]
mod tests {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn encodes_ipv4_in_network_order() {
        let key = FlowKey {
            src: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 10)),
            sport: 0x1234,
            dport: 80,
            proto: Proto::Udp,
        };
        let mut buf = [0u8; FlowKey::MAX_ENCODED_LEN];
        let len = key.encode(&mut buf);
        assert_eq!(
            &buf[..len],
            &[198, 18, 0, 1, 198, 19, 0, 10, 0x12, 0x34, 0, 80, 17]
        );
    }

    #[test]
    fn encodes_ipv6_at_full_length() {
        let src = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
        let dst = Ipv6Addr::new(0x2001, 2, 0, 1, 0, 0, 0, 0xa);
        let key = FlowKey {
            src: src.into(),
            dst: dst.into(),
            sport: 1,
            dport: 443,
            proto: Proto::Tcp,
        };
        let mut buf = [0u8; FlowKey::MAX_ENCODED_LEN];
        assert_eq!(key.encode(&mut buf), 37);
        assert_eq!(&buf[..16], &src.octets());
        assert_eq!(&buf[16..32], &dst.octets());
        assert_eq!(&buf[32..], &[0, 1, 1, 187, 6]);
    }

    #[test]
    fn reversed_swaps_both_ends() {
        let key = FlowKey {
            src: IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(2, 2, 2, 2)),
            sport: 10,
            dport: 20,
            proto: Proto::Tcp,
        };
        let rev = key.reversed();
        assert_eq!(
            (rev.src, rev.dst, rev.sport, rev.dport),
            (key.dst, key.src, 20, 10)
        );
        assert_eq!(rev.reversed(), key);
    }
}
