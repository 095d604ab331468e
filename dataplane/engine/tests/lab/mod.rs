//! A small lab shared by the integration tests: a two-port appliance, a client and a backend,
//! and expected frames built with smoltcp's `Repr::emit` (independently of the engine's code).

#![allow(dead_code)]
// Test support: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use edgelb_engine::snapshot::{NeighbourTimers, PortSpec, Route, Snapshot};
use edgelb_engine::testing::RecordingIo;
use edgelb_engine::{Capacity, Counters, Instant, NeighbourUpdate, PortId, TestBuffer, Worker};
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
        Self::with(snapshot(), Capacity::default())
    }

    pub fn with(snapshot: Snapshot, capacity: Capacity) -> Self {
        snapshot.validate().unwrap();
        Lab {
            worker: Worker::new(Arc::new(snapshot), capacity),
            io: RecordingIo::default(),
            now: Instant::ZERO,
        }
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
        self.worker.counters().clone()
    }
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
