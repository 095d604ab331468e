//! The heads edgelb forwards, written into the caller's fixed buffer.
//!
//! Upstream requests keep their request line (in origin-form, the client's version) and their headers in
//! order, less the hop-by-hop ones (RFC 9110 section 7.6.1: Connection, Keep-Alive, Proxy-Connection,
//! TE, Upgrade unless forwarded, and every header the Connection lines name), plus X-Forwarded-For
//! (appended to), X-Forwarded-Proto/Port/Host (replaced) and `Connection: keep-alive`. Responses to the
//! client lose the same hop-by-hop headers and get edgelb's own Connection header.
//!
//! Content-Length is written once with the parsed value (`5, 5` becomes `5`), and neither it,
//! Transfer-Encoding nor Host is ever removed because a Connection line names it: that would change
//! the framing the upstream sees.

use core::net::IpAddr;

use super::fields::{connection_names, list_elements};
use super::message::Framing;
use super::request::RequestHead;
use super::response::ResponseHead;
use super::writer::{Out, TooSmall};

/// The scheme the client spoke to edgelb.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS terminated by edgelb.
    Https,
}

/// What the upstream is told about the client connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Forwarding {
    /// The client's address (appended to X-Forwarded-For).
    pub client_ip: IpAddr,
    /// X-Forwarded-Proto.
    pub scheme: Scheme,
    /// X-Forwarded-Port: the listener's port the client connected to.
    pub port: u16,
    /// Forward an upgrade request (WebSocket): keep Upgrade and send `Connection: upgrade`.
    pub allow_upgrade: bool,
}

/// Writes the head to send upstream for the request `head` parsed from `buf`; returns its length.
pub fn rewrite_request(
    buf: &[u8],
    head: &RequestHead,
    fwd: &Forwarding,
    out: &mut [u8],
) -> Result<usize, TooSmall> {
    let mut out = Out::new(out);
    let lines = HeaderLines::of(buf, head.headers_start, head.head_len);
    let nominated = Nominated::of(lines);
    let upgrading = fwd.allow_upgrade && head.upgrade.is_some();
    out.put(head.method_span.get(buf))?;
    out.put(b" ")?;
    out.put(head.path_and_query(buf))?;
    out.put(b" ")?;
    out.put(head.version.as_bytes())?;
    out.put(b"\r\n")?;
    let authority = head.authority.map(|a| a.get(buf));
    let (mut host_done, mut cl_done, mut xff_done) = (false, false, false);
    for (name, value) in lines {
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        if is(b"host") {
            out.put_header(b"Host", authority.unwrap_or(value))?;
            host_done = true;
        } else if is(b"content-length") {
            if let (Framing::ContentLength(n), false) = (head.framing, cl_done) {
                put_content_length(&mut out, n)?;
            }
            cl_done = true;
        } else if is(b"transfer-encoding") {
            out.put_header(name, value)?;
        } else if is(b"x-forwarded-for") {
            if !xff_done {
                put_forwarded_for(&mut out, lines, fwd.client_ip)?;
            }
            xff_done = true;
        } else if is_hop_by_hop(name, upgrading, &nominated)
            || is(b"x-forwarded-proto")
            || is(b"x-forwarded-port")
            || is(b"x-forwarded-host")
        {
            continue;
        } else {
            out.put_header(name, value)?;
        }
    }
    if let (false, Some(a)) = (host_done, authority) {
        out.put_header(b"Host", a)?;
    }
    if !xff_done {
        put_forwarded_for(&mut out, lines, fwd.client_ip)?;
    }
    let proto: &[u8] = match fwd.scheme {
        Scheme::Http => b"http",
        Scheme::Https => b"https",
    };
    out.put_header(b"X-Forwarded-Proto", proto)?;
    out.put(b"X-Forwarded-Port: ")?;
    out.put_dec(u64::from(fwd.port))?;
    out.put(b"\r\n")?;
    match head.route_host(buf) {
        [] => {}
        host => out.put_header(b"X-Forwarded-Host", host)?,
    }
    out.put(if upgrading {
        b"Connection: upgrade\r\n\r\n"
    } else {
        b"Connection: keep-alive\r\n\r\n"
    })?;
    Ok(out.len())
}

