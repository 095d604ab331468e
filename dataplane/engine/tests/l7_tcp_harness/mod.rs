//! Test harness for the L7 TCP endpoint: hand-built segments (smoltcp's wire reprs), and a `Pair`
//! of endpoints wired to each other on a virtual clock, with optional loss.

// Fixture helpers run outside #[test] functions; a broken fixture should fail loudly.
#![allow(dead_code, clippy::panic, clippy::unwrap_used)]

use core::net::SocketAddr;
use core::time::Duration;
use std::collections::VecDeque;

use edgelb_engine::l7::tcp::{BufferSizes, ConnId, ListenerId, TcpConfig, TcpEndpoint, TcpEvent};
use edgelb_engine::Instant;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    IpAddress, IpProtocol, IpRepr, IpVersion, Ipv4Packet, Ipv6Packet, TcpControl, TcpPacket,
};
use smoltcp::wire::{TcpRepr, TcpSeqNumber};

pub const LISTENER: ListenerId = ListenerId(7);

/// A segment to build by hand.
#[derive(Clone, Debug)]
pub struct Seg<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub control: TcpControl,
    pub seq: u32,
    pub ack: Option<u32>,
    pub window: u16,
    pub window_scale: Option<u8>,
    pub mss: Option<u16>,
    pub sack_permitted: bool,
    pub payload: &'a [u8],
}

impl<'a> Seg<'a> {
    pub fn new(src: &str, dst: &str, control: TcpControl, seq: u32, ack: Option<u32>) -> Self {
        Seg {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            control,
            seq,
            ack,
            window: 64_000,
            window_scale: None,
            mss: None,
            sack_permitted: false,
            payload: b"",
        }
    }

    /// The IP packet, checksums filled.
    pub fn build(&self) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: self.src.port(),
            dst_port: self.dst.port(),
            control: self.control,
            seq_number: TcpSeqNumber(self.seq as i32),
            ack_number: self.ack.map(|a| TcpSeqNumber(a as i32)),
            window_len: self.window,
            window_scale: self.window_scale,
            max_seg_size: self.mss,
            sack_permitted: self.sack_permitted,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: self.payload,
        };
        let (s, d) = (
            IpAddress::from(self.src.ip()),
            IpAddress::from(self.dst.ip()),
        );
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
}

/// A parsed outgoing segment, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub control: TcpControl,
    pub seq: u32,
    pub ack: Option<u32>,
    pub window: u16,
    pub window_scale: Option<u8>,
    pub mss: Option<u16>,
    pub sack_permitted: bool,
    pub payload: Vec<u8>,
    pub ttl: u8,
}

/// Parses an IP packet the endpoint sent, checking both checksums.
pub fn parse(packet: &[u8]) -> Parsed {
    let caps = ChecksumCapabilities::default();
    let (src, dst, ttl, payload): (IpAddress, IpAddress, u8, &[u8]) =
        match IpVersion::of_packet(packet).unwrap() {
            IpVersion::Ipv4 => {
                let ip = Ipv4Packet::new_checked(packet).unwrap();
                assert!(ip.verify_checksum(), "IPv4 checksum");
                assert_eq!(ip.total_len() as usize, packet.len());
                (
                    ip.src_addr().into(),
                    ip.dst_addr().into(),
                    ip.hop_limit(),
                    &packet[ip.header_len() as usize..],
                )
            }
            IpVersion::Ipv6 => {
                let ip = Ipv6Packet::new_checked(packet).unwrap();
                assert_eq!(ip.payload_len() as usize + 40, packet.len());
                (
                    ip.src_addr().into(),
                    ip.dst_addr().into(),
                    ip.hop_limit(),
                    &packet[40..],
                )
            }
        };
    let tcp = TcpPacket::new_checked(payload).unwrap();
    let repr = TcpRepr::parse(&tcp, &src, &dst, &caps).unwrap();
    Parsed {
        src: SocketAddr::new(src.into(), repr.src_port),
        dst: SocketAddr::new(dst.into(), repr.dst_port),
        control: repr.control,
        seq: repr.seq_number.0 as u32,
        ack: repr.ack_number.map(|a| a.0 as u32),
        window: repr.window_len,
        window_scale: repr.window_scale,
        mss: repr.max_seg_size,
        sack_permitted: repr.sack_permitted,
        payload: repr.payload.to_vec(),
        ttl,
    }
}

/// Small buffers, short timeouts: the settings most tests use.
pub fn config() -> TcpConfig {
    TcpConfig {
        max_connections: 64,
        client_buffers: BufferSizes { rx: 4096, tx: 4096 },
        upstream_buffers: BufferSizes { rx: 4096, tx: 4096 },
        mtu: 1500,
        handshake_timeout: Duration::from_secs(3),
        connect_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(30),
        ack_delay: Some(Duration::from_millis(10)),
        nagle: false,
        keep_alive: None,
        random_seed: 42,
    }
}

pub fn at_ms(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}

/// Two endpoints, each one's output the other's input, on a virtual clock.
pub struct Pair {
    pub now: Instant,
    /// The accepting side (holds the listener).
    pub server: TcpEndpoint,
    /// The connecting side.
    pub client: TcpEndpoint,
    to_server: VecDeque<Vec<u8>>,
    to_client: VecDeque<Vec<u8>>,
    /// Drop every Nth packet on the wire (0: none).
    pub drop_every: usize,
    pub wire_count: usize,
    pub dropped: usize,
    pub server_events: VecDeque<TcpEvent>,
    pub client_events: VecDeque<TcpEvent>,
    /// `pump` drains both endpoints' events into the queues above (default).
    pub collect_events: bool,
}

