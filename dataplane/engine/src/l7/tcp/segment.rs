//! The few header fields the endpoint needs before smoltcp sees a packet: the four-tuple for the
//! demux and the SYN/ACK/RST flags. Checksums and options are smoltcp's to check.
//!
//! Every read goes through smoltcp's checked views (`new_checked`), so no accessor here panics on a
//! short or lying packet.

use core::net::{IpAddr, SocketAddr};

use smoltcp::wire::{IpProtocol, IpVersion, Ipv4Packet, Ipv6Packet, TcpPacket};

use super::types::TcpDrop;

/// A TCP segment's addressing and control flags, as seen by this endpoint.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct SegmentInfo {
    /// Our side: the destination of the packet.
    pub local: SocketAddr,
    /// The peer: the source of the packet.
    pub remote: SocketAddr,
    pub syn: bool,
    pub ack: bool,
    pub rst: bool,
}

impl SegmentInfo {
    /// A connection request: SYN without ACK or RST.
    pub fn is_initial_syn(&self) -> bool {
        self.syn && !self.ack && !self.rst
    }
}

/// The IP version nibble; smoltcp's `IpVersion::of_packet` indexes `data[0]` and panics on an empty
/// slice.
fn version(packet: &[u8]) -> Option<IpVersion> {
    match packet.first()? >> 4 {
        4 => Some(IpVersion::Ipv4),
        6 => Some(IpVersion::Ipv6),
        _ => None,
    }
}

/// Reads the four-tuple and flags of an IPv4 or IPv6 packet carrying TCP.
pub(super) fn parse(packet: &[u8]) -> Result<SegmentInfo, TcpDrop> {
    match version(packet) {
        Some(IpVersion::Ipv4) => {
            let ip = Ipv4Packet::new_checked(packet).map_err(|_| TcpDrop::Malformed)?;
            if ip.more_frags() || ip.frag_offset() != 0 {
                return Err(TcpDrop::Fragment);
            }
            if ip.next_header() != IpProtocol::Tcp {
                return Err(TcpDrop::Malformed);
            }
            let (src, dst) = (ip.src_addr(), ip.dst_addr());
            let unicast = |a: core::net::Ipv4Addr| {
                !(a.is_unspecified() || a.is_broadcast() || a.is_multicast())
            };
            if !unicast(src) || !unicast(dst) {
                return Err(TcpDrop::NotUnicast);
            }
            read_tcp(ip.payload(), src.into(), dst.into())
        }
        Some(IpVersion::Ipv6) => {
            let ip = Ipv6Packet::new_checked(packet).map_err(|_| TcpDrop::Malformed)?;
            if ip.next_header() != IpProtocol::Tcp {
                return Err(TcpDrop::Malformed);
            }
            let (src, dst) = (ip.src_addr(), ip.dst_addr());
            let unicast = |a: core::net::Ipv6Addr| !(a.is_unspecified() || a.is_multicast());
            if !unicast(src) || !unicast(dst) {
                return Err(TcpDrop::NotUnicast);
            }
            read_tcp(ip.payload(), src.into(), dst.into())
        }
        _ => Err(TcpDrop::Malformed),
    }
}

fn read_tcp(payload: &[u8], src: IpAddr, dst: IpAddr) -> Result<SegmentInfo, TcpDrop> {
    let tcp = TcpPacket::new_checked(payload).map_err(|_| TcpDrop::Malformed)?;
    if tcp.src_port() == 0 || tcp.dst_port() == 0 {
        return Err(TcpDrop::Malformed);
    }
    Ok(SegmentInfo {
        local: SocketAddr::new(dst, tcp.dst_port()),
        remote: SocketAddr::new(src, tcp.src_port()),
        syn: tcp.syn(),
        ack: tcp.ack(),
        rst: tcp.rst(),
    })
}

