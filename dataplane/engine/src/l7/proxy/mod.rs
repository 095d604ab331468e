//! The per-core L7 proxy: the TCP endpoint's connections joined into client sessions, TLS terminated,
//! each HTTP/1.1 request routed by host and path and relayed to an upstream backend.
//!
//! The worker hands it every TCP packet for an L7 listener or for one of its upstream connections
//! ([`L7Proxy::handle_packet`]) and calls [`L7Proxy::poll_timers`] when [`L7Proxy::next_deadline`]
//! passes. Packets to send come out as IP packets in an output queue the worker drains
//! ([`L7Proxy::output`]), adding Ethernet and routing them like everything else it sends.
//!
//! - `session`: a client connection and its request in flight; `buf`: fixed buffers;
//! - `client`: bytes to and from the client (through TLS on HTTPS listeners);
//! - `exchange`: a request's head parsed, routed, answered or sent upstream; its end;
//! - `upstream`: backend choice, connections (new or kept alive), relaying both ways.

mod buf;
mod client;
mod exchange;
mod health;
mod output;
mod session;
mod upstream;

use core::net::SocketAddr;
use core::time::Duration;
use std::collections::HashMap;
use std::sync::Arc;

use crate::counters::Counters;
use crate::l7::http::Limits;
use crate::l7::snapshot::L7Snapshot;
use crate::l7::tcp::{
    BufferSizes, ConnId, ListenerId, PacketVerdict, TcpConfig, TcpConfigError, TcpEndpoint,
    TcpEvent,
};
use crate::l7::tls::TlsSession;
use crate::time::Instant;

use buf::BufPool;
pub use output::Output;
use session::Session;

/// Settings of one core's proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The TCP endpoint: connection limit (clients and upstreams together), buffers, timeouts.
    pub tcp: TcpConfig,
    /// Request head and body limits.
    pub limits: Limits,
    /// Idle upstream connections kept per backend for reuse.
    pub idle_per_backend: usize,
    /// From accept (TLS handshake included) or from the first byte of a request to its complete head;
    /// then 408 and close.
    pub header_timeout: Duration,
    /// How long a client connection may sit idle between requests before edgelb closes it.
    pub keepalive_timeout: Duration,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            tcp: TcpConfig {
                max_connections: 16_384,
                client_buffers: BufferSizes {
                    rx: 16 * 1024,
                    tx: 32 * 1024,
                },
                upstream_buffers: BufferSizes {
                    rx: 64 * 1024,
                    tx: 16 * 1024,
                },
                // Also how long an upstream may take to answer (then 504): above the keep-alive timeout,
                // which closes idle clients gracefully first.
                idle_timeout: Duration::from_secs(90),
                ..TcpConfig::default()
            },
            limits: Limits {
                max_head: 16 * 1024,
                max_body: 64 * 1024 * 1024,
            },
            idle_per_backend: 128,
            header_timeout: Duration::from_secs(20),
            keepalive_timeout: Duration::from_secs(60),
        }
    }
}

/// Picks the local (SNAT) address and port of a new upstream connection, so that the backend's answers
/// come back to this core. The worker implements it with its routes, SNAT addresses and port rules.
pub trait UpstreamSource {
    /// A local address for a connection to `backend`; `in_use` says whether a candidate is taken.
    fn pick(
        &mut self,
        backend: SocketAddr,
        in_use: &mut dyn FnMut(SocketAddr) -> bool,
    ) -> Option<SocketAddr>;
}

/// What a connection slot of the TCP endpoint is to the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Free,
    /// A client connection: its session is `sessions[slot]`.
    Client,
    /// The upstream connection of the session of client `client`.
    Upstream {
        client: ConnId,
    },
    /// A kept-alive upstream connection waiting for the next request to `backend`.
    Idle {
        backend: SocketAddr,
    },
}

/// One core's L7 proxy.
#[derive(Debug)]
pub struct L7Proxy {
    config: ProxyConfig,
    tcp: TcpEndpoint,
    snapshot: Arc<L7Snapshot>,
    /// By connection slot.
    links: Vec<Link>,
    /// By client connection slot.
    sessions: Vec<Option<Box<Session>>>,
    /// Kept-alive upstream connections by backend.
    idle: HashMap<SocketAddr, Vec<ConnId>>,
    /// Requests in flight per backend (least outstanding requests wins).
    outstanding: HashMap<SocketAddr, u32>,
    /// Backends whose connections failed to open lately.
    health: health::Health,
    bufs: BufPool,
    /// Size of every buffer of `bufs`.
    buf_size: usize,
    out: Output,
    /// Ciphertext on its way between TLS and TCP.
    scratch: Box<[u8]>,
    /// Round-robin start among equally loaded backends.
    turn: u32,
    /// Sessions open now.
    active: usize,
    /// When the header and keep-alive timeouts are next checked.
    next_sweep: Instant,
}

