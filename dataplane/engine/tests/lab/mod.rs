//! A small lab shared by the integration tests: a two-port appliance, a client and a backend,
//! and expected frames built with smoltcp's `Repr::emit` (independently of the engine's code).

#![allow(dead_code)]
// Test support: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use edgelb_engine::flow::Proto;
use edgelb_engine::l4::{Backend, L4Input, L4Settings, L4Snapshot, Listener, PoolSpec};
use edgelb_engine::snapshot::{NeighbourTimers, PortSpec, Route, Snapshot};
use edgelb_engine::testing::{internet_checksum, pseudo_header, RecordingIo};
use edgelb_engine::{
    Capacity, CoreId, Counters, Instant, NeighbourUpdate, PortId, TestBuffer, Worker,
};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr,
    Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Packet, Ipv4Repr,
    Ipv6Packet, Ipv6Repr,
};

pub const OUTSIDE: PortId = PortId(0);
/// The inside port is on VLAN 100.
pub const INSIDE: PortId = PortId(1);
pub const VLAN: u16 = 100;

pub const PORT0_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const PORT1_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x01];
pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x09];
pub const BACKEND_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x09];
pub const GATEWAY_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];

pub const PORT0_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const PORT1_V4: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 9);
pub const BACKEND_V4: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 9);
pub const GATEWAY_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 254);
pub const VIP_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 10, 10);

/// The three backends of the TCP listener on VIP_V4:80 ("web"), on port 8080.
pub const WEB_V4: [Ipv4Addr; 3] = [
    Ipv4Addr::new(198, 19, 0, 11),
    Ipv4Addr::new(198, 19, 0, 12),
    Ipv4Addr::new(198, 19, 0, 13),
];
pub const WEB_PORT: u16 = 8080;
/// The backend of the UDP listener on VIP_V4:53 ("dns"), on port 5353.
pub const DNS_V4: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 21);
pub const DNS_PORT: u16 = 5353;
/// The SNAT address towards the backends: the inside port's first address.
pub const SNAT_V4: Ipv4Addr = PORT1_V4;
pub const BACKEND1_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x11];
pub const BACKEND2_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x12];
pub const BACKEND3_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x13];
pub const DNS_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x21];
pub const WEB6_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x61];

pub fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

pub fn port0_v6() -> Ipv6Addr {
    v6("2001:2::1")
}
pub fn port1_v6() -> Ipv6Addr {
    v6("2001:2:0:1::1")
}
pub fn client_v6() -> Ipv6Addr {
    v6("2001:2::9")
}
pub fn backend_v6() -> Ipv6Addr {
    v6("2001:2:0:1::9")
}
pub fn vip_v6() -> Ipv6Addr {
    v6("2001:2:0:10::10")
}
/// The backend of the TCP listener on vip_v6():80 ("web6"), on port 8080.
pub fn web_v6() -> Ipv6Addr {
    v6("2001:2:0:1::11")
}
/// The IPv6 SNAT address: the inside port's first address.
pub fn snat_v6() -> Ipv6Addr {
    port1_v6()
}
/// EUI-64 of PORT0_MAC.
pub fn port0_link_local() -> Ipv6Addr {
    v6("fe80::ff:fe00:1")
}
/// EUI-64 of PORT1_MAC.
pub fn port1_link_local() -> Ipv6Addr {
    v6("fe80::ff:fe00:101")
}

pub fn snapshot() -> Snapshot {
    Snapshot {
        ports: vec![
            PortSpec {
                name: "outside".into(),
                mac: PORT0_MAC,
                vlan: None,
                mtu: 1500,
                ipv4: vec![(PORT0_V4, 24)],
                ipv6: vec![(port0_v6(), 64)],
            },
            PortSpec {
                name: "inside".into(),
                mac: PORT1_MAC,
                vlan: Some(VLAN),
                mtu: 1500,
                ipv4: vec![(PORT1_V4, 24)],
                ipv6: vec![(port1_v6(), 64)],
            },
        ],
        routes: vec![Route {
            prefix: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            prefix_len: 0,
            port: OUTSIDE,
            gateway: Some(IpAddr::V4(GATEWAY_V4)),
        }],
        vips: vec![IpAddr::V4(VIP_V4), IpAddr::V6(vip_v6())],
        neighbour: NeighbourTimers::default(),
        l4: L4Snapshot::build(l4_input()).unwrap(),
        l7: Default::default(),
    }
}

