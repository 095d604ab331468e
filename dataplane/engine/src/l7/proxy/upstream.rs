//! The upstream side of an exchange: which backend (least outstanding requests, weighted, round-robin
//! among equals), which connection (a kept-alive one, or a new one from a SNAT address whose answers
//! reach this core), the request sent, the response relayed, and what happens when the upstream fails:
//! one retry of an idempotent request whose connection failed, else 502 (504 on a timeout).

use core::net::SocketAddr;

use crate::counters::Counters;
use crate::l7::http::{parse_response, rewrite_response, Answer, BodyDecoder, Framing};
use crate::l7::router::PoolId;
use crate::l7::tcp::{CloseReason, ConnError, ConnId, TcpState};
use crate::time::Instant;

use super::session::{Exchange, Response, Session};
use super::{L7Proxy, Link, UpstreamSource};

impl L7Proxy {
    /// The active backend of `pool` with the fewest requests in flight per unit of weight; `avoid` and
    /// backends that failed lately (`health`) only when no other one is left.
    pub(super) fn pick_backend(
        &mut self,
        now: Instant,
        pool: PoolId,
        avoid: Option<SocketAddr>,
    ) -> Option<SocketAddr> {
        let backends = &self.snapshot.pool(pool)?.backends;
        let n = backends.len();
        if n == 0 {
            return None;
        }
        self.turn = self.turn.wrapping_add(1);
        let start = self.turn as usize % n;
        let mut best: Option<(u64, SocketAddr)> = None;
        let mut fallback = None;
        for i in 0..n {
            let Some(b) = backends.get((start + i) % n) else {
                continue;
            };
            if !b.active || b.weight == 0 {
                continue;
            }
            if Some(b.addr) == avoid || self.health.is_down(b.addr, now) {
                if fallback.is_none() || Some(b.addr) != avoid {
                    fallback = Some(b.addr);
                }
                continue;
            }
            let load = u64::from(self.outstanding.get(&b.addr).copied().unwrap_or(0));
            // Compare load/weight without division: scaled by the largest weight u32 allows.
            let score = (load + 1) * (u64::from(u32::MAX) / u64::from(b.weight));
            if best.is_none_or(|(s, _)| score < s) {
                best = Some((score, b.addr));
            }
        }
        best.map(|(_, a)| a).or(fallback)
    }

    pub(super) fn take_backend(&mut self, backend: SocketAddr) {
        *self.outstanding.entry(backend).or_insert(0) += 1;
    }

    pub(super) fn release_backend(&mut self, backend: SocketAddr) {
        if let Some(n) = self.outstanding.get_mut(&backend) {
            *n = n.saturating_sub(1);
        }
    }

    /// Gives the exchange an upstream connection: a kept-alive one to its backend, or a new one.
    pub(super) fn open_upstream(
        &mut self,
        now: Instant,
        s: &mut Session,
        source: &mut dyn UpstreamSource,
        c: &mut Counters,
    ) {
        let Some(ex) = s.exchange.as_mut() else {
            return;
        };
        ex.attempts += 1;
        ex.head_sent = 0;
        let backend = ex.backend;
        let reusable = if ex.proxy_protocol {
            None
        } else {
            self.take_idle(backend)
        };
        if let Some(conn) = reusable {
            ex.upstream = Some(conn);
            ex.connected = true;
            self.set_link(conn, Link::Upstream { client: s.client });
            c.l7_upstream_reused += 1;
            return;
        }
        let tcp = &self.tcp;
        let local = source.pick(backend, &mut |l| tcp.has_connection(l, backend));
        let out = &mut self.out;
        let conn = local.and_then(|l| self.tcp.connect(now, l, backend, &mut |p| out.push(p)).ok());
        match conn {
            Some(conn) => {
                ex.upstream = Some(conn);
                ex.connected = false;
                self.set_link(conn, Link::Upstream { client: s.client });
                c.l7_upstream_connects += 1;
            }
            None => {
                c.l7_upstream_connect_failures += 1;
                self.fail_exchange(s, Answer::ServiceUnavailable, c);
            }
        }
    }

    /// A kept-alive connection to `backend` that is still established.
    fn take_idle(&mut self, backend: SocketAddr) -> Option<ConnId> {
        let list = self.idle.get_mut(&backend)?;
        while let Some(conn) = list.pop() {
            if self.tcp.state(conn) == Some(TcpState::Established) {
                return Some(conn);
            }
            if let Some(link) = self.links.get_mut(conn.slot()) {
                *link = Link::Free;
            }
            let _ = self.tcp.abort(conn);
        }
        None
    }

