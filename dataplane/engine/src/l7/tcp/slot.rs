//! Connection slots and the pool of idle smoltcp sockets.
//!
//! A slot is one entry of the endpoint's slab: its own `SocketSet` of capacity one (so that smoltcp
//! never scans other connections), the connection's bookkeeping, and the events waiting to be
//! drained. Sockets are not dropped when a connection ends: they go back to a pool per role with
//! their buffers, and `listen`/`connect` reset them for the next connection, so after warm-up
//! accepting and connecting allocate nothing.

use core::net::SocketAddr;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use smoltcp::socket::{AnySocket, Socket};

use super::config::{BufferSizes, TcpConfig};
use super::types::{CloseReason, ListenerId};
use crate::time::Instant;

/// The demux key: our address and port, the peer's address and port.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct ConnKey {
    pub local: SocketAddr,
    pub remote: SocketAddr,
}

/// How the connection was opened, which decides its buffers and its first event.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// A client's SYN to this listener.
    Accepted(ListenerId),
    /// `connect` to a backend.
    Connected,
}

/// What the caller knows of the connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum AppState {
    /// Accepted but the handshake is not complete: the caller has not been told.
    Hidden,
    /// The caller holds the id.
    Attached,
    /// The caller drained the terminal event or aborted: the id is refused; the socket may still
    /// be finishing (TIME-WAIT, an RST to send).
    Detached,
}

/// Event bits waiting in a slot, drained lowest bit first (which is the order events happen in).
pub(super) mod pending {
    pub const ACCEPTED: u8 = 1;
    pub const CONNECTED: u8 = 1 << 1;
    pub const READABLE: u8 = 1 << 2;
    pub const WRITABLE: u8 = 1 << 3;
    pub const PEER_CLOSED: u8 = 1 << 4;
    pub const CLOSED: u8 = 1 << 5;
    pub const CONNECT_FAILED: u8 = 1 << 6;
}

/// A connection's bookkeeping next to its smoltcp socket.
#[derive(Debug)]
pub(super) struct Conn {
    pub key: ConnKey,
    pub role: Role,
    pub app: AppState,
    pub handle: SocketHandle,
    /// The key is in the demux map (false once the socket is closed or retired from TIME-WAIT).
    pub in_demux: bool,
    /// `Accepted`/`Connected` was queued.
    pub established: bool,
    /// `PeerClosed` was queued.
    pub peer_closed: bool,
    /// A `send` was cut short: queue `Writable` when space frees up.
    pub want_write: bool,
    /// The terminal event was queued (or, for a hidden connection, the drop was counted).
    pub terminal: bool,
    /// Set when the endpoint aborts the connection for a timeout.
    pub timeout: Option<CloseReason>,
    pub handshake_deadline: Instant,
    pub last_activity: Instant,
}

/// One entry of the slab.
#[derive(Debug)]
pub(super) struct Slot {
    pub generation: u32,
    /// Holds the connection's socket while `conn` is `Some`.
    pub sockets: SocketSet<'static>,
    pub conn: Option<Conn>,
    /// `pending::*` bits.
    pub pending: u8,
    /// The reason for a pending `CLOSED`/`CONNECT_FAILED`.
    pub reason: CloseReason,
    /// The slot is in the endpoint's ready list.
    pub in_ready: bool,
    /// The slot is in the endpoint's list of connections to flush.
    pub dirty: bool,
    /// On the free list.
    pub vacant: bool,
    /// The deadline this slot has in the timer heap (entries that differ are stale).
    pub scheduled: Option<Instant>,
}

impl Slot {
    /// An empty slot; allocates its one-socket set once.
    pub fn new() -> Self {
        Slot {
            generation: 0,
            sockets: SocketSet::new(Vec::with_capacity(1)),
            conn: None,
            pending: 0,
            reason: CloseReason::Normal,
            in_ready: false,
            dirty: false,
            vacant: false,
            scheduled: None,
        }
    }

