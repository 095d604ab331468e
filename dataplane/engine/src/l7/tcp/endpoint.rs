//! The per-core TCP endpoint: packets in, the demux, listeners, timers and events.
//!
//! One smoltcp `Interface` (IP medium, AnyIP with default routes through its own placeholder
//! addresses, so that it takes segments for every VIP and SNAT address) serves every connection; each
//! connection's socket sits alone in its slot's `SocketSet`, found by a four-tuple hash map, so a
//! segment costs one lookup however many connections the core holds. The caller's operations on a
//! connection (`connect`, `recv`, `send`, ...) are in `app.rs`; events and the end of a connection
//! in `events.rs`.
//!
//! A segment for no connection: an initial SYN to a listener opens a slot (or is dropped silently
//! and counted at `max_connections`: the client retransmits, and a busy proxy must not reset it);
//! an RST is dropped; anything else gets smoltcp's RST, as a closed port would.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};

use smoltcp::iface::{Config, Interface, PollResult, SocketSet};
use smoltcp::phy::DeviceCapabilities;
use smoltcp::socket::tcp::State;
use smoltcp::wire::{HardwareAddress, IpCidr};

use super::config::{TcpConfig, TcpConfigError};
use super::counters::TcpCounters;
use super::device::{self, OnePacket, Sink};
use super::segment;
use super::slot::{
    from_smol, synchronized, to_smol, AppState, Conn, ConnKey, Observed, Role, Slot, SocketPool,
};
use super::timers::{Due, TimerHeap};
use super::types::{CloseReason, ListenerId, PacketVerdict, TcpDrop};
use crate::time::Instant;

/// The interface's own addresses, used only as the gateway of its default routes (AnyIP accepts a
/// destination whose route goes through an own address). RFC 7600's IPv4 dummy address and an
/// address in RFC 6666's discard-only prefix: never a VIP or SNAT address.
const PLACEHOLDER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 0, 8);
const PLACEHOLDER_V6: Ipv6Addr = Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 8);

/// Segments one connection may send per packet handled or timer run: a full 1 MiB window of
/// 1460-byte segments, and a bound on the work one event can cause.
const MAX_SEGMENTS_PER_POLL: usize = 720;

/// One core's TCP endpoint. See the module docs of `crate::l7::tcp`.
pub struct TcpEndpoint {
    pub(super) config: TcpConfig,
    pub(super) iface: Interface,
    pub(super) caps: DeviceCapabilities,
    /// No sockets: smoltcp answers a segment for no connection with RST through it.
    pub(super) no_sockets: SocketSet<'static>,
    pub(super) scratch: Vec<u8>,
    pub(super) slots: Vec<Slot>,
    pub(super) free: Vec<u32>,
    pub(super) demux: HashMap<ConnKey, u32, RandomState>,
    pub(super) listeners: HashMap<SocketAddr, ListenerId>,
    pub(super) pool: SocketPool,
    pub(super) timers: TimerHeap,
    /// Slots with pending events, each at most once.
    pub(super) ready: VecDeque<u32>,
    /// Slots with output queued by the caller (`send`, `recv`, `close`, `abort`), each at most once.
    pub(super) dirty: Vec<u32>,
    /// Slots that entered TIME-WAIT, oldest first (with their generation: stale entries are skipped).
    /// At the connection limit the oldest is recycled, as Linux does beyond `tcp_max_tw_buckets`: a
    /// socket waiting out 2MSL must not keep a client or an upstream connection from opening.
    pub(super) time_wait: VecDeque<(u32, u32)>,
    pub(super) counters: TcpCounters,
    /// The latest `now` the caller gave (for `send`'s activity stamp).
    pub(super) now: Instant,
}

