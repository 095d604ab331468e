//! The L7 proxy end to end inside the engine: a real TCP client and real TCP backends (the engine's own
//! endpoints, driven like peers' kernels) exchange frames with one worker serving an HTTP listener. Checks what
//! the client reads, what the backends got, and the counters.

#![allow(clippy::unwrap_used, clippy::panic)]

mod l7_world;
mod lab;

use core::time::Duration;

use l7_world::{Behaviour, World};

const GET: &[u8] = b"GET /shop/cart?id=1 HTTP/1.1\r\nHost: www.example.test\r\n\r\n";

#[test]
fn a_request_is_routed_to_a_backend_and_its_answer_relayed() {
    let mut w = World::new();
    let c = w.connect(40000);
    w.send(c, GET);
    let answer = w.read(c);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    assert!(
        answer.contains("path=/shop/cart?id=1 xff=198.18.0.9 proto=http proxy=\n"),
        "{answer:?}"
    );
    assert!(answer.contains("Content-Length: "), "{answer:?}");
    assert_eq!(w.backends.iter().map(|b| b.requests).sum::<usize>(), 1);
    assert_eq!(w.counter("l7_requests"), 1);
    assert_eq!(w.counter("l7_responses"), 1);
    assert_eq!(w.counter("l7_accepted"), 1);
    assert_eq!(w.counter("l7_upstream_connects"), 1);
}

#[test]
fn keep_alive_requests_reuse_the_upstream_connection() {
    let mut w = World::new();
    let c = w.connect(40001);
    for i in 0..5 {
        w.send(c, GET);
        let answer = w.read(c);
        assert!(
            answer.contains("path=/shop/cart"),
            "request {i}: {answer:?}"
        );
    }
    assert_eq!(w.counter("l7_responses"), 5);
    // The first request opened an upstream connection; later ones took a kept-alive one when they went to
    // the same backend (least outstanding: all backends are idle, so they rotate).
    let opened = w.counter("l7_upstream_connects");
    let reused = w.counter("l7_upstream_reused");
    assert_eq!(opened + reused, 5);
    assert!(opened <= 3, "at most one connection per backend: {opened}");
    assert_eq!(
        w.backends.iter().map(|b| b.accepted).sum::<usize>() as u64,
        opened
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut w = World::new();
    let c = w.connect(40002);
    let two = b"GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n";
    w.send(c, two);
    let answer = w.read(c);
    let first = answer.find("path=/first").expect(&answer);
    let second = answer.find("path=/second").expect(&answer);
    assert!(first < second, "{answer:?}");
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2);
}

#[test]
fn a_chunked_response_is_relayed_whole_and_the_connection_kept() {
    let mut w = World::new();
    for b in &mut w.backends {
        b.behaviour = Behaviour::Chunked;
    }
    let c = w.connect(40003);
    w.send(c, GET);
    let answer = w.read(c);
    assert!(answer.contains("Transfer-Encoding: chunked"), "{answer:?}");
    assert!(answer.ends_with("\r\n0\r\n\r\n"), "{answer:?}");
    w.send(c, GET);
    assert!(w.read(c).contains("HTTP/1.1 200 OK"));
    assert_eq!(w.counter("l7_responses"), 2);
}

#[test]
fn a_malformed_request_gets_400_and_the_connection_closes() {
    let mut w = World::new();
    let c = w.connect(40004);
    w.send(
        c,
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    let answer = w.read(c);
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer:?}"
    );
    assert!(answer.contains("Connection: close"), "{answer:?}");
    assert!(w.client_closed(c));
    assert_eq!(w.backends.iter().map(|b| b.accepted).sum::<usize>(), 0);
    assert_eq!(w.counter("l7_bad_requests"), 1);
}