/// The lab's snapshot with its L4 input changed by `change`.
pub fn snapshot_with(change: impl FnOnce(&mut L4Input)) -> Snapshot {
    let mut input = l4_input();
    change(&mut input);
    Snapshot {
        l4: L4Snapshot::build(input).unwrap(),
        ..snapshot()
    }
}

pub fn backend(addr: IpAddr, port: u16) -> Backend {
    Backend {
        addr,
        port,
        weight: 1,
        draining: false,
    }
}

/// Listeners "web" (VIP_V4:80/tcp → WEB_V4), "dns" (VIP_V4:53/udp → DNS_V4), "web6"
/// (vip_v6():80/tcp → web_v6()); a small Maglev table (251) so that labs build fast.
pub fn l4_input() -> L4Input {
    let listener = |name: &str, vip: IpAddr, port, proto, pool| Listener {
        name: name.into(),
        vip,
        port,
        proto,
        pool,
        affinity: None,
    };
    L4Input {
        listeners: vec![
            listener("web", IpAddr::V4(VIP_V4), 80, Proto::Tcp, 0),
            listener("dns", IpAddr::V4(VIP_V4), 53, Proto::Udp, 1),
            listener("web6", IpAddr::V6(vip_v6()), 80, Proto::Tcp, 2),
        ],
        pools: vec![
            PoolSpec {
                name: "web".into(),
                backends: WEB_V4
                    .iter()
                    .map(|a| backend(IpAddr::V4(*a), WEB_PORT))
                    .collect(),
            },
            PoolSpec {
                name: "dns".into(),
                backends: vec![backend(IpAddr::V4(DNS_V4), DNS_PORT)],
            },
            PoolSpec {
                name: "web6".into(),
                backends: vec![backend(IpAddr::V6(web_v6()), WEB_PORT)],
            },
        ],
        settings: L4Settings {
            maglev_size: 251,
            ..L4Settings::default()
        },
        rss: Vec::new(),
    }
}

/// The lab's capacities: small flow tables, so that many labs are cheap.
pub fn lab_capacity() -> Capacity {
    Capacity {
        flows: 1024,
        affinity: 256,
        ..Capacity::default()
    }
}

pub type Sent = Vec<(PortId, Vec<u8>)>;

pub struct Lab {
    pub worker: Worker<TestBuffer>,
    pub io: RecordingIo,
    pub now: Instant,
}

impl Lab {
    pub fn new() -> Self {
        Self::with(snapshot(), lab_capacity())
    }

    pub fn with(snapshot: Snapshot, capacity: Capacity) -> Self {
        Self::with_core(snapshot, capacity, CoreId::SOLE)
    }

    pub fn with_core(snapshot: Snapshot, capacity: Capacity, core: CoreId) -> Self {
        snapshot.validate().unwrap();
        Lab {
            worker: Worker::new(Arc::new(snapshot), capacity, core),
            io: RecordingIo::default(),
            now: Instant::ZERO,
        }
    }

    /// Teaches the worker every backend's MAC (on the inside port) and the client's (outside).
    pub fn know_everyone(&mut self) {
        self.know(OUTSIDE, IpAddr::V4(CLIENT_V4), CLIENT_MAC);
        self.know(OUTSIDE, IpAddr::V6(client_v6()), CLIENT_MAC);
        for (ip, mac) in WEB_V4
            .iter()
            .zip([BACKEND1_MAC, BACKEND2_MAC, BACKEND3_MAC])
        {
            self.know(INSIDE, IpAddr::V4(*ip), mac);
        }
        self.know(INSIDE, IpAddr::V4(DNS_V4), DNS_MAC);
        self.know(INSIDE, IpAddr::V6(web_v6()), WEB6_MAC);
    }

    /// Receives `frame` on `port` and returns what was sent.
    pub fn rx(&mut self, port: PortId, frame: &[u8]) -> Sent {
        self.worker
            .handle_frame(self.now, port, TestBuffer::from_frame(frame), &mut self.io);
        self.io.take()
    }

