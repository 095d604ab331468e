//! The TCP and UDP headers as the L4 path reads them: ports, flags, sequence numbers, and the TCP
//! MSS option that may be clamped in place.
//!
//! The L4 path does not verify TCP/UDP checksums: it updates them incrementally, so a segment
//! that arrived with a bad checksum leaves with a bad checksum and the endpoint drops it.

use super::checksum::{write_tracked, Delta};
use crate::flow::{Proto, TcpFlags};
use crate::wire::{array, be16, byte};
use crate::DropReason;

/// Length of a TCP header without options.
pub const TCP_HEADER_LEN: usize = 20;
/// Length of a UDP header.
pub const UDP_HEADER_LEN: usize = 8;
/// TCP option kind of the maximum segment size.
const OPTION_MSS: u8 = 2;

/// A checked TCP or UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// TCP or UDP.
    pub proto: Proto,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// TCP flags; empty for UDP.
    pub flags: TcpFlags,
    /// TCP sequence number; 0 for UDP.
    pub seq: u32,
    /// TCP acknowledgment number; 0 for UDP.
    pub ack: u32,
    /// Header length in bytes (TCP data offset × 4, or 8).
    pub header_len: usize,
}

impl Segment {
    /// Parses the header at the start of `l4`, which is exactly the IP payload.
    pub fn parse(proto: Proto, l4: &[u8]) -> Result<Self, DropReason> {
        let t = DropReason::L4Truncated;
        let sport = be16(l4, 0).ok_or(t)?;
        let dport = be16(l4, 2).ok_or(t)?;
        match proto {
            Proto::Udp => {
                let len = usize::from(be16(l4, 4).ok_or(t)?);
                if len < UDP_HEADER_LEN || len > l4.len() {
                    return Err(t);
                }
                Ok(Self {
                    proto,
                    sport,
                    dport,
                    flags: TcpFlags::EMPTY,
                    seq: 0,
                    ack: 0,
                    header_len: UDP_HEADER_LEN,
                })
            }
            Proto::Tcp => {
                let header_len = usize::from(byte(l4, 12).ok_or(t)? >> 4) * 4;
                if header_len < TCP_HEADER_LEN || header_len > l4.len() {
                    return Err(t);
                }
                Ok(Self {
                    proto,
                    sport,
                    dport,
                    flags: TcpFlags(byte(l4, 13).ok_or(t)?),
                    seq: u32::from_be_bytes(array(l4, 4).ok_or(t)?),
                    ack: u32::from_be_bytes(array(l4, 8).ok_or(t)?),
                    header_len,
                })
            }
        }
    }

    /// Whether this TCP segment may open a flow: SYN without ACK or RST. UDP always may.
    pub fn opens_flow(&self) -> bool {
        match self.proto {
            Proto::Udp => true,
            Proto::Tcp => {
                self.flags.contains(TcpFlags::SYN)
                    && !self.flags.contains(TcpFlags::ACK)
                    && !self.flags.contains(TcpFlags::RST)
            }
        }
    }

    /// Whether this is a TCP SYN (with or without ACK): the segments that carry an MSS option.
    pub fn is_syn(&self) -> bool {
        self.proto == Proto::Tcp && self.flags.contains(TcpFlags::SYN)
    }
}

/// The transport protocol of an IP protocol number, if the L4 path balances it.
pub fn proto_of(number: u8) -> Option<Proto> {
    match number {
        6 => Some(Proto::Tcp),
        17 => Some(Proto::Udp),
        _ => None,
    }
}

/// Offset of the checksum field in the header.
pub const fn checksum_offset(proto: Proto) -> usize {
    match proto {
        Proto::Tcp => 16,
        Proto::Udp => 6,
    }
}

