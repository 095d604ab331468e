//! ICMP (RFC 792) and ICMPv6 (RFC 4443) messages: length and checksum checks, echo replies.

use core::net::Ipv6Addr;

use smoltcp::wire::{Icmpv4Packet, Icmpv6Packet};

use super::{byte, put};
use crate::DropReason;

/// ICMP echo request.
pub const ICMP_ECHO_REQUEST: u8 = 8;
/// ICMP echo reply.
pub const ICMP_ECHO_REPLY: u8 = 0;
/// ICMPv6 echo request.
pub const ICMPV6_ECHO_REQUEST: u8 = 128;
/// ICMPv6 echo reply.
pub const ICMPV6_ECHO_REPLY: u8 = 129;
/// ICMPv6 neighbour solicitation.
pub const ICMPV6_NEIGHBOUR_SOLICIT: u8 = 135;
/// ICMPv6 neighbour advertisement.
pub const ICMPV6_NEIGHBOUR_ADVERT: u8 = 136;

/// Length of an ICMP header (type, code, checksum, 4 bytes of rest-of-header).
pub const ICMP_HEADER_LEN: usize = 8;
/// Length of the ICMPv6 part every message has (type, code, checksum).
pub const ICMPV6_MIN_LEN: usize = 4;
/// Length of an ICMPv6 echo header.
pub const ICMPV6_ECHO_LEN: usize = 8;

/// Checks an ICMP message (exactly the IP payload) and returns its type.
pub fn check_icmpv4(msg: &[u8]) -> Result<u8, DropReason> {
    if msg.len() < ICMP_HEADER_LEN {
        return Err(DropReason::IcmpTruncated);
    }
    if !Icmpv4Packet::new_unchecked(msg).verify_checksum() {
        return Err(DropReason::IcmpBadChecksum);
    }
    byte(msg, 0).ok_or(DropReason::IcmpTruncated)
}

/// Checks an ICMPv6 message (exactly the IP payload) against its pseudo-header and returns its type.
pub fn check_icmpv6(msg: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<u8, DropReason> {
    if msg.len() < ICMPV6_MIN_LEN {
        return Err(DropReason::Icmpv6Truncated);
    }
    if !Icmpv6Packet::new_unchecked(msg).verify_checksum(&src, &dst) {
        return Err(DropReason::Icmpv6BadChecksum);
    }
    byte(msg, 0).ok_or(DropReason::Icmpv6Truncated)
}

/// Turns an ICMP message into a reply of type `ty` (code 0) and recomputes its checksum.
pub fn make_icmpv4_reply(msg: &mut [u8], ty: u8) -> Option<()> {
    if msg.len() < ICMP_HEADER_LEN {
        return None;
    }
    put(msg, 0, &[ty, 0])?;
    Icmpv4Packet::new_unchecked(msg).fill_checksum();
    Some(())
}

/// Sets the type (and code 0) of an ICMPv6 message and recomputes its checksum.
pub fn make_icmpv6_reply(msg: &mut [u8], ty: u8, src: Ipv6Addr, dst: Ipv6Addr) -> Option<()> {
    if msg.len() < ICMPV6_MIN_LEN {
        return None;
    }
    put(msg, 0, &[ty, 0])?;
    Icmpv6Packet::new_unchecked(msg).fill_checksum(&src, &dst);
    Some(())
}

/// Recomputes the checksum of a complete ICMPv6 message.
pub fn fill_icmpv6_checksum(msg: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) -> Option<()> {
    if msg.len() < ICMPV6_MIN_LEN {
        return None;
    }
    Icmpv6Packet::new_unchecked(msg).fill_checksum(&src, &dst);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmpv4_reply_checksum_verifies() {
        let mut m = [8u8, 0, 0, 0, 0, 1, 0, 2, b'h', b'i'];
        make_icmpv4_reply(&mut m, ICMP_ECHO_REQUEST).unwrap();
        assert_eq!(check_icmpv4(&m), Ok(8));
        make_icmpv4_reply(&mut m, ICMP_ECHO_REPLY).unwrap();
        assert_eq!(check_icmpv4(&m), Ok(0));
        m[9] ^= 1;
        assert_eq!(check_icmpv4(&m), Err(DropReason::IcmpBadChecksum));
        assert_eq!(check_icmpv4(&m[..7]), Err(DropReason::IcmpTruncated));
    }

    #[test]
    fn icmpv6_checksum_covers_the_pseudo_header() {
        let (a, b): (Ipv6Addr, Ipv6Addr) =
            ("2001:2::1".parse().unwrap(), "2001:2::2".parse().unwrap());
        let mut m = [128u8, 0, 0, 0, 0, 1, 0, 2];
        make_icmpv6_reply(&mut m, ICMPV6_ECHO_REPLY, a, b).unwrap();
        assert_eq!(check_icmpv6(&m, a, b), Ok(129));
        assert_eq!(check_icmpv6(&m, b, b), Err(DropReason::Icmpv6BadChecksum));
        assert_eq!(
            check_icmpv6(&m[..3], a, b),
            Err(DropReason::Icmpv6Truncated)
        );
    }
}
