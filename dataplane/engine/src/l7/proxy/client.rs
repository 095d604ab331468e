//! The client side of a session: accepting it, moving bytes between the client's TCP connection and
//! the session's buffers (through TLS on HTTPS listeners), the pump that drives a session forward, and
//! closing it.

use crate::counters::Counters;
use crate::l7::http::Scheme;
use crate::l7::tcp::{ConnError, ConnId, ListenerId};
use crate::l7::tls::TlsSession;
use crate::time::Instant;

use super::session::{Session, Wait};
use super::{L7Proxy, Link, UpstreamSource};

/// Rounds of the pump per event: each round moves every direction as far as buffers allow.
const PUMP_ROUNDS: usize = 16;

impl L7Proxy {
    /// A client completed the handshake: a session with its buffers (and TLS for HTTPS).
    pub(super) fn accept(
        &mut self,
        now: Instant,
        conn: ConnId,
        listener: ListenerId,
        c: &mut Counters,
    ) {
        let (Some(local), Some(remote)) = (self.tcp.local(conn), self.tcp.remote(conn)) else {
            let _ = self.tcp.abort(conn);
            return;
        };
        let Some(l) = self.snapshot.listener(listener.0) else {
            let _ = self.tcp.abort(conn);
            return;
        };
        let tls = l.tls.as_ref().map(|config| {
            let mut session = TlsSession::new(config.clone());
            session.set_buffer_limit(self.buf_size);
            Box::new(session)
        });
        let scheme = if tls.is_some() {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let tls_in = tls.as_ref().map(|_| self.bufs.get());
        let tls_out = tls.as_ref().map(|_| self.bufs.get());
        let session = Session {
            client: conn,
            local,
            remote,
            scheme,
            tls,
            tls_in,
            tls_out,
            inbuf: self.bufs.get(),
            outbuf: self.bufs.get(),
            exchange: None,
            client_eof: false,
            closing: false,
            close_sent: false,
            aborted: false,
            handshake_counted: false,
            wait: Some(Wait {
                deadline: now + self.config.header_timeout,
                idle: false,
            }),
        };
        match self.sessions.get_mut(conn.slot()) {
            Some(slot) => *slot = Some(Box::new(session)),
            None => {
                let _ = self.tcp.abort(conn);
                return;
            }
        }
        self.set_link(conn, Link::Client);
        self.active += 1;
        c.l7_accepted += 1;
    }

    /// Moves a session forward in every direction until nothing more can move.
    pub(super) fn pump(
        &mut self,
        now: Instant,
        client: ConnId,
        source: &mut dyn UpstreamSource,
        c: &mut Counters,
    ) {
        let Some(mut s) = self.sessions.get_mut(client.slot()).and_then(Option::take) else {
            return;
        };
        if s.client != client {
            self.put_back(s);
            return;
        }
        for _ in 0..PUMP_ROUNDS {
            let mut progress = self.read_client(&mut s, c);
            progress |= self.start_exchange(now, &mut s, source, c);
            progress |= self.send_upstream(&mut s, c);
            progress |= self.read_upstream(&mut s, c);
            progress |= self.write_client(&mut s);
            progress |= self.finish_exchange(&mut s, c);
            if !progress {
                break;
            }
        }
        self.maybe_close(&mut s);
        self.update_wait(now, &mut s);
        if s.aborted {
            self.release(s, c);
        } else {
            self.put_back(s);
        }
    }

    /// Starts, switches or stops the session's header/keep-alive deadline after a pump.
    fn update_wait(&self, now: Instant, s: &mut Session) {
        if s.exchange.is_some() || s.closing {
            s.wait = None;
            return;
        }
        let header = Wait {
            deadline: now + self.config.header_timeout,
            idle: false,
        };
        s.wait = match s.wait {
            // The previous exchange just ended: idle until the next request starts.
            None if s.inbuf.is_empty() => Some(Wait {
                deadline: now + self.config.keepalive_timeout,
                idle: true,
            }),
            None => Some(header),
            // A new request started while idle: it has the header timeout to complete.
            Some(w) if w.idle && !s.inbuf.is_empty() => Some(header),
            keep => keep,
        };
    }

    pub(super) fn put_back(&mut self, s: Box<Session>) {
        let slot = s.client.slot();
        if let Some(place) = self.sessions.get_mut(slot) {
            *place = Some(s);
        }
    }

    /// Client bytes into `inbuf` (decrypted on HTTPS). Returns whether anything moved.
    fn read_client(&mut self, s: &mut Session, c: &mut Counters) -> bool {
        if s.closing {
            // Discard what still comes: nothing more is served on this connection.
            return self.discard_client(s);
        }
        let Some(tls) = s.tls.as_deref_mut() else {
            if s.inbuf.is_full() {
                return false;
            }
            return match self.tcp.recv(s.client, s.inbuf.free_mut()) {
                Ok(n) => {
                    s.inbuf.commit(n);
                    n > 0
                }
                Err(ConnError::Finished) => {
                    let news = !s.client_eof;
                    s.client_eof = true;
                    news
                }
                Err(_) => false,
            };
        };
        let Some(cipher) = s.tls_in.as_mut() else {
            return false;
        };
        let mut progress = false;
        // Ciphertext from TCP into tls_in.
        if !cipher.is_full() {
            match self.tcp.recv(s.client, cipher.free_mut()) {
                Ok(n) => {
                    cipher.commit(n);
                    progress |= n > 0;
                }
                Err(ConnError::Finished) => {
                    progress |= !s.client_eof;
                    s.client_eof = true;
                }
                Err(_) => {}
            }
        }
        // tls_in into the TLS session.
        if !cipher.is_empty() {
            match tls.receive(cipher.data()) {
                Ok(taken) => {
                    cipher.consume(taken);
                    progress |= taken > 0;
                }
                Err(_) => {
                    cipher.clear();
                    c.l7_tls_failures += 1;
                    s.closing = true;
                    return true;
                }
            }
        }
        if !s.handshake_counted && !tls.is_handshaking() {
            s.handshake_counted = true;
            c.l7_tls_handshakes += 1;
        }
        // Plaintext into inbuf.
        while tls.plaintext_len() > 0 && !s.inbuf.is_full() {
            let n = tls.read_plaintext(s.inbuf.free_mut());
            if n == 0 {
                break;
            }
            s.inbuf.commit(n);
            progress = true;
        }
        if tls.peer_closed() && !s.client_eof {
            s.client_eof = true;
            progress = true;
        }
        progress
    }

    /// Reads and drops what a closing client still sends (its window must not stay shut).
    fn discard_client(&mut self, s: &mut Session) -> bool {
        let mut moved = false;
        loop {
            match self.tcp.recv(s.client, &mut self.scratch) {
                Ok(0) | Err(_) => return moved,
                Ok(_) => moved = true,
            }
        }
    }

    /// `outbuf` to the client (encrypted on HTTPS), and TLS's own output (handshake, alerts).
    fn write_client(&mut self, s: &mut Session) -> bool {
        let mut progress = false;
        let Some(tls) = s.tls.as_deref_mut() else {
            if s.outbuf.is_empty() {
                return false;
            }
            let n = self.tcp.send(s.client, s.outbuf.data()).unwrap_or(0);
            s.outbuf.consume(n);
            return n > 0;
        };
        if !s.outbuf.is_empty() && !tls.is_handshaking() {
            let n = tls.write_plaintext(s.outbuf.data());
            s.outbuf.consume(n);
            progress |= n > 0;
        }
        let Some(cipher) = s.tls_out.as_mut() else {
            return progress;
        };
        loop {
            if tls.pending_ciphertext() && !cipher.is_full() {
                let n = tls.write_ciphertext(cipher.free_mut());
                cipher.commit(n);
            }
            if cipher.is_empty() {
                break;
            }
            // A partial send is followed by a Writable event, which brings the rest.
            let sent = self.tcp.send(s.client, cipher.data()).unwrap_or(0);
            cipher.consume(sent);
            progress |= sent > 0;
            if sent == 0 {
                break;
            }
        }
        progress
    }

    /// Closes the client once everything for it is out: after an error answer, a `Connection: close`
    /// exchange, or the client's own end with nothing in flight.
    fn maybe_close(&mut self, s: &mut Session) {
        if s.close_sent {
            return;
        }
        let idle = s.exchange.is_none();
        if s.client_eof && idle && !s.closing {
            // Nothing in flight and no more requests can come (a partial head in inbuf is abandoned).
            s.closing = true;
        }
        if !s.closing || !idle || !s.outbuf.is_empty() {
            return;
        }
        if let Some(tls) = s.tls.as_deref_mut() {
            if tls.failure().is_none() && !tls.is_handshaking() {
                tls.close();
                // Flush the close_notify.
                let _ = self.write_client(s);
            }
            let unsent = s.tls_out.as_ref().is_some_and(|b| !b.is_empty());
            if unsent || s.tls.as_deref().is_some_and(|t| t.pending_ciphertext()) {
                return;
            }
        }
        s.close_sent = true;
        let _ = self.tcp.close(s.client);
    }

    /// The client connection is gone: its upstream (if any) goes too, its buffers back to the pool.
    pub(super) fn end_session(&mut self, client: ConnId, c: &mut Counters) {
        let Some(s) = self.sessions.get_mut(client.slot()).and_then(Option::take) else {
            return;
        };
        self.release(s, c);
    }

    /// Frees what a finished session holds: its upstream (aborted if a request was in flight), its
    /// buffers (back to the pool), its slot.
    fn release(&mut self, s: Box<Session>, c: &mut Counters) {
        self.set_link(s.client, Link::Free);
        self.active = self.active.saturating_sub(1);
        let mut s = *s;
        if let Some(ex) = s.exchange.take() {
            if let Some(up) = ex.upstream {
                self.set_link(up, Link::Free);
                let _ = self.tcp.abort(up);
            }
            self.release_backend(ex.backend);
            c.l7_client_aborts += 1;
            self.bufs.put(ex.head);
            self.bufs.put(ex.respbuf);
        }
        self.bufs.put(s.inbuf);
        self.bufs.put(s.outbuf);
        for b in [s.tls_in.take(), s.tls_out.take()].into_iter().flatten() {
            self.bufs.put(b);
        }
    }

    /// Resets the client connection (nothing more can be sent on it); the session ends at the end of the
    /// pump, as the endpoint reports nothing after an abort.
    pub(super) fn abort_client(&mut self, s: &mut Session) {
        let _ = self.tcp.abort(s.client);
        s.aborted = true;
        s.closing = true;
        s.close_sent = true;
    }
}
