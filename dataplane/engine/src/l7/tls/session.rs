//! One client's TLS session, driven by bytes: the TCP endpoint hands in ciphertext and takes ciphertext out,
//! the HTTP layer reads and writes plaintext. No socket, no clock, no thread.
//!
//! States: `Accepting` (rustls' `Acceptor` gathers the ClientHello) -> `Connected` (a `ServerConnection`
//! made with the listener's config: handshake, then application data) or `Refused` (a fatal alert waits to
//! be sent). The acceptor step lets the session refuse a client as the RFCs say where rustls alone would
//! not: a server name without a certificate gets `unrecognized_name` (rustls sends `access_denied`), and a
//! ClientHello of TLS 1.0 or 1.1 without the signature_algorithms extension (what old clients send) gets
//! `protocol_version` (rustls sends `handshake_failure`).
//!
//! Copies: rustls copies ciphertext into its record buffer and decrypts in place; plaintext can be read
//! without a further copy through [`TlsSession::plaintext_chunk`]. Allocation happens inside rustls (its
//! record and plaintext buffers, the handshake); this type allocates only to keep a refused client's alert.

use std::io::{Read, Write};
use std::sync::Arc;

use rustls::server::{Accepted, AcceptedAlert, Acceptor};
use rustls::{CipherSuite, HandshakeKind, ProtocolVersion, ServerConfig, ServerConnection};

use super::error::TlsError;

/// rustls refuses to buffer more received plaintext than this (its internal limit); the session stops
/// taking ciphertext above it until the plaintext is read (back-pressure to TCP).
const RECEIVED_PLAINTEXT_LIMIT: usize = 16 * 1024;

/// The default for [`TlsSession::set_buffer_limit`] (rustls' own default).
pub const DEFAULT_BUFFER_LIMIT: usize = 64 * 1024;

/// TLS record version for plaintext alerts, as rustls writes them (TLS 1.2's, also used by TLS 1.3).
const ALERT_RECORD: [u8; 5] = [0x15, 0x03, 0x03, 0x00, 0x02];
/// Fatal `unrecognized_name` (112).
const ALERT_UNRECOGNIZED_NAME: [u8; 2] = [0x02, 112];
/// Fatal `protocol_version` (70).
const ALERT_PROTOCOL_VERSION: [u8; 2] = [0x02, 70];

/// A TLS server session fed with bytes. See the module docs.
pub struct TlsSession {
    state: State,
    /// The plaintext buffer limit for the connection (applied when the `ServerConnection` is made).
    buffer_limit: usize,
    /// Decrypted bytes waiting in rustls, as of the last processing.
    plaintext_pending: usize,
    failure: Option<TlsError>,
    peer_closed: bool,
    closed: bool,
}

enum State {
    Accepting {
        acceptor: Acceptor,
        config: Arc<ServerConfig>,
        hello: HelloPrefix,
    },
    Connected(ServerConnection),
    Refused(PendingAlert),
}

/// What the accepting state decided after one read.
#[allow(clippy::large_enum_variant)] // a short-lived local: boxing would allocate per handshake
enum Step {
    NeedMore,
    Accept(Accepted, Arc<ServerConfig>),
    Refuse(PendingAlert, TlsError),
}

