//! The state of one client connection and of the request it has in flight.
//!
//! A session owns its client connection, its TLS session (HTTPS listeners) and two buffers: `inbuf`
//! (plaintext from the client: request heads and bodies, pipelined requests waiting their turn) and
//! `outbuf` (plaintext for the client: response heads and bodies, edgelb's own answers). Requests are
//! served one at a time, in order; the one in flight is an [`Exchange`] with its upstream connection.

use core::net::SocketAddr;

use crate::l7::http::{BodyDecoder, Method, Scheme};
use crate::l7::router::PoolId;
use crate::l7::tcp::ConnId;
use crate::l7::tls::TlsSession;
use crate::time::Instant;

use super::buf::Buf;

/// One client connection.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) client: ConnId,
    /// The VIP and port the client connected to.
    pub(super) local: SocketAddr,
    /// The client's address.
    pub(super) remote: SocketAddr,
    pub(super) scheme: Scheme,
    pub(super) tls: Option<Box<TlsSession>>,
    /// Ciphertext received and not yet taken by the TLS session (TLS only).
    pub(super) tls_in: Option<Buf>,
    /// Ciphertext taken from the TLS session and not yet accepted by TCP (TLS only).
    pub(super) tls_out: Option<Buf>,
    pub(super) inbuf: Buf,
    pub(super) outbuf: Buf,
    pub(super) exchange: Option<Exchange>,
    /// The client sent FIN (or close_notify): no more requests will come.
    pub(super) client_eof: bool,
    /// Close once `outbuf` (and TLS output) has gone out.
    pub(super) closing: bool,
    /// FIN (after close_notify) has been queued.
    pub(super) close_sent: bool,
    /// The client connection was reset by edgelb: the session ends with this pump.
    pub(super) aborted: bool,
    /// The TLS handshake was counted.
    pub(super) handshake_counted: bool,
    /// Waiting for a request head (none in flight): until when, and whether idle between requests.
    pub(super) wait: Option<Wait>,
}

/// A session's deadline while no request is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Wait {
    pub(super) deadline: Instant,
    /// Idle between requests (keep-alive timeout), not in the middle of a head (header timeout).
    pub(super) idle: bool,
}

/// Where the response of the request in flight stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Response {
    /// Waiting for (the rest of) the upstream's response head.
    Head,
    /// Relaying the body.
    Body(BodyDecoder),
    /// Complete.
    Done,
}

/// The request in flight and its upstream connection.
#[derive(Debug)]
pub(super) struct Exchange {
    pub(super) method: Method,
    /// The client keeps the connection after this exchange (its request allowed it).
    pub(super) keep_alive: bool,
    pub(super) pool: PoolId,
    pub(super) backend: SocketAddr,
    pub(super) upstream: Option<ConnId>,
    /// The upstream connection is established (new) or was taken from the keep-alive pool.
    pub(super) connected: bool,
    /// Connection attempts made (a failed connect of an idempotent request is retried once).
    pub(super) attempts: u8,
    /// The rewritten request head for the upstream; kept until it is all sent.
    pub(super) head: Buf,
    /// Bytes of `head` already sent.
    pub(super) head_sent: usize,
    /// The request body still to forward from `inbuf`.
    pub(super) request_body: BodyDecoder,
    /// Upstream bytes not yet relayed (the response head while it is parsed).
    pub(super) respbuf: Buf,
    pub(super) response: Response,
    /// Some response byte went to the client: a failure now can only cut the connection.
    pub(super) response_started: bool,
    /// The upstream may carry another request once this response is complete.
    pub(super) upstream_reusable: bool,
    /// The upstream sent FIN.
    pub(super) upstream_eof: bool,
    /// `head` starts with a PROXY protocol v2 header: the upstream connection is this client's alone.
    pub(super) proxy_protocol: bool,
}

impl Exchange {
    /// Idempotent methods (RFC 9110 section 9.2.2) may be sent again after a failed connect.
    pub(super) fn retryable(&self) -> bool {
        self.attempts < 2
            && !self.response_started
            && matches!(
                self.method,
                Method::Get | Method::Head | Method::Options | Method::Put | Method::Delete
            )
    }

    /// Both the request (head and body) and the response are through.
    pub(super) fn is_complete(&self) -> bool {
        self.response == Response::Done
            && self.request_body.is_done()
            && self.head_sent == self.head.len()
    }
}
