//! Two L7 TCP endpoints wired to each other in memory, with N established connections between them: the setup
//! for measuring what one data segment costs as the number of connections grows (issue 5: "the per-segment cost
//! does not grow with the number of connections").
//!
//! One [`TcpPair::exchange`] sends 64 bytes on one connection (chosen by the caller, so connections can be
//! visited in any order) from the client endpoint to the server endpoint, which reads them and acknowledges at
//! once (no delayed ACK); the ACK goes back to the client. Both endpoints do their per-segment work: a demux
//! lookup, smoltcp's state machine, the output. Packets move through reused buffers: nothing allocates per
//! exchange.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use edgelb_engine::l7::tcp::{BufferSizes, ConnId, ListenerId, TcpConfig, TcpEndpoint, TcpEvent};
use edgelb_engine::Instant;

/// The server's listener.
const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 10, 20)), 443);
/// Payload of one exchange.
pub const PAYLOAD: [u8; 64] = [0x5a; 64];

/// Why the pair could not be set up or an exchange went wrong.
#[derive(Debug)]
pub struct PairError(pub String);

impl std::fmt::Display for PairError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client endpoint and a server endpoint with `n` established connections between them.
#[derive(Debug)]
pub struct TcpPair {
    client: TcpEndpoint,
    server: TcpEndpoint,
    /// By connection index: the client's and the server's id.
    conns: Vec<(ConnId, ConnId)>,
    now: Instant,
    /// ACKs on their way to the client: bytes and end offsets (reused).
    acks: Vec<u8>,
    ack_ends: Vec<usize>,
    scratch: Vec<u8>,
}

fn config(max: usize) -> TcpConfig {
    TcpConfig {
        max_connections: max,
        client_buffers: BufferSizes {
            rx: 16 * 1024,
            tx: 16 * 1024,
        },
        upstream_buffers: BufferSizes {
            rx: 16 * 1024,
            tx: 16 * 1024,
        },
        ack_delay: None,
        idle_timeout: Duration::from_secs(3600),
        ..TcpConfig::default()
    }
}

/// The `i`-th client address: 64,000 ports per client IP.
fn client_addr(i: usize) -> SocketAddr {
    let host = u32::try_from(i / 64_000).unwrap_or(0);
    let port = 1024 + (i % 64_000) as u16;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0xc612_0100 + host)), port)
}

/// Moves packets both ways until none are in flight (setup only: allocates).
fn settle(
    now: Instant,
    client: &mut TcpEndpoint,
    server: &mut TcpEndpoint,
    mut to_server: Vec<Vec<u8>>,
) {
    for _ in 0..64 {
        if to_server.is_empty() {
            return;
        }
        let mut to_client = Vec::new();
        for packet in to_server.drain(..) {
            server.handle_packet(now, &packet, &mut |p| to_client.push(p.to_vec()));
        }
        for packet in to_client {
            client.handle_packet(now, &packet, &mut |p| to_server.push(p.to_vec()));
        }
    }
}

impl TcpPair {
    /// Establishes `n` connections (the handshakes are setup, not measured).
    pub fn new(n: usize) -> Result<Self, PairError> {
        let err = |e: &dyn std::fmt::Display| PairError(e.to_string());
        let now = Instant::ZERO;
        let mut client = TcpEndpoint::new(config(n + 16)).map_err(|e| err(&e))?;
        let mut server = TcpEndpoint::new(config(n + 16)).map_err(|e| err(&e))?;
        server.set_listeners(&[(SERVER, ListenerId(0))]);
        let mut conns = Vec::with_capacity(n);
        for i in 0..n {
            let mut syn = Vec::new();
            let c = client
                .connect(now, client_addr(i), SERVER, &mut |p| syn.push(p.to_vec()))
                .map_err(|e| err(&e))?;
            settle(now, &mut client, &mut server, syn);
            let mut accepted = None;
            while let Some(event) = server.poll_event() {
                if let TcpEvent::Accepted { conn, .. } = event {
                    accepted = Some(conn);
                }
            }
            while client.poll_event().is_some() {}
            let s =
                accepted.ok_or_else(|| PairError(format!("connection {i} was not accepted")))?;
            conns.push((c, s));
        }
        Ok(Self {
            client,
            server,
            conns,
            now,
            acks: Vec::with_capacity(4096),
            ack_ends: Vec::with_capacity(16),
            scratch: vec![0; 4096],
        })
    }

    /// Connections established.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// One exchange on connection `i % len`: 64 bytes to the server, read there, acknowledged back.
    /// Returns the bytes the server read (64 when all went well).
    pub fn exchange(&mut self, i: usize) -> usize {
        let Some(&(c, s)) = self.conns.get(i % self.conns.len().max(1)) else {
            return 0;
        };
        let now = self.now;
        let Self {
            client,
            server,
            acks,
            ack_ends,
            scratch,
            ..
        } = self;
        acks.clear();
        ack_ends.clear();
        let _ = client.send(c, &PAYLOAD);
        // The data segment goes straight to the server; what it answers waits in `acks`.
        let _ = client.flush(now, c, &mut |segment| {
            server.handle_packet(now, segment, &mut |ack| {
                acks.extend_from_slice(ack);
                ack_ends.push(acks.len());
            });
        });
        let mut read = 0;
        while let Some(event) = server.poll_event() {
            if matches!(event, TcpEvent::Readable(id) if id == s) {
                while let Ok(n @ 1..) = server.recv(s, scratch) {
                    read += n;
                }
            }
        }
        let _ = server.flush(now, s, &mut |ack| {
            acks.extend_from_slice(ack);
            ack_ends.push(acks.len());
        });
        let mut start = 0;
        for &end in ack_ends.iter() {
            if let Some(ack) = acks.get(start..end) {
                client.handle_packet(now, ack, &mut |_| {});
            }
            start = end;
        }
        while client.poll_event().is_some() {}
        read
    }
}
