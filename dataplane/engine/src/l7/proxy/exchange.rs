//! One request: its head parsed from `inbuf`, routed by host and path, then either answered by edgelb
//! (errors, 404, redirects, 503) or rewritten for the upstream and sent on its way; and its end, when the
//! response is through and the next pipelined request may start.

use crate::counters::Counters;
use crate::l7::http::{
    parse_request, rewrite_request, write_proxy_v2, write_redirect_to_https, Answer, BodyDecoder,
    Forwarding, Framing, RequestHead,
};
use crate::l7::router::PoolId;
use crate::time::Instant;

use super::session::{Exchange, Response, Session};
use super::{L7Proxy, Link, UpstreamSource};

/// Room kept in `outbuf` for an answer or a redirect.
const ANSWER_ROOM: usize = 2048;

impl L7Proxy {
    /// Starts the next request in `inbuf` when none is in flight. Returns whether anything changed.
    pub(super) fn start_exchange(
        &mut self,
        now: Instant,
        s: &mut Session,
        source: &mut dyn UpstreamSource,
        c: &mut Counters,
    ) -> bool {
        if s.exchange.is_some() || s.closing || s.inbuf.is_empty() {
            return false;
        }
        // The previous response's tail must leave room for an answer of edgelb's own.
        if s.outbuf.len() + ANSWER_ROOM > self.buf_size {
            return false;
        }
        let head = match parse_request(s.inbuf.data(), &self.config.limits) {
            Ok(Some(head)) => head,
            Ok(None) => return false,
            Err(e) => {
                c.l7_bad_requests += 1;
                self.answer(s, e.answer(), false, c);
                return true;
            }
        };
        c.l7_requests += 1;
        // A request with a body that edgelb answers itself: the body is not read, so the
        // connection cannot carry another request.
        let has_body = head.framing != Framing::None;
        let Some(listener) = self
            .snapshot
            .listener_at(s.local)
            .and_then(|id| self.snapshot.listener(id))
        else {
            self.answer(s, Answer::NotFound, false, c);
            return true;
        };
        if listener.redirects(head.route_host(s.inbuf.data())) {
            let keep = head.keep_alive && !has_body;
            let buf = s.inbuf.data();
            let written = write_redirect_to_https(
                head.route_host(buf),
                head.path_and_query(buf),
                443,
                keep,
                s.outbuf.free_mut(),
            );
            match written {
                Ok(n) => {
                    s.outbuf.commit(n);
                    c.l7_redirects += 1;
                    self.after_answer(s, &head, keep);
                }
                Err(_) => self.answer(s, Answer::BadRequest, false, c),
            }
            return true;
        }
        let Some(pool) = listener.router.route_request(&head, s.inbuf.data()).pool() else {
            self.answer(s, Answer::NotFound, head.keep_alive && !has_body, c);
            s.inbuf.consume(head.head_len);
            return true;
        };
        let proxy_protocol = listener.proxy_protocol;
        self.forward(now, s, &head, pool, proxy_protocol, source, c);
        true
    }

    /// Rewrites the head for the upstream (behind a PROXY v2 header when the listener asks) and connects (or
    /// reuses a kept-alive connection).
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &mut self,
        now: Instant,
        s: &mut Session,
        head: &RequestHead,
        pool: PoolId,
        proxy_protocol: bool,
        source: &mut dyn UpstreamSource,
        c: &mut Counters,
    ) {
        let fwd = Forwarding {
            client_ip: s.remote.ip(),
            scheme: s.scheme,
            port: s.local.port(),
            allow_upgrade: false,
        };
        let mut out = self.bufs.get();
        if proxy_protocol {
            match write_proxy_v2(s.remote, s.local, out.free_mut()) {
                Ok(n) => out.commit(n),
                Err(_) => {
                    self.bufs.put(out);
                    self.answer(s, Answer::HeaderFieldsTooLarge, false, c);
                    return;
                }
            }
        }
        let written = rewrite_request(s.inbuf.data(), head, &fwd, out.free_mut());
        let Ok(n) = written else {
            self.bufs.put(out);
            self.answer(s, Answer::HeaderFieldsTooLarge, false, c);
            return;
        };
        out.commit(n);
        let Some(backend) = self.pick_backend(now, pool, None) else {
            self.bufs.put(out);
            c.l7_no_backend += 1;
            let keep = head.keep_alive && head.framing == Framing::None;
            self.answer(s, Answer::ServiceUnavailable, keep, c);
            s.inbuf.consume(head.head_len);
            return;
        };
        s.inbuf.consume(head.head_len);
        s.exchange = Some(Exchange {
            method: head.method,
            keep_alive: head.keep_alive,
            pool,
            backend,
            upstream: None,
            connected: false,
            attempts: 0,
            head: out,
            head_sent: 0,
            request_body: BodyDecoder::new(head.framing, self.config.limits.max_body),
            respbuf: self.bufs.get(),
            response: Response::Head,
            response_started: false,
            upstream_reusable: false,
            upstream_eof: false,
            proxy_protocol,
        });
        self.take_backend(backend);
        self.open_upstream(now, s, source, c);
    }

    /// Puts one of edgelb's answers in `outbuf`; unless `keep_alive`, the connection closes after it and
    /// `inbuf` is dropped.
    pub(super) fn answer(
        &mut self,
        s: &mut Session,
        answer: Answer,
        keep_alive: bool,
        c: &mut Counters,
    ) {
        let keep = keep_alive && !answer.always_closes() && !s.client_eof;
        s.outbuf.push(answer.bytes(keep));
        match answer.status() {
            404 => c.l7_answered_404 += 1,
            500..=599 => c.l7_answered_5xx += 1,
            _ => c.l7_answered_4xx += 1,
        }
        if !keep {
            s.closing = true;
            s.inbuf.clear();
        }
    }

    fn after_answer(&mut self, s: &mut Session, head: &RequestHead, keep: bool) {
        if keep {
            s.inbuf.consume(head.head_len);
        } else {
            s.closing = true;
            s.inbuf.clear();
        }
    }

    /// Ends the exchange once request and response are through: the upstream goes back to the
    /// keep-alive pool (or is closed), and the next pipelined request may start.
    pub(super) fn finish_exchange(&mut self, s: &mut Session, c: &mut Counters) -> bool {
        if !s.exchange.as_ref().is_some_and(Exchange::is_complete) {
            return false;
        }
        let Some(ex) = s.exchange.take() else {
            return false;
        };
        c.l7_responses += 1;
        self.release_backend(ex.backend);
        if let Some(up) = ex.upstream {
            // An upstream connection that began with a PROXY header names this client: never another's.
            if ex.upstream_reusable
                && !ex.upstream_eof
                && ex.respbuf.is_empty()
                && !ex.proxy_protocol
            {
                self.keep_idle(up, ex.backend);
            } else {
                self.set_link(up, Link::Free);
                let _ = self.tcp.close(up);
            }
        }
        self.bufs.put(ex.head);
        self.bufs.put(ex.respbuf);
        if !ex.keep_alive {
            s.closing = true;
        }
        true
    }
}
