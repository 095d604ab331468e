//! Ethernet II with an optional 802.1Q tag.

use super::{array, be16, put, ETHERTYPE_VLAN};
use crate::DropReason;

/// Length of an untagged Ethernet header.
pub const HEADER_LEN: usize = 14;
/// Length of an 802.1Q tag.
pub const VLAN_TAG_LEN: usize = 4;

/// A parsed Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetHeader {
    /// Destination MAC.
    pub dst: [u8; 6],
    /// Source MAC.
    pub src: [u8; 6],
    /// The VLAN id of the 802.1Q tag, if the frame has one.
    pub vlan: Option<u16>,
    /// The EtherType after the tag.
    pub ethertype: u16,
    /// Bytes before the payload: 14, or 18 with a tag.
    pub header_len: usize,
}

impl EthernetHeader {
    /// Parses the header (one tag at most; a second tag is an unknown EtherType to the caller).
    pub fn parse(frame: &[u8]) -> Result<Self, DropReason> {
        let t = DropReason::EthernetTruncated;
        let dst = array(frame, 0).ok_or(t)?;
        let src = array(frame, 6).ok_or(t)?;
        let outer = be16(frame, 12).ok_or(t)?;
        if outer != ETHERTYPE_VLAN {
            return Ok(Self {
                dst,
                src,
                vlan: None,
                ethertype: outer,
                header_len: HEADER_LEN,
            });
        }
        let t = DropReason::VlanTruncated;
        let tci = be16(frame, 14).ok_or(t)?;
        let ethertype = be16(frame, 16).ok_or(t)?;
        Ok(Self {
            dst,
            src,
            vlan: Some(tci & 0x0fff),
            ethertype,
            header_len: HEADER_LEN + VLAN_TAG_LEN,
        })
    }
}

/// Length of the header a port with `vlan` sends.
pub const fn header_len(vlan: Option<u16>) -> usize {
    match vlan {
        Some(_) => HEADER_LEN + VLAN_TAG_LEN,
        None => HEADER_LEN,
    }
}

/// Writes a header of [`header_len`]`(vlan)` bytes at the start of `frame`.
pub fn write(
    frame: &mut [u8],
    dst: [u8; 6],
    src: [u8; 6],
    vlan: Option<u16>,
    ethertype: u16,
) -> Option<()> {
    put(frame, 0, &dst)?;
    put(frame, 6, &src)?;
    match vlan {
        Some(id) => {
            put(frame, 12, &ETHERTYPE_VLAN.to_be_bytes())?;
            put(frame, 14, &(id & 0x0fff).to_be_bytes())?;
            put(frame, 16, &ethertype.to_be_bytes())
        }
        None => put(frame, 12, &ethertype.to_be_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_and_untagged() {
        let mut f = [0u8; 18];
        write(&mut f, [1; 6], [2; 6], Some(0x123), 0x0800).unwrap();
        assert_eq!(&f[12..], &[0x81, 0x00, 0x01, 0x23, 0x08, 0x00]);
        let h = EthernetHeader::parse(&f).unwrap();
        assert_eq!(
            (h.dst, h.src, h.vlan, h.ethertype, h.header_len),
            ([1; 6], [2; 6], Some(0x123), 0x0800, 18)
        );
        assert_eq!(
            EthernetHeader::parse(&f[..17]),
            Err(DropReason::VlanTruncated)
        );
        assert_eq!(
            EthernetHeader::parse(&f[..13]),
            Err(DropReason::EthernetTruncated)
        );
        write(&mut f, [1; 6], [2; 6], None, 0x86dd).unwrap();
        let h = EthernetHeader::parse(&f[..14]).unwrap();
        assert_eq!((h.vlan, h.ethertype, h.header_len), (None, 0x86dd, 14));
        assert_eq!(write(&mut f[..17], [1; 6], [2; 6], Some(1), 0x0800), None);
    }
}
