//! A small world around one worker with an L7 listener: a client and three web backends, each a real TCP
//! endpoint (the engine's own, driven like a peer's kernel), exchanging Ethernet frames with the worker on a
//! virtual clock. The backends run a tiny HTTP server whose answers say which backend served what.

#![allow(
    dead_code,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::while_let_loop
)]

use core::net::{IpAddr, SocketAddr};
use core::time::Duration;
use std::collections::HashMap;

use edgelb_engine::l7::tcp::{ConnId, ListenerId, TcpConfig, TcpEndpoint, TcpEvent};
use edgelb_engine::testing::ethernet;
use edgelb_engine::{Instant, PortId};

use crate::lab::*;

/// What a backend does with the requests it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers each request with `backend=N path=P xff=X` (Content-Length framing, keep-alive).
    Serve,
    /// Answers with a chunked body in two chunks.
    Chunked,
    /// Resets every connection it accepts as soon as a request arrives.
    Reset,
    /// Off the wire: frames to it are lost, it never answers.
    Silent,
    /// Starts an answer (head and part of the body) and resets the connection.
    Truncate,
}

pub struct Backend {
    pub tcp: TcpEndpoint,
    pub behaviour: Behaviour,
    /// Bytes received per connection, not yet answered.
    pending: HashMap<ConnId, Vec<u8>>,
    /// The client a connection's PROXY v2 header named (`ip:port`).
    proxied: HashMap<ConnId, String>,
    /// Requests served, and connections accepted.
    pub requests: usize,
    pub accepted: usize,
    index: usize,
}

pub struct World {
    pub lab: Lab,
    pub client: TcpEndpoint,
    pub backends: Vec<Backend>,
}

fn peer_config() -> TcpConfig {
    TcpConfig {
        max_connections: 256,
        ack_delay: None,
        ..TcpConfig::default()
    }
}

fn port_of(packet: &[u8]) -> IpAddr {
    // IPv4 destination address (the world is IPv4).
    IpAddr::V4(core::net::Ipv4Addr::new(
        packet[16], packet[17], packet[18], packet[19],
    ))
}

impl World {
    /// The lab's worker with an HTTP listener on L7_VIP_V4:80 to the three web backends.
    pub fn new() -> Self {
        Self::with_lab(l7_lab(1024))
    }

    /// [`World::new`] with the listener sending PROXY v2 headers to the backends.
    pub fn with_proxy_protocol() -> Self {
        Self::with_lab(l7_lab_with(1024, edgelb_engine::CoreId::SOLE, true))
    }

    fn with_lab(lab: Lab) -> Self {
        let backends = WEB_V4
            .iter()
            .enumerate()
            .map(|(index, ip)| {
                let mut tcp = TcpEndpoint::new(peer_config()).unwrap();
                tcp.set_listeners(&[(SocketAddr::new(IpAddr::V4(*ip), WEB_PORT), ListenerId(0))]);
                Backend {
                    tcp,
                    behaviour: Behaviour::Serve,
                    pending: HashMap::new(),
                    proxied: HashMap::new(),
                    requests: 0,
                    accepted: 0,
                    index,
                }
            })
            .collect();
        Self {
            lab,
            client: TcpEndpoint::new(peer_config()).unwrap(),
            backends,
        }
    }

    pub fn now(&self) -> Instant {
        self.lab.now
    }

    /// Opens a client connection to the listener; returns once it is established.
    pub fn connect(&mut self, sport: u16) -> ConnId {
        let now = self.now();
        let mut out = Vec::new();
        let id = self
            .client
            .connect(
                now,
                SocketAddr::new(IpAddr::V4(CLIENT_V4), sport),
                SocketAddr::new(IpAddr::V4(L7_VIP_V4), 80),
                &mut |p| out.push(p.to_vec()),
            )
            .unwrap();
        self.deliver_from_client(out);
        self.settle();
        id
    }