/// Lowers the MSS option of the TCP header at the start of `tcp` (of `header_len` bytes, checked)
/// to `clamp` if it is above; records the change in `delta`. True if it changed anything.
/// Malformed options end the walk without a change.
pub fn clamp_mss(tcp: &mut [u8], header_len: usize, clamp: u16, delta: &mut Delta) -> bool {
    let mut at = TCP_HEADER_LEN;
    while at < header_len {
        let Some(kind) = byte(tcp, at) else {
            return false;
        };
        match kind {
            0 => return false,
            1 => at += 1,
            _ => {
                let len = byte(tcp, at + 1).map_or(0, usize::from);
                if len < 2 || at + len > header_len {
                    return false;
                }
                if kind == OPTION_MSS && len == 4 {
                    return match be16(tcp, at + 2) {
                        Some(mss) if mss > clamp => {
                            write_tracked(tcp, at + 2, &clamp.to_be_bytes(), delta).is_some()
                        }
                        _ => false,
                    };
                }
                at += len;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(flags: u8, options: &[u8]) -> Vec<u8> {
        let len = 20 + options.len();
        let mut h = vec![0x9c, 0x40, 0, 80, 0, 0, 0, 7, 0, 0, 0, 9];
        h.push(((len / 4) as u8) << 4);
        h.push(flags);
        h.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        h.extend_from_slice(options);
        h
    }

    #[test]
    fn parses_tcp_and_udp() {
        let s = Segment::parse(Proto::Tcp, &tcp(0x12, &[])).unwrap();
        assert_eq!(
            (s.sport, s.dport, s.seq, s.ack, s.header_len, s.flags),
            (40000, 80, 7, 9, 20, TcpFlags(0x12))
        );
        assert!(s.is_syn() && !s.opens_flow());
        assert!(Segment::parse(Proto::Tcp, &tcp(0x02, &[]))
            .unwrap()
            .opens_flow());
        let u = Segment::parse(Proto::Udp, &[0, 53, 0, 54, 0, 9, 0, 0, 1]).unwrap();
        assert_eq!((u.sport, u.dport, u.header_len), (53, 54, 8));
        assert!(u.opens_flow() && !u.is_syn());
    }

    #[test]
    fn short_or_inconsistent_headers_are_truncated() {
        let t = Err(DropReason::L4Truncated);
        assert_eq!(Segment::parse(Proto::Tcp, &tcp(2, &[])[..19]), t);
        let mut bad_offset = tcp(2, &[]);
        bad_offset[12] = 0x60;
        assert_eq!(Segment::parse(Proto::Tcp, &bad_offset), t);
        bad_offset[12] = 0x40;
        assert_eq!(Segment::parse(Proto::Tcp, &bad_offset), t);
        assert_eq!(Segment::parse(Proto::Udp, &[0, 53, 0, 54, 0, 7, 0, 0]), t);
        assert_eq!(Segment::parse(Proto::Udp, &[0, 53, 0, 54, 0, 9, 0, 0]), t);
        assert_eq!(Segment::parse(Proto::Udp, &[0, 53, 0]), t);
    }

    #[test]
    fn mss_is_clamped_only_when_above() {
        // NOP, NOP, MSS 1460 (at an even offset), window scale.
        let mut h = tcp(2, &[1, 1, 2, 4, 0x05, 0xb4, 3, 3, 7, 0, 0, 0]);
        let mut d = Delta::default();
        assert!(clamp_mss(&mut h, 32, 1400, &mut d));
        assert_eq!(&h[24..26], &1400u16.to_be_bytes());
        assert!(!clamp_mss(&mut h, 32, 1450, &mut Delta::default()));
        // At an odd offset, after one NOP.
        let mut h = tcp(2, &[1, 2, 4, 0x05, 0xb4, 0, 0, 0]);
        assert!(clamp_mss(&mut h, 28, 1200, &mut Delta::default()));
        assert_eq!(&h[23..25], &1200u16.to_be_bytes());
        // A zero-length option stops the walk.
        let mut h = tcp(2, &[8, 0, 2, 4, 0x05, 0xb4, 0, 0]);
        assert!(!clamp_mss(&mut h, 28, 1200, &mut Delta::default()));
    }
}
