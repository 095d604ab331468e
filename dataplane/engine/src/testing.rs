//! Readable frame construction for tests, fixtures and benches.
//!
//! Not for the hot path: everything here allocates. Checksums are computed here independently of
//! the engine (which uses smoltcp's), so a fixture built with these helpers is a second opinion.
//! Each function builds one layer; nest them: `ethernet(.., &ipv4(.., &icmpv4_echo(..)))`.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::buffer::{PacketBuffer, TestBuffer};
use crate::io::Io;
use crate::PortId;

/// An [`Io`] that records what is sent and handed off, and hands out [`TestBuffer`]s, up to an
/// optional budget.
#[derive(Debug, Default)]
pub struct RecordingIo {
    /// Frames sent, in order, with their port.
    pub sent: Vec<(PortId, Vec<u8>)>,
    /// Buffers `alloc` may still hand out; None for no limit.
    pub alloc_budget: Option<usize>,
    /// Frames handed to other cores: (core, port it arrived on, frame).
    pub handed_off: Vec<(u16, PortId, Vec<u8>)>,
    /// Refuse hand-offs (as a full ring would).
    pub refuse_handoff: bool,
}

impl RecordingIo {
    /// Takes the frames sent so far.
    pub fn take(&mut self) -> Vec<(PortId, Vec<u8>)> {
        core::mem::take(&mut self.sent)
    }
}

impl Io<TestBuffer> for RecordingIo {
    fn alloc(&mut self) -> Option<TestBuffer> {
        match &mut self.alloc_budget {
            Some(0) => None,
            Some(n) => {
                *n -= 1;
                Some(TestBuffer::new())
            }
            None => Some(TestBuffer::new()),
        }
    }

    fn send(&mut self, port: PortId, buf: TestBuffer) {
        self.sent.push((port, buf.data().to_vec()));
    }

    fn handoff(&mut self, core: u16, port: PortId, buf: TestBuffer) -> Result<(), TestBuffer> {
        if self.refuse_handoff {
            return Err(buf);
        }
        self.handed_off.push((core, port, buf.data().to_vec()));
        Ok(())
    }
}

/// The internet checksum (RFC 1071) of the concatenation of `parts`, each of even length but the last.
pub fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        let mut chunks = part.chunks_exact(2);
        for c in &mut chunks {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u32::from(*last) << 8;
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn len16(n: usize) -> [u8; 2] {
    u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes()
}

/// An Ethernet frame; with `vlan`, an 802.1Q tag (priority 0) before `ethertype`.
pub fn ethernet(
    dst: [u8; 6],
    src: [u8; 6],
    vlan: Option<u16>,
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(id) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&id.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// `frame` padded with zeros to `len` bytes (Ethernet's 60-byte minimum, say).
pub fn padded(mut frame: Vec<u8>, len: usize) -> Vec<u8> {
    if frame.len() < len {
        frame.resize(len, 0);
    }
    frame
}

/// An Ethernet/IPv4 ARP packet.
pub fn arp(op: u16, sha: [u8; 6], spa: Ipv4Addr, tha: [u8; 6], tpa: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0, 1, 0x08, 0x00, 6, 4];
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&sha);
    p.extend_from_slice(&spa.octets());
    p.extend_from_slice(&tha);
    p.extend_from_slice(&tpa.octets());
    p
}

/// An IPv4 packet without options (identification 0x1234, no flags), with its header checksum.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, ttl: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_with_options(src, dst, protocol, ttl, &[], payload)
}

/// An IPv4 packet with `options` (padded to a multiple of 4 by the caller), with its header checksum.
pub fn ipv4_with_options(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ttl: u8,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let header_len = 20 + options.len();
    let ihl = u8::try_from(header_len / 4).unwrap_or(0x0f) & 0x0f;
    let mut p = vec![0x40 | ihl, 0];
    p.extend_from_slice(&len16(header_len + payload.len()));
    p.extend_from_slice(&[0x12, 0x34, 0, 0, ttl, protocol, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(options);
    let sum = internet_checksum(&[&p]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// Recomputes the IPv4 header checksum of `packet` (after a test changed a header field).
pub fn refresh_ipv4_checksum(packet: &mut [u8]) {
    let header_len = usize::from(packet.first().copied().unwrap_or(0) & 0x0f) * 4;
    if packet.len() >= header_len.max(20) {
        packet[10..12].copy_from_slice(&[0, 0]);
        let sum = internet_checksum(&[&packet[..header_len]]);
        packet[10..12].copy_from_slice(&sum.to_be_bytes());
    }
}

/// An IPv6 packet (traffic class and flow label 0).
pub fn ipv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    hop_limit: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&len16(payload.len()));
    p.extend_from_slice(&[next_header, hop_limit]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// The TCP/UDP pseudo-header of `src` → `dst` for `len` bytes of protocol `proto`.
pub fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(40);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&[0, proto]);
            p.extend_from_slice(&len16(len));
        }
        _ => {
            for a in [src, dst] {
                match a {
                    IpAddr::V4(v4) => p.extend_from_slice(&v4.to_ipv6_mapped().octets()),
                    IpAddr::V6(v6) => p.extend_from_slice(&v6.octets()),
                }
            }
            p.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, proto]);
        }
    }
    p
}

/// The fields of a TCP segment to build; [`TcpSpec::new`] gives a bare SYN with window 65535.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSpec {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flags byte (0x02 SYN, 0x10 ACK, 0x04 RST, 0x01 FIN).
    pub flags: u8,
    /// Window.
    pub window: u16,
    /// Options, padded to a multiple of 4 by the caller.
    pub options: Vec<u8>,
    /// Payload.
    pub payload: Vec<u8>,
}