    /// Sends `bytes` on client connection `id` and lets everything settle.
    pub fn send(&mut self, id: ConnId, bytes: &[u8]) {
        assert_eq!(self.client.send(id, bytes).unwrap(), bytes.len());
        let mut out = Vec::new();
        self.client
            .flush(self.now(), id, &mut |p| out.push(p.to_vec()))
            .unwrap();
        self.deliver_from_client(out);
        self.settle();
    }

    /// Everything the client has received on `id` so far.
    pub fn read(&mut self, id: ConnId) -> String {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = self.client.recv(id, &mut buf) {
            all.extend_from_slice(&buf[..n]);
        }
        self.settle();
        String::from_utf8_lossy(&all).into_owned()
    }

    /// Whether the client saw its connection end (FIN read, or reset).
    pub fn client_closed(&mut self, id: ConnId) -> bool {
        let mut buf = [0u8; 64];
        self.client.recv(id, &mut buf).is_err()
    }

    fn deliver_from_client(&mut self, packets: Vec<Vec<u8>>) {
        for p in packets {
            let frame = ethernet(PORT0_MAC, CLIENT_MAC, None, 0x0800, &p);
            let sent = self.lab.rx(OUTSIDE, &frame);
            self.route(sent);
        }
    }

    /// Frames the worker sent: to the client (outside) or to a backend (inside, VLAN-tagged).
    fn route(&mut self, sent: Vec<(PortId, Vec<u8>)>) {
        let now = self.now();
        for (port, frame) in sent {
            let ethertype = if port == OUTSIDE {
                &frame[12..14]
            } else {
                &frame[16..18]
            };
            if ethertype != [0x08, 0x00] {
                // The worker re-probing a neighbour (ARP after the reachable time): everyone answers.
                self.lab.know_everyone();
                continue;
            }
            if port == OUTSIDE {
                let packet = &frame[14..];
                let mut out = Vec::new();
                self.client
                    .handle_packet(now, packet, &mut |p| out.push(p.to_vec()));
                self.deliver_from_client(out);
            } else {
                let packet = frame[18..].to_vec();
                let dst = port_of(&packet);
                let Some(b) = self
                    .backends
                    .iter_mut()
                    .find(|b| IpAddr::V4(WEB_V4[b.index]) == dst)
                else {
                    panic!("a frame for {dst}, which is no backend");
                };
                if b.behaviour == Behaviour::Silent {
                    continue;
                }
                let mut out = Vec::new();
                b.tcp
                    .handle_packet(now, &packet, &mut |p| out.push(p.to_vec()));
                self.deliver_from_backend(b_index(dst), out);
            }
        }
    }

    fn deliver_from_backend(&mut self, index: usize, packets: Vec<Vec<u8>>) {
        let mac = [BACKEND1_MAC, BACKEND2_MAC, BACKEND3_MAC][index];
        for p in packets {
            let frame = ethernet(PORT1_MAC, mac, Some(VLAN), 0x0800, &p);
            let sent = self.lab.rx(INSIDE, &frame);
            self.route(sent);
        }
    }

    /// Runs the backends' servers, the client's and the worker's timers until nothing moves.
    pub fn settle(&mut self) {
        for _ in 0..200 {
            let mut moved = false;
            for i in 0..self.backends.len() {
                let out = self.backends[i].serve(self.lab.now);
                moved |= !out.is_empty();
                self.deliver_from_backend(i, out);
            }
            let now = self.now();
            let mut out = Vec::new();
            self.client.flush_all(now, &mut |p| out.push(p.to_vec()));
            moved |= !out.is_empty();
            self.deliver_from_client(out);
            let sent = self.lab.poll();
            moved |= !sent.is_empty();
            self.route(sent);
            if !moved {
                return;
            }
        }
    }

    /// Moves the clock (timers fire on the next settle).
    pub fn advance(&mut self, d: Duration) {
        self.lab.now = self.lab.now + d;
        let now = self.now();
        let mut out = Vec::new();
        self.client.poll_timers(now, &mut |p| out.push(p.to_vec()));
        self.deliver_from_client(out);
        for i in 0..self.backends.len() {
            let mut out = Vec::new();
            self.backends[i]
                .tcp
                .poll_timers(now, &mut |p| out.push(p.to_vec()));
            self.deliver_from_backend(i, out);
        }
        self.settle();
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.lab
            .worker
            .counters()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no counter {name}"))
    }
}

