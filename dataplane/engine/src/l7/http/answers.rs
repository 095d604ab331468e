//! edgelb's own responses: static bytes for each status it answers itself, and the 308 redirect to https
//! written into a caller's buffer. Every answer has `Server: edgelb`, a text/plain body and its
//! Content-Length; framing errors always close the connection (after them the byte stream cannot be
//! trusted), the others say what the caller chose.

use super::fields::split_host_port;
use super::writer::{Out, TooSmall};

/// A response edgelb sends itself.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    /// 400: a malformed or ambiguous request.
    BadRequest,
    /// 404: no Ingress rule for this host and path, and no default backend.
    NotFound,
    /// 408: the request head or body did not arrive in time.
    RequestTimeout,
    /// 413: a body larger than allowed.
    ContentTooLarge,
    /// 421: the request's host is not served on this connection (SNI and Host disagree).
    MisdirectedRequest,
    /// 431: a head too large or with too many lines.
    HeaderFieldsTooLarge,
    /// 501: an unknown transfer coding or CONNECT.
    NotImplemented,
    /// 502: the upstream's answer was invalid or the connection to it failed.
    BadGateway,
    /// 503: the pool has no backend that takes requests.
    ServiceUnavailable,
    /// 504: the upstream did not answer in time.
    GatewayTimeout,
    /// 505: an HTTP version other than 1.0 and 1.1.
    VersionNotSupported,
}

/// One answer: status line, fixed headers, the Connection header, body. The length is written by hand
/// and checked by the tests.
macro_rules! answer {
    ($status:literal $reason:literal, $len:literal, $body:literal, $connection:literal) => {
        concat!(
            "HTTP/1.1 ",
            $status,
            " ",
            $reason,
            "\r\n",
            "Server: edgelb\r\n",
            "Content-Type: text/plain\r\n",
            "Content-Length: ",
            $len,
            "\r\n",
            "Connection: ",
            $connection,
            "\r\n",
            "\r\n",
            $body
        )
        .as_bytes()
    };
}

/// An answer in both its forms: (keep-alive, close).
macro_rules! both {
    ($status:literal $reason:literal, $len:literal, $body:literal) => {
        (
            answer!($status $reason, $len, $body, "keep-alive"),
            answer!($status $reason, $len, $body, "close"),
        )
    };
}

impl Answer {
    /// Every answer, for tests and metrics labels.
    pub const ALL: [Answer; 11] = [
        Answer::BadRequest,
        Answer::NotFound,
        Answer::RequestTimeout,
        Answer::ContentTooLarge,
        Answer::MisdirectedRequest,
        Answer::HeaderFieldsTooLarge,
        Answer::NotImplemented,
        Answer::BadGateway,
        Answer::ServiceUnavailable,
        Answer::GatewayTimeout,
        Answer::VersionNotSupported,
    ];

    /// The status code.
    pub const fn status(self) -> u16 {
        match self {
            Answer::BadRequest => 400,
            Answer::NotFound => 404,
            Answer::RequestTimeout => 408,
            Answer::ContentTooLarge => 413,
            Answer::MisdirectedRequest => 421,
            Answer::HeaderFieldsTooLarge => 431,
            Answer::NotImplemented => 501,
            Answer::BadGateway => 502,
            Answer::ServiceUnavailable => 503,
            Answer::GatewayTimeout => 504,
            Answer::VersionNotSupported => 505,
        }
    }

    /// Whether edgelb closes the client connection after this answer whatever the caller wishes: the
    /// request's framing is unknown or untrusted, so the next byte is not the start of a request.
    pub const fn always_closes(self) -> bool {
        matches!(
            self,
            Answer::BadRequest
                | Answer::RequestTimeout
                | Answer::ContentTooLarge
                | Answer::HeaderFieldsTooLarge
                | Answer::NotImplemented
                | Answer::VersionNotSupported
        )
    }

    /// The response bytes. `keep_alive` asks for `Connection: keep-alive` (the caller then skips the
    /// request's body, if any, before reading the next request); it is ignored for the answers that
    /// [`Answer::always_closes`].
    pub const fn bytes(self, keep_alive: bool) -> &'static [u8] {
        let (open, close) = match self {
            Answer::BadRequest => both!("400" "Bad Request", "12", "bad request\n"),
            Answer::NotFound => both!("404" "Not Found", "32", "no route for this host and path\n"),
            Answer::RequestTimeout => both!("408" "Request Timeout", "16", "request timeout\n"),
            Answer::ContentTooLarge => {
                both!("413" "Content Too Large", "18", "content too large\n")
            }
            Answer::MisdirectedRequest => {
                both!("421" "Misdirected Request", "20", "misdirected request\n")
            }
            Answer::HeaderFieldsTooLarge => {
                both!("431" "Request Header Fields Too Large", "32", "request header fields too large\n")
            }
            Answer::NotImplemented => both!("501" "Not Implemented", "16", "not implemented\n"),
            Answer::BadGateway => both!("502" "Bad Gateway", "12", "bad gateway\n"),
            Answer::ServiceUnavailable => {
                both!("503" "Service Unavailable", "20", "service unavailable\n")
            }
            Answer::GatewayTimeout => both!("504" "Gateway Timeout", "16", "gateway timeout\n"),
            Answer::VersionNotSupported => {
                both!("505" "HTTP Version Not Supported", "27", "http version not supported\n")
            }
        };
        if keep_alive && !self.always_closes() {
            open
        } else {
            close
        }
    }
}