impl Pair {
    pub fn new(server: TcpConfig, client: TcpConfig, listen: &str) -> Self {
        let mut server = TcpEndpoint::new(server).unwrap();
        server.set_listeners(&[(listen.parse().unwrap(), LISTENER)]);
        Pair {
            now: at_ms(1_000),
            server,
            client: TcpEndpoint::new(client).unwrap(),
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            drop_every: 0,
            wire_count: 0,
            dropped: 0,
            server_events: VecDeque::new(),
            client_events: VecDeque::new(),
            collect_events: true,
        }
    }

    pub fn connect(&mut self, local: &str, remote: &str) -> ConnId {
        let mut sent = Vec::new();
        let id = self
            .client
            .connect(
                self.now,
                local.parse().unwrap(),
                remote.parse().unwrap(),
                &mut |p| sent.push(p.to_vec()),
            )
            .unwrap();
        self.to_server.extend(sent);
        id
    }

    fn on_wire(&mut self) -> bool {
        self.wire_count += 1;
        let lost = self.drop_every != 0 && self.wire_count % self.drop_every == 0;
        if lost {
            self.dropped += 1;
        }
        !lost
    }

    /// Delivers packets both ways until none are in flight, then flushes queued output.
    pub fn pump(&mut self) {
        loop {
            self.flush();
            if self.to_server.is_empty() && self.to_client.is_empty() {
                break;
            }
            while let Some(p) = self.to_server.pop_front() {
                if self.on_wire() {
                    let mut replies = Vec::new();
                    self.server
                        .handle_packet(self.now, &p, &mut |r| replies.push(r.to_vec()));
                    self.to_client.extend(replies);
                }
            }
            while let Some(p) = self.to_client.pop_front() {
                if self.on_wire() {
                    let mut replies = Vec::new();
                    self.client
                        .handle_packet(self.now, &p, &mut |r| replies.push(r.to_vec()));
                    self.to_server.extend(replies);
                }
            }
        }
        if !self.collect_events {
            return;
        }
        while let Some(e) = self.server.poll_event() {
            self.server_events.push_back(e);
        }
        while let Some(e) = self.client.poll_event() {
            self.client_events.push_back(e);
        }
    }

    /// Flushes what the applications queued on both sides.
    pub fn flush(&mut self) {
        let (now, mut a, mut b) = (self.now, Vec::new(), Vec::new());
        self.server.flush_all(now, &mut |p| a.push(p.to_vec()));
        self.client.flush_all(now, &mut |p| b.push(p.to_vec()));
        self.to_client.extend(a);
        self.to_server.extend(b);
    }

    /// Moves the clock to `now` and runs both sides' timers, then pumps.
    pub fn advance_to(&mut self, now: Instant) {
        assert!(now >= self.now);
        self.now = now;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        self.server.poll_timers(now, &mut |p| a.push(p.to_vec()));
        self.client.poll_timers(now, &mut |p| b.push(p.to_vec()));
        self.to_client.extend(a);
        self.to_server.extend(b);
        self.pump();
    }

    /// Jumps to the earlier of the two endpoints' next deadlines (at most `limit` ahead).
    pub fn step(&mut self, limit: Duration) {
        let cap = self.now + limit;
        let next = [self.server.next_deadline(), self.client.next_deadline()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(cap)
            .clamp(self.now, cap);
        self.advance_to(next);
    }

    /// Pumps, then steps through deadlines until `done` or `limit` of virtual time passed.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Pair) -> bool) -> bool {
        let end = self.now + limit;
        self.pump();
        while !done(self) {
            if self.now >= end {
                return false;
            }
            self.step(end.saturating_since(self.now));
        }
        true
    }

    /// Takes the first server `Accepted` event's connection.
    pub fn take_accepted(&mut self) -> Option<ConnId> {
        let at = self
            .server_events
            .iter()
            .position(|e| matches!(e, TcpEvent::Accepted { .. }))?;
        match self.server_events.remove(at)? {
            TcpEvent::Accepted { conn, .. } => Some(conn),
            _ => None,
        }
    }

    /// Opens one connection and returns (client side, server side), with the setup events drained.
    pub fn establish(&mut self, local: &str, remote: &str) -> (ConnId, ConnId) {
        let c = self.connect(local, remote);
        assert!(self.run_until(Duration::from_secs(5), |p| p
            .client_events
            .contains(&TcpEvent::Connected(c))));
        assert!(self.run_until(Duration::from_secs(5), |p| p
            .server_events
            .iter()
            .any(|e| matches!(e, TcpEvent::Accepted { .. }))));
        let s = self.take_accepted().unwrap();
        self.client_events.retain(|e| *e != TcpEvent::Connected(c));
        (c, s)
    }
}

/// Reads everything buffered on `conn` into `into`; true if the peer's FIN was reached.
pub fn drain(ep: &mut TcpEndpoint, conn: ConnId, into: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 1500];
    loop {
        match ep.recv(conn, &mut buf) {
            Ok(0) => return false,
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(edgelb_engine::l7::tcp::ConnError::Finished) => return true,
            Err(e) => panic!("recv: {e:?}"),
        }
    }
}

/// A deterministic byte pattern, different per `salt`.
pub fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + usize::from(salt) * 7) % 251) as u8)
        .collect()
}
