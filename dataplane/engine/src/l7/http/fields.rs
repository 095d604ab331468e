//! Field values that decide framing and connection handling, read strictly (RFC 9110 section 5.6):
//! comma-separated lists of tokens, Content-Length, Transfer-Encoding, Connection and Host.

use super::error::HttpError;

/// Whether `b` may appear in a token (`tchar`).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The non-empty elements of a comma-separated list, whitespace trimmed (empty elements are allowed
/// and ignored by the list syntax).
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// Content-Length: a list whose elements must all be the same decimal number.
pub(crate) fn content_length(value: &[u8]) -> Result<u64, HttpError> {
    let mut found = None;
    for element in value.split(|&b| b == b',').map(trim_ows) {
        let n = decimal(element).ok_or(HttpError::BadContentLength)?;
        match found {
            Some(m) if m != n => return Err(HttpError::ConflictingContentLength),
            _ => found = Some(n),
        }
    }
    found.ok_or(HttpError::BadContentLength)
}

/// `1*DIGIT` into a u64; no sign, no whitespace, no overflow.
pub(crate) fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let d = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// What the Transfer-Encoding lines of one message say, accumulated line by line.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TransferCodings {
    /// A Transfer-Encoding line was seen.
    pub present: bool,
    /// The last coding seen is `chunked`.
    pub chunked_last: bool,
    /// `chunked` appears more than once.
    pub chunked_twice: bool,
    /// A coding other than the registered compression codings and chunked.
    pub unknown: bool,
    chunked_seen: bool,
}

impl TransferCodings {
    /// Adds one Transfer-Encoding line. Elements must be bare tokens: parameters or odd whitespace
    /// (`chunked\x0b`) make the message malformed rather than silently not chunked.
    pub(crate) fn add(&mut self, value: &[u8]) -> Result<(), HttpError> {
        self.present = true;
        for coding in list_elements(value) {
            if !is_token(coding) {
                return Err(HttpError::Malformed);
            }
            let chunked = coding.eq_ignore_ascii_case(b"chunked");
            if chunked {
                self.chunked_twice |= self.chunked_seen;
                self.chunked_seen = true;
            }
            self.chunked_last = chunked;
            self.unknown |= !chunked && !is_known_coding(coding);
        }
        Ok(())
    }
}

fn is_known_coding(coding: &[u8]) -> bool {
    [
        &b"gzip"[..],
        b"x-gzip",
        b"deflate",
        b"compress",
        b"x-compress",
    ]
    .iter()
    .any(|known| coding.eq_ignore_ascii_case(known))
}

/// The options of the Connection lines of one message.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ConnectionOptions {
    /// `close`
    pub close: bool,
    /// `keep-alive`
    pub keep_alive: bool,
    /// `upgrade`
    pub upgrade: bool,
}

impl ConnectionOptions {
    /// Adds one Connection line; its elements must be tokens.
    pub(crate) fn add(&mut self, value: &[u8]) -> Result<(), HttpError> {
        for option in list_elements(value) {
            if !is_token(option) {
                return Err(HttpError::Malformed);
            }
            self.close |= option.eq_ignore_ascii_case(b"close");
            self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            self.upgrade |= option.eq_ignore_ascii_case(b"upgrade");
        }
        Ok(())
    }
}

/// Whether some Connection line among `connection_values` names the header `name`.
pub(crate) fn connection_names<'a>(
    mut connection_values: impl Iterator<Item = &'a [u8]>,
    name: &[u8],
) -> bool {
    connection_values.any(|v| list_elements(v).any(|option| option.eq_ignore_ascii_case(name)))
}

/// Splits `host[:port]` (`[v6]:port` included) and checks its syntax: a reg-name or IPv4 of unreserved,
/// sub-delims and pct-encoded characters, or a bracketed IP literal; a port of digits. An empty host
/// is allowed (RFC 9112 section 3.2: the target had no authority).
pub(crate) fn split_host_port(value: &[u8]) -> Result<(&[u8], Option<&[u8]>), HttpError> {
    let (host, rest) = if let Some(after) = value.strip_prefix(b"[") {
        let close = after
            .iter()
            .position(|&b| b == b']')
            .ok_or(HttpError::BadHost)?;
        let literal = after.get(..close).unwrap_or_default();
        if literal.is_empty()
            || !literal
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b":.vV".contains(&b))
        {
            return Err(HttpError::BadHost);
        }
        value.split_at(close + 2)
    } else {
        let colon = value.iter().position(|&b| b == b':').unwrap_or(value.len());
        let (host, rest) = value.split_at(colon);
        if !host.iter().all(|&b| is_reg_name_char(b)) {
            return Err(HttpError::BadHost);
        }
        (host, rest)
    };
    match rest {
        [] => Ok((host, None)),
        [b':', port @ ..] if port.iter().all(u8::is_ascii_digit) => Ok((host, Some(port))),
        _ => Err(HttpError::BadHost),
    }
}

