//! IPv6 fixed headers (RFC 8200). Extension headers are left to the caller (none is handled yet).

use core::net::Ipv6Addr;

use super::{array, be16, byte, put};
use crate::DropReason;

/// Length of the fixed header.
pub const HEADER_LEN: usize = 40;

/// A checked IPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Header {
    /// Source address (may be unspecified: duplicate address detection uses it).
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// The next header.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Payload length in bytes (may be shorter than the data: Ethernet padding follows).
    pub payload_len: usize,
}

impl Ipv6Header {
    /// Parses and checks the header at the start of `data`, which runs to the end of the frame.
    pub fn parse(data: &[u8]) -> Result<Self, DropReason> {
        if data.len() < HEADER_LEN {
            return Err(DropReason::Ipv6Truncated);
        }
        let t = DropReason::Ipv6Truncated;
        if byte(data, 0).ok_or(t)? >> 4 != 6 {
            return Err(DropReason::Ipv6BadVersion);
        }
        let payload_len = usize::from(be16(data, 4).ok_or(t)?);
        if HEADER_LEN + payload_len > data.len() {
            return Err(DropReason::Ipv6PayloadBeyondFrame);
        }
        let src = Ipv6Addr::from(array::<16>(data, 8).ok_or(t)?);
        if src.is_multicast() || src.is_loopback() {
            return Err(DropReason::Ipv6BadSource);
        }
        Ok(Self {
            src,
            dst: Ipv6Addr::from(array::<16>(data, 24).ok_or(t)?),
            next_header: byte(data, 6).ok_or(t)?,
            hop_limit: byte(data, 7).ok_or(t)?,
            payload_len,
        })
    }
}

/// Writes a header (traffic class and flow label 0).
pub fn emit(
    data: &mut [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    hop_limit: u8,
    payload_len: usize,
) -> Option<()> {
    let len = u16::try_from(payload_len).ok()?;
    put(data, 0, &[0x60, 0, 0, 0])?;
    put(data, 4, &len.to_be_bytes())?;
    put(data, 6, &[next_header, hop_limit])?;
    put(data, 8, &src.octets())?;
    put(data, 24, &dst.octets())
}

/// ff02::1, all nodes on the link.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Whether `ip` is a solicited-node multicast address (ff02::1:ff00:0/104).
pub fn is_solicited_node(ip: Ipv6Addr) -> bool {
    let o = ip.octets();
    o[..13] == [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> [u8; 44] {
        let mut h = [0u8; 44];
        h[..8].copy_from_slice(&[0x60, 0, 0, 0, 0, 4, 58, 255]);
        h[8..24].copy_from_slice(&"2001:2::9".parse::<Ipv6Addr>().unwrap().octets());
        h[24..40].copy_from_slice(&"2001:2::1".parse::<Ipv6Addr>().unwrap().octets());
        h
    }

    #[test]
    fn parses_a_good_header() {
        let h = Ipv6Header::parse(&header()).unwrap();
        assert_eq!(h.src, "2001:2::9".parse::<Ipv6Addr>().unwrap());
        assert_eq!(h.dst, "2001:2::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!((h.next_header, h.hop_limit, h.payload_len), (58, 255, 4));
    }

    #[test]
    fn emit_writes_a_header_that_parses() {
        let mut d = [0u8; 48];
        let (a, b): (Ipv6Addr, Ipv6Addr) =
            ("2001:2::1".parse().unwrap(), "fe80::9".parse().unwrap());
        emit(&mut d, a, b, 58, 64, 8).unwrap();
        assert_eq!(&d[..8], &[0x60, 0, 0, 0, 0, 8, 58, 64]);
        let h = Ipv6Header::parse(&d).unwrap();
        assert_eq!((h.src, h.dst, h.payload_len), (a, b, 8));
        assert!(is_solicited_node("ff02::1:ff12:3456".parse().unwrap()));
        assert!(!is_solicited_node("ff02::1:fe12:3456".parse().unwrap()));
    }

    #[test]
    fn each_fault_has_its_reason() {
        let with = |i: usize, v: u8| {
            let mut d = header();
            d[i] = v;
            Ipv6Header::parse(&d)
        };
        assert_eq!(
            Ipv6Header::parse(&header()[..39]),
            Err(DropReason::Ipv6Truncated)
        );
        assert_eq!(with(0, 0x40), Err(DropReason::Ipv6BadVersion));
        assert_eq!(with(5, 5), Err(DropReason::Ipv6PayloadBeyondFrame));
        assert_eq!(with(8, 0xff), Err(DropReason::Ipv6BadSource));
    }
}
