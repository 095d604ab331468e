//! The upstream response head parser. Framing follows RFC 9112 section 6.3: no body after a HEAD request
//! or for 1xx, 204 and 304; chunked when it is the final transfer coding; Content-Length; otherwise until
//! the upstream closes. Anything ambiguous (Content-Length with Transfer-Encoding, differing lengths,
//! Transfer-Encoding in HTTP/1.0) is an error: the proxy answers 502 rather than guess.

use super::error::HttpError;
use super::fields::{content_length, ConnectionOptions, TransferCodings};
use super::message::{Framing, Method, Span, Version};
use super::request::{Limits, MAX_HEADERS};

/// A parsed response head: spans into the buffer it was parsed from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code, 100 to 999.
    pub status: u16,
    /// The reason phrase.
    pub reason: Span,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// How the body is delimited.
    pub framing: Framing,
    /// The Content-Length value, also where it does not frame a body (HEAD, 304).
    pub content_length: Option<u64>,
    /// Whether the upstream connection may carry another request after this response.
    pub keep_alive: bool,
    /// Offset of the first header line.
    pub headers_start: usize,
    /// Length of the head, final empty line included.
    pub head_len: usize,
}

impl ResponseHead {
    /// A 1xx response: another head follows (except after 101, where the connection becomes a tunnel).
    /// `100 Continue` is forwarded to the client, then the final response is parsed.
    pub fn is_informational(&self) -> bool {
        (100..200).contains(&self.status)
    }

    /// `101 Switching Protocols`: after this head the bytes are the upgraded protocol's, both ways.
    pub fn is_switching_protocols(&self) -> bool {
        self.status == 101
    }
}

/// Parses the response head at the start of `buf`, received for a request with method `request_method`.
/// `Ok(None)`: incomplete (more than `limits.max_head` bytes without a complete head is
/// [`HttpError::HeadTooLarge`]). Bytes after `head_len` are the body.
pub fn parse_response(
    buf: &[u8],
    limits: &Limits,
    request_method: Method,
) -> Result<Option<ResponseHead>, HttpError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head => {
            return Err(HttpError::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::TooManyHeaders),
        Err(_) => return Err(HttpError::Malformed),
    };
    if head_len > limits.max_head {
        return Err(HttpError::HeadTooLarge);
    }
    let (Some(minor), Some(status), Some(reason)) = (resp.version, resp.code, resp.reason) else {
        return Err(HttpError::Malformed);
    };
    if status < 100 {
        return Err(HttpError::Malformed);
    }
    let version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    let mut cl: Option<u64> = None;
    let mut te = TransferCodings::default();
    let mut connection = ConnectionOptions::default();
    for h in resp.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = content_length(h.value)?;
            if cl.is_some_and(|m| m != n) {
                return Err(HttpError::ConflictingContentLength);
            }
            cl = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            te.add(h.value)?;
        } else if name.eq_ignore_ascii_case(b"connection") {
            connection.add(h.value)?;
        }
    }
    let framing = framing(status, request_method, version, cl, &te)?;
    let persistent = match version {
        Version::Http11 => !connection.close,
        Version::Http10 => connection.keep_alive && !connection.close,
    };
    let reason_span = Span::of(buf, reason.as_bytes());
    Ok(Some(ResponseHead {
        status,
        reason: reason_span,
        version,
        framing,
        content_length: cl,
        keep_alive: persistent && framing != Framing::UntilClose && status != 101,
        headers_start: first_line_end(buf),
        head_len,
    }))
}

fn framing(
    status: u16,
    request_method: Method,
    version: Version,
    cl: Option<u64>,
    te: &TransferCodings,
) -> Result<Framing, HttpError> {
    if te.present && version == Version::Http10 {
        return Err(HttpError::TransferEncodingInHttp10);
    }
    if te.present && cl.is_some() {
        return Err(HttpError::ContentLengthWithTransferEncoding);
    }
    if request_method == Method::Head
        || (100..200).contains(&status)
        || status == 204
        || status == 304
    {
        return Ok(Framing::None);
    }
    if te.present {
        // A final coding other than chunked: the body runs until close (RFC 9112 section 6.3, item 4).
        return Ok(if te.chunked_last && !te.chunked_twice {
            Framing::Chunked
        } else {
            Framing::UntilClose
        });
    }
    Ok(match cl {
        Some(n) => Framing::ContentLength(n),
        None => Framing::UntilClose,
    })
}

