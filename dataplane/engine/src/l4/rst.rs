//! TCP resets for the flows of a backend that left its pool: one to the client, one to the backend.
//!
//! A RST is accepted when its sequence number is exactly the receiver's next expected one
//! (RFC 5961 section 3): the last acknowledgment number the receiver sent, which the flow table
//! keeps per direction.

use core::net::IpAddr;

use super::checksum::{finish, sum_words};
use crate::wire::ipv4::{self, MIN_HEADER_LEN};
use crate::wire::ipv6::{self, HEADER_LEN as V6_HEADER_LEN};
use crate::wire::{put, PROTO_TCP};

/// TTL / hop limit of the resets.
const TTL: u8 = 64;
/// TCP header of a reset: no options.
const TCP_LEN: usize = 20;
/// The RST flag.
const RST: u8 = 0x04;

/// One reset to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reset {
    /// Source address (the VIP towards a client, the SNAT address towards a backend).
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number: the last ACK number the destination sent.
    pub seq: u32,
}

impl Reset {
    /// Length of the IP packet.
    pub fn len(&self) -> usize {
        TCP_LEN
            + match self.src {
                IpAddr::V4(_) => MIN_HEADER_LEN,
                IpAddr::V6(_) => V6_HEADER_LEN,
            }
    }

    /// Never empty (clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the IP packet at the start of `data`; None if it does not fit or the families differ.
    pub fn emit(&self, data: &mut [u8]) -> Option<()> {
        let pseudo = match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                ipv4::emit(data, s, d, PROTO_TCP, TTL, TCP_LEN)?;
                let sum = sum_words(0, &s.octets());
                sum_words(sum, &d.octets())
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                ipv6::emit(data, s, d, PROTO_TCP, TTL, TCP_LEN)?;
                let sum = sum_words(0, &s.octets());
                sum_words(sum, &d.octets())
            }
            _ => return None,
        };
        let ip_len = self.len() - TCP_LEN;
        let tcp = data.get_mut(ip_len..ip_len + TCP_LEN)?;
        put(tcp, 0, &self.sport.to_be_bytes())?;
        put(tcp, 2, &self.dport.to_be_bytes())?;
        put(tcp, 4, &self.seq.to_be_bytes())?;
        // No ACK; data offset 5, RST, window 0, checksum and urgent pointer 0.
        put(tcp, 8, &[0, 0, 0, 0, 0x50, RST, 0, 0, 0, 0, 0, 0])?;
        let sum = sum_words(pseudo + u32::from(PROTO_TCP) + TCP_LEN as u32, tcp);
        put(tcp, 16, &finish(sum).to_be_bytes())
    }
}

#[cfg(test)]
mod tests {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::testing::{ipv4, ipv6, tcp_segment, TcpSpec};

    #[test]
    fn resets_match_segments_built_independently() {
        let (s, d) = (Ipv4Addr::new(198, 18, 10, 10), Ipv4Addr::new(198, 18, 0, 9));
        let r = Reset {
            src: s.into(),
            dst: d.into(),
            sport: 80,
            dport: 40000,
            seq: 0xdead_beef,
        };
        let mut out = [0u8; 40];
        r.emit(&mut out).unwrap();
        let spec = TcpSpec {
            seq: 0xdead_beef,
            flags: RST,
            window: 0,
            ..TcpSpec::new(80, 40000)
        };
        let mut want = ipv4(s, d, 6, 64, &tcp_segment(s.into(), d.into(), &spec));
        // Ours has identification 0 and don't-fragment; the builder 0x1234 and no flags.
        want[4..8].copy_from_slice(&[0, 0, 0x40, 0]);
        crate::testing::refresh_ipv4_checksum(&mut want);
        assert_eq!(out.as_slice(), want.as_slice());

        let (s, d): (Ipv6Addr, Ipv6Addr) =
            ("2001:2::10".parse().unwrap(), "2001:2::9".parse().unwrap());
        let r = Reset {
            src: s.into(),
            dst: d.into(),
            ..r
        };
        let mut out = [0u8; 60];
        r.emit(&mut out).unwrap();
        let want = ipv6(s, d, 6, 64, &tcp_segment(s.into(), d.into(), &spec));
        assert_eq!(out.as_slice(), want.as_slice());
        assert_eq!(r.emit(&mut [0u8; 59]), None);
    }
}