#[test]
fn a_backend_that_resets_gets_the_request_retried_elsewhere() {
    let mut w = World::new();
    w.backends[0].behaviour = Behaviour::Reset;
    w.backends[1].behaviour = Behaviour::Reset;
    let c = w.connect(40005);
    // Whatever backend comes first, the GET ends at backend 3 (one retry each time a connection fails
    // before any answer; at most two attempts, so some requests may get 502 when both tries hit resetters).
    let mut ok = 0;
    let mut bad_gateway = 0;
    for _ in 0..6 {
        let c = if w.client_closed(c) {
            w.connect(40100 + ok as u16 + bad_gateway as u16)
        } else {
            c
        };
        w.send(c, GET);
        let answer = w.read(c);
        if answer.contains("backend=3") {
            ok += 1;
        } else {
            assert!(answer.starts_with("HTTP/1.1 502 Bad Gateway"), "{answer:?}");
            bad_gateway += 1;
        }
    }
    assert!(ok > 0, "no request reached backend 3");
    assert_eq!(w.counter("l7_answered_5xx"), bad_gateway);
    assert!(w.counter("l7_retries") > 0);
}

#[test]
fn a_refused_connection_is_retried_and_the_client_never_sees_it() {
    let mut w = World::new();
    // Backend 1 listens nowhere: its SYNs get RST (connection refused).
    w.backends[0].tcp.set_listeners(&[]);
    for i in 0..6 {
        let c = w.connect(40200 + i);
        w.send(c, GET);
        let answer = w.read(c);
        assert!(
            answer.starts_with("HTTP/1.1 200 OK"),
            "request {i}: {answer:?}"
        );
        assert!(!answer.contains("backend=1"));
    }
    assert_eq!(w.counter("l7_answered_5xx"), 0);
    // After its first refusal, backend 1 is left out for a while (passive health): no more tries.
    assert_eq!(w.counter("l7_upstream_connect_failures"), 1);
    assert_eq!(w.counter("l7_retries"), 1);
    // Once the back-off is over it is tried again (and refused again, for longer).
    w.advance(Duration::from_secs(1));
    for i in 0..6 {
        let c = w.connect(40210 + i);
        w.send(c, GET);
        assert!(w.read(c).starts_with("HTTP/1.1 200 OK"));
    }
    assert_eq!(w.counter("l7_upstream_connect_failures"), 2);
}

#[test]
fn backends_that_never_answer_give_504_after_the_connect_timeouts() {
    let mut w = World::new();
    for b in &mut w.backends {
        b.behaviour = Behaviour::Silent;
    }
    let c = w.connect(40300);
    w.send(c, GET);
    assert_eq!(w.read(c), "", "nothing before the connect timeout");
    // Two attempts (the GET is retried once on another backend), 5 s each.
    for _ in 0..12 {
        w.advance(Duration::from_secs(1));
    }
    let answer = w.read(c);
    assert!(
        answer.starts_with("HTTP/1.1 504 Gateway Timeout"),
        "{answer:?}"
    );
    assert_eq!(w.counter("l7_retries"), 1);
    assert_eq!(w.counter("l7_upstream_connect_failures"), 2);
    // The client may go on: its request was read whole.
    w.backends
        .iter_mut()
        .for_each(|b| b.behaviour = Behaviour::Serve);
    w.send(c, GET);
    assert!(w.read(c).starts_with("HTTP/1.1 200 OK"));
}

#[test]
fn a_host_header_that_is_no_host_gets_400_from_edgelb() {
    let mut w = World::new();
    let c = w.connect(40400);
    w.send(c, b"GET / HTTP/1.1\r\nHost: bad host\r\n\r\n");
    let answer = w.read(c);
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request"), "{answer:?}");
}

#[test]
fn a_head_that_does_not_complete_in_time_gets_408() {
    let mut w = World::new();
    let c = w.connect(40500);
    w.send(c, b"GET /slow HTTP/1.1\r\nHo");
    for _ in 0..19 {
        w.advance(Duration::from_secs(1));
    }
    assert_eq!(w.read(c), "", "still within the header timeout");
    for _ in 0..3 {
        w.advance(Duration::from_secs(1));
    }
    let answer = w.read(c);
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout"),
        "{answer:?}"
    );
    assert!(w.client_closed(c));
    assert_eq!(w.counter("l7_header_timeouts"), 1);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_keepalive_timeout() {
    let mut w = World::new();
    let c = w.connect(40501);
    w.send(c, GET);
    assert!(w.read(c).starts_with("HTTP/1.1 200 OK"));
    for _ in 0..30 {
        w.advance(Duration::from_secs(1));
    }
    // Still usable half way.
    w.send(c, GET);
    assert!(w.read(c).starts_with("HTTP/1.1 200 OK"));
    for _ in 0..62 {
        w.advance(Duration::from_secs(1));
    }
    assert_eq!(w.read(c), "", "closed without an answer");
    assert!(w.client_closed(c));
    assert_eq!(w.counter("l7_keepalive_timeouts"), 1);
    assert_eq!(w.counter("l7_header_timeouts"), 0);
}