    pub(super) fn keep_idle(&mut self, conn: ConnId, backend: SocketAddr) {
        let list = self.idle.entry(backend).or_default();
        if list.len() < self.config.idle_per_backend {
            list.push(conn);
            self.set_link(conn, Link::Idle { backend });
        } else {
            self.set_link(conn, Link::Free);
            let _ = self.tcp.close(conn);
        }
    }

    pub(super) fn drop_idle(&mut self, conn: ConnId, backend: SocketAddr) {
        if let Some(list) = self.idle.get_mut(&backend) {
            list.retain(|&c| c != conn);
        }
    }

    /// Ends the exchange without an upstream answer: edgelb answers `answer` instead.
    fn fail_exchange(&mut self, s: &mut Session, answer: Answer, c: &mut Counters) {
        let Some(ex) = s.exchange.take() else {
            return;
        };
        if let Some(up) = ex.upstream {
            self.set_link(up, Link::Free);
            let _ = self.tcp.abort(up);
        }
        self.release_backend(ex.backend);
        // The client may go on only if its request was read to the end.
        let keep = ex.keep_alive && ex.request_body.is_done();
        self.bufs.put(ex.head);
        self.bufs.put(ex.respbuf);
        if ex.response_started {
            // Part of a response went out: the only honest thing left is to cut the connection.
            c.l7_upstream_truncated += 1;
            self.abort_client(s);
            return;
        }
        self.answer(s, answer, keep, c);
    }

    /// The head, then the body from `inbuf`, to the upstream, as far as its send buffer takes them.
    pub(super) fn send_upstream(&mut self, s: &mut Session, c: &mut Counters) -> bool {
        let Some(ex) = s.exchange.as_mut() else {
            return false;
        };
        let (Some(up), true) = (ex.upstream, ex.connected) else {
            return false;
        };
        let mut progress = false;
        if ex.head_sent < ex.head.len() {
            let rest = ex.head.data().get(ex.head_sent..).unwrap_or_default();
            let n = self.tcp.send(up, rest).unwrap_or(0);
            ex.head_sent += n;
            progress |= n > 0;
            if ex.head_sent < ex.head.len() {
                return progress;
            }
        }
        if ex.request_body.is_done() || s.inbuf.is_empty() {
            return progress;
        }
        let space = self.tcp.send_space(up).unwrap_or(0);
        let chunk = s
            .inbuf
            .data()
            .get(..space.min(s.inbuf.len()))
            .unwrap_or_default();
        match ex.request_body.feed(chunk) {
            Ok(feed) => {
                let sent = self
                    .tcp
                    .send(up, chunk.get(..feed.used).unwrap_or_default())
                    .unwrap_or(0);
                s.inbuf.consume(sent);
                progress | (sent > 0)
            }
            Err(e) => {
                c.l7_bad_requests += 1;
                self.fail_exchange(s, e.answer(), c);
                s.closing = true;
                true
            }
        }
    }

