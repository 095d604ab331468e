//! The stamp every generated frame carries at the start of its UDP payload, and finding it again in a
//! received frame whatever the addresses and ports were rewritten to (NAT, FullNAT, DNAT).
//!
//! Layout, big-endian, 16 bytes: magic `0xEB1B` (2), run tag (2), sequence number (4), TSC at send
//! (8). It fits the 18 payload bytes of a minimum 64-byte frame. The run tag keeps frames of an
//! earlier run (a priming run, late arrivals) out of this run's counts.
//!
//! After the last stamped frame the sender sends *flush* frames (see [`flush_frame`]): on af_packet a
//! frame handed to the tx ring leaves only at a later send call, so without them the last frames of a
//! run would never go out and would count as lost.
//!
//! No function here panics, whatever the bytes: every read is a checked `get`.

/// The first two bytes of a stamp.
pub const MAGIC: u16 = 0xEB1B;
/// Bytes of a stamp.
pub const STAMP_LEN: usize = 16;

/// The EtherType of flush frames: IEEE 802 local experimental, which no device under test forwards
/// but an io forwarder.
use edgelb_engine::wire::{ETHERTYPE_IPV4, ETHERTYPE_VLAN};

pub const ETHERTYPE_FLUSH: u16 = 0x88B5;
/// Bytes of a flush frame (the minimum frame less its FCS).
pub const FLUSH_LEN: usize = 60;
const IPPROTO_UDP: u8 = 17;
const UDP_HEADER_LEN: usize = 8;

/// What a stamp says about its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The run this frame belongs to.
    pub tag: u16,
    /// The frame's number in its run, from 0.
    pub seq: u32,
    /// The sender's TSC when the frame was (last) put on the wire.
    pub tsc: u64,
}

impl Stamp {
    /// The stamp's 16 bytes.
    pub fn to_bytes(self) -> [u8; STAMP_LEN] {
        let mut out = [0u8; STAMP_LEN];
        out[0..2].copy_from_slice(&MAGIC.to_be_bytes());
        out[2..4].copy_from_slice(&self.tag.to_be_bytes());
        out[4..8].copy_from_slice(&self.seq.to_be_bytes());
        out[8..16].copy_from_slice(&self.tsc.to_be_bytes());
        out
    }

    /// The stamp at the start of `bytes`, if the magic is there.
    pub fn from_bytes(bytes: &[u8]) -> Option<Stamp> {
        let b: &[u8; STAMP_LEN] = bytes.get(..STAMP_LEN)?.try_into().ok()?;
        if u16::from_be_bytes([b[0], b[1]]) != MAGIC {
            return None;
        }
        Some(Stamp {
            tag: u16::from_be_bytes([b[2], b[3]]),
            seq: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            tsc: u64::from_be_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
        })
    }
}

/// A flush frame from `src` to `dst`: EtherType [`ETHERTYPE_FLUSH`], then the magic, then zeros.
pub fn flush_frame(dst: [u8; 6], src: [u8; 6]) -> [u8; FLUSH_LEN] {
    let mut f = [0u8; FLUSH_LEN];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&ETHERTYPE_FLUSH.to_be_bytes());
    f[14..16].copy_from_slice(&MAGIC.to_be_bytes());
    f
}