impl core::fmt::Debug for TcpEndpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpEndpoint")
            .field("connections", &self.connection_count())
            .field("listeners", &self.listeners.len())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl TcpEndpoint {
    /// An endpoint with every table sized for `config.max_connections`. Connection slots and socket
    /// buffers are made on first use and reused after, so memory follows the high-water mark.
    pub fn new(config: TcpConfig) -> Result<Self, TcpConfigError> {
        config.validate()?;
        let caps = device::capabilities(config.mtu);
        let mut scratch = vec![0u8; config.mtu];
        let mut counters = TcpCounters::default();
        let mut discard = |_: &[u8]| {};
        let mut dev = OnePacket {
            rx: None,
            sink: Sink {
                scratch: &mut scratch,
                out: &mut discard,
                counters: &mut counters,
            },
            caps: &caps,
        };
        let mut iface_config = Config::new(HardwareAddress::Ip);
        iface_config.random_seed = config.random_seed;
        let mut iface = Interface::new(iface_config, &mut dev, smoltcp::time::Instant::ZERO);
        iface.update_ip_addrs(|addrs| {
            // Two entries fit smoltcp's fixed address table (IFACE_MAX_ADDR_COUNT = 2).
            let _ = addrs.push(IpCidr::new(PLACEHOLDER_V4.into(), 32));
            let _ = addrs.push(IpCidr::new(PLACEHOLDER_V6.into(), 128));
        });
        let _ = iface.routes_mut().add_default_ipv4_route(PLACEHOLDER_V4);
        let _ = iface.routes_mut().add_default_ipv6_route(PLACEHOLDER_V6);
        iface.set_any_ip(true);
        let max = config.max_connections;
        Ok(TcpEndpoint {
            config,
            iface,
            caps,
            no_sockets: SocketSet::new(Vec::new()),
            scratch,
            slots: Vec::with_capacity(max),
            free: Vec::with_capacity(max),
            // Twice the entries: hashbrown then always rehashes tombstones in place, never grows.
            demux: HashMap::with_capacity_and_hasher(max.saturating_mul(2), RandomState::new()),
            listeners: HashMap::new(),
            pool: SocketPool::new(config),
            timers: TimerHeap::new(max),
            ready: VecDeque::with_capacity(max),
            time_wait: VecDeque::with_capacity(max),
            dirty: Vec::with_capacity(max),
            counters: TcpCounters::default(),
            now: Instant::ZERO,
        })
    }

    /// Replaces the listeners (on a new snapshot). Connections already open keep going.
    pub fn set_listeners(&mut self, listeners: &[(SocketAddr, ListenerId)]) {
        self.listeners.clear();
        for &(addr, id) in listeners {
            self.listeners.insert(listen_key(addr), id);
        }
    }

    /// Takes one IPv4 or IPv6 packet carrying TCP (the worker has classified it as this endpoint's)
    /// and hands what smoltcp answers to `out`, as IP packets.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        packet: &[u8],
        out: &mut dyn FnMut(&[u8]),
    ) -> PacketVerdict {
        self.now = self.now.max(now);
        self.counters.segments_in += 1;
        let seg = match segment::parse(packet) {
            Ok(seg) => seg,
            Err(drop) => {
                self.counters.bad_packets += 1;
                return PacketVerdict::Dropped(drop);
            }
        };
        let key = ConnKey {
            local: seg.local,
            remote: seg.remote,
        };
        if let Some(&slot) = self.demux.get(&key) {
            if !(seg.is_initial_syn() && self.retire_time_wait(slot)) {
                self.deliver(now, slot, packet, seg.rst, out);
                return PacketVerdict::Consumed;
            }
        }
        if seg.is_initial_syn() {
            if let Some(&listener) = self.listeners.get(&listen_key(seg.local)) {
                return self.accept(now, listener, key, packet, out);
            }
        }
        self.counters.no_connection += 1;
        if seg.rst {
            return PacketVerdict::Dropped(TcpDrop::NoConnection);
        }
        let rst_before = self.counters.rst_sent;
        let mut dev = OnePacket {
            rx: Some(packet),
            sink: Sink {
                scratch: &mut self.scratch,
                out,
                counters: &mut self.counters,
            },
            caps: &self.caps,
        };
        self.iface
            .poll_ingress_single(to_smol(now), &mut dev, &mut self.no_sockets);
        if self.counters.rst_sent > rst_before {
            PacketVerdict::ResetSent
        } else {
            PacketVerdict::Dropped(TcpDrop::NoConnection)
        }
    }

    /// Runs every timer due at `now` (retransmissions, delayed ACKs, TIME-WAIT, handshake and idle
    /// timeouts) and flushes output the caller queued. Call it when [`Self::next_deadline`] passes.
    pub fn poll_timers(&mut self, now: Instant, out: &mut dyn FnMut(&[u8])) {
        self.now = self.now.max(now);
        while let Some(due) = self.timers.pop_due(now) {
            let Some(slot) = self.slots.get_mut(due.slot as usize) else {
                continue;
            };
            if slot.generation != due.generation || slot.scheduled != Some(due.at) {
                continue;
            }
            slot.scheduled = None;
            self.on_timer(now, due.slot, out);
        }
        self.flush_all(now, out);
    }

    /// When [`Self::poll_timers`] should run next: the earliest connection deadline, or `now` if the
    /// caller queued output that is not flushed yet. `None`: nothing to do until a packet comes.
    pub fn next_deadline(&self) -> Option<Instant> {
        if !self.dirty.is_empty() {
            return Some(self.now);
        }
        self.timers.next()
    }

    /// Connections held (open, closing, in TIME-WAIT, or waiting for their terminal event).
    pub fn connection_count(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Idle sockets kept with their buffers for reuse: (client, upstream).
    pub fn idle_sockets(&self) -> (usize, usize) {
        self.pool.idle()
    }

    /// This core's counters.
    pub fn counters(&self) -> &TcpCounters {
        &self.counters
    }

    /// A SYN to a listener: a slot, a client socket listening on the SYN's destination, the SYN.
    fn accept(
        &mut self,
        now: Instant,
        listener: ListenerId,
        key: ConnKey,
        packet: &[u8],
        out: &mut dyn FnMut(&[u8]),
    ) -> PacketVerdict {
        let role = Role::Accepted(listener);
        let Some(index) = self.open_slot(now, key, role, AppState::Hidden, |socket, _| {
            socket.listen(key.local).is_ok()
        }) else {
            self.counters.syn_dropped_limit += 1;
            return PacketVerdict::Dropped(TcpDrop::ConnectionLimit);
        };
        self.counters.syn_received += 1;
        self.deliver(now, index, packet, false, out);
        PacketVerdict::Consumed
    }

    /// Takes a slot and a socket for `role`, sets the socket up with `setup` (false: give both back),
    /// and enters the connection in the demux. `None` at the connection limit or if `setup` failed.
    pub(super) fn open_slot(
        &mut self,
        now: Instant,
        key: ConnKey,
        role: Role,
        app: AppState,
        setup: impl FnOnce(&mut smoltcp::socket::tcp::Socket<'static>, &mut Interface) -> bool,
    ) -> Option<u32> {
        if self.connection_count() >= self.config.max_connections && !self.recycle_time_wait() {
            return None;
        }
        let mut socket = self.pool.take(role);
        if !setup(&mut socket, &mut self.iface) {
            self.pool.give(role, socket);
            return None;
        }
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot::new());
                u32::try_from(self.slots.len() - 1).ok()?
            }
        };
        let slot = self.slots.get_mut(index as usize)?;
        slot.vacant = false;
        let handle = slot.sockets.add(socket);
        let handshake = match role {
            Role::Accepted(_) => self.config.handshake_timeout,
            Role::Connected => self.config.connect_timeout,
        };
        slot.conn = Some(Conn {
            key,
            role,
            app,
            handle,
            in_demux: true,
            established: false,
            peer_closed: false,
            want_write: false,
            terminal: false,
            timeout: None,
            handshake_deadline: now + handshake,
            last_activity: now,
        });
        self.demux.insert(key, index);
        Some(index)
    }

    /// Feeds one packet to a connection, then lets it send.
    fn deliver(
        &mut self,
        now: Instant,
        index: u32,
        packet: &[u8],
        rst: bool,
        out: &mut dyn FnMut(&[u8]),
    ) {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        if let Some(conn) = slot.conn.as_mut() {
            conn.last_activity = now;
        }
        self.io(now, index, Some(packet), rst, out);
    }

    /// Polls smoltcp for one connection: the packet if any, then egress; then derives its events.
    pub(super) fn io(
        &mut self,
        now: Instant,
        index: u32,
        packet: Option<&[u8]>,
        rst: bool,
        out: &mut dyn FnMut(&[u8]),
    ) {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        let Some(before) = slot.socket().map(Observed::of) else {
            return;
        };
        let smol_now = to_smol(now);
        let mut dev = OnePacket {
            rx: packet,
            sink: Sink {
                scratch: &mut self.scratch,
                out,
                counters: &mut self.counters,
            },
            caps: &self.caps,
        };
        if packet.is_some() {
            self.iface
                .poll_ingress_single(smol_now, &mut dev, &mut slot.sockets);
        }
        // smoltcp sends at most one segment per socket per egress poll: poll until it has nothing
        // left (bounded; the rest goes at the next timer, which smoltcp then asks for at once).
        for _ in 0..MAX_SEGMENTS_PER_POLL {
            if self
                .iface
                .poll_egress(smol_now, &mut dev, &mut slot.sockets)
                == PollResult::None
            {
                break;
            }
        }
        self.after_io(index, before, rst);
    }

    /// A timer of this slot fired: our own handshake and idle timeouts first, then smoltcp's.
    fn on_timer(&mut self, now: Instant, index: u32, out: &mut dyn FnMut(&[u8])) {
        let Some(slot) = self.slots.get(index as usize) else {
            return;
        };
        let (Some(conn), Some(state)) = (slot.conn.as_ref(), slot.socket().map(|s| s.state()))
        else {
            return;
        };
        let handshaking = matches!(state, State::SynSent | State::SynReceived);
        let idle_at = conn.last_activity + self.config.idle_timeout;
        if handshaking && now >= conn.handshake_deadline {
            self.counters.handshake_timeouts += 1;
            self.abort_for(now, index, CloseReason::HandshakeTimeout, out);
        } else if synchronized(state) && state != State::TimeWait && now >= idle_at {
            self.counters.idle_timeouts += 1;
            self.abort_for(now, index, CloseReason::IdleTimeout, out);
        } else {
            self.io(now, index, None, false, out);
        }
    }

    /// Resets the connection for a timeout and reports it (if the caller knows it).
    fn abort_for(
        &mut self,
        now: Instant,
        index: u32,
        reason: CloseReason,
        out: &mut dyn FnMut(&[u8]),
    ) {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        if let Some(conn) = slot.conn.as_mut() {
            conn.timeout = Some(reason);
        }
        if let Some(socket) = slot.socket_mut() {
            socket.abort();
        }
        self.io(now, index, None, false, out);
    }

    /// Sets the slot's next wake-up: the earliest of smoltcp's poll time and our handshake or idle
    /// deadline, never earlier than just after `now` (so that `poll_timers` always ends).
    pub(super) fn reschedule(&mut self, index: u32) {
        let now = self.now;
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        let (Some(conn), Some(state)) = (slot.conn.as_ref(), slot.socket().map(|s| s.state()))
        else {
            return;
        };
        let ours = match state {
            State::SynSent | State::SynReceived => Some(conn.handshake_deadline),
            State::Closed | State::Listen | State::TimeWait => None,
            _ => Some(conn.last_activity + self.config.idle_timeout),
        };
        let smol = self
            .iface
            .poll_at(to_smol(now), &slot.sockets)
            .map(from_smol);
        let want = match (ours, smol) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(at) => at,
                None => return,
            },
        };
        let want = want.max(now + core::time::Duration::from_nanos(1));
        if slot.scheduled.is_some_and(|at| at <= want) {
            return;
        }
        slot.scheduled = Some(want);
        let generation = slot.generation;
        let slots = &self.slots;
        self.timers.push(
            Due {
                at: want,
                slot: index,
                generation,
            },
            |s, g, at| {
                slots
                    .get(s as usize)
                    .is_some_and(|x| x.generation == g && x.scheduled == Some(at))
            },
        );
    }

    /// Frees the oldest slot still in TIME-WAIT whose id the caller has let go; false if there is none.
    pub(super) fn recycle_time_wait(&mut self) -> bool {
        while let Some((index, generation)) = self.time_wait.pop_front() {
            let Some(slot) = self.slots.get(index as usize) else {
                continue;
            };
            let waiting = slot.generation == generation
                && slot.socket().is_some_and(|s| s.state() == State::TimeWait)
                && slot
                    .conn
                    .as_ref()
                    .is_some_and(|c| c.app == AppState::Detached);
            if waiting {
                self.release_socket(index);
                self.try_free(index);
                self.counters.time_wait_recycled += 1;
                return true;
            }
        }
        false
    }

    /// A client SYN for a four-tuple in TIME-WAIT on the accepting side: take the old socket out of
    /// the demux so that the SYN opens a new connection. False if the slot is anything else.
    fn retire_time_wait(&mut self, index: u32) -> bool {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return false;
        };
        let in_time_wait = slot.socket().is_some_and(|s| s.state() == State::TimeWait);
        let Some(conn) = slot.conn.as_mut() else {
            return false;
        };
        if !in_time_wait || !matches!(conn.role, Role::Accepted(_)) {
            return false;
        }
        conn.in_demux = false;
        self.demux.remove(&conn.key);
        self.counters.time_wait_reused += 1;
        if conn.app != AppState::Attached {
            self.release_socket(index);
            self.try_free(index);
        }
        true
    }
}

/// Listeners are keyed by address and port only (no IPv6 flow label or scope).
fn listen_key(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip(), addr.port())
}

/// Whether an address can be one end of a connection.
pub(super) fn is_unicast(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_broadcast() || a.is_multicast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    }
}
