//! Wire formats: checked parsing into small `Copy` headers, and emitting into buffers.
//!
//! Every parser checks each length and field itself, in wire order, so that each malformed input
//! maps to one precise [`crate::DropReason`] (smoltcp's `check_len` would fold them into one error).
//! No function here can panic: reads and writes go through [`be16`], [`array()`] and [`put`], which
//! return `None` instead of indexing out of range. Checksums use smoltcp's `wire` packets on slices
//! whose lengths were checked first.

pub mod arp;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod nd;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of an 802.1Q tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IP protocol number of ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;

/// The broadcast MAC.
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// Whether `mac` is a group (multicast or broadcast) address.
pub const fn is_group_mac(mac: [u8; 6]) -> bool {
    mac[0] & 1 == 1
}

/// The big-endian `u16` at `off`.
#[inline]
pub fn be16(data: &[u8], off: usize) -> Option<u16> {
    array(data, off).map(u16::from_be_bytes)
}

/// The `N` bytes at `off`.
#[inline]
pub fn array<const N: usize>(data: &[u8], off: usize) -> Option<[u8; N]> {
    data.get(off..off.checked_add(N)?)?.try_into().ok()
}

/// The byte at `off`.
#[inline]
pub fn byte(data: &[u8], off: usize) -> Option<u8> {
    data.get(off).copied()
}

/// Writes `src` at `off`.
#[inline]
pub fn put(data: &mut [u8], off: usize, src: &[u8]) -> Option<()> {
    data.get_mut(off..off.checked_add(src.len())?)?
        .copy_from_slice(src);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_refuse_out_of_range() {
        let mut d = [1u8, 2, 3];
        assert_eq!(be16(&d, 1), Some(0x0203));
        assert_eq!(be16(&d, 2), None);
        assert_eq!(array::<3>(&d, 0), Some([1, 2, 3]));
        assert_eq!(array::<1>(&d, usize::MAX), None);
        assert_eq!(byte(&d, 3), None);
        assert_eq!(put(&mut d, 2, &[9, 9]), None);
        assert_eq!(put(&mut d, 1, &[7, 8]), Some(()));
        assert_eq!(d, [1, 7, 8]);
        assert!(is_group_mac(BROADCAST_MAC) && !is_group_mac([2, 0, 0, 0, 0, 1]));
    }
}