impl TcpSpec {
    /// A SYN from `sport` to `dport`, sequence 1000, no options.
    pub fn new(sport: u16, dport: u16) -> Self {
        Self {
            sport,
            dport,
            seq: 1000,
            ack: 0,
            flags: 0x02,
            window: 65535,
            options: Vec::new(),
            payload: Vec::new(),
        }
    }
}

/// A TCP segment with its checksum over the pseudo-header of `src` → `dst`.
pub fn tcp_segment(src: IpAddr, dst: IpAddr, spec: &TcpSpec) -> Vec<u8> {
    let header_len = 20 + spec.options.len();
    let mut s = Vec::with_capacity(header_len + spec.payload.len());
    s.extend_from_slice(&spec.sport.to_be_bytes());
    s.extend_from_slice(&spec.dport.to_be_bytes());
    s.extend_from_slice(&spec.seq.to_be_bytes());
    s.extend_from_slice(&spec.ack.to_be_bytes());
    s.push(u8::try_from(header_len / 4).unwrap_or(15) << 4);
    s.push(spec.flags);
    s.extend_from_slice(&spec.window.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]);
    s.extend_from_slice(&spec.options);
    s.extend_from_slice(&spec.payload);
    let sum = internet_checksum(&[&pseudo_header(src, dst, 6, s.len()), &s]);
    s[16..18].copy_from_slice(&sum.to_be_bytes());
    s
}

/// A UDP datagram with its checksum over the pseudo-header of `src` → `dst` (a computed 0 is
/// written as 0xffff).
pub fn udp_datagram(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::with_capacity(8 + payload.len());
    d.extend_from_slice(&sport.to_be_bytes());
    d.extend_from_slice(&dport.to_be_bytes());
    d.extend_from_slice(&len16(8 + payload.len()));
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    let sum = match internet_checksum(&[&pseudo_header(src, dst, 17, d.len()), &d]) {
        0 => 0xffff,
        s => s,
    };
    d[6..8].copy_from_slice(&sum.to_be_bytes());
    d
}

/// An ICMP message with its checksum: type, code, the 4 rest-of-header bytes, data.
pub fn icmpv4(ty: u8, code: u8, rest: [u8; 4], data: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(&rest);
    m.extend_from_slice(data);
    let sum = internet_checksum(&[&m]);
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    m
}

/// An ICMP echo request.
pub fn icmpv4_echo(id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let [a, b] = id.to_be_bytes();
    let [c, d] = seq.to_be_bytes();
    icmpv4(8, 0, [a, b, c, d], data)
}

/// An ICMPv6 message with its checksum over the pseudo-header of `src` → `dst`: type, code, body
/// (everything after the checksum).
pub fn icmpv6(src: Ipv6Addr, dst: Ipv6Addr, ty: u8, code: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(body);
    let mut pseudo = Vec::with_capacity(40);
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&u32::try_from(m.len()).unwrap_or(u32::MAX).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    let sum = internet_checksum(&[&pseudo, &m]);
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    m
}

/// An ICMPv6 echo request.
pub fn icmpv6_echo(src: Ipv6Addr, dst: Ipv6Addr, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&id.to_be_bytes());
    body.extend_from_slice(&seq.to_be_bytes());
    body.extend_from_slice(data);
    icmpv6(src, dst, 128, 0, &body)
}

/// A link-layer address option (type 1: source, type 2: target).
pub fn ll_option(ty: u8, mac: [u8; 6]) -> Vec<u8> {
    let mut o = vec![ty, 1];
    o.extend_from_slice(&mac);
    o
}

/// A neighbour solicitation for `target`, with a source link-layer option when `source_mac` is given.
pub fn neighbour_solicit(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    target: Ipv6Addr,
    source_mac: Option<[u8; 6]>,
) -> Vec<u8> {
    let mut body = vec![0, 0, 0, 0];
    body.extend_from_slice(&target.octets());
    if let Some(mac) = source_mac {
        body.extend_from_slice(&ll_option(1, mac));
    }
    icmpv6(src, dst, 135, 0, &body)
}

/// A neighbour advertisement for `target` with `flags` (0x80 router, 0x40 solicited, 0x20
/// override), with a target link-layer option when `target_mac` is given.
pub fn neighbour_advert(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    target: Ipv6Addr,
    flags: u8,
    target_mac: Option<[u8; 6]>,
) -> Vec<u8> {
    let mut body = vec![flags, 0, 0, 0];
    body.extend_from_slice(&target.octets());
    if let Some(mac) = target_mac {
        body.extend_from_slice(&ll_option(2, mac));
    }
    icmpv6(src, dst, 136, 0, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 section 3: the sum of these words is 0xddf2, so the checksum is its complement.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&[&data]), !0xddf2);
        assert_eq!(internet_checksum(&[&data[..4], &data[4..]]), !0xddf2);
        assert_eq!(internet_checksum(&[&[0x01]]), !0x0100);
    }

    #[test]
    fn layers_nest() {
        let src = Ipv4Addr::new(198, 18, 0, 9);
        let dst = Ipv4Addr::new(198, 18, 0, 1);
        let f = ethernet(
            [1; 6],
            [2; 6],
            Some(7),
            0x0800,
            &ipv4(src, dst, 1, 64, &icmpv4_echo(1, 2, b"x")),
        );
        assert_eq!(f.len(), 18 + 20 + 9);
        assert_eq!(&f[12..16], &[0x81, 0, 0, 7]);
        assert_eq!(internet_checksum(&[&f[18..38]]), 0);
        assert_eq!(internet_checksum(&[&f[38..]]), 0);
        assert_eq!(padded(f.clone(), 60).len(), 60);
    }
}
