//! The frames the generator sends: Ethernet / IPv4 / UDP with a [`Stamp`] at the start of the
//! payload and zero padding up to the frame size.
//!
//! A [`FrameTemplate`] is built once per run with every byte that is the same in all frames and the
//! checksum sums of those bytes; [`FrameTemplate::write`] then copies it and fills in what changes per
//! frame (source address and port, stamp, both checksums) in constant time, without allocating.

use std::net::Ipv4Addr;

use crate::checksum;
use crate::flows::FlowSet;
use crate::spec::MacAddr;
use crate::stamp::{Stamp, STAMP_LEN};

/// Ethernet header bytes.
pub const ETH_LEN: usize = 14;
/// IPv4 header bytes (no options).
pub const IPV4_LEN: usize = 20;
/// UDP header bytes.
pub const UDP_LEN: usize = 8;
/// Frame check sequence bytes: counted in a frame size (RFC 2544 sizes) but added by the NIC.
pub const FCS_LEN: usize = 4;
/// The smallest frame size (with FCS): 64 bytes.
pub const MIN_FRAME_SIZE: usize = 64;
/// The largest frame size (with FCS) at a 1500-byte MTU: 1518 bytes.
pub const MAX_FRAME_SIZE: usize = 1518;

const IP_OFF: usize = ETH_LEN;
const UDP_OFF: usize = ETH_LEN + IPV4_LEN;
const STAMP_OFF: usize = UDP_OFF + UDP_LEN;
const IP_SRC: usize = IP_OFF + 12;
const IP_CSUM: usize = IP_OFF + 10;
const UDP_SPORT: usize = UDP_OFF;
const UDP_CSUM: usize = UDP_OFF + 6;

/// What every frame of a run has in common.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpec {
    /// Destination MAC (the device under test's port).
    pub dst_mac: MacAddr,
    /// Source MAC.
    pub src_mac: MacAddr,
    /// Destination address.
    pub dst_ip: Ipv4Addr,
    /// Destination port.
    pub dst_port: u16,
    /// Frame size with FCS, [`MIN_FRAME_SIZE`]..=[`MAX_FRAME_SIZE`].
    pub frame_size: usize,
    /// The run tag written into every stamp.
    pub tag: u16,
}

/// A prepared frame plus the checksum sums of its fixed parts.
#[derive(Debug, Clone)]
pub struct FrameTemplate {
    bytes: Vec<u8>,
    flows: FlowSet,
    tag: u16,
    ip_sum: u32,
    udp_sum: u32,
}

