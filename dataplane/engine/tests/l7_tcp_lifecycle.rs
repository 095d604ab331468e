//! The L7 TCP endpoint over a connection's life against a second endpoint on a virtual clock: connects that
//! fail, idle timeouts, slot reuse, back-pressure, TIME-WAIT reuse and recycling.

#![allow(clippy::unwrap_used)]

mod l7_tcp_harness;

use core::time::Duration;

use edgelb_engine::l7::tcp::{
    CloseReason, ConnError, ConnectError, TcpConfig, TcpEndpoint, TcpEvent, TcpState,
};
use l7_tcp_harness::*;
use smoltcp::wire::TcpControl;

const VIP: &str = "198.18.1.1:443";

#[test]
fn connect_to_a_silent_peer_retransmits_then_fails() {
    let mut ep = TcpEndpoint::new(config()).unwrap();
    let mut syns = Vec::new();
    let c = ep
        .connect(
            at_ms(0),
            "198.18.2.1:10000".parse().unwrap(),
            "198.18.3.1:80".parse().unwrap(),
            &mut |p| syns.push((0, parse(p))),
        )
        .unwrap();
    assert_eq!(ep.state(c), Some(TcpState::SynSent));
    assert_eq!(ep.recv(c, &mut [0; 4]), Ok(0));
    assert_eq!(ep.send(c, b"early"), Err(ConnError::InvalidState));
    let mut now = at_ms(0);
    while let Some(next) = ep.next_deadline() {
        now = next;
        ep.poll_timers(now, &mut |p| {
            syns.push((now.as_nanos() / 1_000_000, parse(p)))
        });
        if ep.connection_count() == 0 || now > at_ms(10_000) {
            break;
        }
    }
    let syn_count = syns
        .iter()
        .filter(|(_, p)| p.control == TcpControl::Syn)
        .count();
    assert!(syn_count >= 2, "the SYN is retransmitted: {syns:?}");
    let first = &syns[0].1;
    assert_eq!(
        (first.ack, first.mss, first.window_scale),
        (None, Some(1460), Some(0))
    );
    assert!(syns
        .iter()
        .filter(|(_, p)| p.control == TcpControl::Syn)
        .all(|(_, p)| p.seq == first.seq));
    assert_eq!(
        ep.poll_event(),
        Some(TcpEvent::ConnectFailed {
            conn: c,
            reason: CloseReason::HandshakeTimeout
        })
    );
    assert_eq!(now, at_ms(2_000), "fails exactly at connect_timeout");
    assert_eq!(ep.poll_event(), None);
    assert_eq!(ep.connection_count(), 0);
    assert_eq!(ep.counters().connect_failed, 1);
    assert_eq!(ep.counters().handshake_timeouts, 1);
    assert_eq!(ep.state(c), None);
}

#[test]
fn connect_refused_by_rst_fails_with_reset() {
    let mut pair = Pair::new(config(), config(), VIP);
    // Nothing listens on port 80 of the server endpoint: smoltcp answers the SYN with RST.
    let c = pair.connect("198.18.2.1:10000", "198.18.1.1:80");
    pair.pump();
    assert_eq!(
        pair.client_events.pop_front(),
        Some(TcpEvent::ConnectFailed {
            conn: c,
            reason: CloseReason::Reset
        })
    );
    assert_eq!(pair.client.connection_count(), 0);
}

#[test]
fn connect_checks_its_addresses_and_the_four_tuple() {
    let mut ep = TcpEndpoint::new(TcpConfig {
        max_connections: 1,
        ..config()
    })
    .unwrap();
    let mut sink = |_: &[u8]| {};
    let mut go = |ep: &mut TcpEndpoint, l: &str, r: &str| {
        ep.connect(at_ms(0), l.parse().unwrap(), r.parse().unwrap(), &mut sink)
    };
    assert_eq!(
        go(&mut ep, "198.18.2.1:0", "198.18.3.1:80"),
        Err(ConnectError::Unaddressable)
    );
    assert_eq!(
        go(&mut ep, "198.18.2.1:1", "[2001:2::1]:80"),
        Err(ConnectError::Unaddressable)
    );
    assert_eq!(
        go(&mut ep, "198.18.2.1:1", "224.0.0.1:80"),
        Err(ConnectError::Unaddressable)
    );
    assert!(!ep.has_connection(
        "198.18.2.1:1".parse().unwrap(),
        "198.18.3.1:80".parse().unwrap()
    ));
    assert!(go(&mut ep, "198.18.2.1:1", "198.18.3.1:80").is_ok());
    assert!(ep.has_connection(
        "198.18.2.1:1".parse().unwrap(),
        "198.18.3.1:80".parse().unwrap()
    ));
    assert!(!ep.has_connection(
        "198.18.3.1:80".parse().unwrap(),
        "198.18.2.1:1".parse().unwrap()
    ));
    assert_eq!(
        go(&mut ep, "198.18.2.1:1", "198.18.3.1:80"),
        Err(ConnectError::InUse)
    );
    assert_eq!(
        go(&mut ep, "198.18.2.1:2", "198.18.3.1:80"),
        Err(ConnectError::Limit)
    );
}