/// Whether `frame` is a flush frame.
pub fn is_flush(frame: &[u8]) -> bool {
    be16(frame, 12) == Some(ETHERTYPE_FLUSH) && be16(frame, 14) == Some(MAGIC)
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// The stamp of an Ethernet frame (optionally one 802.1Q tag) carrying IPv4/UDP, if it has one:
/// an unfragmented first fragment, the stamp right after the UDP header.
pub fn find(frame: &[u8]) -> Option<Stamp> {
    let mut l3 = 14;
    let mut ethertype = be16(frame, 12)?;
    if ethertype == ETHERTYPE_VLAN {
        ethertype = be16(frame, 16)?;
        l3 = 18;
    }
    if ethertype != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = frame.get(l3..)?;
    let version_ihl = *ip.first()?;
    let ihl = usize::from(version_ihl & 0x0f) * 4;
    if version_ihl >> 4 != 4 || ihl < 20 || *ip.get(9)? != IPPROTO_UDP {
        return None;
    }
    // Fragment offset must be 0; the MF bit may be set (the stamp is in the first fragment).
    if be16(ip, 6)? & 0x1fff != 0 {
        return None;
    }
    Stamp::from_bytes(ip.get(ihl.checked_add(UDP_HEADER_LEN)?..)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame made by hand: Ethernet, IPv4 with `ihl` words, UDP, then `payload`.
    fn frame(vlan: bool, ihl: u8, frag: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        if vlan {
            f.extend([0x81, 0x00, 0x00, 0x05]);
        }
        f.extend([0x08, 0x00]);
        let mut ip = vec![
            0x40 | ihl,
            0,
            0,
            0,
            0,
            0,
            (frag >> 8) as u8,
            frag as u8,
            64,
            17,
            0,
            0,
        ];
        ip.extend([198, 19, 0, 1, 198, 19, 0, 21]);
        ip.resize(usize::from(ihl) * 4, 0x01);
        f.extend(ip);
        f.extend([0x04, 0x00, 0x00, 0x09, 0, 0, 0, 0]);
        f.extend(payload);
        f
    }

    const STAMP: Stamp = Stamp {
        tag: 0x1234,
        seq: 0xdead_beef,
        tsc: 0x0102_0304_0506_0708,
    };

    #[test]
    fn bytes_are_big_endian_magic_tag_seq_tsc() {
        assert_eq!(
            STAMP.to_bytes(),
            [0xEB, 0x1B, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(Stamp::from_bytes(&STAMP.to_bytes()), Some(STAMP));
    }

    #[test]
    fn found_behind_any_header_shape() {
        let mut payload = STAMP.to_bytes().to_vec();
        payload.extend([0, 0]);
        assert_eq!(find(&frame(false, 5, 0, &payload)), Some(STAMP));
        assert_eq!(find(&frame(true, 5, 0, &payload)), Some(STAMP));
        assert_eq!(
            find(&frame(false, 7, 0x4000, &payload)),
            Some(STAMP),
            "options, DF"
        );
        assert_eq!(
            find(&frame(false, 5, 0x2000, &payload)),
            Some(STAMP),
            "first fragment"
        );
    }

    #[test]
    fn not_found_in_other_frames() {
        let payload = STAMP.to_bytes();
        assert_eq!(
            find(&frame(false, 5, 0x0010, &payload)),
            None,
            "later fragment"
        );
        assert_eq!(find(&frame(false, 4, 0, &payload)), None, "ihl below 5");
        let mut tcp = frame(false, 5, 0, &payload);
        tcp[23] = 6;
        assert_eq!(find(&tcp), None, "TCP");
        let mut v6 = frame(false, 5, 0, &payload);
        v6[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(find(&v6), None, "IPv6 ethertype");
        let mut bad_magic = frame(false, 5, 0, &payload);
        bad_magic[42] = 0xEC;
        assert_eq!(find(&bad_magic), None, "magic");
    }

    #[test]
    fn flush_frames_are_recognised_and_carry_no_stamp() {
        let f = flush_frame([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 3]);
        assert_eq!(
            &f[..16],
            &[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 3, 0x88, 0xb5, 0xeb, 0x1b]
        );
        assert!(f[16..].iter().all(|b| *b == 0));
        assert!(is_flush(&f));
        assert_eq!(find(&f), None);
        assert!(!is_flush(&f[..15]));
        assert!(!is_flush(&frame(false, 5, 0, &STAMP.to_bytes())));
    }

    #[test]
    fn every_truncation_is_none_never_a_panic() {
        let f = frame(true, 6, 0, &STAMP.to_bytes());
        for len in 0..f.len() {
            assert_eq!(find(&f[..len]), None, "truncated to {len}");
        }
        assert_eq!(find(&f), Some(STAMP));
    }
}
