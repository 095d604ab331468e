//! Types shared by requests and responses: spans into the caller's buffer, the HTTP version, the method
//! and how a message's body is framed.

/// A byte range of the buffer a head was parsed from. Heads store spans rather than slices so that a
/// connection can keep its parsed head while its buffer moves or grows.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// The span of `part`, a sub-slice of `whole`; empty if `part` does not lie inside `whole`.
    pub(crate) fn of(whole: &[u8], part: &[u8]) -> Span {
        let base = whole.as_ptr() as usize;
        let at = (part.as_ptr() as usize).wrapping_sub(base);
        match at.checked_add(part.len()) {
            Some(end) if end <= whole.len() => Span {
                start: at as u32,
                end: end as u32,
            },
            _ => Span::default(),
        }
    }

    /// The bytes of this span in `buf` (empty if `buf` is shorter than the span).
    pub fn get<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The HTTP version of a message: only 1.0 and 1.1 are spoken.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1
    Http11,
}

impl Version {
    /// The version as written on the wire (`HTTP/1.0` or `HTTP/1.1`).
    pub const fn as_bytes(self) -> &'static [u8] {
        match self {
            Version::Http10 => b"HTTP/1.0",
            Version::Http11 => b"HTTP/1.1",
        }
    }
}

/// The request method, as far as framing and routing care; the bytes are in `RequestHead::method_span`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET
    Get,
    /// HEAD: its response has no body whatever its headers say.
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// OPTIONS: the only method that may use the asterisk-form target.
    Options,
    /// PATCH
    Patch,
    /// Any other token (methods are case-sensitive: `get` is not GET).
    Other,
}

impl Method {
    /// Classifies a method token.
    pub fn from_bytes(token: &[u8]) -> Method {
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"OPTIONS" => Method::Options,
            b"PATCH" => Method::Patch,
            _ => Method::Other,
        }
    }
}

/// How the body of a message is delimited (RFC 9112 section 6.3).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Framing {
    /// No body (a request without Content-Length or Transfer-Encoding; a response to HEAD, 1xx, 204, 304).
    None,
    /// Exactly this many bytes.
    ContentLength(u64),
    /// Chunked transfer coding, forwarded as is.
    Chunked,
    /// Responses only: the body ends when the upstream closes the connection.
    UntilClose,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_of_a_subslice_and_of_a_foreign_slice() {
        let buf = b"GET / HTTP/1.1";
        let s = Span::of(buf, &buf[4..5]);
        assert_eq!(s, Span { start: 4, end: 5 });
        assert_eq!(s.get(buf), b"/");
        let other = [0u8; 3];
        assert_eq!(Span::of(buf, &other), Span::default());
        assert_eq!(Span { start: 10, end: 40 }.get(buf), b"");
    }
}
