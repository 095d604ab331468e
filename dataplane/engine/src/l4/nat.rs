//! FullNAT in place: new addresses and ports, TTL/hop limit decremented, MSS clamped, and every
//! checksum updated incrementally (IPv4 header; TCP/UDP with their pseudo-header).
//!
//! Both families keep their header sizes, so a packet is rewritten in the buffer it came in.

use core::net::IpAddr;

use super::checksum::{write_tracked, Delta};
use super::segment::{checksum_offset, clamp_mss};
use crate::flow::Proto;
use crate::wire::byte;
use crate::DropReason;

/// Offsets in the IPv4 header.
const V4_TTL: usize = 8;
const V4_CHECKSUM: usize = 10;
const V4_SRC: usize = 12;
const V4_DST: usize = 16;
/// Offsets in the IPv6 header.
const V6_HOP_LIMIT: usize = 7;
const V6_SRC: usize = 8;
const V6_DST: usize = 24;
/// Length of the IPv6 fixed header (no extension headers reach the L4 path).
const V6_HEADER_LEN: usize = 40;

/// Where a packet leaves to: its new ends, and whether to clamp its MSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrite {
    /// New source address (same family as the packet).
    pub src: IpAddr,
    /// New destination address.
    pub dst: IpAddr,
    /// New source port.
    pub sport: u16,
    /// New destination port.
    pub dport: u16,
    /// Lower the MSS option to this (pass it for SYNs only).
    pub mss_clamp: Option<u16>,
}

/// What a rewrite did besides the rewrite itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rewritten {
    /// The MSS option was lowered.
    pub mss_clamped: bool,
}

/// Rewrites the IP packet `packet` (from its IP header to its last byte, padding excluded) whose
/// L4 header starts at `l4_start` and was checked by [`super::segment::Segment::parse`].
pub fn rewrite(
    packet: &mut [u8],
    l4_start: usize,
    proto: Proto,
    tcp_header_len: usize,
    rw: &Rewrite,
) -> Result<Rewritten, DropReason> {
    let mut pseudo = Delta::default();
    let ipv4 = byte(packet, 0).is_some_and(|b| b >> 4 == 4);
    if ipv4 {
        let mut ip = Delta::default();
        decrement(packet, V4_TTL, &mut ip)?;
        replace_addr(packet, V4_SRC, rw.src, &mut ip, &mut pseudo)?;
        replace_addr(packet, V4_DST, rw.dst, &mut ip, &mut pseudo)?;
        ip.apply_at(packet, V4_CHECKSUM)
            .ok_or(DropReason::L4Truncated)?;
    } else {
        decrement(packet, V6_HOP_LIMIT, &mut Delta::default())?;
        replace_addr(packet, V6_SRC, rw.src, &mut Delta::default(), &mut pseudo)?;
        replace_addr(packet, V6_DST, rw.dst, &mut Delta::default(), &mut pseudo)?;
        if l4_start != V6_HEADER_LEN {
            return Err(DropReason::L4Truncated);
        }
    }
    let l4 = packet.get_mut(l4_start..).ok_or(DropReason::L4Truncated)?;
    rewrite_ports(l4, proto, tcp_header_len, rw, pseudo)
}

/// New ports (and MSS) in the L4 header, and its checksum updated with the pseudo-header change.
fn rewrite_ports(
    l4: &mut [u8],
    proto: Proto,
    tcp_header_len: usize,
    rw: &Rewrite,
    mut delta: Delta,
) -> Result<Rewritten, DropReason> {
    let t = DropReason::L4Truncated;
    write_tracked(l4, 0, &rw.sport.to_be_bytes(), &mut delta).ok_or(t)?;
    write_tracked(l4, 2, &rw.dport.to_be_bytes(), &mut delta).ok_or(t)?;
    let mss_clamped = match (proto, rw.mss_clamp) {
        (Proto::Tcp, Some(clamp)) => clamp_mss(l4, tcp_header_len, clamp, &mut delta),
        _ => false,
    };
    let at = checksum_offset(proto);
    let old = crate::wire::be16(l4, at).ok_or(t)?;
    let new = match proto {
        // A UDP checksum of 0 means "none" (IPv4; and tunnels over IPv6, RFC 6935): it stays 0,
        // and a computed 0 is sent as 0xffff.
        Proto::Udp if old == 0 => 0,
        Proto::Udp => match delta.apply(old) {
            0 => 0xffff,
            sum => sum,
        },
        Proto::Tcp => delta.apply(old),
    };
    crate::wire::put(l4, at, &new.to_be_bytes()).ok_or(t)?;
    Ok(Rewritten { mss_clamped })
}

