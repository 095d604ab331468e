//! ICMP and ICMPv6 errors about balanced flows: the quoted packet that names the flow, and the
//! rewrite that sends the error on to the other side of the NAT.
//!
//! An error (unreachable, fragmentation needed / packet too big, time exceeded) quotes the IP
//! header and at least 8 bytes of the L4 header of the packet that caused it. The quoted packet
//! is one the appliance sent, so its ends are the NAT's outside: the error goes to the flow's
//! other side with the outer and the quoted headers rewritten, as if the other side's own packet
//! had caused it. The outer header keeps its size, so the rewrite is in place; the ICMP checksum is
//! recomputed (errors are small).

use core::net::IpAddr;

use smoltcp::wire::Icmpv4Packet;

use super::checksum::{write_tracked, Delta};
use super::segment::{checksum_offset, proto_of};
use crate::flow::Proto;
use crate::wire::icmp::{fill_icmpv6_checksum, ICMP_HEADER_LEN};
use crate::wire::ipv4::{self, MIN_HEADER_LEN};
use crate::wire::{array, be16, byte, put};
use crate::DropReason;

/// ICMP destination unreachable (fragmentation needed is its code 4).
pub const ICMP_DEST_UNREACHABLE: u8 = 3;
/// ICMP time exceeded.
pub const ICMP_TIME_EXCEEDED: u8 = 11;
/// ICMPv6 destination unreachable.
pub const ICMPV6_DEST_UNREACHABLE: u8 = 1;
/// ICMPv6 packet too big.
pub const ICMPV6_PACKET_TOO_BIG: u8 = 2;
/// ICMPv6 time exceeded.
pub const ICMPV6_TIME_EXCEEDED: u8 = 3;

/// Bytes of the quoted L4 header the L4 path needs (both ports; RFC 792 promises 8).
const QUOTED_L4_MIN: usize = 8;
/// Length of an IPv6 fixed header.
const V6_HEADER_LEN: usize = 40;

/// Whether an ICMP type (of ICMPv6 when `v6`) is an error the L4 path forwards.
pub fn is_forwarded_error(v6: bool, ty: u8) -> bool {
    if v6 {
        matches!(
            ty,
            ICMPV6_DEST_UNREACHABLE | ICMPV6_PACKET_TOO_BIG | ICMPV6_TIME_EXCEEDED
        )
    } else {
        matches!(ty, ICMP_DEST_UNREACHABLE | ICMP_TIME_EXCEEDED)
    }
}

/// The packet an error quotes, as it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted {
    /// TCP or UDP.
    pub proto: Proto,
    /// Its source.
    pub src: IpAddr,
    /// Its destination.
    pub dst: IpAddr,
    /// Its source port.
    pub sport: u16,
    /// Its destination port.
    pub dport: u16,
}

/// The ends to give the error and its quoted packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redirect {
    /// New outer source (an address of the appliance on the other side).
    pub outer_src: IpAddr,
    /// New outer destination (the other side's endpoint).
    pub outer_dst: IpAddr,
    /// The quoted packet's new ends.
    pub quoted: Quoted,
}