impl FrameTemplate {
    /// The template for `spec`, sweeping `flows`.
    pub fn new(spec: &FrameSpec, flows: FlowSet) -> Result<Self, String> {
        if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&spec.frame_size) {
            return Err(format!(
                "frame size {} is outside {MIN_FRAME_SIZE}..={MAX_FRAME_SIZE} (bytes with FCS)",
                spec.frame_size
            ));
        }
        let len = spec.frame_size - FCS_LEN;
        let ip_len = u16::try_from(len - ETH_LEN).map_err(|_| "frame too long".to_string())?;
        let udp_len = ip_len - IPV4_LEN as u16;
        let mut b = vec![0u8; len];
        b[0..6].copy_from_slice(&spec.dst_mac.0);
        b[6..12].copy_from_slice(&spec.src_mac.0);
        b[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let ip = &mut b[IP_OFF..UDP_OFF];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
        ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes()); // DF: nothing on the way should fragment
        ip[8] = 64;
        ip[9] = 17;
        ip[16..20].copy_from_slice(&spec.dst_ip.octets());
        let udp = &mut b[UDP_OFF..STAMP_OFF];
        udp[2..4].copy_from_slice(&spec.dst_port.to_be_bytes());
        udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
        // Sums over the fixed bytes: source address, source port, stamp and checksums are still zero.
        let ip_sum = checksum::add_bytes(0, &b[IP_OFF..UDP_OFF]);
        let pseudo = checksum::add_u32(17 + u32::from(udp_len), u32::from(spec.dst_ip));
        let udp_sum = checksum::add_bytes(pseudo, &b[UDP_OFF..]);
        Ok(FrameTemplate {
            bytes: b,
            flows,
            tag: spec.tag,
            ip_sum,
            udp_sum,
        })
    }

    /// Bytes of a frame as handed to the NIC (the frame size less the FCS).
    pub fn frame_len(&self) -> usize {
        self.bytes.len()
    }

    /// The flows this template sweeps.
    #[cfg(test)]
    pub fn flows(&self) -> &FlowSet {
        &self.flows
    }

    /// Writes frame number `seq` (flow `seq % flows`) stamped with `tsc` into `out`, which must be
    /// [`Self::frame_len`] bytes long; false (and `out` untouched) otherwise.
    #[inline]
    pub fn write(&self, out: &mut [u8], seq: u32, tsc: u64) -> bool {
        if out.len() != self.bytes.len() {
            return false;
        }
        out.copy_from_slice(&self.bytes);
        self.fill(out, seq, tsc);
        true
    }

    /// Writes only what changes per frame into `out`, a frame [`Self::write`] made before (to resend
    /// a frame with a fresh TSC); false (and `out` untouched) if `out` has the wrong length.
    #[inline]
    pub fn restamp(&self, out: &mut [u8], seq: u32, tsc: u64) -> bool {
        if out.len() != self.bytes.len() {
            return false;
        }
        self.fill(out, seq, tsc);
        true
    }

    fn fill(&self, out: &mut [u8], seq: u32, tsc: u64) {
        let (src, sport) = self.flows.flow(seq);
        let src = u32::from(src);
        let stamp = Stamp {
            tag: self.tag,
            seq,
            tsc,
        };
        out[IP_SRC..IP_SRC + 4].copy_from_slice(&src.to_be_bytes());
        out[UDP_SPORT..UDP_SPORT + 2].copy_from_slice(&sport.to_be_bytes());
        out[STAMP_OFF..STAMP_OFF + STAMP_LEN].copy_from_slice(&stamp.to_bytes());
        let ip_csum = checksum::finish(checksum::add_u32(self.ip_sum, src));
        out[IP_CSUM..IP_CSUM + 2].copy_from_slice(&ip_csum.to_be_bytes());
        let mut udp = checksum::add_u32(self.udp_sum, src) + u32::from(sport);
        udp = checksum::add_u32(udp, (u32::from(MAGIC_WORD) << 16) | u32::from(self.tag));
        udp = checksum::add_u32(udp, seq);
        udp = checksum::add_u64(udp, tsc);
        let udp_csum = match checksum::finish(udp) {
            0 => 0xffff, // 0 means "no checksum" in UDP over IPv4
            c => c,
        };
        out[UDP_CSUM..UDP_CSUM + 2].copy_from_slice(&udp_csum.to_be_bytes());
    }
}