impl TlsSession {
    /// A session that will answer with `config` (usually the listener's current config; the session keeps
    /// this `Arc`, so a config built later does not affect it).
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self {
            state: State::Accepting {
                acceptor: Acceptor::default(),
                config,
                hello: HelloPrefix::default(),
            },
            buffer_limit: DEFAULT_BUFFER_LIMIT,
            plaintext_pending: 0,
            failure: None,
            peer_closed: false,
            closed: false,
        }
    }

    /// Limits the plaintext [`Self::write_plaintext`] accepts to what fits, with the unsent ciphertext, in
    /// `limit` bytes ([`DEFAULT_BUFFER_LIMIT`] until set). Handshake messages are not limited.
    pub fn set_buffer_limit(&mut self, limit: usize) {
        self.buffer_limit = limit;
        if let State::Connected(conn) = &mut self.state {
            conn.set_buffer_limit(Some(limit));
        }
    }

    /// Takes ciphertext from the client and processes every complete record. Returns how many bytes were
    /// taken: fewer than given when undelivered plaintext reaches 16 KiB (read it, then offer the rest
    /// again) or after the client's close_notify. On a fatal error the alert for the client is queued:
    /// send it ([`Self::write_ciphertext`]), then close the connection; every later call returns the error.
    pub fn receive(&mut self, ciphertext: &[u8]) -> Result<usize, TlsError> {
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        let mut rest = ciphertext;
        while !rest.is_empty() {
            let taken = match &mut self.state {
                State::Accepting { .. } => self.receive_accepting(&mut rest)?,
                State::Connected(conn) => {
                    if self.plaintext_pending > RECEIVED_PLAINTEXT_LIMIT {
                        break;
                    }
                    let taken = conn.read_tls(&mut rest).map_err(|_| TlsError::Misbehaved);
                    let processed = conn.process_new_packets();
                    match (taken, processed) {
                        (Ok(taken), Ok(io)) => {
                            self.plaintext_pending = io.plaintext_bytes_to_read();
                            self.peer_closed = io.peer_has_closed();
                            taken
                        }
                        (_, Err(error)) => return Err(self.fail(TlsError::from(&error))),
                        (Err(error), Ok(_)) => return Err(self.fail(error)),
                    }
                }
                State::Refused(_) => 0,
            };
            if taken == 0 {
                break; // close_notify received (rustls reads nothing after it)
            }
        }
        Ok(ciphertext.len() - rest.len())
    }

    /// One read into the acceptor, and the transition it may allow. Returns the bytes taken.
    fn receive_accepting(&mut self, rest: &mut &[u8]) -> Result<usize, TlsError> {
        let State::Accepting {
            acceptor,
            config,
            hello,
        } = &mut self.state
        else {
            return Ok(0);
        };
        let before = *rest;
        let step = match acceptor.read_tls(rest) {
            Err(_) => Step::Refuse(PendingAlert::none(), TlsError::Misbehaved),
            Ok(taken) => {
                hello.capture(before.get(..taken).unwrap_or_default());
                match acceptor.accept() {
                    Ok(None) => Step::NeedMore,
                    Ok(Some(accepted)) => Step::Accept(accepted, config.clone()),
                    Err(_) if hello.is_below_tls12() => Step::Refuse(
                        PendingAlert::new(ALERT_PROTOCOL_VERSION),
                        TlsError::ProtocolVersion,
                    ),
                    Err((error, alert)) => {
                        Step::Refuse(PendingAlert::from_rustls(alert), TlsError::from(&error))
                    }
                }
            }
        };
        let taken = before.len() - rest.len();
        match step {
            Step::NeedMore => {}
            Step::Accept(accepted, config) => self.connect(accepted, config)?,
            Step::Refuse(alert, error) => return Err(self.refuse(alert, error)),
        }
        Ok(taken)
    }

    /// Makes the connection for an accepted ClientHello, or refuses it.
    fn connect(&mut self, accepted: Accepted, config: Arc<ServerConfig>) -> Result<(), TlsError> {
        let has_certificate = config
            .cert_resolver
            .resolve(accepted.client_hello())
            .is_some();
        match accepted.into_connection(config) {
            Ok(mut conn) => {
                conn.set_buffer_limit(Some(self.buffer_limit));
                // Records the client sent right behind its ClientHello are in the connection's buffer.
                let processed = conn.process_new_packets();
                self.state = State::Connected(conn);
                match processed {
                    Ok(io) => {
                        self.plaintext_pending = io.plaintext_bytes_to_read();
                        Ok(())
                    }
                    Err(error) => Err(self.fail(TlsError::from(&error))),
                }
            }
            // rustls checks the version before it asks for a certificate: keep its protocol_version alert.
            Err((error @ rustls::Error::PeerIncompatible(_), alert)) => {
                Err(self.refuse(PendingAlert::from_rustls(alert), TlsError::from(&error)))
            }
            Err(_) if !has_certificate => Err(self.refuse(
                PendingAlert::new(ALERT_UNRECOGNIZED_NAME),
                TlsError::NoCertificate,
            )),
            Err((error, alert)) => {
                Err(self.refuse(PendingAlert::from_rustls(alert), TlsError::from(&error)))
            }
        }
    }

    fn refuse(&mut self, alert: PendingAlert, error: TlsError) -> TlsError {
        self.state = State::Refused(alert);
        self.fail(error)
    }

    fn fail(&mut self, error: TlsError) -> TlsError {
        self.failure = Some(error);
        error
    }

    /// Copies decrypted application data into `buf`; returns the bytes copied (0: none waiting).
    pub fn read_plaintext(&mut self, buf: &mut [u8]) -> usize {
        let State::Connected(conn) = &mut self.state else {
            return 0;
        };
        if self.plaintext_pending == 0 {
            return 0;
        }
        let read = conn.reader().read(buf).unwrap_or(0);
        self.plaintext_pending = self.plaintext_pending.saturating_sub(read);
        read
    }

    /// The next run of decrypted application data, without copying (at most one record's worth; empty when
    /// none waits). Call [`Self::consume_plaintext`] with what was used.
    pub fn plaintext_chunk(&mut self) -> &[u8] {
        match &mut self.state {
            State::Connected(conn) if self.plaintext_pending > 0 => {
                conn.reader().into_first_chunk().unwrap_or_default()
            }
            _ => &[],
        }
    }

    /// Drops `len` bytes from the front of [`Self::plaintext_chunk`] (clamped to the chunk).
    pub fn consume_plaintext(&mut self, len: usize) {
        let available = self.plaintext_chunk().len();
        let len = len.min(available);
        if let State::Connected(conn) = &mut self.state {
            std::io::BufRead::consume(&mut conn.reader(), len);
            self.plaintext_pending = self.plaintext_pending.saturating_sub(len);
        }
    }

    /// How many decrypted bytes wait to be read.
    pub fn plaintext_len(&self) -> usize {
        self.plaintext_pending
    }

    /// Queues application data for the client (encrypted once the handshake is done). Returns how much was
    /// taken: less than `data.len()` when the buffer limit is reached (drain the ciphertext, offer the rest
    /// again), 0 before the ClientHello has been accepted, after a failure or after [`Self::close`].
    pub fn write_plaintext(&mut self, data: &[u8]) -> usize {
        match &mut self.state {
            State::Connected(conn) if !self.closed && self.failure.is_none() => {
                conn.writer().write(data).unwrap_or(0)
            }
            _ => 0,
        }
    }

    /// Whether ciphertext (handshake messages, records, alerts) waits to be sent.
    pub fn pending_ciphertext(&self) -> bool {
        match &self.state {
            State::Accepting { .. } => false,
            State::Connected(conn) => conn.wants_write(),
            State::Refused(alert) => alert.remaining() > 0,
        }
    }

    /// Moves waiting ciphertext into `out`; returns the bytes written (records may be split between calls).
    pub fn write_ciphertext(&mut self, out: &mut [u8]) -> usize {
        match &mut self.state {
            State::Accepting { .. } => 0,
            State::Connected(conn) => {
                let total = out.len();
                let mut rest = &mut out[..];
                while !rest.is_empty() && conn.wants_write() {
                    match conn.write_tls(&mut rest) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                total - rest.len()
            }
            State::Refused(alert) => alert.copy_into(out),
        }
    }

    /// Queues a close_notify alert; nothing more can be written after it.
    pub fn close(&mut self) {
        if let State::Connected(conn) = &mut self.state {
            if !self.closed {
                conn.send_close_notify();
            }
        }
        self.closed = true;
    }

    /// Whether the handshake is still under way (also true before the ClientHello is complete).
    pub fn is_handshaking(&self) -> bool {
        match &self.state {
            State::Accepting { .. } => true,
            State::Connected(conn) => conn.is_handshaking(),
            State::Refused(_) => false,
        }
    }

    /// Why the session failed, if it did.
    pub fn failure(&self) -> Option<TlsError> {
        self.failure
    }

    /// The client's server name indication (lower case), once the ClientHello is accepted.
    pub fn sni(&self) -> Option<&str> {
        self.connection().and_then(ServerConnection::server_name)
    }

    /// The negotiated TLS version (TLS 1.2 or 1.3), once chosen.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.connection().and_then(|c| c.protocol_version())
    }

    /// The negotiated cipher suite, once chosen.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.connection()
            .and_then(|c| c.negotiated_cipher_suite())
            .map(|s| s.suite())
    }

    /// The negotiated ALPN protocol (`b"http/1.1"`), `None` if the client offered no ALPN.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.connection().and_then(|c| c.alpn_protocol())
    }

    /// Full or resumed handshake, once known.
    pub fn handshake_kind(&self) -> Option<HandshakeKind> {
        self.connection().and_then(|c| c.handshake_kind())
    }

    /// Whether the client sent close_notify (no more application data will come).
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    fn connection(&self) -> Option<&ServerConnection> {
        match &self.state {
            State::Connected(conn) => Some(conn),
            _ => None,
        }
    }
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Accepting { .. } => "accepting",
            State::Connected(conn) if conn.is_handshaking() => "handshaking",
            State::Connected(_) => "connected",
            State::Refused(_) => "refused",
        };
        f.debug_struct("TlsSession")
            .field("state", &state)
            .field("sni", &self.sni())
            .field("protocol_version", &self.protocol_version())
            .field("plaintext_pending", &self.plaintext_pending)
            .field("failure", &self.failure)
            .field("peer_closed", &self.peer_closed)
            .field("closed", &self.closed)
            .finish()
    }
}

