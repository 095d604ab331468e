//! Tests of the request head parser (`request.rs`): fields, pipelining, limits, every error and its
//! status, and the request smuggling cases.

use super::*;

fn parse(buf: &[u8]) -> Result<Option<RequestHead>, HttpError> {
    parse_request(buf, &Limits::default())
}

fn head(buf: &[u8]) -> RequestHead {
    parse(buf).unwrap().unwrap()
}

#[test]
fn a_simple_get() {
    let buf = b"GET /a/b?c=d HTTP/1.1\r\nHost: Foo.Example:8080\r\nAccept: */*\r\n\r\n";
    let h = head(buf);
    assert_eq!(h.method, Method::Get);
    assert_eq!(h.method_span.get(buf), b"GET");
    assert_eq!(h.target.get(buf), b"/a/b?c=d");
    assert_eq!(h.target_form, TargetForm::Origin);
    assert_eq!(h.path.get(buf), b"/a/b");
    assert_eq!(h.path_and_query(buf), b"/a/b?c=d");
    assert_eq!(h.version, Version::Http11);
    assert_eq!(h.host.map(|s| s.get(buf)), Some(&b"Foo.Example:8080"[..]));
    assert_eq!(h.route_host(buf), b"Foo.Example:8080");
    assert_eq!(h.authority, None);
    assert_eq!(h.framing, Framing::None);
    assert!(h.keep_alive && !h.expect_continue && h.upgrade.is_none());
    assert_eq!(h.headers_start, 23);
    assert_eq!(h.head_len, buf.len());
}

#[test]
fn pipelined_requests_one_after_another() {
    let buf: &[u8] = b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
GET /two HTTP/1.1\r\nHost: b\r\n\r\n\
PUT /three HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
HEAD /four HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n";
    let mut rest = buf;
    let mut seen = Vec::new();
    while !rest.is_empty() {
        let h = head(rest);
        let mut body = BodyDecoder::new(h.framing, u64::MAX);
        let feed = body.feed(&rest[h.head_len..]).unwrap();
        assert!(feed.done);
        seen.push((
            h.method,
            h.path.get(rest).to_vec(),
            h.route_host(rest).to_vec(),
            h.framing,
            h.keep_alive,
        ));
        rest = &rest[h.head_len + feed.used..];
    }
    let expect = vec![
        (
            Method::Post,
            b"/up".to_vec(),
            b"a".to_vec(),
            Framing::ContentLength(5),
            true,
        ),
        (
            Method::Get,
            b"/two".to_vec(),
            b"b".to_vec(),
            Framing::None,
            true,
        ),
        (
            Method::Put,
            b"/three".to_vec(),
            b"c".to_vec(),
            Framing::Chunked,
            true,
        ),
        (
            Method::Head,
            b"/four".to_vec(),
            b"d".to_vec(),
            Framing::None,
            false,
        ),
    ];
    assert_eq!(seen, expect);
}