#[test]
fn idle_connection_is_reset_and_reported() {
    let long = TcpConfig {
        idle_timeout: Duration::from_secs(3600),
        ..config()
    };
    let mut pair = Pair::new(config(), long, VIP);
    let (c, s) = pair.establish("198.18.2.1:10000", VIP);
    let start = pair.now;
    assert!(pair.run_until(Duration::from_secs(60), |p| !p.server_events.is_empty()));
    assert_eq!(
        pair.server_events.pop_front(),
        Some(TcpEvent::Closed {
            conn: s,
            reason: CloseReason::IdleTimeout
        })
    );
    assert_eq!(pair.now.saturating_since(start), Duration::from_secs(30));
    assert_eq!(
        pair.client_events.pop_front(),
        Some(TcpEvent::Closed {
            conn: c,
            reason: CloseReason::Reset
        })
    );
    assert_eq!(pair.server.counters().idle_timeouts, 1);
    assert_eq!(pair.client.counters().resets_received, 1);
    assert_eq!(
        (
            pair.server.connection_count(),
            pair.client.connection_count()
        ),
        (0, 0)
    );
}

#[test]
fn traffic_pushes_the_idle_timeout_back() {
    let mut pair = Pair::new(config(), config(), VIP);
    let (c, s) = pair.establish("198.18.2.1:10000", VIP);
    for _ in 0..4 {
        pair.advance_to(pair.now + Duration::from_secs(20));
        assert_eq!(pair.client.send(c, b"ping").unwrap(), 4);
        pair.pump();
        drain(&mut pair.server, s, &mut Vec::new());
    }
    assert_eq!(
        pair.server.state(s),
        Some(TcpState::Established),
        "80 s of traffic every 20 s"
    );
}

#[test]
fn aborted_slot_is_reused_and_the_stale_id_refused() {
    let mut pair = Pair::new(config(), config(), VIP);
    let (c, s) = pair.establish("198.18.2.1:10000", VIP);
    pair.client.abort(c).unwrap();
    assert_eq!(pair.client.send(c, b"x"), Err(ConnError::UnknownConnection));
    pair.pump();
    assert_eq!(
        pair.server_events.pop_front(),
        Some(TcpEvent::Closed {
            conn: s,
            reason: CloseReason::Reset
        })
    );
    assert!(
        pair.client_events.is_empty(),
        "no event after abort: {:?}",
        pair.client_events
    );
    assert_eq!(pair.client.counters().aborted, 1);

    let (c2, s2) = pair.establish("198.18.2.1:10001", VIP);
    assert_eq!((c2.slot(), s2.slot()), (c.slot(), s.slot()));
    assert_ne!(c2.generation(), c.generation());
    assert_eq!(pair.client.state(c), None);
    assert_eq!(
        pair.client.recv(c, &mut [0; 4]),
        Err(ConnError::UnknownConnection)
    );
    assert_eq!(pair.client.close(c), Err(ConnError::UnknownConnection));
    assert_eq!(pair.server.send(s, b"x"), Err(ConnError::UnknownConnection));
    assert_eq!(pair.client.state(c2), Some(TcpState::Established));
    assert_eq!(
        pair.client.idle_sockets(),
        (0, 0),
        "the aborted socket was reused"
    );
}

#[test]
fn writable_follows_a_send_cut_short() {
    let mut pair = Pair::new(config(), config(), VIP);
    let (c, s) = pair.establish("198.18.2.1:10000", VIP);
    let data = pattern(10_000, 1);
    let n = pair.client.send(c, &data).unwrap();
    assert_eq!(n, 4096, "the transmit buffer holds 4096");
    assert_eq!(pair.client.send_space(c), Some(0));
    let mut got = Vec::new();
    assert!(pair.run_until(Duration::from_secs(1), |p| {
        drain(&mut p.server, s, &mut got);
        p.client_events.contains(&TcpEvent::Writable(c))
    }));
    assert!(
        got.len() <= 4096 && got[..] == data[..got.len()],
        "{} bytes, in order",
        got.len()
    );
    assert!(pair.client.send_space(c).unwrap() > 0);
    assert_eq!(
        pair.client.counters().segments_out,
        pair.server.counters().segments_in
    );
}