/// Writes the head to send the client for the upstream response `head` parsed from `buf`; returns its
/// length. `keep_alive`: whether edgelb keeps the client connection after this response (the proxy
/// decides: the client's wish, the response's framing, draining); it is said in the Connection header.
/// A 101 keeps Upgrade and says `Connection: upgrade`.
pub fn rewrite_response(
    buf: &[u8],
    head: &ResponseHead,
    keep_alive: bool,
    out: &mut [u8],
) -> Result<usize, TooSmall> {
    let mut out = Out::new(out);
    let lines = HeaderLines::of(buf, head.headers_start, head.head_len);
    let nominated = Nominated::of(lines);
    let upgrading = head.is_switching_protocols();
    out.put(b"HTTP/1.1 ")?;
    out.put_dec(u64::from(head.status))?;
    out.put(b" ")?;
    out.put(head.reason.get(buf))?;
    out.put(b"\r\n")?;
    let mut cl_done = false;
    for (name, value) in lines {
        if name.eq_ignore_ascii_case(b"content-length") {
            if let (Some(n), false) = (head.content_length, cl_done) {
                put_content_length(&mut out, n)?;
            }
            cl_done = true;
        } else if !is_hop_by_hop(name, upgrading, &nominated) {
            out.put_header(name, value)?;
        }
    }
    out.put(match (upgrading, keep_alive) {
        (true, _) => b"Connection: upgrade\r\n\r\n".as_slice(),
        (false, true) => b"Connection: keep-alive\r\n\r\n",
        (false, false) => b"Connection: close\r\n\r\n",
    })?;
    Ok(out.len())
}

fn put_content_length(out: &mut Out<'_>, n: u64) -> Result<(), TooSmall> {
    out.put(b"Content-Length: ")?;
    out.put_dec(n)?;
    out.put(b"\r\n")
}

/// One X-Forwarded-For line: every value the client sent, in order, then the client's address.
fn put_forwarded_for(
    out: &mut Out<'_>,
    lines: HeaderLines<'_>,
    client: IpAddr,
) -> Result<(), TooSmall> {
    out.put(b"X-Forwarded-For: ")?;
    for (_, value) in lines.named(b"x-forwarded-for") {
        for element in list_elements(value) {
            out.put(element)?;
            out.put(b", ")?;
        }
    }
    out.put_ip(client)?;
    out.put(b"\r\n")
}

/// Headers that describe one connection, not the message (RFC 9110 section 7.6.1): the fixed list and
/// those the Connection lines name; Upgrade unless the upgrade is forwarded.
fn is_hop_by_hop(name: &[u8], keep_upgrade: bool, nominated: &Nominated<'_>) -> bool {
    if name.eq_ignore_ascii_case(b"upgrade") {
        return !keep_upgrade;
    }
    [
        &b"connection"[..],
        b"keep-alive",
        b"proxy-connection",
        b"te",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
        || nominated.contains(name)
}

/// The header lines of a head that the parser has already validated: `name: value` lines, each ending
/// with LF or CRLF, value without its surrounding whitespace.
#[derive(Copy, Clone)]
struct HeaderLines<'a> {
    rest: &'a [u8],
}

impl<'a> HeaderLines<'a> {
    fn of(buf: &'a [u8], headers_start: usize, head_len: usize) -> Self {
        HeaderLines {
            rest: buf.get(headers_start..head_len).unwrap_or_default(),
        }
    }

