//! Properties of the HTTP/1.1 framing: chunked bodies decode the same at any split, no input makes a
//! parser panic, and a rewritten request parses back to the same request.
#![allow(clippy::unwrap_used)]

use core::net::IpAddr;

use edgelb_engine::l7::http::{
    parse_request, parse_response, rewrite_request, BodyDecoder, Feed, Forwarding, Framing,
    HttpError, Limits, Method, Scheme,
};
use proptest::prelude::*;

/// A valid chunked body: chunks (with optional extensions), the last chunk, optional trailers.
fn chunked_body() -> impl Strategy<Value = (Vec<u8>, u64)> {
    let chunk = (
        prop::collection::vec(any::<u8>(), 1..40),
        any::<bool>(),
        any::<bool>(),
    );
    let trailers = prop::collection::vec(("[A-Za-z-]{1,8}", "[ -~]{0,10}"), 0..3);
    (prop::collection::vec(chunk, 0..6), any::<bool>(), trailers).prop_map(
        |(chunks, last_ext, trailers)| {
            let mut body = Vec::new();
            let mut total = 0;
            for (data, upper, ext) in chunks {
                let size = if upper {
                    format!("{:X}", data.len())
                } else {
                    format!("{:x}", data.len())
                };
                body.extend_from_slice(size.as_bytes());
                if ext {
                    body.extend_from_slice(b" ; name=\"v;x\"");
                }
                body.extend_from_slice(b"\r\n");
                body.extend_from_slice(&data);
                body.extend_from_slice(b"\r\n");
                total += data.len() as u64;
            }
            body.extend_from_slice(if last_ext { b"000;last\r\n" } else { b"0\r\n" });
            for (name, value) in trailers {
                body.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            (body, total)
        },
    )
}

/// Feeds `input` cut at `cuts`; returns (bytes used, done, body bytes).
fn feed_split(
    framing: Framing,
    input: &[u8],
    cuts: &[usize],
) -> Result<(usize, bool, u64), HttpError> {
    let mut d = BodyDecoder::new(framing, u64::MAX);
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.push(input.len());
    points.sort_unstable();
    let (mut used, mut start) = (0, 0);
    for end in points {
        let Feed { used: u, done } = d.feed(&input[start..end])?;
        used += u;
        if done {
            return Ok((used, true, d.body_bytes()));
        }
        start = end;
    }
    Ok((used, false, d.body_bytes()))
}

proptest! {
    #[test]
    fn chunked_bodies_decode_the_same_at_any_split(
        (body, total) in chunked_body(),
        next in prop::collection::vec(any::<u8>(), 0..20),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let input = [body.as_slice(), &next].concat();
        prop_assert_eq!(feed_split(Framing::Chunked, &input, &[]), Ok((body.len(), true, total)));
        prop_assert_eq!(feed_split(Framing::Chunked, &input, &cuts), Ok((body.len(), true, total)));
        // Cut short anywhere: not done, everything used so far belongs to the body.
        if !body.is_empty() {
            let short = &body[..cuts.first().map_or(0, |c| c % body.len())];
            let got = feed_split(Framing::Chunked, short, &cuts);
            prop_assert_eq!(got.map(|(u, d, _)| (u, d)), Ok((short.len(), false)));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), cut in any::<usize>()) {
        let limits = Limits { max_head: 200, max_body: 1000 };
        let _ = parse_request(&bytes, &limits);
        let _ = parse_response(&bytes, &limits, Method::Get);
        for framing in [Framing::Chunked, Framing::ContentLength(17), Framing::UntilClose] {
            let mut d = BodyDecoder::new(framing, 1000);
            let (a, b) = bytes.split_at(cut % (bytes.len() + 1));
            let first = d.feed(a);
            let _ = d.feed(b);
            if let Ok(f) = first {
                prop_assert!(f.used <= a.len());
            }
        }
    }

    #[test]
    fn arbitrary_heads_after_a_request_line_never_panic(lines in prop::collection::vec("[ -~\t]{0,30}", 0..10)) {
        let mut head = b"POST /x HTTP/1.1\r\n".to_vec();
        for l in &lines {
            head.extend_from_slice(l.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        if let Ok(Some(h)) = parse_request(&head, &Limits::default()) {
            let fwd = Forwarding { client_ip: IpAddr::from([198, 18, 0, 1]), scheme: Scheme::Http, port: 80, allow_upgrade: true };
            let mut out = [0u8; 4096];
            let n = rewrite_request(&head, &h, &fwd, &mut out).unwrap();
            let again = parse_request(&out[..n], &Limits::default()).unwrap().unwrap();
            prop_assert_eq!(again.framing, h.framing);
            prop_assert_eq!(again.route_host(&out[..n]), h.route_host(&head));
        }
    }

    #[test]
    fn a_rewritten_request_parses_back_the_same(
        path in "/[a-z/]{0,12}(\\?[a-z=&]{0,6})?",
        host in "[a-z]{1,6}\\.example(:[0-9]{1,4})?",
        extra in prop::collection::vec(("X-[A-Za-z]{1,6}", "[!-~]{0,12}"), 0..5),
        framing in prop::sample::select(vec![Framing::None, Framing::ContentLength(7), Framing::Chunked]),
        close in any::<bool>(),
        xff in prop::option::of("[0-9.]{7,15}"),
        client in any::<[u8; 16]>(),
    ) {
        let mut req = format!("PATCH {path} HTTP/1.1\r\nHost: {host}\r\n");
        for (n, v) in &extra {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        match framing {
            Framing::ContentLength(n) => req.push_str(&format!("Content-Length: {n}\r\n")),
            Framing::Chunked => req.push_str("Transfer-Encoding: chunked\r\n"),
            _ => {}
        }
        if close {
            req.push_str("Connection: close\r\nKeep-Alive: timeout=1\r\n");
        }
        if let Some(x) = &xff {
            req.push_str(&format!("X-Forwarded-For: {x}\r\n"));
        }
        req.push_str("\r\n");
        let req = req.into_bytes();
        let head = parse_request(&req, &Limits::default()).unwrap().unwrap();
        let fwd = Forwarding { client_ip: IpAddr::from(client), scheme: Scheme::Https, port: 443, allow_upgrade: false };
        let mut out = [0u8; 2048];
        let n = rewrite_request(&req, &head, &fwd, &mut out).unwrap();
        let out = &out[..n];
        let again = parse_request(out, &Limits::default()).unwrap().unwrap();
        prop_assert_eq!(again.head_len, out.len());
        prop_assert_eq!(again.method, Method::Patch);
        prop_assert_eq!(again.path_and_query(out), head.path_and_query(&req));
        prop_assert_eq!(again.route_host(out), head.route_host(&req));
        prop_assert_eq!(again.framing, head.framing);
        prop_assert!(again.keep_alive);
        let text = String::from_utf8(out.to_vec()).unwrap();
        let expect_xff = match &xff {
            Some(x) => format!("X-Forwarded-For: {x}, {}\r\n", IpAddr::from(client)),
            None => format!("X-Forwarded-For: {}\r\n", IpAddr::from(client)),
        };
        prop_assert!(text.contains(&expect_xff), "{}", text);
        prop_assert!(!text.contains("Keep-Alive"));
        for (n, v) in &extra {
            let v = v.trim_matches([' ', '\t']);
            let line = if v.is_empty() { format!("{n}: \r\n") } else { format!("{n}: {v}\r\n") };
            prop_assert!(text.contains(&line), "{} missing in {}", line, text);
        }
    }
}