fn first_line_end(buf: &[u8]) -> usize {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let rest = buf.get(start..).unwrap_or_default();
    rest.iter()
        .position(|&b| b == b'\n')
        .map_or(buf.len(), |i| start + i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(head: &[u8], method: Method) -> Result<Option<ResponseHead>, HttpError> {
        parse_response(head, &Limits::default(), method)
    }

    fn framing_of(head: &[u8], method: Method) -> (Framing, bool) {
        let h = parse(head, method).unwrap().unwrap();
        (h.framing, h.keep_alive)
    }

    #[test]
    fn framing_by_status_method_and_headers() {
        let get = Method::Get;
        let cl = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(framing_of(cl, get), (Framing::ContentLength(5), true));
        assert_eq!(framing_of(cl, Method::Head), (Framing::None, true));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        assert_eq!(framing_of(chunked, get), (Framing::Chunked, true));
        let gzip = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n";
        assert_eq!(framing_of(gzip, get), (Framing::UntilClose, false));
        let none = b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n";
        assert_eq!(framing_of(none, get), (Framing::UntilClose, false));
        for status in [
            &b"204 No Content"[..],
            b"304 Not Modified",
            b"100 Continue",
            b"103 Early Hints",
        ] {
            let head = [&b"HTTP/1.1 "[..], status, b"\r\nContent-Length: 7\r\n\r\n"].concat();
            assert_eq!(framing_of(&head, get).0, Framing::None);
        }
        let close = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        assert_eq!(framing_of(close, get), (Framing::ContentLength(0), false));
        let old = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(framing_of(old, get), (Framing::ContentLength(0), false));
        let old_ka = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n";
        assert_eq!(framing_of(old_ka, get), (Framing::ContentLength(0), true));
    }

    #[test]
    fn head_fields_and_informational_responses() {
        let buf =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!";
        let first = parse(buf, Method::Post).unwrap().unwrap();
        assert!(first.is_informational() && !first.is_switching_protocols());
        assert_eq!(
            (first.status, first.reason.get(buf), first.head_len),
            (100, &b"Continue"[..], 25)
        );
        let rest = &buf[first.head_len..];
        let second = parse(rest, Method::Post).unwrap().unwrap();
        assert_eq!(
            (second.status, second.reason.get(rest)),
            (404, &b"Not Found"[..])
        );
        assert_eq!((second.headers_start, second.head_len), (24, 45));
        let up = parse(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
            Method::Get,
        );
        let up = up.unwrap().unwrap();
        assert!(up.is_switching_protocols() && !up.keep_alive && up.framing == Framing::None);
    }

    #[test]
    fn ambiguous_or_bad_responses_are_errors() {
        let cases: &[(&[u8], HttpError)] = &[
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                HttpError::ContentLengthWithTransferEncoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                HttpError::ConflictingContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                HttpError::BadContentLength,
            ),
            (
                b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                HttpError::TransferEncodingInHttp10,
            ),
            (b"HTTP/1.1 20 OK\r\n\r\n", HttpError::Malformed),
            (b"HTTP/1.1 099 Low\r\n\r\n", HttpError::Malformed),
            (
                b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
                HttpError::Malformed,
            ),
            (b"HTTP/2 200\r\n\r\n", HttpError::Malformed),
        ];
        for (head, err) in cases {
            assert_eq!(
                parse(head, Method::Get),
                Err(*err),
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\nA: b\r\n", Method::Get), Ok(None));
        let limits = Limits {
            max_head: 8,
            max_body: 0,
        };
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\n", &limits, Method::Get),
            Err(HttpError::HeadTooLarge)
        );
    }
}