/// The first bytes of the client's stream, enough to read the ClientHello's legacy version: record header
/// (5), handshake type and length (4), client_version (2).
#[derive(Default)]
struct HelloPrefix {
    bytes: [u8; 11],
    len: usize,
}

impl HelloPrefix {
    fn capture(&mut self, data: &[u8]) {
        let free = self.bytes.get_mut(self.len..).unwrap_or_default();
        for (slot, byte) in free.iter_mut().zip(data) {
            *slot = *byte;
            self.len += 1;
        }
    }

    /// Whether the stream starts with a ClientHello whose version is below TLS 1.2. (A TLS 1.3 ClientHello
    /// says 1.2 here and lists 1.3 in an extension.)
    fn is_below_tls12(&self) -> bool {
        const HANDSHAKE: u8 = 0x16;
        const CLIENT_HELLO: u8 = 0x01;
        let [content_type, _, _, _, _, handshake_type, _, _, _, major, minor] = self.bytes;
        self.len == self.bytes.len()
            && content_type == HANDSHAKE
            && handshake_type == CLIENT_HELLO
            && u16::from_be_bytes([major, minor]) < 0x0303
    }
}

/// What a refused client is sent: a plaintext alert record, or what rustls queued when it refused (for a
/// TLS 1.3 ClientHello that got as far as the ServerHello: that, then the alert under the handshake keys).
/// Allocated once per refusal.
struct PendingAlert {
    bytes: Vec<u8>,
    sent: usize,
}