/// Why a redirect could not be written.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum RedirectError {
    /// The request had no usable host to redirect to (answer 400 instead).
    #[error("no valid host to redirect to")]
    BadHost,
    /// The path is not an origin-form path of visible ASCII.
    #[error("invalid path to redirect to")]
    BadPath,
    /// The output buffer is too small.
    #[error("output buffer too small")]
    TooSmall,
}

impl From<TooSmall> for RedirectError {
    fn from(_: TooSmall) -> Self {
        RedirectError::TooSmall
    }
}

/// Writes `308 Permanent Redirect` to `https://host[:https_port]path_and_query` (the port is left out
/// when it is 443) for a listener with `redirect_to_https`; returns the length. `host` is the request's
/// host as received (`RequestHead::route_host`), its port dropped; `path_and_query` the origin-form
/// (`RequestHead::path_and_query`). 308 keeps the method and body, unlike 301.
pub fn write_redirect_to_https(
    host: &[u8],
    path_and_query: &[u8],
    https_port: u16,
    keep_alive: bool,
    out: &mut [u8],
) -> Result<usize, RedirectError> {
    let (host, _) = split_host_port(host).map_err(|_| RedirectError::BadHost)?;
    if host.is_empty() {
        return Err(RedirectError::BadHost);
    }
    if !path_and_query.starts_with(b"/") || !path_and_query.iter().all(u8::is_ascii_graphic) {
        return Err(RedirectError::BadPath);
    }
    let mut out = Out::new(out);
    out.put(b"HTTP/1.1 308 Permanent Redirect\r\nServer: edgelb\r\nLocation: https://")?;
    out.put(host)?;
    if https_port != 443 {
        out.put(b":")?;
        out.put_dec(u64::from(https_port))?;
    }
    out.put(path_and_query)?;
    out.put(b"\r\nContent-Length: 0\r\n")?;
    out.put(if keep_alive {
        b"Connection: keep-alive\r\n\r\n"
    } else {
        b"Connection: close\r\n\r\n"
    })?;
    Ok(out.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(bytes: &'a [u8], name: &str) -> &'a str {
        let text = core::str::from_utf8(bytes).unwrap();
        let head = text.split("\r\n\r\n").next().unwrap();
        head.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
            .unwrap()
    }

    #[test]
    fn every_answer_is_well_formed() {
        for a in Answer::ALL {
            for keep_alive in [true, false] {
                let bytes = a.bytes(keep_alive);
                let text = core::str::from_utf8(bytes).unwrap();
                let status_line = format!("HTTP/1.1 {} ", a.status());
                assert!(text.starts_with(&status_line), "{text}");
                let (_, body) = text.split_once("\r\n\r\n").unwrap();
                assert_eq!(
                    header(bytes, "Content-Length"),
                    body.len().to_string(),
                    "{text}"
                );
                assert_eq!(header(bytes, "Server"), "edgelb");
                assert_eq!(header(bytes, "Content-Type"), "text/plain");
                let expect = if keep_alive && !a.always_closes() {
                    "keep-alive"
                } else {
                    "close"
                };
                assert_eq!(header(bytes, "Connection"), expect, "{text}");
            }
        }
    }

    #[test]
    fn exact_bytes_of_404_and_400() {
        assert_eq!(
            Answer::NotFound.bytes(true),
            b"HTTP/1.1 404 Not Found\r\nServer: edgelb\r\nContent-Type: text/plain\r\nContent-Length: 32\r\n\
              Connection: keep-alive\r\n\r\nno route for this host and path\n"
        );
        assert_eq!(
            Answer::BadRequest.bytes(true),
            b"HTTP/1.1 400 Bad Request\r\nServer: edgelb\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\
              Connection: close\r\n\r\nbad request\n"
        );
    }

    #[test]
    fn redirect_to_https() {
        let mut buf = [0u8; 256];
        let n =
            write_redirect_to_https(b"Shop.Example.com:8080", b"/cart?id=7", 443, true, &mut buf)
                .unwrap();
        assert_eq!(
            &buf[..n],
            b"HTTP/1.1 308 Permanent Redirect\r\nServer: edgelb\r\nLocation: https://Shop.Example.com/cart?id=7\r\n\
              Content-Length: 0\r\nConnection: keep-alive\r\n\r\n"
        );
        let n = write_redirect_to_https(b"[2001:db8::1]:80", b"/", 8443, false, &mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            b"HTTP/1.1 308 Permanent Redirect\r\nServer: edgelb\r\nLocation: https://[2001:db8::1]:8443/\r\n\
              Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            write_redirect_to_https(b"", b"/", 443, true, &mut buf),
            Err(RedirectError::BadHost)
        );
        assert_eq!(
            write_redirect_to_https(b"a b", b"/", 443, true, &mut buf),
            Err(RedirectError::BadHost)
        );
        assert_eq!(
            write_redirect_to_https(b"h", b"*", 443, true, &mut buf),
            Err(RedirectError::BadPath)
        );
        let mut small = [0u8; 40];
        assert_eq!(
            write_redirect_to_https(b"h", b"/", 443, true, &mut small),
            Err(RedirectError::TooSmall)
        );
    }
}