/// Parses the quoted packet of an error message `msg` (the ICMP message, from its type byte)
/// carried over IPv4 (`v6` false) or IPv6.
pub fn parse_quoted(v6: bool, msg: &[u8]) -> Result<Quoted, DropReason> {
    let t = DropReason::IcmpErrorTruncated;
    let inner = msg.get(ICMP_HEADER_LEN..).ok_or(t)?;
    let (src, dst, proto, l4) = if v6 {
        if byte(inner, 0).ok_or(t)? >> 4 != 6 {
            return Err(DropReason::IcmpErrorNoFlow);
        }
        let src = IpAddr::from(array::<16>(inner, 8).ok_or(t)?);
        let dst = IpAddr::from(array::<16>(inner, 24).ok_or(t)?);
        (src, dst, byte(inner, 6).ok_or(t)?, V6_HEADER_LEN)
    } else {
        let vihl = byte(inner, 0).ok_or(t)?;
        let ihl = usize::from(vihl & 0x0f) * 4;
        if vihl >> 4 != 4 || ihl < MIN_HEADER_LEN {
            return Err(DropReason::IcmpErrorNoFlow);
        }
        let src = IpAddr::from(array::<4>(inner, 12).ok_or(t)?);
        let dst = IpAddr::from(array::<4>(inner, 16).ok_or(t)?);
        (src, dst, byte(inner, 9).ok_or(t)?, ihl)
    };
    let proto = proto_of(proto).ok_or(DropReason::IcmpErrorNoFlow)?;
    if inner.len() < l4 + QUOTED_L4_MIN {
        return Err(t);
    }
    Ok(Quoted {
        proto,
        src,
        dst,
        sport: be16(inner, l4).ok_or(t)?,
        dport: be16(inner, l4 + 2).ok_or(t)?,
    })
}

/// Rewrites the error in `packet` (outer IP header of `outer_len` bytes, then the ICMP message, to
/// the end of the slice): outer addresses and TTL, the quoted header and ports with their
/// checksums, and the ICMP checksum. The caller parsed it with [`parse_quoted`].
pub fn rewrite(packet: &mut [u8], outer_len: usize, to: &Redirect) -> Result<(), DropReason> {
    let t = DropReason::IcmpErrorTruncated;
    let v6 = byte(packet, 0).ok_or(t)? >> 4 == 6;
    let (hop_at, src_at, dst_at) = if v6 { (7, 8, 24) } else { (8, 12, 16) };
    let hops = byte(packet, hop_at).ok_or(t)?;
    if hops <= 1 {
        return Err(DropReason::TtlExceeded);
    }
    put(packet, hop_at, &[hops - 1]).ok_or(t)?;
    put_addr(packet, src_at, to.outer_src, &mut Delta::default())?;
    put_addr(packet, dst_at, to.outer_dst, &mut Delta::default())?;
    if !v6 {
        ipv4::fill_checksum(packet).ok_or(t)?;
    }
    let msg = packet.get_mut(outer_len..).ok_or(t)?;
    let inner = msg.get_mut(ICMP_HEADER_LEN..).ok_or(t)?;
    rewrite_quoted(inner, v6, &to.quoted)?;
    if v6 {
        let (IpAddr::V6(src), IpAddr::V6(dst)) = (to.outer_src, to.outer_dst) else {
            return Err(t);
        };
        fill_icmpv6_checksum(msg, src, dst).ok_or(t)
    } else {
        Icmpv4Packet::new_unchecked(msg).fill_checksum();
        Ok(())
    }
}

/// New ends in the quoted IP header and L4 header; its header checksum (IPv4) recomputed and its
/// L4 checksum updated if the quote reaches it.
fn rewrite_quoted(inner: &mut [u8], v6: bool, q: &Quoted) -> Result<(), DropReason> {
    let t = DropReason::IcmpErrorTruncated;
    let mut pseudo = Delta::default();
    let l4_at = if v6 {
        put_addr(inner, 8, q.src, &mut pseudo)?;
        put_addr(inner, 24, q.dst, &mut pseudo)?;
        V6_HEADER_LEN
    } else {
        put_addr(inner, 12, q.src, &mut pseudo)?;
        put_addr(inner, 16, q.dst, &mut pseudo)?;
        ipv4::fill_checksum(inner).ok_or(t)?;
        usize::from(byte(inner, 0).ok_or(t)? & 0x0f) * 4
    };
    let l4 = inner.get_mut(l4_at..).ok_or(t)?;
    write_tracked(l4, 0, &q.sport.to_be_bytes(), &mut pseudo).ok_or(t)?;
    write_tracked(l4, 2, &q.dport.to_be_bytes(), &mut pseudo).ok_or(t)?;
    let at = checksum_offset(q.proto);
    match be16(l4, at) {
        // Not quoted, or a UDP datagram sent without a checksum.
        None => Ok(()),
        Some(0) if q.proto == Proto::Udp => Ok(()),
        Some(old) => {
            let new = match (q.proto, pseudo.apply(old)) {
                (Proto::Udp, 0) => 0xffff,
                (_, sum) => sum,
            };
            put(l4, at, &new.to_be_bytes()).ok_or(t)
        }
    }
}