    /// Routes an IP packet the way L4 will (behind a 14-byte placeholder) and returns what was sent.
    pub fn send_ip(&mut self, packet: &[u8]) -> Sent {
        let mut frame = vec![0; 14];
        frame.extend_from_slice(packet);
        self.worker
            .route_and_send(self.now, TestBuffer::from_frame(&frame), &mut self.io);
        self.io.take()
    }

    pub fn poll(&mut self) -> Sent {
        self.worker.poll_timers(self.now, &mut self.io);
        self.io.take()
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.now = self.now + core::time::Duration::from_millis(ms);
    }

    /// Teaches the worker a neighbour as confirmed (as another core would).
    pub fn know(&mut self, port: PortId, ip: IpAddr, mac: [u8; 6]) {
        let update = NeighbourUpdate {
            ip,
            mac,
            port,
            confirmed: true,
        };
        self.worker
            .apply_neighbour_update(self.now, update, &mut self.io);
        assert!(self.io.take().is_empty());
    }

    pub fn counters(&self) -> Counters {
        self.worker.counters()
    }
}

/// Checks every checksum of an Ethernet frame from scratch: the IPv4 header, and TCP, UDP (unless
/// 0 over IPv4), ICMP or ICMPv6 with their pseudo-headers; for ICMP errors the quoted IPv4 header
/// too. Panics with what is wrong.
pub fn verify_checksums(frame: &[u8]) {
    if let Some(fault) = checksum_fault(frame) {
        panic!("{fault}: {frame:02x?}");
    }
}

/// What is wrong with the checksums of an IP frame (or its layout), if anything; None for frames
/// that are not IP (ARP).
pub fn checksum_fault(frame: &[u8]) -> Option<String> {
    let bad = || Some("malformed".to_string());
    let be16 = |d: &[u8], at: usize| d.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let l2 = if frame.get(12..14)? == [0x81, 0x00] {
        18
    } else {
        14
    };
    let ethertype = be16(frame, l2 - 2)?;
    let ip = frame.get(l2..)?;
    let (src, dst, proto, l4) = match ethertype {
        0x0800 => {
            let hl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(be16(ip, 2)?);
            let (Some(header), Some(l4)) = (ip.get(..hl), ip.get(hl..total)) else {
                return bad();
            };
            if hl < 20 || internet_checksum(&[header]) != 0 {
                return Some("IPv4 header checksum".into());
            }
            let src = IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(&ip[12..16]).ok()?));
            let dst = IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(&ip[16..20]).ok()?));
            (src, dst, ip[9], l4)
        }
        0x86dd => {
            let len = usize::from(be16(ip, 4)?);
            let Some(l4) = ip.get(40..40 + len) else {
                return bad();
            };
            let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).ok()?));
            let dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&ip[24..40]).ok()?));
            (src, dst, ip[6], l4)
        }
        _ => return None,
    };
    let with_pseudo = |proto: u8| {
        let pseudo = pseudo_header(src, dst, proto, l4.len());
        internet_checksum(&[&pseudo, l4]) == 0
    };
    let ok = match proto {
        6 | 58 => with_pseudo(proto),
        17 if src.is_ipv4() && l4.get(6..8) == Some(&[0, 0]) => true,
        17 => with_pseudo(17),
        1 => {
            let quoted_ok = match (l4.first(), l4.get(8..)) {
                (Some(3 | 11), Some(inner)) if inner.len() >= 20 => {
                    let hl = usize::from(inner[0] & 0x0f) * 4;
                    inner
                        .get(..hl)
                        .is_some_and(|h| internet_checksum(&[h]) == 0)
                }
                _ => true,
            };
            internet_checksum(&[l4]) == 0 && quoted_ok
        }
        _ => true,
    };
    (!ok).then(|| format!("protocol {proto} checksum"))
}

// ---- expected frames, built with smoltcp ----

pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: EthernetProtocol, payload: &[u8]) -> Vec<u8> {
    let repr = EthernetRepr {
        src_addr: EthernetAddress(src),
        dst_addr: EthernetAddress(dst),
        ethertype,
    };
    let mut buf = vec![0; repr.buffer_len() + payload.len()];
    repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
    buf[repr.buffer_len()..].copy_from_slice(payload);
    buf
}

/// `frame` with an 802.1Q tag for `vlan` inserted after the MACs (smoltcp has no VLAN support).
pub fn tagged(mut frame: Vec<u8>, vlan: u16) -> Vec<u8> {
    let [hi, lo] = vlan.to_be_bytes();
    frame.splice(12..12, [0x81, 0x00, hi, lo]);
    frame
}