impl PendingAlert {
    /// A plaintext alert record with `level_description` (2 bytes) as its body.
    fn new(level_description: [u8; 2]) -> Self {
        let mut bytes = Vec::with_capacity(ALERT_RECORD.len() + level_description.len());
        bytes.extend_from_slice(&ALERT_RECORD);
        bytes.extend_from_slice(&level_description);
        Self { bytes, sent: 0 }
    }

    /// Nothing to send (the peer broke the record layer before rustls could queue an alert).
    fn none() -> Self {
        Self {
            bytes: Vec::new(),
            sent: 0,
        }
    }

    /// Everything rustls queued for a refused ClientHello.
    fn from_rustls(mut alert: AcceptedAlert) -> Self {
        let mut bytes = Vec::new();
        while let Ok(written) = alert.write(&mut bytes) {
            if written == 0 {
                break;
            }
        }
        Self { bytes, sent: 0 }
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.sent)
    }

    fn copy_into(&mut self, out: &mut [u8]) -> usize {
        let unsent = self.bytes.get(self.sent..).unwrap_or_default();
        let count = unsent.len().min(out.len());
        for (slot, byte) in out.iter_mut().zip(unsent) {
            *slot = *byte;
        }
        self.sent += count;
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_prefix_reads_the_legacy_version_across_fragments() {
        let tls10 = [
            0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03, 0x01, 0xaa,
        ];
        let mut prefix = HelloPrefix::default();
        prefix.capture(&tls10[..4]);
        assert!(!prefix.is_below_tls12());
        prefix.capture(&tls10[4..]);
        assert!(prefix.is_below_tls12());
        let mut tls12 = HelloPrefix::default();
        tls12.capture(&[
            0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03, 0x03,
        ]);
        assert!(!tls12.is_below_tls12());
        let mut http = HelloPrefix::default();
        http.capture(b"GET / HTTP/1.1\r\n");
        assert!(!http.is_below_tls12());
    }

    #[test]
    fn pending_alert_is_sent_once_in_pieces() {
        let mut alert = PendingAlert::new(ALERT_UNRECOGNIZED_NAME);
        let mut out = [0u8; 4];
        assert_eq!(alert.copy_into(&mut out), 4);
        assert_eq!(out, [0x15, 0x03, 0x03, 0x00]);
        assert_eq!(alert.remaining(), 3);
        assert_eq!(alert.copy_into(&mut out), 3);
        assert_eq!(out[..3], [0x02, 0x02, 112]);
        assert_eq!(alert.copy_into(&mut out), 0);
    }
}