    /// The connection's socket, if the slot holds one.
    pub fn socket(&self) -> Option<&tcp::Socket<'static>> {
        self.sockets
            .iter()
            .next()
            .and_then(|(_, s)| tcp::Socket::downcast(s))
    }

    /// The connection's socket, mutable.
    pub fn socket_mut(&mut self) -> Option<&mut tcp::Socket<'static>> {
        self.sockets
            .iter_mut()
            .next()
            .and_then(|(_, s)| tcp::Socket::downcast_mut(s))
    }

    /// Takes the socket out of the set (the set keeps its storage).
    pub fn take_socket(&mut self, handle: SocketHandle) -> Option<tcp::Socket<'static>> {
        // `SocketSet::remove` panics on an empty handle: look first.
        if !self.sockets.iter().any(|(h, _)| h == handle) {
            return None;
        }
        match self.sockets.remove(handle) {
            Socket::Tcp(socket) => Some(socket),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// The state as the caller sees it before and after smoltcp runs, to derive events.
#[derive(Copy, Clone, Debug)]
pub(super) struct Observed {
    pub state: State,
    pub recv_queue: usize,
}

impl Observed {
    pub fn of(socket: &tcp::Socket<'_>) -> Self {
        Observed {
            state: socket.state(),
            recv_queue: socket.recv_queue(),
        }
    }
}

/// Idle sockets by role, with their buffers.
#[derive(Debug)]
pub(super) struct SocketPool {
    client: Vec<tcp::Socket<'static>>,
    upstream: Vec<tcp::Socket<'static>>,
    config: TcpConfig,
}

impl SocketPool {
    /// An empty pool; the vectors grow to the high-water mark of connections and stay there.
    pub fn new(config: TcpConfig) -> Self {
        let reserve = config.max_connections.min(1024);
        SocketPool {
            client: Vec::with_capacity(reserve),
            upstream: Vec::with_capacity(reserve),
            config,
        }
    }

    /// An idle socket for `role`, made (and its buffers allocated) only if none is idle.
    pub fn take(&mut self, role: Role) -> tcp::Socket<'static> {
        let (idle, sizes) = match role {
            Role::Accepted(_) => (&mut self.client, self.config.client_buffers),
            Role::Connected => (&mut self.upstream, self.config.upstream_buffers),
        };
        idle.pop()
            .unwrap_or_else(|| make_socket(sizes, &self.config))
    }

    /// Returns a socket; it must not be open (it is reset when next used).
    pub fn give(&mut self, role: Role, socket: tcp::Socket<'static>) {
        match role {
            Role::Accepted(_) => self.client.push(socket),
            Role::Connected => self.upstream.push(socket),
        }
    }

    /// Idle sockets held (client, upstream).
    pub fn idle(&self) -> (usize, usize) {
        (self.client.len(), self.upstream.len())
    }
}

fn make_socket(sizes: BufferSizes, config: &TcpConfig) -> tcp::Socket<'static> {
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0u8; sizes.rx]),
        tcp::SocketBuffer::new(vec![0u8; sizes.tx]),
    );
    // These settings survive smoltcp's reset, so they are set once per socket.
    socket.set_nagle_enabled(config.nagle);
    socket.set_ack_delay(config.ack_delay.map(to_smol_duration));
    socket.set_keep_alive(config.keep_alive.map(to_smol_duration));
    socket
}

/// A `core` duration as smoltcp's (microseconds, saturating).
pub(super) fn to_smol_duration(d: core::time::Duration) -> smoltcp::time::Duration {
    smoltcp::time::Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Our clock as smoltcp's (microseconds).
pub(super) fn to_smol(now: Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(i64::try_from(now.as_nanos() / 1000).unwrap_or(i64::MAX))
}

/// smoltcp's clock as ours.
pub(super) fn from_smol(at: smoltcp::time::Instant) -> Instant {
    Instant::from_nanos(
        u64::try_from(at.total_micros())
            .unwrap_or(0)
            .saturating_mul(1000),
    )
}

/// States in which both SYNs were exchanged (the handshake is complete).
pub(super) fn synchronized(state: State) -> bool {
    !matches!(
        state,
        State::Closed | State::Listen | State::SynSent | State::SynReceived
    )
}

/// States reached only after the peer's FIN.
pub(super) fn peer_fin_received(state: State) -> bool {
    matches!(
        state,
        State::CloseWait | State::LastAck | State::Closing | State::TimeWait
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_reuses_sockets_per_role() {
        let config = TcpConfig {
            client_buffers: BufferSizes { rx: 1000, tx: 2000 },
            upstream_buffers: BufferSizes { rx: 3000, tx: 4000 },
            ..TcpConfig::default()
        };
        let mut pool = SocketPool::new(config);
        let client = pool.take(Role::Accepted(ListenerId(1)));
        assert_eq!(
            (client.recv_capacity(), client.send_capacity()),
            (1000, 2000)
        );
        assert!(!client.nagle_enabled());
        let upstream = pool.take(Role::Connected);
        assert_eq!(
            (upstream.recv_capacity(), upstream.send_capacity()),
            (3000, 4000)
        );
        pool.give(Role::Connected, upstream);
        assert_eq!(pool.idle(), (0, 1));
        let again = pool.take(Role::Connected);
        assert_eq!(again.recv_capacity(), 3000);
        assert_eq!(pool.idle(), (0, 0));
        drop(client);
    }

    #[test]
    fn slot_gives_its_socket_back_once() {
        let mut pool = SocketPool::new(TcpConfig::default());
        let mut slot = Slot::new();
        assert!(slot.socket().is_none());
        let handle = slot.sockets.add(pool.take(Role::Connected));
        assert_eq!(slot.socket().map(|s| s.state()), Some(State::Closed));
        assert!(slot.take_socket(handle).is_some());
        assert!(slot.take_socket(handle).is_none());
        assert!(slot.socket_mut().is_none());
    }

    #[test]
    fn clock_conversions_round_trip_to_the_microsecond() {
        let t = Instant::from_nanos(5_000_123_999);
        assert_eq!(to_smol(t).total_micros(), 5_000_123);
        assert_eq!(from_smol(to_smol(t)), Instant::from_nanos(5_000_123_000));
        assert_eq!(
            to_smol_duration(core::time::Duration::from_millis(10)).total_micros(),
            10_000
        );
    }
}