fn b_index(dst: IpAddr) -> usize {
    WEB_V4.iter().position(|a| IpAddr::V4(*a) == dst).unwrap()
}

impl Backend {
    /// Accepts, reads and answers; returns the packets to send.
    fn serve(&mut self, now: Instant) -> Vec<Vec<u8>> {
        while let Some(event) = self.tcp.poll_event() {
            match event {
                TcpEvent::Accepted { conn, .. } => {
                    self.accepted += 1;
                    self.pending.insert(conn, Vec::new());
                }
                TcpEvent::Readable(conn) | TcpEvent::PeerClosed(conn) => {
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = self.tcp.recv(conn, &mut buf) {
                        self.pending
                            .entry(conn)
                            .or_default()
                            .extend_from_slice(&buf[..n]);
                    }
                    if self.tcp.recv(conn, &mut buf).is_err() {
                        let _ = self.tcp.close(conn);
                    }
                }
                TcpEvent::Closed { conn, .. } => {
                    self.pending.remove(&conn);
                }
                _ => {}
            }
        }
        let conns: Vec<ConnId> = self.pending.keys().copied().collect();
        for conn in conns {
            self.take_proxy_header(conn);
            loop {
                let Some(buf) = self.pending.get_mut(&conn) else {
                    break;
                };
                let Some(end) = find(buf, b"\r\n\r\n") else {
                    break;
                };
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                buf.drain(..end + 4);
                match self.behaviour {
                    Behaviour::Reset => {
                        let _ = self.tcp.abort(conn);
                        self.pending.remove(&conn);
                        break;
                    }
                    Behaviour::Truncate => {
                        self.requests += 1;
                        let _ = self.tcp.send(
                            conn,
                            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b",
                        );
                        let mut out = Vec::new();
                        self.tcp.flush_all(now, &mut |p| out.push(p.to_vec()));
                        let _ = self.tcp.abort(conn);
                        self.tcp.flush_all(now, &mut |p| out.push(p.to_vec()));
                        self.pending.remove(&conn);
                        return out;
                    }
                    Behaviour::Serve | Behaviour::Chunked | Behaviour::Silent => {
                        self.requests += 1;
                        let answer = self.answer(&head, conn);
                        let _ = self.tcp.send(conn, answer.as_bytes());
                    }
                }
            }
        }
        let mut out = Vec::new();
        self.tcp.flush_all(now, &mut |p| out.push(p.to_vec()));
        out
    }

    /// A PROXY v2 header (TCP over IPv4) at the start of a connection's bytes: parsed and removed.
    fn take_proxy_header(&mut self, conn: ConnId) {
        let Some(buf) = self.pending.get_mut(&conn) else {
            return;
        };
        if buf.len() < 28 || buf[..12] != edgelb_engine::l7::http::PROXY_V2_SIGNATURE {
            return;
        }
        assert_eq!(
            (buf[12], buf[13], u16::from_be_bytes([buf[14], buf[15]])),
            (0x21, 0x11, 12)
        );
        let src = core::net::Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]);
        let sport = u16::from_be_bytes([buf[24], buf[25]]);
        self.proxied.insert(conn, format!("{src}:{sport}"));
        buf.drain(..28);
    }

    fn answer(&self, head: &str, conn: ConnId) -> String {
        let proxied = self.proxied.get(&conn).cloned().unwrap_or_default();
        let path = head.split(' ').nth(1).unwrap_or("?");
        let xff = header(head, "x-forwarded-for").unwrap_or_default();
        let proto = header(head, "x-forwarded-proto").unwrap_or_default();
        let body = format!(
            "backend={} path={path} xff={xff} proto={proto} proxy={proxied}\n",
            self.index + 1
        );
        match self.behaviour {
            Behaviour::Chunked => {
                let (a, b) = body.split_at(body.len() / 2);
                format!(
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                    a.len(),
                    b.len()
                )
            }
            _ => format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        }
    }
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