/// TTL or hop limit minus one; a packet that would leave with 0 is dropped.
fn decrement(packet: &mut [u8], at: usize, delta: &mut Delta) -> Result<(), DropReason> {
    let ttl = byte(packet, at).ok_or(DropReason::L4Truncated)?;
    if ttl <= 1 {
        return Err(DropReason::TtlExceeded);
    }
    write_tracked(packet, at, &[ttl - 1], delta).ok_or(DropReason::L4Truncated)
}

/// Writes `addr` at `at`, recording the change for the IP header and the pseudo-header.
fn replace_addr(
    packet: &mut [u8],
    at: usize,
    addr: IpAddr,
    ip: &mut Delta,
    pseudo: &mut Delta,
) -> Result<(), DropReason> {
    let t = DropReason::L4Truncated;
    match addr {
        IpAddr::V4(a) => {
            let old: [u8; 4] = crate::wire::array(packet, at).ok_or(t)?;
            write_tracked(packet, at, &a.octets(), ip).ok_or(t)?;
            pseudo.replace(&old, &a.octets());
        }
        IpAddr::V6(a) => {
            let old: [u8; 16] = crate::wire::array(packet, at).ok_or(t)?;
            write_tracked(packet, at, &a.octets(), ip).ok_or(t)?;
            pseudo.replace(&old, &a.octets());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::testing::{internet_checksum, ipv4, ipv6, tcp_segment, udp_datagram, TcpSpec};

    fn v4(a: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, 0, a)
    }

    #[test]
    fn ipv4_tcp_rewrite_matches_a_packet_built_from_scratch() {
        let spec = TcpSpec {
            flags: 0x02,
            options: vec![2, 4, 0x05, 0xb4],
            ..TcpSpec::new(40000, 80)
        };
        let mut packet = ipv4(
            v4(9),
            v4(10),
            6,
            64,
            &tcp_segment(v4(9).into(), v4(10).into(), &spec),
        );
        let rw = Rewrite {
            src: v4(1).into(),
            dst: v4(20).into(),
            sport: 1027,
            dport: 8080,
            mss_clamp: Some(1400),
        };
        let done = rewrite(&mut packet, 20, Proto::Tcp, 24, &rw).unwrap();
        assert!(done.mss_clamped);
        let want_spec = TcpSpec {
            options: vec![2, 4, 0x05, 0x78],
            ..TcpSpec::new(1027, 8080)
        };
        let want = ipv4(
            v4(1),
            v4(20),
            6,
            63,
            &tcp_segment(
                v4(1).into(),
                v4(20).into(),
                &TcpSpec {
                    flags: 0x02,
                    ..want_spec
                },
            ),
        );
        assert_eq!(packet, want);
        assert_eq!(internet_checksum(&[&packet[..20]]), 0);
    }

    #[test]
    fn udp_zero_checksum_stays_zero_and_ipv6_updates() {
        let mut d = udp_datagram(v4(9).into(), v4(10).into(), 5000, 53, b"q");
        d[6..8].copy_from_slice(&[0, 0]);
        let mut packet = ipv4(v4(9), v4(10), 17, 2, &d);
        let rw = Rewrite {
            src: v4(1).into(),
            dst: v4(20).into(),
            sport: 1030,
            dport: 5353,
            mss_clamp: None,
        };
        rewrite(&mut packet, 20, Proto::Udp, 0, &rw).unwrap();
        assert_eq!(&packet[26..28], &[0, 0]);
        assert_eq!(packet[8], 1);

        let (a, b, c, e): (Ipv6Addr, Ipv6Addr, Ipv6Addr, Ipv6Addr) = (
            "2001:2::9".parse().unwrap(),
            "2001:2::10".parse().unwrap(),
            "2001:2:0:1::1".parse().unwrap(),
            "2001:2:0:1::20".parse().unwrap(),
        );
        let mut packet = ipv6(
            a,
            b,
            17,
            64,
            &udp_datagram(a.into(), b.into(), 5000, 53, b"query"),
        );
        let rw = Rewrite {
            src: c.into(),
            dst: e.into(),
            sport: 1030,
            dport: 5353,
            mss_clamp: None,
        };
        rewrite(&mut packet, 40, Proto::Udp, 0, &rw).unwrap();
        let want = ipv6(
            c,
            e,
            17,
            63,
            &udp_datagram(c.into(), e.into(), 1030, 5353, b"query"),
        );
        assert_eq!(packet, want);
    }

    #[test]
    fn last_hop_is_refused() {
        let mut packet = ipv4(
            v4(9),
            v4(10),
            17,
            1,
            &udp_datagram(v4(9).into(), v4(10).into(), 1, 2, b""),
        );
        let rw = Rewrite {
            src: v4(1).into(),
            dst: v4(2).into(),
            sport: 3,
            dport: 4,
            mss_clamp: None,
        };
        assert_eq!(
            rewrite(&mut packet, 20, Proto::Udp, 0, &rw),
            Err(DropReason::TtlExceeded)
        );
    }
}