pub fn arp_packet(repr: ArpRepr) -> Vec<u8> {
    let mut buf = vec![0; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    buf
}

pub fn ipv4_packet(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: IpProtocol,
    ttl: u8,
    payload: &[u8],
) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: protocol,
        payload_len: payload.len(),
        hop_limit: ttl,
    };
    let mut buf = vec![0; repr.buffer_len() + payload.len()];
    repr.emit(
        &mut Ipv4Packet::new_unchecked(&mut buf[..]),
        &ChecksumCapabilities::default(),
    );
    buf[repr.buffer_len()..].copy_from_slice(payload);
    buf
}

pub fn icmpv4_message(repr: Icmpv4Repr) -> Vec<u8> {
    let mut buf = vec![0; repr.buffer_len()];
    repr.emit(
        &mut Icmpv4Packet::new_unchecked(&mut buf[..]),
        &ChecksumCapabilities::default(),
    );
    buf
}

pub fn ipv6_packet(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: payload.len(),
        hop_limit,
    };
    let mut buf = vec![0; repr.buffer_len() + payload.len()];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    buf[repr.buffer_len()..].copy_from_slice(payload);
    buf
}

pub fn icmpv6_message(src: Ipv6Addr, dst: Ipv6Addr, repr: Icmpv6Repr) -> Vec<u8> {
    let mut buf = vec![0; repr.buffer_len()];
    repr.emit(
        &src,
        &dst,
        &mut Icmpv6Packet::new_unchecked(&mut buf[..]),
        &ChecksumCapabilities::default(),
    );
    buf
}

/// The L7 VIP of [`l7_lab`]: plain HTTP on port 80, routed to the web backends on [`WEB_PORT`].
pub const L7_VIP_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 10, 20);

/// The lab with an HTTP listener on [`L7_VIP_V4`]:80 (every host and path to the web pool), its proxy
/// holding at most `max_connections` TCP connections.
pub fn l7_lab(max_connections: usize) -> Lab {
    l7_lab_with(max_connections, CoreId::SOLE, false)
}

/// [`l7_lab`] running as worker `core`.
pub fn l7_lab_on(max_connections: usize, core: CoreId) -> Lab {
    l7_lab_with(max_connections, core, false)
}

/// [`l7_lab`] running as worker `core`, its listener sending PROXY v2 headers upstream when `proxy_protocol`.
pub fn l7_lab_with(max_connections: usize, core: CoreId, proxy_protocol: bool) -> Lab {
    use edgelb_engine::l7::router::{PathType, PoolId, Route};
    use edgelb_engine::l7::snapshot::{
        BackendInput, HostInput, L7Input, L7Snapshot, ListenerInput, PoolInput,
    };
    use edgelb_engine::l7::tls::TlsShared;
    let input = L7Input {
        listeners: vec![ListenerInput {
            name: "web-l7".into(),
            addr: core::net::SocketAddr::new(IpAddr::V4(L7_VIP_V4), 80),
            tls: false,
            default_certificate: None,
            hosts: vec![HostInput {
                host: String::new(),
                certificate: None,
                routes: vec![Route {
                    path: "/".into(),
                    path_type: PathType::Prefix,
                    pool: PoolId(0),
                }],
                redirect_to_https: false,
            }],
            default_pool: None,
            redirect_to_https: false,
            proxy_protocol,
        }],
        pools: vec![PoolInput {
            name: "web".into(),
            backends: WEB_V4
                .iter()
                .map(|a| BackendInput {
                    addr: core::net::SocketAddr::new(IpAddr::V4(*a), WEB_PORT),
                    weight: 1,
                    active: true,
                })
                .collect(),
        }],
        certificates: Vec::new(),
    };
    let tls = TlsShared::new(0).unwrap();
    let snapshot = Snapshot {
        l7: Arc::new(L7Snapshot::build(input, &tls).unwrap()),
        ..snapshot()
    };
    snapshot.validate().unwrap();
    let mut capacity = lab_capacity();
    capacity.l7.tcp.max_connections = max_connections;
    let mut lab = Lab::with_core(snapshot, capacity, core);
    lab.know_everyone();
    lab
}
