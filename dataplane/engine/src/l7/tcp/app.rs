//! The caller's side of a connection: open one to a backend, read, write, close, abort, flush,
//! and look at its state. Output queued here leaves at `flush`, `flush_all` or `poll_timers`.

use core::net::SocketAddr;

use smoltcp::socket::tcp::{RecvError, State};

use super::endpoint::{is_unicast, TcpEndpoint};
use super::slot::{AppState, ConnKey, Role};
use super::types::{ConnError, ConnId, ConnectError};
use crate::time::Instant;

/// A connection's TCP state (smoltcp's, RFC 793 names).
pub type TcpState = State;

impl TcpEndpoint {
    /// Opens a connection from `local` (the SNAT address and port the caller picked, so that the
    /// answers reach this core) to `remote`, and sends the SYN to `out`. The connection uses the
    /// upstream buffers; [`super::TcpEvent::Connected`] or [`super::TcpEvent::ConnectFailed`] follows.
    pub fn connect(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<ConnId, ConnectError> {
        self.now = self.now.max(now);
        let usable = |a: SocketAddr| a.port() != 0 && is_unicast(a.ip());
        if !usable(local) || !usable(remote) || local.is_ipv4() != remote.is_ipv4() {
            return Err(ConnectError::Unaddressable);
        }
        let key = ConnKey {
            local: SocketAddr::new(local.ip(), local.port()),
            remote: SocketAddr::new(remote.ip(), remote.port()),
        };
        if self.demux.contains_key(&key) {
            return Err(ConnectError::InUse);
        }
        if self.connection_count() >= self.config.max_connections && !self.recycle_time_wait() {
            return Err(ConnectError::Limit);
        }
        let index = self
            .open_slot(
                now,
                key,
                Role::Connected,
                AppState::Attached,
                |socket, iface| {
                    socket
                        .connect(iface.context(), key.remote, key.local)
                        .is_ok()
                },
            )
            .ok_or(ConnectError::Unaddressable)?;
        self.counters.connects += 1;
        self.io(now, index, None, false, out);
        let generation = self.slots.get(index as usize).map_or(0, |s| s.generation);
        Ok(ConnId {
            slot: index,
            generation,
        })
    }

    /// Reads received bytes into `buf`: `Ok(0)` when none are buffered yet,
    /// `Err(ConnError::Finished)` once the peer's FIN is reached.
    pub fn recv(&mut self, id: ConnId, buf: &mut [u8]) -> Result<usize, ConnError> {
        let index = self.attached(id)?;
        let socket = self.slot_socket(index)?;
        let state = socket.state();
        match socket.recv_slice(buf) {
            Ok(n) => {
                if n > 0 {
                    // The window opened: smoltcp may owe the peer a window update.
                    self.mark_dirty(index);
                }
                Ok(n)
            }
            Err(RecvError::Finished) => Err(ConnError::Finished),
            Err(_) if matches!(state, State::SynSent | State::SynReceived) => Ok(0),
            Err(_) => Err(ConnError::InvalidState),
        }
    }

    /// Queues `data` for sending and returns how much fit in the transmit buffer (possibly 0); when
    /// it did not all fit, [`super::TcpEvent::Writable`] follows once space frees up.
    pub fn send(&mut self, id: ConnId, data: &[u8]) -> Result<usize, ConnError> {
        let index = self.attached(id)?;
        let now = self.now;
        let socket = self.slot_socket(index)?;
        let n = socket
            .send_slice(data)
            .map_err(|_| ConnError::InvalidState)?;
        if let Some(conn) = self
            .slots
            .get_mut(index as usize)
            .and_then(|s| s.conn.as_mut())
        {
            conn.want_write |= n < data.len();
            if n > 0 {
                conn.last_activity = now;
            }
        }
        if n > 0 {
            self.mark_dirty(index);
        }
        Ok(n)
    }

    /// Free space in the transmit buffer.
    pub fn send_space(&self, id: ConnId) -> Option<usize> {
        let socket = self
            .slots
            .get(self.attached_index(id)? as usize)?
            .socket()?;
        Some(socket.send_capacity() - socket.send_queue())
    }

    /// Closes the sending side: FIN after the data already queued. Receiving goes on until the
    /// peer's FIN. A connection still in SYN-SENT is aborted instead (and reports nothing more).
    pub fn close(&mut self, id: ConnId) -> Result<(), ConnError> {
        let index = self.attached(id)?;
        let socket = self.slot_socket(index)?;
        if socket.state() == State::SynSent {
            return self.abort(id);
        }
        socket.close();
        self.mark_dirty(index);
        Ok(())
    }

    /// Resets the connection (RST at the next flush). The id is refused from now on and no further
    /// event is reported for it. A connection already in TIME-WAIT or closed is only let go.
    pub fn abort(&mut self, id: ConnId) -> Result<(), ConnError> {
        let index = self.attached(id)?;
        let socket = self.slot_socket(index)?;
        if !matches!(socket.state(), State::TimeWait | State::Closed) {
            socket.abort();
            self.counters.aborted += 1;
        }
        self.detach(index);
        self.mark_dirty(index);
        Ok(())
    }

    /// Sends what `send`, `close`, `abort` or `recv` left queued on this connection.
    pub fn flush(
        &mut self,
        now: Instant,
        id: ConnId,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), ConnError> {
        self.now = self.now.max(now);
        let index = id.slot;
        let slot = self
            .slots
            .get_mut(id.slot())
            .ok_or(ConnError::UnknownConnection)?;
        if slot.generation != id.generation || slot.conn.is_none() {
            return Err(ConnError::UnknownConnection);
        }
        // The slot stays on the dirty list (removing it would be a scan); `flush_all` finds nothing left.
        self.io(now, index, None, false, out);
        Ok(())
    }

    /// Sends what the caller left queued on every connection (also done by `poll_timers`).
    pub fn flush_all(&mut self, now: Instant, out: &mut dyn FnMut(&[u8])) {
        self.now = self.now.max(now);
        while let Some(index) = self.dirty.pop() {
            self.flush_slot(now, index, out);
        }
    }

    /// Whether a connection (in any state, TIME-WAIT included) holds the four-tuple `local`-`remote`
    /// (`local` is our side: a listener or SNAT address). The worker asks before it hands return
    /// traffic here; a caller picking an SNAT port avoids such tuples (`ConnectError::InUse`).
    pub fn has_connection(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        let plain = |a: SocketAddr| SocketAddr::new(a.ip(), a.port());
        self.demux.contains_key(&ConnKey {
            local: plain(local),
            remote: plain(remote),
        })
    }

    /// The connection's TCP state.
    pub fn state(&self, id: ConnId) -> Option<TcpState> {
        let slot = self.slots.get(self.attached_index(id)? as usize)?;
        slot.socket().map(|s| s.state())
    }

    /// Our address and port (the listener's, or the SNAT address given to `connect`).
    pub fn local(&self, id: ConnId) -> Option<SocketAddr> {
        let slot = self.slots.get(self.attached_index(id)? as usize)?;
        slot.conn.as_ref().map(|c| c.key.local)
    }

    /// The peer's address and port.
    pub fn remote(&self, id: ConnId) -> Option<SocketAddr> {
        let slot = self.slots.get(self.attached_index(id)? as usize)?;
        slot.conn.as_ref().map(|c| c.key.remote)
    }

    fn flush_slot(&mut self, now: Instant, index: u32, out: &mut dyn FnMut(&[u8])) {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        slot.dirty = false;
        if slot.conn.is_some() {
            self.io(now, index, None, false, out);
        }
        self.try_free(index);
    }

    fn mark_dirty(&mut self, index: u32) {
        if let Some(slot) = self.slots.get_mut(index as usize) {
            if !slot.dirty {
                slot.dirty = true;
                self.dirty.push(index);
            }
        }
    }

    /// The slot of a connection the caller holds.
    fn attached(&self, id: ConnId) -> Result<u32, ConnError> {
        self.attached_index(id).ok_or(ConnError::UnknownConnection)
    }

    fn attached_index(&self, id: ConnId) -> Option<u32> {
        let slot = self.slots.get(id.slot())?;
        let conn = slot.conn.as_ref()?;
        (slot.generation == id.generation && conn.app == AppState::Attached).then_some(id.slot)
    }

    fn slot_socket(
        &mut self,
        index: u32,
    ) -> Result<&mut smoltcp::socket::tcp::Socket<'static>, ConnError> {
        self.slots
            .get_mut(index as usize)
            .and_then(|s| s.socket_mut())
            .ok_or(ConnError::UnknownConnection)
    }
}