fn is_reg_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_values() {
        assert_eq!(content_length(b"0"), Ok(0));
        assert_eq!(content_length(b"42"), Ok(42));
        assert_eq!(content_length(b"5, 5"), Ok(5));
        assert_eq!(
            content_length(b"1, 2"),
            Err(HttpError::ConflictingContentLength)
        );
        assert_eq!(content_length(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b"1 2",
            b"0x10",
            b"18446744073709551616",
            b"1,",
            b",",
            b"1e3",
        ] {
            assert_eq!(
                content_length(bad),
                Err(HttpError::BadContentLength),
                "{bad:?}"
            );
        }
    }

    fn codings(lines: &[&[u8]]) -> Result<TransferCodings, HttpError> {
        let mut te = TransferCodings::default();
        for line in lines {
            te.add(line)?;
        }
        Ok(te)
    }

    #[test]
    fn transfer_codings() {
        let te = codings(&[b"chunked"]).unwrap();
        assert!(te.chunked_last && !te.chunked_twice && !te.unknown);
        let te = codings(&[b"gzip, Chunked"]).unwrap();
        assert!(te.chunked_last && !te.unknown);
        let te = codings(&[b"gzip", b"chunked"]).unwrap();
        assert!(te.chunked_last);
        let te = codings(&[b"chunked, identity"]).unwrap();
        assert!(!te.chunked_last && te.unknown);
        let te = codings(&[b"chunked", b"chunked"]).unwrap();
        assert!(te.chunked_twice);
        let te = codings(&[b"chunked, gzip, chunked"]).unwrap();
        assert!(te.chunked_last && te.chunked_twice);
        let te = codings(&[b"foo, chunked"]).unwrap();
        assert!(te.chunked_last && te.unknown);
        assert_eq!(codings(&[b"chunked\x0b"]), Err(HttpError::Malformed));
        assert_eq!(codings(&[b"chunked;q=1"]), Err(HttpError::Malformed));
        assert_eq!(codings(&[b"\"chunked\""]), Err(HttpError::Malformed));
    }

    #[test]
    fn connection_options_and_names() {
        let mut c = ConnectionOptions::default();
        c.add(b"Keep-Alive, Upgrade").unwrap();
        assert_eq!(
            c,
            ConnectionOptions {
                close: false,
                keep_alive: true,
                upgrade: true
            }
        );
        c.add(b"CLOSE").unwrap();
        assert!(c.close);
        assert_eq!(c.add(b"close x"), Err(HttpError::Malformed));
        let lines = [&b"close, X-Secret"[..], b"foo"];
        assert!(connection_names(lines.iter().copied(), b"x-secret"));
        assert!(connection_names(lines.iter().copied(), b"FOO"));
        assert!(!connection_names(lines.iter().copied(), b"bar"));
    }

    #[test]
    fn host_values() {
        assert_eq!(
            split_host_port(b"a.example.com"),
            Ok((&b"a.example.com"[..], None))
        );
        assert_eq!(
            split_host_port(b"a.example.com:8080"),
            Ok((&b"a.example.com"[..], Some(&b"8080"[..])))
        );
        assert_eq!(
            split_host_port(b"[2001:db8::1]:443"),
            Ok((&b"[2001:db8::1]"[..], Some(&b"443"[..])))
        );
        assert_eq!(split_host_port(b"[::1]"), Ok((&b"[::1]"[..], None)));
        assert_eq!(split_host_port(b""), Ok((&b""[..], None)));
        assert_eq!(split_host_port(b"h:"), Ok((&b"h"[..], Some(&b""[..]))));
        for bad in [
            &b"a b"[..],
            b"a/b",
            b"u@h",
            b"h:1:2",
            b"h:x",
            b"[::1",
            b"[]",
            b"[::1]x",
            b"h\x80",
        ] {
            assert_eq!(split_host_port(bad), Err(HttpError::BadHost), "{bad:?}");
        }
    }
}
