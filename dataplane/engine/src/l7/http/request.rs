//! The request head parser: strict HTTP/1.1 (RFC 9112) over the bytes received so far, incremental (call it
//! again with more bytes) and without allocation (httparse with a fixed array of header slots on the stack).
//!
//! Everything that decides where this request ends and the next begins is checked here, so that edgelb
//! and the upstream cannot disagree about it (request smuggling): one Host, Content-Length values that
//! agree, never Content-Length with Transfer-Encoding, chunked as the final coding, no Transfer-Encoding
//! in HTTP/1.0, no obs-fold.

use super::error::HttpError;
use super::fields::{content_length, split_host_port, ConnectionOptions, TransferCodings};
use super::message::{Framing, Method, Span, Version};
use super::target::{parse_target, TargetForm};

/// The most header lines a head may have (more is answered 431).
pub const MAX_HEADERS: usize = 100;

/// Limits on what a client may send.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest head, request line and final empty line included (more: 431).
    pub max_head: usize,
    /// The largest body (a larger Content-Length: 413; a chunked body is checked by the body decoder).
    pub max_body: u64,
}

impl Default for Limits {
    /// 16 KiB of head, 64 MiB of body.
    fn default() -> Self {
        Limits {
            max_head: 16 * 1024,
            max_body: 64 * 1024 * 1024,
        }
    }
}

/// A parsed request head: spans into the buffer it was parsed from (see [`Span::get`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The method token.
    pub method_span: Span,
    /// The request-target as received.
    pub target: Span,
    /// Its form.
    pub target_form: TargetForm,
    /// The path routing compares (before `?`/`#`; empty for an absolute-form without path and for `*`).
    pub path: Span,
    /// The path and query forwarded upstream in origin-form (empty span for an absolute-form without
    /// path: forward `/`; see [`RequestHead::path_and_query`]).
    pub path_and_query: Span,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The Host header's value, if any.
    pub host: Option<Span>,
    /// The absolute-form's authority, which overrides Host (RFC 9112 section 3.2.2).
    pub authority: Option<Span>,
    /// How the body is delimited: None, ContentLength or Chunked.
    pub framing: Framing,
    /// Whether the client keeps the connection open after this exchange.
    pub keep_alive: bool,
    /// `Expect: 100-continue` in an HTTP/1.1 request.
    pub expect_continue: bool,
    /// The Upgrade header's value when an upgrade is requested (Upgrade plus `Connection: upgrade`, 1.1).
    pub upgrade: Option<Span>,
    /// Offset of the first header line (just past the request line).
    pub headers_start: usize,
    /// Length of the head, final empty line included: the body starts here.
    pub head_len: usize,
}

impl RequestHead {
    /// The host to route by: the absolute-form's authority, else the Host header, else empty.
    /// Still carries its port: the router strips it.
    pub fn route_host<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        self.authority
            .or(self.host)
            .map(|s| s.get(buf))
            .unwrap_or_default()
    }

    /// The path and query to forward in origin-form.
    pub fn path_and_query<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        match self.path_and_query.get(buf) {
            [] => b"/",
            pq => pq,
        }
    }
}

/// Parses the request head at the start of `buf`. `Ok(None)`: the head is not complete yet (call again
/// with more bytes); once `buf` holds more than `limits.max_head` bytes without a complete head, the
/// answer is [`HttpError::HeadTooLarge`]. Bytes after `head_len` are the body or the next request.
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Option<RequestHead>, HttpError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head => {
            return Err(HttpError::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(parse_error(e, buf)),
    };
    if head_len > limits.max_head {
        return Err(HttpError::HeadTooLarge);
    }
    let (Some(method_token), Some(target), Some(minor)) = (req.method, req.path, req.version)
    else {
        return Err(HttpError::Malformed);
    };
    let version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    let method = Method::from_bytes(method_token.as_bytes());
    if method_token == "CONNECT" {
        return Err(HttpError::MethodNotImplemented);
    }
    let t = parse_target(target.as_bytes(), method)?;
    let fields = Fields::read(req.headers, version)?;
    let framing = fields.framing(version, limits)?;
    let host = fields.host.map(|h| Span::of(buf, h));
    if version == Version::Http11 && host.is_none() {
        return Err(HttpError::MissingHost);
    }
    if let Some(authority) = t.authority {
        split_host_port(authority).map_err(|_| HttpError::BadTarget)?;
    }
    let keep_alive = match version {
        Version::Http11 => !fields.connection.close,
        Version::Http10 => fields.connection.keep_alive && !fields.connection.close,
    };
    let upgrade = fields
        .upgrade
        .filter(|_| fields.connection.upgrade && version == Version::Http11);
    let method_span = Span::of(buf, method_token.as_bytes());
    Ok(Some(RequestHead {
        method,
        method_span,
        target: Span::of(buf, target.as_bytes()),
        target_form: t.form,
        path: Span::of(buf, t.path),
        path_and_query: match t.form {
            TargetForm::Asterisk => Span::of(buf, target.as_bytes()),
            TargetForm::Absolute if t.path.is_empty() => Span::default(),
            _ => Span::of(buf, t.path_and_query),
        },
        version,
        host,
        authority: t.authority.map(|a| Span::of(buf, a)),
        framing,
        keep_alive,
        expect_continue: fields.expect_continue && version == Version::Http11,
        upgrade: upgrade.map(|u| Span::of(buf, u)),
        headers_start: line_end(buf, method_span.start as usize),
        head_len,
    }))
}

