//! The L7 TCP endpoint under numbers: thousands of concurrent connections on one endpoint, and bulk
//! transfers through a lossy wire that only retransmission (driven by `poll_timers` on a virtual
//! clock) can repair.

#![allow(clippy::unwrap_used)]

mod l7_tcp_harness;

use core::time::Duration;
use std::collections::HashMap;

use edgelb_engine::l7::tcp::{BufferSizes, ConnId, TcpConfig, TcpEvent, TcpState};
use l7_tcp_harness::*;

const VIP: &str = "198.18.1.1:443";

#[test]
fn five_thousand_concurrent_connections_exchange_data() {
    const N: u16 = 5_000;
    let small = TcpConfig {
        max_connections: 6_000,
        client_buffers: BufferSizes { rx: 1024, tx: 1024 },
        upstream_buffers: BufferSizes { rx: 1024, tx: 1024 },
        idle_timeout: Duration::from_secs(600),
        handshake_timeout: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(60),
        ..config()
    };
    let mut pair = Pair::new(small, small, VIP);
    let clients: Vec<ConnId> = (0..N)
        .map(|i| pair.connect(&format!("198.18.2.1:{}", 10_000 + i), VIP))
        .collect();
    pair.run_until(Duration::from_secs(10), |p| {
        p.server.connection_count() == usize::from(N)
    });
    assert!(
        pair.run_until(Duration::from_secs(10), |p| p.client.counters().connected
            == u64::from(N))
    );
    let mut by_port = HashMap::new();
    while let Some(s) = pair.take_accepted() {
        by_port.insert(pair.server.remote(s).unwrap().port(), s);
    }
    assert_eq!(by_port.len(), usize::from(N));
    assert_eq!(pair.server.connection_count(), usize::from(N));
    assert_eq!(pair.client.connection_count(), usize::from(N));
    assert_eq!(pair.server.counters().accepted, u64::from(N));

    // Every client says who it is; every server side answers with the same words reversed.
    for (i, &c) in clients.iter().enumerate() {
        assert_eq!(pair.client.state(c), Some(TcpState::Established));
        let msg = format!("hello from {i}");
        assert_eq!(pair.client.send(c, msg.as_bytes()).unwrap(), msg.len());
    }
    pair.run_until(Duration::from_secs(1), |_| false);
    for (port, &s) in &by_port {
        let mut got = Vec::new();
        drain(&mut pair.server, s, &mut got);
        let i = port - 10_000;
        assert_eq!(got, format!("hello from {i}").as_bytes());
        let answer: Vec<u8> = got.iter().rev().copied().collect();
        assert_eq!(pair.server.send(s, &answer).unwrap(), answer.len());
    }
    pair.run_until(Duration::from_secs(1), |_| false);
    for (i, &c) in clients.iter().enumerate() {
        let mut got = Vec::new();
        drain(&mut pair.client, c, &mut got);
        let want: Vec<u8> = format!("hello from {i}").bytes().rev().collect();
        assert_eq!(got, want, "connection {i}");
    }
    assert_eq!(pair.server.counters().rst_sent, 0);
    assert_eq!(pair.client.counters().rst_sent, 0);
}

/// Sends `len` bytes each way over one connection, dropping every `drop_every`th packet on the wire.
fn lossy_transfer(client: &str, vip: &str, len: usize, drop_every: usize) {
    let cfg = TcpConfig {
        client_buffers: BufferSizes {
            rx: 16 * 1024,
            tx: 16 * 1024,
        },
        upstream_buffers: BufferSizes {
            rx: 16 * 1024,
            tx: 16 * 1024,
        },
        idle_timeout: Duration::from_secs(600),
        ..config()
    };
    let mut pair = Pair::new(cfg, cfg, vip);
    let (c, s) = pair.establish(client, vip);
    pair.drop_every = drop_every;
    let (up, down) = (pattern(len, 1), pattern(len, 2));
    let (mut sent_up, mut sent_down) = (0, 0);
    let (mut got_up, mut got_down) = (Vec::new(), Vec::new());
    let done = pair.run_until(Duration::from_secs(600), |p| {
        sent_up += p.client.send(c, &up[sent_up..]).unwrap();
        sent_down += p.server.send(s, &down[sent_down..]).unwrap();
        drain(&mut p.server, s, &mut got_up);
        drain(&mut p.client, c, &mut got_down);
        got_up.len() == len && got_down.len() == len
    });
    assert!(
        done,
        "moved {} and {} of {len} bytes",
        got_up.len(),
        got_down.len()
    );
    assert!(got_up == up, "client to server bytes arrive in order");
    assert!(got_down == down, "server to client bytes arrive in order");
    assert!(pair.dropped > 10, "the wire lost {} packets", pair.dropped);
    let sent = pair.client.counters().segments_out + pair.server.counters().segments_out;
    assert!(
        sent > (2 * len / 1460) as u64,
        "retransmissions happened: {sent} segments"
    );

    pair.drop_every = 0;
    pair.client.close(c).unwrap();
    pair.server.close(s).unwrap();
    assert!(
        pair.run_until(Duration::from_secs(5), |p| p.client_events.contains(
            &TcpEvent::Closed {
                conn: c,
                reason: edgelb_engine::l7::tcp::CloseReason::Normal
            }
        ))
    );
}

#[test]
fn every_seventh_packet_lost_ipv4_still_delivers_in_order() {
    lossy_transfer("198.18.2.1:10000", VIP, 200_000, 7);
}

#[test]
fn every_fifth_packet_lost_ipv6_still_delivers_in_order() {
    lossy_transfer("[2001:2::2:1]:10000", "[2001:2::1]:443", 100_000, 5);
}
