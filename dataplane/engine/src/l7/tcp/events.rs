//! Events and the end of a connection: what a smoltcp run means for the caller (queued as event
//! bits in the slot, drained by `poll_event`), and handing the socket and the slot back once
//! neither the caller nor the network needs them.

use smoltcp::socket::tcp::State;

use super::endpoint::TcpEndpoint;
use super::slot::{peer_fin_received, pending, synchronized, AppState, Observed, Role};
use super::types::{CloseReason, ConnId, TcpEvent};

impl TcpEndpoint {
    /// The next event, `None` when there is none. Never allocates.
    pub fn poll_event(&mut self) -> Option<TcpEvent> {
        loop {
            let &index = self.ready.front()?;
            let Some(slot) = self.slots.get_mut(index as usize) else {
                self.ready.pop_front();
                continue;
            };
            let bits = slot.pending;
            let bit = bits & bits.wrapping_neg();
            slot.pending &= !bit;
            if slot.pending == 0 {
                self.ready.pop_front();
                slot.in_ready = false;
            }
            let conn = ConnId {
                slot: index,
                generation: slot.generation,
            };
            let listener = match slot.conn.as_ref().map(|c| c.role) {
                Some(Role::Accepted(listener)) => Some(listener),
                _ => None,
            };
            let reason = slot.reason;
            let event = match bit {
                pending::ACCEPTED => listener.map(|listener| TcpEvent::Accepted { conn, listener }),
                pending::CONNECTED => Some(TcpEvent::Connected(conn)),
                pending::READABLE => Some(TcpEvent::Readable(conn)),
                pending::WRITABLE => Some(TcpEvent::Writable(conn)),
                pending::PEER_CLOSED => Some(TcpEvent::PeerClosed(conn)),
                pending::CLOSED => Some(TcpEvent::Closed { conn, reason }),
                pending::CONNECT_FAILED => Some(TcpEvent::ConnectFailed { conn, reason }),
                _ => None,
            };
            if matches!(bit, pending::CLOSED | pending::CONNECT_FAILED) {
                self.detach(index);
            }
            self.try_free(index);
            if event.is_some() {
                return event;
            }
        }
    }

    /// Queues the events smoltcp's run implies, ends the connection if its socket closed, and
    /// reschedules its timer.
    pub(super) fn after_io(&mut self, index: u32, before: Observed, rst: bool) {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        let Some(after) = slot.socket().map(Observed::of) else {
            return;
        };
        let (may_send, has_space) = slot.socket().map_or((false, false), |s| {
            (s.may_send(), s.send_queue() < s.send_capacity())
        });
        let Some(conn) = slot.conn.as_mut() else {
            return;
        };
        let mut bits = 0;
        if !conn.established && synchronized(after.state) {
            conn.established = true;
            match conn.role {
                Role::Accepted(_) => {
                    conn.app = AppState::Attached;
                    bits |= pending::ACCEPTED;
                    self.counters.accepted += 1;
                }
                Role::Connected => {
                    bits |= pending::CONNECTED;
                    self.counters.connected += 1;
                }
            }
        }
        if conn.app == AppState::Attached {
            if after.recv_queue > before.recv_queue {
                bits |= pending::READABLE;
            }
            if conn.want_write && may_send && has_space {
                conn.want_write = false;
                bits |= pending::WRITABLE;
            }
            if !conn.peer_closed && peer_fin_received(after.state) {
                conn.peer_closed = true;
                bits |= pending::PEER_CLOSED;
            }
        }
        // smoltcp turns a half-open passive socket back to LISTEN on an RST: that connection is gone.
        let gone = matches!(after.state, State::Closed | State::Listen);
        if gone && conn.in_demux {
            conn.in_demux = false;
            self.demux.remove(&conn.key);
        }
        if (gone || after.state == State::TimeWait) && !conn.terminal {
            conn.terminal = true;
            if after.state == State::TimeWait && self.time_wait.len() < self.config.max_connections
            {
                self.time_wait.push_back((index, slot.generation));
            }
            let orderly = !rst
                && matches!(
                    before.state,
                    State::LastAck | State::Closing | State::TimeWait
                );
            let reason = conn.timeout.unwrap_or(if gone && !orderly {
                CloseReason::Reset
            } else {
                CloseReason::Normal
            });
            match (conn.app, conn.established) {
                (AppState::Hidden, _) => self.counters.half_open_dropped += 1,
                (AppState::Attached, true) => {
                    bits |= pending::CLOSED;
                    slot.reason = reason;
                    self.counters.closed += 1;
                    if reason == CloseReason::Reset {
                        self.counters.resets_received += 1;
                    }
                }
                (AppState::Attached, false) => {
                    bits |= pending::CONNECT_FAILED;
                    slot.reason = reason;
                    self.counters.connect_failed += 1;
                }
                (AppState::Detached, _) => {}
            }
        }
        let release = gone && conn.app != AppState::Attached;
        slot.pending |= bits;
        if bits != 0 && !slot.in_ready {
            slot.in_ready = true;
            self.ready.push_back(index);
        }
        if release {
            self.release_socket(index);
            self.try_free(index);
        } else {
            self.reschedule(index);
        }
    }

    /// The caller is done with the id; a closed socket goes back to the pool now, one still in
    /// TIME-WAIT when smoltcp closes it.
    pub(super) fn detach(&mut self, index: u32) {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        slot.pending = 0;
        let closed = slot
            .socket()
            .is_none_or(|s| matches!(s.state(), State::Closed | State::Listen));
        let tuple_sent = slot.socket().is_none_or(|s| s.remote_endpoint().is_none());
        if let Some(conn) = slot.conn.as_mut() {
            conn.app = AppState::Detached;
        }
        // An aborted socket still has its RST to send: it goes at the next flush.
        if closed && tuple_sent {
            self.release_socket(index);
        }
    }

    /// Returns the slot's socket to the pool and forgets the connection.
    pub(super) fn release_socket(&mut self, index: u32) {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        let Some(conn) = slot.conn.take() else { return };
        if conn.in_demux {
            self.demux.remove(&conn.key);
        }
        slot.pending = 0;
        slot.scheduled = None;
        if let Some(mut socket) = slot.take_socket(conn.handle) {
            if socket.state() != State::Closed {
                // LISTEN or TIME-WAIT: closed without sending anything; reset on next use.
                socket.abort();
            }
            self.pool.give(conn.role, socket);
        }
    }

    /// Puts the slot on the free list once nothing refers to it any more.
    pub(super) fn try_free(&mut self, index: u32) {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        if slot.vacant || slot.conn.is_some() || slot.in_ready || slot.dirty {
            return;
        }
        slot.vacant = true;
        slot.generation = slot.generation.wrapping_add(1);
        slot.pending = 0;
        slot.scheduled = None;
        self.free.push(index);
    }
}