/// Whether an outgoing IP packet is a TCP segment with RST set (for the `rst_sent` counter).
pub(super) fn is_rst(packet: &[u8]) -> bool {
    let payload = match version(packet) {
        Some(IpVersion::Ipv4) => match Ipv4Packet::new_checked(packet) {
            Ok(ip) if ip.next_header() == IpProtocol::Tcp => ip.payload(),
            _ => return false,
        },
        Some(IpVersion::Ipv6) => match Ipv6Packet::new_checked(packet) {
            Ok(ip) if ip.next_header() == IpProtocol::Tcp => ip.payload(),
            _ => return false,
        },
        _ => return false,
    };
    TcpPacket::new_checked(payload).is_ok_and(|tcp| tcp.rst())
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{IpAddress, IpRepr, TcpControl, TcpRepr, TcpSeqNumber};

    fn packet(src: &str, dst: &str, control: TcpControl, ack: Option<u32>) -> Vec<u8> {
        let (src, dst): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        let tcp = TcpRepr {
            src_port: src.port(),
            dst_port: dst.port(),
            control,
            seq_number: TcpSeqNumber(100),
            ack_number: ack.map(|a| TcpSeqNumber(a as i32)),
            window_len: 1000,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: b"",
        };
        let (s, d) = (IpAddress::from(src.ip()), IpAddress::from(dst.ip()));
        let ip = IpRepr::new(s, d, IpProtocol::Tcp, tcp.buffer_len(), 64);
        let mut buf = vec![0u8; ip.buffer_len()];
        let caps = ChecksumCapabilities::default();
        ip.emit(&mut buf[..], &caps);
        let header_len = ip.header_len();
        tcp.emit(
            &mut TcpPacket::new_unchecked(&mut buf[header_len..]),
            &s,
            &d,
            &caps,
        );
        buf
    }

    #[test]
    fn reads_ipv4_and_ipv6_four_tuples_and_flags() {
        let syn = parse(&packet(
            "198.18.0.1:40000",
            "198.18.1.1:443",
            TcpControl::Syn,
            None,
        ))
        .unwrap();
        assert_eq!(syn.remote, "198.18.0.1:40000".parse().unwrap());
        assert_eq!(syn.local, "198.18.1.1:443".parse().unwrap());
        assert!(syn.is_initial_syn());
        let rst = parse(&packet(
            "[2001:2::1]:5",
            "[2001:2::2]:80",
            TcpControl::Rst,
            Some(7),
        ))
        .unwrap();
        assert_eq!(rst.remote, "[2001:2::1]:5".parse().unwrap());
        assert_eq!(rst.local, "[2001:2::2]:80".parse().unwrap());
        assert!(rst.rst && rst.ack && !rst.syn && !rst.is_initial_syn());
        assert!(is_rst(&packet(
            "[2001:2::1]:5",
            "[2001:2::2]:80",
            TcpControl::Rst,
            None
        )));
        assert!(!is_rst(&packet(
            "198.18.0.1:5",
            "198.18.0.2:80",
            TcpControl::Syn,
            None
        )));
    }

    #[test]
    fn refuses_fragments_non_unicast_and_truncation() {
        let mut frag = packet("198.18.0.1:1", "198.18.1.1:443", TcpControl::Syn, None);
        Ipv4Packet::new_unchecked(&mut frag[..]).set_more_frags(true);
        assert_eq!(parse(&frag), Err(TcpDrop::Fragment));
        let bcast = packet("198.18.0.1:1", "255.255.255.255:443", TcpControl::Syn, None);
        assert_eq!(parse(&bcast), Err(TcpDrop::NotUnicast));
        let mcast = packet("[ff02::1]:1", "[2001:2::2]:80", TcpControl::Syn, None);
        assert_eq!(parse(&mcast), Err(TcpDrop::NotUnicast));
        let whole = packet("198.18.0.1:1", "198.18.1.1:443", TcpControl::Syn, None);
        for len in 0..whole.len() {
            assert!(parse(&whole[..len]).is_err(), "truncated to {len}");
        }
        let port0 = packet("198.18.0.1:0", "198.18.1.1:443", TcpControl::Syn, None);
        assert_eq!(parse(&port0), Err(TcpDrop::Malformed));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x1234_5678_u32;
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect();
            let _ = parse(&bytes);
            let _ = is_rst(&bytes);
        }
    }
}