#[test]
fn a_response_cut_short_by_its_backend_resets_the_client_and_frees_the_session() {
    let mut w = World::new();
    for b in &mut w.backends {
        b.behaviour = Behaviour::Truncate;
    }
    let c = w.connect(40600);
    w.send(c, GET);
    let answer = w.read(c);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer:?}");
    assert!(answer.ends_with("only ten b"), "{answer:?}");
    assert!(
        w.client_closed(c),
        "the client is reset: the answer cannot be completed"
    );
    assert_eq!(w.counter("l7_upstream_truncated"), 1);
    // The proxy goes on: a new client is served once the backends behave.
    w.backends
        .iter_mut()
        .for_each(|b| b.behaviour = Behaviour::Serve);
    let c = w.connect(40601);
    w.send(c, GET);
    assert!(w.read(c).starts_with("HTTP/1.1 200 OK"));
}

#[test]
fn a_clients_segments_are_handled_by_one_core_and_handed_there_by_the_other() {
    use edgelb_engine::testing::{ethernet, ipv4, tcp_segment, TcpSpec};
    use edgelb_engine::CoreId;
    use lab::*;
    let mut cores = [
        l7_lab_on(64, CoreId { index: 0, count: 2 }),
        l7_lab_on(64, CoreId { index: 1, count: 2 }),
    ];
    let mut handled = [0usize; 2];
    for port in 41000..41040u16 {
        let spec = TcpSpec {
            flags: 0x02,
            ..TcpSpec::new(port, 80)
        };
        let seg = tcp_segment(
            core::net::IpAddr::V4(CLIENT_V4),
            core::net::IpAddr::V4(L7_VIP_V4),
            &spec,
        );
        let frame = ethernet(
            PORT0_MAC,
            CLIENT_MAC,
            None,
            0x0800,
            &ipv4(CLIENT_V4, L7_VIP_V4, 6, 64, &seg),
        );
        let mut owners = Vec::new();
        for (i, lab) in cores.iter_mut().enumerate() {
            let sent = lab.rx(OUTSIDE, &frame);
            let handed = std::mem::take(&mut lab.io.handed_off);
            match (sent.len(), handed.as_slice()) {
                // This core owns it: its SYN-ACK goes out.
                (1, []) => owners.push(i),
                // The other core owns it: handed there untouched.
                (0, [(to, _, bytes)]) => {
                    assert_eq!(usize::from(*to), 1 - i, "port {port}");
                    assert_eq!(bytes, &frame);
                }
                other => panic!("port {port}, core {i}: {other:?}"),
            }
        }
        assert_eq!(
            owners.len(),
            1,
            "port {port}: exactly one owner, {owners:?}"
        );
        handled[owners[0]] += 1;
    }
    assert!(
        handled[0] >= 10 && handled[1] >= 10,
        "connections spread over both cores: {handled:?}"
    );
}

#[test]
fn a_proxy_protocol_listener_names_the_client_to_the_backend_on_each_connection() {
    let mut w = World::with_proxy_protocol();
    let c = w.connect(40700);
    for _ in 0..3 {
        w.send(c, GET);
        let answer = w.read(c);
        assert!(answer.contains("proxy=198.18.0.9:40700\n"), "{answer:?}");
    }
    // An upstream connection that named one client is never reused for a request, even the same client's.
    assert_eq!(w.counter("l7_upstream_reused"), 0);
    assert_eq!(w.counter("l7_upstream_connects"), 3);
    assert_eq!(w.backends.iter().map(|b| b.accepted).sum::<usize>(), 3);
}