    /// Upstream bytes: the response head (rewritten for the client), then the body, into `outbuf`.
    pub(super) fn read_upstream(&mut self, s: &mut Session, c: &mut Counters) -> bool {
        let Session {
            exchange,
            outbuf,
            client_eof,
            ..
        } = s;
        let Some(ex) = exchange.as_mut() else {
            return false;
        };
        let (Some(up), true) = (ex.upstream, ex.connected) else {
            return false;
        };
        let mut progress = false;
        if !ex.respbuf.is_full() && !ex.upstream_eof {
            match self.tcp.recv(up, ex.respbuf.free_mut()) {
                Ok(n) => {
                    ex.respbuf.commit(n);
                    progress |= n > 0;
                }
                Err(ConnError::Finished) => {
                    ex.upstream_eof = true;
                    progress = true;
                }
                Err(_) => {}
            }
        }
        loop {
            match ex.response {
                Response::Done => break,
                Response::Head => {
                    if ex.respbuf.is_empty() && !ex.upstream_eof {
                        break;
                    }
                    let parsed = parse_response(ex.respbuf.data(), &self.config.limits, ex.method);
                    let head = match parsed {
                        Ok(Some(head)) if !head.is_switching_protocols() => head,
                        Ok(None) if !ex.upstream_eof => break,
                        _ => {
                            c.l7_upstream_bad_responses += 1;
                            self.fail_exchange(s, Answer::BadGateway, c);
                            return true;
                        }
                    };
                    if head.is_informational() {
                        // 100 Continue and friends go to the client as they are.
                        if outbuf.free_mut().len() < head.head_len {
                            break;
                        }
                        outbuf.push(ex.respbuf.data().get(..head.head_len).unwrap_or_default());
                        ex.respbuf.consume(head.head_len);
                        ex.response_started = true;
                        progress = true;
                        continue;
                    }
                    let keep = ex.keep_alive && head.framing != Framing::UntilClose && !*client_eof;
                    match rewrite_response(ex.respbuf.data(), &head, keep, outbuf.free_mut()) {
                        Ok(n) => outbuf.commit(n),
                        Err(_) if outbuf.is_empty() => {
                            c.l7_upstream_bad_responses += 1;
                            self.fail_exchange(s, Answer::BadGateway, c);
                            return true;
                        }
                        Err(_) => break,
                    }
                    ex.respbuf.consume(head.head_len);
                    ex.keep_alive = keep;
                    ex.upstream_reusable = head.keep_alive;
                    ex.response_started = true;
                    ex.response = Response::Body(BodyDecoder::new(head.framing, u64::MAX));
                    progress = true;
                }
                Response::Body(mut body) => {
                    if body.is_done() {
                        ex.response = Response::Done;
                        continue;
                    }
                    if ex.respbuf.is_empty() {
                        if ex.upstream_eof {
                            if body.finish().is_err() {
                                self.fail_exchange(s, Answer::BadGateway, c);
                                return true;
                            }
                            ex.upstream_reusable = false;
                            ex.response = Response::Done;
                            progress = true;
                        }
                        break;
                    }
                    let room = outbuf.free_mut().len().min(ex.respbuf.len());
                    if room == 0 {
                        break;
                    }
                    let chunk = ex.respbuf.data().get(..room).unwrap_or_default();
                    let feed = match body.feed(chunk) {
                        Ok(feed) => feed,
                        Err(_) => {
                            c.l7_upstream_bad_responses += 1;
                            self.fail_exchange(s, Answer::BadGateway, c);
                            return true;
                        }
                    };
                    outbuf.push(chunk.get(..feed.used).unwrap_or_default());
                    ex.respbuf.consume(feed.used);
                    ex.response = if feed.done {
                        Response::Done
                    } else {
                        Response::Body(body)
                    };
                    progress |= feed.used > 0 || feed.done;
                    if feed.used == 0 && !feed.done {
                        break;
                    }
                }
            }
        }
        progress
    }

    /// The exchange's upstream connection failed or ended: retry (idempotent, nothing answered, no body
    /// sent), finish a response that runs until close, or answer 502/504.
    pub(super) fn upstream_lost(
        &mut self,
        now: Instant,
        client: ConnId,
        conn: ConnId,
        reason: CloseReason,
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
        let lost = match s.exchange.as_mut() {
            Some(ex) if ex.upstream == Some(conn) => {
                ex.upstream = None;
                ex.connected = false;
                Some(ex)
            }
            _ => None,
        };
        if let Some(ex) = lost {
            let until_close = matches!(ex.response, Response::Body(b) if b.finish().is_ok());
            if until_close && ex.respbuf.is_empty() && reason == CloseReason::Normal {
                ex.response = Response::Done;
                ex.upstream_reusable = false;
            } else if can_retry(ex) {
                let old = ex.backend;
                let pool = ex.pool;
                self.release_backend(old);
                match self.pick_backend(now, pool, Some(old)) {
                    Some(next) => {
                        if let Some(ex) = s.exchange.as_mut() {
                            ex.backend = next;
                        }
                        self.take_backend(next);
                        c.l7_retries += 1;
                        self.open_upstream(now, &mut s, source, c);
                    }
                    None => {
                        // Keep the count balanced: fail_exchange releases the backend again.
                        self.take_backend(old);
                        self.fail_exchange(&mut s, Answer::ServiceUnavailable, c);
                    }
                }
            } else {
                let answer = match reason {
                    CloseReason::HandshakeTimeout | CloseReason::IdleTimeout => {
                        Answer::GatewayTimeout
                    }
                    CloseReason::Normal | CloseReason::Reset => Answer::BadGateway,
                };
                self.fail_exchange(&mut s, answer, c);
            }
        }
        self.put_back(s);
        self.pump(now, client, source, c);
    }
}

/// A request may go to another backend when nothing of its answer went out and no body byte was sent.
fn can_retry(ex: &Exchange) -> bool {
    ex.retryable() && ex.request_body.body_bytes() == 0
}
