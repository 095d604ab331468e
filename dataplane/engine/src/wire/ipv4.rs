//! IPv4 headers (RFC 791): the checks of RFC 1812 section 5.2.2, one drop reason each.

use core::net::Ipv4Addr;

use smoltcp::wire::Ipv4Packet;

use super::{array, be16, byte, put};
use crate::DropReason;

/// Length of a header without options.
pub const MIN_HEADER_LEN: usize = 20;

/// A checked IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// The payload's protocol.
    pub protocol: u8,
    /// Time to live.
    pub ttl: u8,
    /// Header length in bytes (IHL × 4).
    pub header_len: usize,
    /// Total length in bytes (may be shorter than the data: Ethernet padding follows).
    pub total_len: usize,
}

impl Ipv4Header {
    /// Parses and checks the header at the start of `data`, which runs to the end of the frame.
    pub fn parse(data: &[u8]) -> Result<Self, DropReason> {
        if data.len() < MIN_HEADER_LEN {
            return Err(DropReason::Ipv4Truncated);
        }
        let t = DropReason::Ipv4Truncated;
        let version_ihl = byte(data, 0).ok_or(t)?;
        if version_ihl >> 4 != 4 {
            return Err(DropReason::Ipv4BadVersion);
        }
        let header_len = usize::from(version_ihl & 0x0f) * 4;
        if header_len < MIN_HEADER_LEN {
            return Err(DropReason::Ipv4IhlTooSmall);
        }
        let total_len = usize::from(be16(data, 2).ok_or(t)?);
        if total_len < header_len {
            return Err(DropReason::Ipv4TotalLengthTooSmall);
        }
        if total_len > data.len() {
            return Err(DropReason::Ipv4TotalLengthBeyondFrame);
        }
        let header = data.get(..header_len).ok_or(t)?;
        if !Ipv4Packet::new_unchecked(header).verify_checksum() {
            return Err(DropReason::Ipv4BadChecksum);
        }
        let src = Ipv4Addr::from(array::<4>(data, 12).ok_or(t)?);
        if is_bad_source(src) {
            return Err(DropReason::Ipv4BadSource);
        }
        // More-fragments flag or a non-zero offset.
        if be16(data, 6).ok_or(t)? & 0x3fff != 0 {
            return Err(DropReason::Ipv4Fragment);
        }
        Ok(Self {
            src,
            dst: Ipv4Addr::from(array::<4>(data, 16).ok_or(t)?),
            protocol: byte(data, 9).ok_or(t)?,
            ttl: byte(data, 8).ok_or(t)?,
            header_len,
            total_len,
        })
    }
}

/// Sources no reply can go to: multicast, broadcast, loopback and "this network".
fn is_bad_source(src: Ipv4Addr) -> bool {
    src.is_multicast() || src.is_broadcast() || src.is_loopback() || src.octets()[0] == 0
}

/// Writes a 20-byte header (no options, identification 0, don't-fragment set) with its checksum.
pub fn emit(
    data: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ttl: u8,
    payload_len: usize,
) -> Option<()> {
    let total = u16::try_from(MIN_HEADER_LEN + payload_len).ok()?;
    put(data, 0, &[0x45, 0])?;
    put(data, 2, &total.to_be_bytes())?;
    put(data, 4, &[0, 0, 0x40, 0, ttl, protocol, 0, 0])?;
    put(data, 12, &src.octets())?;
    put(data, 16, &dst.octets())?;
    fill_checksum(data)
}

/// Recomputes the header checksum of the header at the start of `header` (IHL taken from it).
pub fn fill_checksum(header: &mut [u8]) -> Option<()> {
    let len = usize::from(byte(header, 0)? & 0x0f) * 4;
    let header = header
        .get_mut(..len)
        .filter(|h| h.len() >= MIN_HEADER_LEN)?;
    Ipv4Packet::new_unchecked(header).fill_checksum();
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> [u8; 24] {
        let mut h = [0u8; 24];
        h[..20].copy_from_slice(&[
            0x45, 0, 0, 24, 0, 1, 0x40, 0, 64, 1, 0, 0, 198, 18, 0, 9, 198, 18, 0, 1,
        ]);
        fill_checksum(&mut h).unwrap();
        h
    }

    #[test]
    fn parses_a_good_header_with_padding() {
        let mut d = [0u8; 30];
        d[..24].copy_from_slice(&header());
        let h = Ipv4Header::parse(&d).unwrap();
        assert_eq!(h.src, Ipv4Addr::new(198, 18, 0, 9));
        assert_eq!(h.dst, Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(
            (h.protocol, h.ttl, h.header_len, h.total_len),
            (1, 64, 20, 24)
        );
    }

    #[test]
    fn emit_writes_a_header_that_parses() {
        let mut d = [0u8; 28];
        let (a, b) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 9));
        emit(&mut d, a, b, 1, 64, 8).unwrap();
        assert_eq!(
            &d[..12],
            &[0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 1, d[10], d[11]]
        );
        let h = Ipv4Header::parse(&d).unwrap();
        assert_eq!((h.src, h.dst, h.total_len), (a, b, 28));
        assert_eq!(emit(&mut d[..19], a, b, 1, 64, 8), None);
    }

    #[test]
    fn each_fault_has_its_reason() {
        let with = |i: usize, v: u8, fix: bool| {
            let mut d = header();
            d[i] = v;
            if fix {
                fill_checksum(&mut d);
            }
            Ipv4Header::parse(&d)
        };
        assert_eq!(
            Ipv4Header::parse(&header()[..19]),
            Err(DropReason::Ipv4Truncated)
        );
        assert_eq!(with(0, 0x65, false), Err(DropReason::Ipv4BadVersion));
        assert_eq!(with(0, 0x44, false), Err(DropReason::Ipv4IhlTooSmall));
        assert_eq!(with(3, 19, true), Err(DropReason::Ipv4TotalLengthTooSmall));
        assert_eq!(
            with(3, 25, true),
            Err(DropReason::Ipv4TotalLengthBeyondFrame)
        );
        assert_eq!(
            with(0, 0x47, false),
            Err(DropReason::Ipv4TotalLengthTooSmall)
        );
        assert_eq!(with(8, 63, false), Err(DropReason::Ipv4BadChecksum));
        assert_eq!(with(12, 224, true), Err(DropReason::Ipv4BadSource));
        assert_eq!(with(12, 127, true), Err(DropReason::Ipv4BadSource));
        assert_eq!(with(12, 0, true), Err(DropReason::Ipv4BadSource));
        assert_eq!(with(6, 0x20, true), Err(DropReason::Ipv4Fragment));
        assert_eq!(with(7, 1, true), Err(DropReason::Ipv4Fragment));
    }
}