const MAGIC_WORD: u16 = crate::stamp::MAGIC;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp;

    fn spec(frame_size: usize) -> FrameSpec {
        FrameSpec {
            dst_mac: "02:00:c6:12:00:01".parse().unwrap(),
            src_mac: "02:00:c6:12:00:03".parse().unwrap(),
            dst_ip: Ipv4Addr::new(198, 18, 10, 20),
            dst_port: 9,
            frame_size,
            tag: 0x0a0b,
        }
    }

    fn template(frame_size: usize) -> FrameTemplate {
        let flows = FlowSet::new(
            "198.18.1.0/24".parse().unwrap(),
            "1024-65535".parse().unwrap(),
            1000,
        )
        .unwrap();
        FrameTemplate::new(&spec(frame_size), flows).unwrap()
    }

    /// Verifies both checksums from scratch, the receiver's way: the header (and pseudo header plus
    /// datagram) with the checksum in place must sum to 0xffff.
    fn checksums_verify(f: &[u8]) -> bool {
        let ip_ok = checksum::finish(checksum::add_bytes(0, &f[14..34])) == 0;
        let udp_len = u16::from_be_bytes([f[38], f[39]]);
        let mut pseudo = checksum::add_bytes(0, &f[26..34]);
        pseudo += 17 + u32::from(udp_len);
        let udp_ok = checksum::finish(checksum::add_bytes(pseudo, &f[34..])) == 0;
        ip_ok && udp_ok
    }

    #[test]
    fn a_minimum_frame_byte_for_byte() {
        let t = template(64);
        let mut f = vec![0u8; t.frame_len()];
        assert!(t.write(&mut f, 257, 0x1122_3344_5566_7788));
        #[rustfmt::skip]
        let expected: [u8; 60] = [
            0x02, 0x00, 0xc6, 0x12, 0x00, 0x01, 0x02, 0x00, 0xc6, 0x12, 0x00, 0x03, 0x08, 0x00,
            // IPv4: len 46, DF, TTL 64, UDP, checksum, 198.18.1.1 -> 198.18.10.20 (flow 257: address 1, port 1025)
            0x45, 0x00, 0x00, 0x2e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xa3, 0x85,
            198, 18, 1, 1, 198, 18, 10, 20,
            // UDP 1025 -> 9, len 26, checksum
            0x04, 0x01, 0x00, 0x09, 0x00, 0x1a, 0x5c, 0xf9,
            // stamp: magic, tag, seq 257, tsc
            0xeb, 0x1b, 0x0a, 0x0b, 0x00, 0x00, 0x01, 0x01,
            0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
            0x00, 0x00,
        ];
        assert_eq!(f, expected);
        assert!(checksums_verify(&f));
        assert_eq!(
            stamp::find(&f),
            Some(Stamp {
                tag: 0x0a0b,
                seq: 257,
                tsc: 0x1122_3344_5566_7788
            })
        );
    }

    #[test]
    fn checksums_hold_for_every_size_flow_and_stamp() {
        for size in [64, 65, 128, 1000, 1518] {
            let t = template(size);
            let mut f = vec![0u8; t.frame_len()];
            for (seq, tsc) in [
                (0u32, 0u64),
                (1, u64::MAX),
                (999, 1 << 40),
                (u32::MAX, 0xffff_0000_ffff_0000),
            ] {
                assert!(t.write(&mut f, seq, tsc));
                assert_eq!(f.len(), size - 4);
                assert!(checksums_verify(&f), "size {size} seq {seq} tsc {tsc:#x}");
                let (src, sport) = t.flows().flow(seq);
                assert_eq!(&f[26..30], &src.octets());
                assert_eq!(&f[34..36], &sport.to_be_bytes());
            }
        }
    }

    #[test]
    fn restamp_changes_only_the_tsc_and_checksum() {
        let t = template(64);
        let mut f = vec![0u8; t.frame_len()];
        assert!(t.write(&mut f, 42, 1000));
        let before = f.clone();
        assert!(t.restamp(&mut f, 42, 2000));
        assert!(checksums_verify(&f));
        let changed: Vec<usize> = (0..f.len()).filter(|&i| f[i] != before[i]).collect();
        assert!(
            changed
                .iter()
                .all(|&i| (40..42).contains(&i) || (50..58).contains(&i)),
            "{changed:?}"
        );
        assert_eq!(stamp::find(&f).unwrap().tsc, 2000);
    }

    #[test]
    fn wrong_buffer_lengths_and_sizes_are_refused() {
        let t = template(64);
        let mut short = vec![0u8; 59];
        assert!(!t.write(&mut short, 0, 0));
        assert!(!t.restamp(&mut short, 0, 0));
        assert_eq!(short, vec![0u8; 59]);
        let flows = *t.flows();
        assert!(FrameTemplate::new(&spec(63), flows).is_err());
        assert!(FrameTemplate::new(&spec(1519), flows).is_err());
    }
}