/// The header lines that matter to framing and connection handling.
#[derive(Default)]
struct Fields<'b> {
    host: Option<&'b [u8]>,
    content_length: Option<u64>,
    te: TransferCodings,
    connection: ConnectionOptions,
    expect_continue: bool,
    upgrade: Option<&'b [u8]>,
}

impl<'b> Fields<'b> {
    fn read(headers: &[httparse::Header<'b>], version: Version) -> Result<Self, HttpError> {
        let mut f = Fields::default();
        for h in headers {
            let name = h.name.as_bytes();
            if name.eq_ignore_ascii_case(b"host") {
                if f.host.is_some() {
                    return Err(HttpError::DuplicateHost);
                }
                split_host_port(h.value)?;
                f.host = Some(h.value);
            } else if name.eq_ignore_ascii_case(b"content-length") {
                let n = content_length(h.value)?;
                if f.content_length.is_some_and(|m| m != n) {
                    return Err(HttpError::ConflictingContentLength);
                }
                f.content_length = Some(n);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                if version == Version::Http10 {
                    return Err(HttpError::TransferEncodingInHttp10);
                }
                f.te.add(h.value)?;
            } else if name.eq_ignore_ascii_case(b"connection") {
                f.connection.add(h.value)?;
            } else if name.eq_ignore_ascii_case(b"expect") {
                f.expect_continue |= h.value.eq_ignore_ascii_case(b"100-continue");
            } else if name.eq_ignore_ascii_case(b"upgrade") {
                f.upgrade = Some(h.value);
            }
        }
        Ok(f)
    }

    fn framing(&self, version: Version, limits: &Limits) -> Result<Framing, HttpError> {
        if self.te.present {
            if version == Version::Http10 {
                return Err(HttpError::TransferEncodingInHttp10);
            }
            if self.content_length.is_some() {
                return Err(HttpError::ContentLengthWithTransferEncoding);
            }
            if !self.te.chunked_last || self.te.chunked_twice {
                return Err(HttpError::ChunkedNotFinal);
            }
            if self.te.unknown {
                return Err(HttpError::UnknownTransferCoding);
            }
            return Ok(Framing::Chunked);
        }
        match self.content_length {
            Some(n) if n > limits.max_body => Err(HttpError::BodyTooLarge),
            Some(n) => Ok(Framing::ContentLength(n)),
            None => Ok(Framing::None),
        }
    }
}

/// Maps httparse's error: a well-formed version other than 1.0/1.1 is 505, a line starting with
/// whitespace is obs-fold, too many lines is 431, the rest is 400.
pub(crate) fn parse_error(e: httparse::Error, buf: &[u8]) -> HttpError {
    match e {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders,
        httparse::Error::Version if is_other_version(request_line_version(buf)) => {
            HttpError::VersionNotSupported
        }
        httparse::Error::HeaderName if has_folded_line(buf) => HttpError::ObsFold,
        _ => HttpError::Malformed,
    }
}

/// The third word of the first non-empty line.
fn request_line_version(buf: &[u8]) -> &[u8] {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = buf.get(start..).unwrap_or_default();
    let line = line.get(
        ..line
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(line.len()),
    );
    line.unwrap_or_default()
        .split(|&b| b == b' ')
        .nth(2)
        .unwrap_or_default()
}

/// `HTTP/` DIGIT [ `.` DIGIT ]: a version, only not one edgelb speaks (HTTP/2.0, HTTP/1.2, HTTP/3).
fn is_other_version(token: &[u8]) -> bool {
    match token.strip_prefix(b"HTTP/") {
        Some([major]) => major.is_ascii_digit(),
        Some([major, b'.', minor]) => major.is_ascii_digit() && minor.is_ascii_digit(),
        _ => false,
    }
}

fn has_folded_line(buf: &[u8]) -> bool {
    buf.windows(2).any(|w| w == b"\n " || w == b"\n\t")
}

/// The offset just past the line ending that follows `from`.
fn line_end(buf: &[u8], from: usize) -> usize {
    let rest = buf.get(from..).unwrap_or_default();
    rest.iter()
        .position(|&b| b == b'\n')
        .map_or(buf.len(), |i| from + i + 1)
}