/// How often sessions are checked for header and keep-alive timeouts.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Room beyond the longest request head in the proxy's buffers: what rewriting adds (X-Forwarded-*).
const HEAD_HEADROOM: usize = 4 * 1024;
/// The proxy's buffers are at least this big (a TLS record's worth of plaintext).
const MIN_BUF_SIZE: usize = 16 * 1024;

impl L7Proxy {
    /// A proxy with its TCP endpoint; nothing listens until [`Self::set_snapshot`].
    pub fn new(config: ProxyConfig) -> Result<Self, TcpConfigError> {
        let tcp = TcpEndpoint::new(config.tcp)?;
        let slots = config.tcp.max_connections;
        // A whole request head fits, rewritten.
        let buf_size = (config.limits.max_head + HEAD_HEADROOM).max(MIN_BUF_SIZE);
        Ok(Self {
            config,
            tcp,
            snapshot: Arc::default(),
            links: vec![Link::Free; slots],
            sessions: (0..slots).map(|_| None).collect(),
            idle: HashMap::new(),
            outstanding: HashMap::new(),
            health: health::Health::default(),
            bufs: BufPool::new(buf_size, 4096),
            buf_size,
            out: Output::default(),
            scratch: vec![0; buf_size].into_boxed_slice(),
            turn: 0,
            active: 0,
            next_sweep: Instant::ZERO,
        })
    }

    /// Serves the listeners of `snapshot` from now on. Open connections go on; their next requests are
    /// routed by the new rules, and TLS sessions keep the certificates they started with.
    pub fn set_snapshot(&mut self, snapshot: Arc<L7Snapshot>) {
        let listeners: Vec<(SocketAddr, ListenerId)> = snapshot
            .listeners()
            .iter()
            .enumerate()
            .map(|(i, l)| (l.addr, ListenerId(u32::try_from(i).unwrap_or(u32::MAX))))
            .collect();
        self.tcp.set_listeners(&listeners);
        self.snapshot = snapshot;
    }

    /// The snapshot served.
    pub fn snapshot(&self) -> &Arc<L7Snapshot> {
        &self.snapshot
    }

    /// Whether `local` (a SNAT address and port) and `remote` (a backend) name one of this core's
    /// upstream connections: the worker asks before it hands a packet here.
    pub fn has_connection(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        self.tcp.has_connection(local, remote)
    }