/// Writes `addr` at `at`, recording the change as a pseudo-header change in `pseudo`.
fn put_addr(
    data: &mut [u8],
    at: usize,
    addr: IpAddr,
    pseudo: &mut Delta,
) -> Result<(), DropReason> {
    let t = DropReason::IcmpErrorTruncated;
    match addr {
        IpAddr::V4(a) => {
            let old: [u8; 4] = array(data, at).ok_or(t)?;
            put(data, at, &a.octets()).ok_or(t)?;
            pseudo.replace(&old, &a.octets());
        }
        IpAddr::V6(a) => {
            let old: [u8; 16] = array(data, at).ok_or(t)?;
            put(data, at, &a.octets()).ok_or(t)?;
            pseudo.replace(&old, &a.octets());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use core::net::Ipv4Addr;

    use super::*;
    use crate::testing::{icmpv4, internet_checksum, ipv4, udp_datagram};

    fn a(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, 0, last)
    }

    #[test]
    fn quoted_udp_is_parsed_and_rewritten_with_its_checksums() {
        let quoted = ipv4(
            a(1),
            a(20),
            17,
            63,
            &udp_datagram(a(1).into(), a(20).into(), 1030, 53, b"hello"),
        );
        let mut packet = ipv4(a(30), a(1), 1, 64, &icmpv4(3, 3, [0; 4], &quoted));
        let q = parse_quoted(false, &packet[20..]).unwrap();
        assert_eq!(
            q,
            Quoted {
                proto: Proto::Udp,
                src: a(1).into(),
                dst: a(20).into(),
                sport: 1030,
                dport: 53
            }
        );
        let to = Redirect {
            outer_src: a(10).into(),
            outer_dst: a(9).into(),
            quoted: Quoted {
                proto: Proto::Udp,
                src: a(9).into(),
                dst: a(10).into(),
                sport: 40000,
                dport: 5353,
            },
        };
        rewrite(&mut packet, 20, &to).unwrap();
        let want_quoted = ipv4(
            a(9),
            a(10),
            17,
            63,
            &udp_datagram(a(9).into(), a(10).into(), 40000, 5353, b"hello"),
        );
        let want = ipv4(a(10), a(9), 1, 63, &icmpv4(3, 3, [0; 4], &want_quoted));
        assert_eq!(packet, want);
        assert_eq!(internet_checksum(&[&packet[20..]]), 0);
    }

    #[test]
    fn short_or_foreign_quotes_are_refused() {
        let quoted = ipv4(a(1), a(20), 17, 63, &[0, 1, 0, 2, 0, 8, 0, 0]);
        let msg = icmpv4(3, 4, [0; 4], &quoted[..27]);
        assert_eq!(
            parse_quoted(false, &msg),
            Err(DropReason::IcmpErrorTruncated)
        );
        let msg = icmpv4(3, 4, [0; 4], &ipv4(a(1), a(20), 1, 63, &[0; 8]));
        assert_eq!(parse_quoted(false, &msg), Err(DropReason::IcmpErrorNoFlow));
        assert_eq!(parse_quoted(true, &msg), Err(DropReason::IcmpErrorNoFlow));
        assert!(is_forwarded_error(false, 3) && is_forwarded_error(true, 2));
        assert!(!is_forwarded_error(false, 8) && !is_forwarded_error(true, 128));
    }
}
