//! ARP for IPv4 over Ethernet (RFC 826).

use core::net::Ipv4Addr;

use super::{array, be16, byte, put, ETHERTYPE_IPV4};
use crate::DropReason;

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;
/// Length of the fixed part before the addresses.
const FIXED_LEN: usize = 8;

/// ARP request.
pub const OP_REQUEST: u16 = 1;
/// ARP reply.
pub const OP_REPLY: u16 = 2;

/// An Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// [`OP_REQUEST`] or [`OP_REPLY`].
    pub op: u16,
    /// Sender hardware address.
    pub sha: [u8; 6],
    /// Sender protocol address.
    pub spa: Ipv4Addr,
    /// Target hardware address.
    pub tha: [u8; 6],
    /// Target protocol address.
    pub tpa: Ipv4Addr,
}

impl Arp {
    /// Parses and checks `data` (the Ethernet payload; trailing padding is ignored).
    pub fn parse(data: &[u8]) -> Result<Self, DropReason> {
        if data.len() < FIXED_LEN {
            return Err(DropReason::ArpTruncated);
        }
        let t = DropReason::ArpTruncated;
        let (htype, ptype) = (be16(data, 0).ok_or(t)?, be16(data, 2).ok_or(t)?);
        let (hlen, plen) = (byte(data, 4).ok_or(t)?, byte(data, 5).ok_or(t)?);
        if htype != 1 || hlen != 6 {
            return Err(DropReason::ArpBadHardware);
        }
        if ptype != ETHERTYPE_IPV4 || plen != 4 {
            return Err(DropReason::ArpBadProtocol);
        }
        if data.len() < PACKET_LEN {
            return Err(DropReason::ArpTruncated);
        }
        let op = be16(data, 6).ok_or(t)?;
        if op != OP_REQUEST && op != OP_REPLY {
            return Err(DropReason::ArpBadOperation);
        }
        Ok(Self {
            op,
            sha: array(data, 8).ok_or(t)?,
            spa: Ipv4Addr::from(array::<4>(data, 14).ok_or(t)?),
            tha: array(data, 18).ok_or(t)?,
            tpa: Ipv4Addr::from(array::<4>(data, 24).ok_or(t)?),
        })
    }

    /// Writes the packet into the first [`PACKET_LEN`] bytes of `data`.
    pub fn emit(&self, data: &mut [u8]) -> Option<()> {
        put(data, 0, &[0, 1, 0x08, 0x00, 6, 4])?;
        put(data, 6, &self.op.to_be_bytes())?;
        put(data, 8, &self.sha)?;
        put(data, 14, &self.spa.octets())?;
        put(data, 18, &self.tha)?;
        put(data, 24, &self.tpa.octets())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Arp {
        Arp {
            op: OP_REQUEST,
            sha: [2, 0, 0, 0, 0, 9],
            spa: Ipv4Addr::new(198, 18, 0, 9),
            tha: [0; 6],
            tpa: Ipv4Addr::new(198, 18, 0, 1),
        }
    }

    #[test]
    fn round_trip() {
        let mut d = [0u8; 30];
        sample().emit(&mut d).unwrap();
        assert_eq!(&d[..8], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(Arp::parse(&d), Ok(sample()));
        assert_eq!(sample().emit(&mut d[..27]), None);
    }

    #[test]
    fn each_fault_has_its_reason() {
        let mut d = [0u8; 28];
        sample().emit(&mut d).unwrap();
        assert_eq!(Arp::parse(&d[..7]), Err(DropReason::ArpTruncated));
        assert_eq!(Arp::parse(&d[..27]), Err(DropReason::ArpTruncated));
        let with = |i: usize, v: u8| {
            let mut d = d;
            d[i] = v;
            Arp::parse(&d)
        };
        assert_eq!(with(1, 6), Err(DropReason::ArpBadHardware));
        assert_eq!(with(4, 8), Err(DropReason::ArpBadHardware));
        assert_eq!(with(2, 0x86), Err(DropReason::ArpBadProtocol));
        assert_eq!(with(5, 16), Err(DropReason::ArpBadProtocol));
        assert_eq!(with(7, 3), Err(DropReason::ArpBadOperation));
    }
}