    fn named(self, name: &'a [u8]) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        self.filter(move |(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// The header names the Connection lines nominate, gathered once so that each header costs a short
/// comparison rather than a scan of the head.
struct Nominated<'a> {
    names: [&'a [u8]; 32],
    len: usize,
    overflow: bool,
    lines: HeaderLines<'a>,
}

impl<'a> Nominated<'a> {
    fn of(lines: HeaderLines<'a>) -> Self {
        let mut n = Nominated {
            names: [&[]; 32],
            len: 0,
            overflow: false,
            lines,
        };
        for (_, value) in lines.named(b"connection") {
            for option in list_elements(value) {
                match n.names.get_mut(n.len) {
                    Some(slot) => *slot = option,
                    None => n.overflow = true,
                }
                n.len = (n.len + 1).min(n.names.len());
            }
        }
        n
    }

    /// Whether a Connection line names `name` (Host and the framing headers are never dropped).
    fn contains(&self, name: &[u8]) -> bool {
        let protected = [&b"host"[..], b"content-length", b"transfer-encoding"];
        if protected.iter().any(|p| name.eq_ignore_ascii_case(p)) {
            return false;
        }
        let listed = self.names.get(..self.len).unwrap_or_default();
        listed.iter().any(|n| n.eq_ignore_ascii_case(name))
            || (self.overflow
                && connection_names(self.lines.named(b"connection").map(|(_, v)| v), name))
    }
}

impl<'a> Iterator for HeaderLines<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let end = self.rest.iter().position(|&b| b == b'\n')?;
            let (line, rest) = self.rest.split_at(end);
            self.rest = rest.get(1..).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                let (name, value) = line.split_at(colon);
                let value = value.get(1..).unwrap_or_default();
                return Some((name, trim(value)));
            }
        }
    }
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::{parse_request, parse_response, Limits, Method};
    use super::*;

    fn rewrite(req: &[u8], fwd: &Forwarding) -> String {
        let head = parse_request(req, &Limits::default()).unwrap().unwrap();
        let mut out = [0u8; 1024];
        let n = rewrite_request(req, &head, fwd, &mut out).unwrap();
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    const HTTPS: Forwarding = Forwarding {
        client_ip: IpAddr::V4(core::net::Ipv4Addr::new(198, 18, 0, 7)),
        scheme: Scheme::Https,
        port: 443,
        allow_upgrade: false,
    };

    #[test]
    fn request_keeps_order_and_drops_hop_by_hop_headers() {
        let req = b"POST /api?x=1 HTTP/1.1\r\nHost: shop.example\r\nConnection: keep-alive, X-Secret\r\n\
Keep-Alive: timeout=5\r\nX-Secret: s\r\nAccept:  */* \r\nTE: trailers\r\nProxy-Connection: close\r\n\
Upgrade: h2c\r\nContent-Length: 3, 3\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: evil\r\n\
X-Forwarded-Port: 1\r\nUser-Agent: t\r\n\r\nabc";
        assert_eq!(
            rewrite(req, &HTTPS),
            "POST /api?x=1 HTTP/1.1\r\nHost: shop.example\r\nAccept: */*\r\nContent-Length: 3\r\n\
User-Agent: t\r\nX-Forwarded-For: 198.18.0.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\n\
X-Forwarded-Host: shop.example\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn forwarded_for_is_appended_to() {
        let req = b"GET / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.1\r\nHost: a:8080\r\n\
x-forwarded-for: 203.0.113.2, 203.0.113.3\r\n\r\n";
        let fwd = Forwarding {
            client_ip: "2001:2::9".parse().unwrap(),
            scheme: Scheme::Http,
            port: 8080,
            ..HTTPS
        };
        assert_eq!(
            rewrite(req, &fwd),
            "GET / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.1, 203.0.113.2, 203.0.113.3, 2001:2::9\r\n\
Host: a:8080\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\nX-Forwarded-Host: a:8080\r\n\
Connection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn framing_headers_survive_connection_and_absolute_form_becomes_origin_form() {
        let req = b"PUT http://b.example/x HTTP/1.1\r\nHost: a.example\r\n\
Connection: Transfer-Encoding, Host, Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            rewrite(req, &HTTPS),
            "PUT /x HTTP/1.1\r\nHost: b.example\r\nTransfer-Encoding: chunked\r\n\
X-Forwarded-For: 198.18.0.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\n\
X-Forwarded-Host: b.example\r\nConnection: keep-alive\r\n\r\n"
        );
        let old = b"GET http://c.example HTTP/1.0\r\n\r\n";
        assert_eq!(
            rewrite(old, &HTTPS),
            "GET / HTTP/1.0\r\nHost: c.example\r\nX-Forwarded-For: 198.18.0.7\r\nX-Forwarded-Proto: https\r\n\
X-Forwarded-Port: 443\r\nX-Forwarded-Host: c.example\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn upgrade_is_forwarded_only_when_allowed() {
        let req =
            b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        let tail =
            "X-Forwarded-For: 198.18.0.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\n\
X-Forwarded-Host: a\r\n";
        assert_eq!(
            rewrite(
                req,
                &Forwarding {
                    allow_upgrade: true,
                    ..HTTPS
                }
            ),
            format!("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n{tail}Connection: upgrade\r\n\r\n")
        );
        assert_eq!(
            rewrite(req, &HTTPS),
            format!("GET /ws HTTP/1.1\r\nHost: a\r\n{tail}Connection: keep-alive\r\n\r\n")
        );
    }

    #[test]
    fn too_small_buffers_are_refused_at_every_size() {
        let req = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let head = parse_request(req, &Limits::default()).unwrap().unwrap();
        let mut out = [0u8; 256];
        let full = rewrite_request(req, &head, &HTTPS, &mut out).unwrap();
        for size in 0..full {
            assert_eq!(
                rewrite_request(req, &head, &HTTPS, &mut out[..size]),
                Err(TooSmall),
                "{size}"
            );
        }
    }

    #[test]
    fn response_for_the_client() {
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\
Keep-Alive: timeout=4\r\nContent-Type: text/plain\r\n\r\nok";
        let head = parse_response(resp, &Limits::default(), Method::Get)
            .unwrap()
            .unwrap();
        let mut out = [0u8; 256];
        let n = rewrite_response(resp, &head, false, &mut out).unwrap();
        assert_eq!(
            &out[..n],
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
        );
        let n = rewrite_response(resp, &head, true, &mut out).unwrap();
        assert!(out[..n].ends_with(b"Content-Type: text/plain\r\nConnection: keep-alive\r\n\r\n"));
        let up = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n";
        let head = parse_response(up, &Limits::default(), Method::Get)
            .unwrap()
            .unwrap();
        let n = rewrite_response(up, &head, true, &mut out).unwrap();
        assert_eq!(
            &out[..n],
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"
        );
    }
}