#[test]
fn every_prefix_is_incomplete_and_the_limit_is_431() {
    let buf = b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: 0123456789\r\n\r\n";
    for end in 0..buf.len() {
        assert_eq!(parse(&buf[..end]), Ok(None), "prefix of {end} bytes");
    }
    let limits = Limits {
        max_head: buf.len(),
        max_body: 0,
    };
    assert!(parse_request(buf, &limits).unwrap().is_some());
    let limits = Limits {
        max_head: buf.len() - 1,
        max_body: 0,
    };
    assert_eq!(parse_request(buf, &limits), Err(HttpError::HeadTooLarge));
    assert_eq!(parse_request(&buf[..buf.len() - 2], &limits), Ok(None));
    assert_eq!(parse_request(&buf[..buf.len() - 1], &limits), Ok(None));
    let small = Limits {
        max_head: 10,
        max_body: 0,
    };
    assert_eq!(
        parse_request(b"GET /0123456789", &small),
        Err(HttpError::HeadTooLarge)
    );
    let mut many = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for _ in 0..MAX_HEADERS {
        many.extend_from_slice(b"X: y\r\n");
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(parse(&many), Err(HttpError::TooManyHeaders));
    assert_eq!(HttpError::TooManyHeaders.status(), 431);
}

#[test]
fn keep_alive_expect_and_upgrade() {
    let cases: &[(&[u8], bool)] = &[
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n",
            false,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n",
            false,
        ),
        (b"GET / HTTP/1.0\r\n\r\n", false),
        (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
    ];
    for (buf, keep_alive) in cases {
        assert_eq!(
            head(buf).keep_alive,
            *keep_alive,
            "{:?}",
            String::from_utf8_lossy(buf)
        );
    }
    let expect = b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n";
    assert!(head(expect).expect_continue);
    assert!(!head(b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expect_continue);
    let ws = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    assert_eq!(head(ws).upgrade.map(|s| s.get(ws)), Some(&b"websocket"[..]));
    assert_eq!(
        head(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n").upgrade,
        None
    );
}

#[test]
fn absolute_form_authority_overrides_host() {
    let buf = b"GET http://Other.Example/x/y?z HTTP/1.1\r\nHost: a.example\r\n\r\n";
    let h = head(buf);
    assert_eq!(h.target_form, TargetForm::Absolute);
    assert_eq!(h.route_host(buf), b"Other.Example");
    assert_eq!(h.path.get(buf), b"/x/y");
    assert_eq!(h.path_and_query(buf), b"/x/y?z");
    let bare = b"GET http://h.example HTTP/1.1\r\nHost: h.example\r\n\r\n";
    assert_eq!(
        (head(bare).path.get(bare), head(bare).path_and_query(bare)),
        (&b""[..], &b"/"[..])
    );
    let star = b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(
        (head(star).target_form, head(star).path_and_query(star)),
        (TargetForm::Asterisk, &b"*"[..])
    );
    let no_host = b"GET / HTTP/1.0\r\n\r\n";
    assert_eq!(head(no_host).route_host(no_host), b"");
}

#[test]
fn errors_and_their_status() {
    let cases: &[(&[u8], HttpError, u16)] = &[
        (b"GET / HTTP/1.1\r\n\r\n", HttpError::MissingHost, 400),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
            HttpError::DuplicateHost,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
            HttpError::BadHost,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
            HttpError::BadHost,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
            HttpError::BadContentLength,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
            HttpError::BadContentLength,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
            HttpError::BadContentLength,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            HttpError::ConflictingContentLength,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n",
            HttpError::ObsFold,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n",
            HttpError::Malformed,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: y\x01\r\n\r\n",
            HttpError::Malformed,
            400,
        ),
        (
            b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            HttpError::Malformed,
            400,
        ),
        (
            b"GET / HTTP/1.1\rHost: a\r\n\r\n",
            HttpError::Malformed,
            400,
        ),
        (
            b"GET / HTTP/1.1 x\r\nHost: a\r\n\r\n",
            HttpError::Malformed,
            400,
        ),
        (
            b"GET / HTTX/1.1\r\nHost: a\r\n\r\n",
            HttpError::Malformed,
            400,
        ),
        (
            b"GET a/b HTTP/1.1\r\nHost: a\r\n\r\n",
            HttpError::BadTarget,
            400,
        ),
        (
            b"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
            HttpError::BadTarget,
            400,
        ),
        (
            b"GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n",
            HttpError::BadTarget,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n",
            HttpError::Malformed,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65\r\n\r\n",
            HttpError::BodyTooLarge,
            413,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n",
            HttpError::UnknownTransferCoding,
            501,
        ),
        (
            b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
            HttpError::MethodNotImplemented,
            501,
        ),
        (
            b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
            HttpError::VersionNotSupported,
            505,
        ),
        (
            b"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
            HttpError::VersionNotSupported,
            505,
        ),
        (
            b"GET / HTTP/3\r\nHost: a\r\n\r\n",
            HttpError::VersionNotSupported,
            505,
        ),
    ];
    let limits = Limits {
        max_head: 1024,
        max_body: 64,
    };
    for (buf, err, status) in cases {
        let got = parse_request(buf, &limits);
        assert_eq!(got, Err(*err), "{:?}", String::from_utf8_lossy(buf));
        assert_eq!(err.status(), *status);
    }
}

#[test]
fn request_smuggling_is_refused() {
    let cases: &[(&[u8], HttpError)] = &[
        (
            b"Content-Length: 5\r\nTransfer-Encoding: chunked",
            HttpError::ContentLengthWithTransferEncoding,
        ),
        (
            b"Transfer-Encoding: chunked\r\nContent-Length: 5",
            HttpError::ContentLengthWithTransferEncoding,
        ),
        (
            b"Transfer-Encoding: chunked, identity",
            HttpError::ChunkedNotFinal,
        ),
        (
            b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity",
            HttpError::ChunkedNotFinal,
        ),
        (b"Transfer-Encoding: identity", HttpError::ChunkedNotFinal),
        (b"Transfer-Encoding: gzip", HttpError::ChunkedNotFinal),
        (
            b"Transfer-Encoding: chunked, chunked",
            HttpError::ChunkedNotFinal,
        ),
        (b"Transfer-Encoding: chunked\x0b", HttpError::Malformed),
        (b"Transfer-Encoding: \"chunked\"", HttpError::Malformed),
        (b"Transfer-Encoding: xchunked", HttpError::ChunkedNotFinal),
        (b"Transfer-Encoding : chunked", HttpError::Malformed),
        (b"Transfer-Encoding:\r\n chunked", HttpError::ObsFold),
        (b"Content-Length: 1, 2", HttpError::ConflictingContentLength),
        (
            b"Content-Length: 1\r\nContent-Length: 1, 2",
            HttpError::ConflictingContentLength,
        ),
        (b"Content-Length: 1 2", HttpError::BadContentLength),
        (b"Content-Length: +1", HttpError::BadContentLength),
        (b"Content-Length: 0x1", HttpError::BadContentLength),
    ];
    for (header, err) in cases {
        let buf = [&b"POST / HTTP/1.1\r\nHost: a\r\n"[..], header, b"\r\n\r\n"].concat();
        assert_eq!(
            parse(&buf),
            Err(*err),
            "{:?}",
            String::from_utf8_lossy(header)
        );
        assert_eq!(err.status(), 400);
    }
    let te_in_10 = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(parse(te_in_10), Err(HttpError::TransferEncodingInHttp10));
    // Odd but legal: whitespace around the coding is OWS, case does not matter, empty list elements go.
    for header in [
        &b"Transfer-Encoding:\tChunked \t"[..],
        b"Transfer-Encoding: gzip,\t chunked",
        b"Transfer-Encoding: ,chunked,",
    ] {
        let buf = [&b"POST / HTTP/1.1\r\nHost: a\r\n"[..], header, b"\r\n\r\n"].concat();
        assert_eq!(
            head(&buf).framing,
            Framing::Chunked,
            "{:?}",
            String::from_utf8_lossy(header)
        );
    }
    let same = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\n";
    assert_eq!(head(same).framing, Framing::ContentLength(3));
}