    /// One TCP packet (IPv4 or IPv6, no link header) for a listener or an upstream connection.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        packet: &[u8],
        source: &mut dyn UpstreamSource,
        counters: &mut Counters,
    ) -> PacketVerdict {
        let out = &mut self.out;
        let verdict = self.tcp.handle_packet(now, packet, &mut |p| out.push(p));
        self.run_events(now, source, counters);
        verdict
    }

    /// Timers of the TCP endpoint (retransmissions, timeouts) and the work they cause.
    pub fn poll_timers(
        &mut self,
        now: Instant,
        source: &mut dyn UpstreamSource,
        counters: &mut Counters,
    ) {
        let out = &mut self.out;
        self.tcp.poll_timers(now, &mut |p| out.push(p));
        self.run_events(now, source, counters);
        if self.active > 0 && now >= self.next_sweep {
            self.next_sweep = now + SWEEP_EVERY;
            self.sweep(now, source, counters);
            self.run_events(now, source, counters);
        }
    }

    /// When [`Self::poll_timers`] has work next.
    pub fn next_deadline(&self) -> Option<Instant> {
        let sweep = (self.active > 0).then_some(self.next_sweep);
        match (self.tcp.next_deadline(), sweep) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Header and keep-alive timeouts: a session waiting past its deadline gets 408 (a request had
    /// started) or is closed (idle). Walks the sessions once a second, not per packet.
    fn sweep(&mut self, now: Instant, source: &mut dyn UpstreamSource, c: &mut Counters) {
        for slot in 0..self.sessions.len() {
            let expired = self
                .sessions
                .get(slot)
                .and_then(|s| s.as_deref())
                .filter(|s| s.exchange.is_none() && !s.closing)
                .and_then(|s| s.wait.map(|w| (s.client, w)))
                .filter(|(_, w)| w.deadline <= now);
            let Some((client, wait)) = expired else {
                continue;
            };
            if let Some(mut s) = self.sessions.get_mut(slot).and_then(Option::take) {
                if wait.idle {
                    c.l7_keepalive_timeouts += 1;
                    s.closing = true;
                } else {
                    c.l7_header_timeouts += 1;
                    let started = !s.inbuf.is_empty()
                        && !s.tls.as_deref().is_some_and(TlsSession::is_handshaking);
                    if started {
                        self.answer(&mut s, crate::l7::http::Answer::RequestTimeout, false, c);
                    } else {
                        s.closing = true;
                    }
                }
                s.wait = None;
                self.put_back(s);
                self.pump(now, client, source, c);
            }
        }
    }

    /// Packets to send (IP packets), in order; clear with [`Output::clear`] once sent.
    pub fn output(&mut self) -> &mut Output {
        &mut self.out
    }

    /// Connections open now (clients, upstreams and kept-alive ones).
    pub fn connections(&self) -> usize {
        self.tcp.connection_count()
    }

    /// The TCP endpoint's counters.
    pub fn tcp_counters(&self) -> &crate::l7::tcp::TcpCounters {
        self.tcp.counters()
    }

    /// Drains the endpoint's events, acting on each, then sends what the actions queued.
    fn run_events(&mut self, now: Instant, source: &mut dyn UpstreamSource, c: &mut Counters) {
        // Actions cause more events (a connect that fails at once, a close): bounded rounds.
        for _ in 0..64 {
            let mut any = false;
            while let Some(event) = self.tcp.poll_event() {
                any = true;
                self.on_event(now, event, source, c);
            }
            let out = &mut self.out;
            self.tcp.flush_all(now, &mut |p| out.push(p));
            if !any {
                break;
            }
        }
    }

    fn on_event(
        &mut self,
        now: Instant,
        event: TcpEvent,
        source: &mut dyn UpstreamSource,
        c: &mut Counters,
    ) {
        match event {
            TcpEvent::Accepted { conn, listener } => self.accept(now, conn, listener, c),
            TcpEvent::Connected(conn) => {
                if let Some(client) = self.upstream_client(conn) {
                    let mut opened = None;
                    if let Some(ex) = self.session_mut(client).and_then(|s| s.exchange.as_mut()) {
                        ex.connected = true;
                        opened = Some(ex.backend);
                    }
                    if let Some(backend) = opened {
                        self.health.succeeded(backend);
                    }
                    self.pump(now, client, source, c);
                }
            }
            TcpEvent::Readable(conn) | TcpEvent::Writable(conn) | TcpEvent::PeerClosed(conn) => {
                match self.link(conn) {
                    Link::Client => self.pump(now, conn, source, c),
                    Link::Upstream { client } => self.pump(now, client, source, c),
                    Link::Idle { backend } => {
                        // An idle upstream that speaks or closes is not reusable.
                        self.drop_idle(conn, backend);
                        self.set_link(conn, Link::Free);
                        let _ = self.tcp.abort(conn);
                    }
                    Link::Free => {}
                }
            }
            TcpEvent::Closed { conn, reason } => match self.link(conn) {
                Link::Client => self.end_session(conn, c),
                Link::Upstream { client } => {
                    self.set_link(conn, Link::Free);
                    self.upstream_lost(now, client, conn, reason, source, c);
                }
                Link::Idle { backend } => {
                    self.drop_idle(conn, backend);
                    self.set_link(conn, Link::Free);
                }
                Link::Free => {}
            },
            TcpEvent::ConnectFailed { conn, reason } => {
                if let Some(client) = self.upstream_client(conn) {
                    self.set_link(conn, Link::Free);
                    c.l7_upstream_connect_failures += 1;
                    let failed = self
                        .session_mut(client)
                        .and_then(|s| s.exchange.as_ref())
                        .map(|ex| ex.backend);
                    if let Some(backend) = failed {
                        self.health.failed(backend, now);
                    }
                    self.upstream_lost(now, client, conn, reason, source, c);
                }
            }
        }
    }

    fn link(&self, conn: ConnId) -> Link {
        self.links.get(conn.slot()).copied().unwrap_or(Link::Free)
    }

    fn set_link(&mut self, conn: ConnId, link: Link) {
        if let Some(slot) = self.links.get_mut(conn.slot()) {
            *slot = link;
        }
    }

    fn upstream_client(&self, conn: ConnId) -> Option<ConnId> {
        match self.link(conn) {
            Link::Upstream { client } => Some(client),
            _ => None,
        }
    }

    fn session_mut(&mut self, client: ConnId) -> Option<&mut Session> {
        self.sessions
            .get_mut(client.slot())
            .and_then(|s| s.as_deref_mut())
            .filter(|s| s.client == client)
    }
}