#[test]
fn one_flush_sends_every_segment_the_window_allows() {
    let mut pair = Pair::new(config(), config(), VIP);
    let (c, _) = pair.establish("198.18.2.1:10000", VIP);
    let data = pattern(4096, 3);
    assert_eq!(pair.client.send(c, &data).unwrap(), 4096);
    assert_eq!(
        pair.client.next_deadline(),
        Some(pair.now),
        "queued output asks for a flush now"
    );
    let mut out = Vec::new();
    pair.client.flush_all(pair.now, &mut |p| out.push(parse(p)));
    let sizes: Vec<usize> = out.iter().map(|p| p.payload.len()).collect();
    assert_eq!(sizes, [1460, 1460, 1176]);
    assert_eq!(out[1].seq, out[0].seq.wrapping_add(1460));
    assert_eq!(out[2].seq, out[1].seq.wrapping_add(1460));
    let joined: Vec<u8> = out.iter().flat_map(|p| p.payload.clone()).collect();
    assert!(joined == data);
    assert!(
        pair.client.next_deadline() > Some(pair.now),
        "only the retransmission timer is left"
    );
}

#[test]
fn client_syn_reuses_a_four_tuple_in_time_wait() {
    let mut pair = Pair::new(config(), config(), VIP);
    let (c, s) = pair.establish("198.18.2.1:10000", VIP);
    // The server closes first, so the server side ends in TIME-WAIT.
    pair.server.close(s).unwrap();
    pair.pump();
    pair.client.close(c).unwrap();
    pair.pump();
    assert!(pair.server_events.contains(&TcpEvent::Closed {
        conn: s,
        reason: CloseReason::Normal
    }));
    assert!(pair.client_events.contains(&TcpEvent::Closed {
        conn: c,
        reason: CloseReason::Normal
    }));
    assert_eq!(
        (
            pair.server.connection_count(),
            pair.client.connection_count()
        ),
        (1, 0)
    );
    let (_, s2) = pair.establish("198.18.2.1:10000", VIP);
    assert_eq!(pair.server.state(s2), Some(TcpState::Established));
    assert_eq!(pair.server.counters().time_wait_reused, 1);
    assert_eq!(
        pair.server.connection_count(),
        1,
        "the TIME-WAIT slot was freed"
    );
}

#[test]
fn abort_in_time_wait_sends_no_rst_and_lets_time_wait_finish() {
    let mut pair = Pair::new(config(), config(), VIP);
    let (c, s) = pair.establish("198.18.2.1:10000", VIP);
    pair.collect_events = false;
    pair.client.close(c).unwrap();
    pair.server.close(s).unwrap();
    pair.pump();
    assert_eq!(pair.client.state(c), Some(TcpState::TimeWait));
    pair.client.abort(c).unwrap();
    let mut out = Vec::new();
    pair.client.flush_all(pair.now, &mut |p| out.push(parse(p)));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(pair.client.counters().aborted, 0);
    assert_eq!(
        pair.client.poll_event(),
        None,
        "abort drops the pending events"
    );
    assert_eq!(pair.client.connection_count(), 1);
    pair.advance_to(pair.now + Duration::from_secs(11));
    assert_eq!(pair.client.connection_count(), 0);
}

#[test]
fn at_the_limit_the_oldest_time_wait_slot_is_recycled() {
    let vip = VIP;
    let client_config = TcpConfig {
        max_connections: 2,
        ..config()
    };
    let mut pair = Pair::new(config(), client_config, vip);
    // Two connections the client closes first: both wait out TIME-WAIT in the client's two slots.
    for port in [41000, 41001] {
        let local = format!("198.18.3.1:{port}");
        let (c, s) = pair.establish(&local, vip);
        pair.client.close(c).unwrap();
        assert!(pair.run_until(Duration::from_secs(1), |p| p
            .server_events
            .contains(&TcpEvent::PeerClosed(s))));
        pair.server.close(s).unwrap();
        assert!(pair.run_until(Duration::from_secs(1), |p| p
            .client_events
            .iter()
            .any(|e| matches!(e, TcpEvent::Closed { conn, .. } if *conn == c))));
    }
    assert_eq!(pair.client.connection_count(), 2, "both in TIME-WAIT");
    // A third connection takes the oldest TIME-WAIT slot instead of failing at the limit.
    let c = pair.connect("198.18.3.1:41002", vip);
    assert!(pair.run_until(Duration::from_secs(1), |p| p
        .client_events
        .contains(&TcpEvent::Connected(c))));
    assert_eq!(pair.client.counters().time_wait_recycled, 1);
    assert_eq!(pair.client.connection_count(), 2);
}
