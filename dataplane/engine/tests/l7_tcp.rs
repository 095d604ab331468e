//! The L7 TCP endpoint against hand-built segments (exact bytes of what it answers) and against a
//! second endpoint: handshake options, data and FIN, RST, malformed packets, the connection limit
//! (`l7_tcp_lifecycle.rs` has connects, timeouts, slot reuse and TIME-WAIT).

#![allow(clippy::unwrap_used)]

mod l7_tcp_harness;

use core::time::Duration;

use edgelb_engine::l7::tcp::{
    BufferSizes, CloseReason, ConnError, PacketVerdict, TcpConfig, TcpDrop, TcpEndpoint, TcpEvent,
    TcpState,
};
use l7_tcp_harness::*;
use smoltcp::wire::TcpControl;

const CLIENT: &str = "198.18.0.10:40000";
const VIP: &str = "198.18.1.1:443";

fn server(config: TcpConfig) -> TcpEndpoint {
    let mut ep = TcpEndpoint::new(config).unwrap();
    ep.set_listeners(&[(VIP.parse().unwrap(), LISTENER)]);
    ep
}

fn feed(ep: &mut TcpEndpoint, ms: u64, packet: &[u8]) -> (PacketVerdict, Vec<Parsed>) {
    let mut out = Vec::new();
    let verdict = ep.handle_packet(at_ms(ms), packet, &mut |p| out.push(parse(p)));
    (verdict, out)
}

fn syn<'a>(src: &str, dst: &str, wscale: Option<u8>) -> Seg<'a> {
    Seg {
        window_scale: wscale,
        mss: Some(1460),
        sack_permitted: true,
        ..Seg::new(src, dst, TcpControl::Syn, 1000, None)
    }
}

#[test]
fn syn_ack_carries_mss_and_window_scale_for_a_large_receive_buffer() {
    let big = TcpConfig {
        client_buffers: BufferSizes {
            rx: 128 * 1024,
            tx: 4096,
        },
        ..config()
    };
    let mut ep = server(big);
    let (verdict, out) = feed(&mut ep, 1, &syn(CLIENT, VIP, Some(7)).build());
    assert_eq!(verdict, PacketVerdict::Consumed);
    assert_eq!(out.len(), 1);
    let sa = &out[0];
    assert_eq!(
        (sa.src, sa.dst),
        (VIP.parse().unwrap(), CLIENT.parse().unwrap())
    );
    assert_eq!(sa.control, TcpControl::Syn);
    assert_eq!(sa.ack, Some(1001));
    assert_eq!(sa.mss, Some(1500 - 20 - 20));
    // 128 KiB needs 18 bits: shift 2. The SYN-ACK's own window is never scaled.
    assert_eq!(sa.window_scale, Some(2));
    assert_eq!(sa.window, 65535);
    assert!(sa.sack_permitted);
    assert_eq!(sa.ttl, 64);
    assert!(sa.payload.is_empty());
    assert_eq!(ep.counters().syn_received, 1);
    assert_eq!(
        ep.poll_event(),
        None,
        "no event before the handshake completes"
    );

    let ack = Seg::new(
        CLIENT,
        VIP,
        TcpControl::None,
        1001,
        Some(sa.seq.wrapping_add(1)),
    )
    .build();
    let (verdict, out) = feed(&mut ep, 2, &ack);
    assert_eq!(verdict, PacketVerdict::Consumed);
    assert!(out.is_empty(), "{out:?}");
    let Some(TcpEvent::Accepted { conn, listener }) = ep.poll_event() else {
        panic!("no Accepted")
    };
    assert_eq!(listener, LISTENER);
    assert_eq!(ep.state(conn), Some(TcpState::Established));
    assert_eq!(ep.local(conn), Some(VIP.parse().unwrap()));
    assert_eq!(ep.remote(conn), Some(CLIENT.parse().unwrap()));
    assert_eq!(ep.counters().accepted, 1);
}

#[test]
fn syn_ack_window_scale_follows_the_client_and_the_buffer() {
    // Small buffer: scale option answered with shift 0; no option from the client: none back.
    let mut ep = server(config());
    let (_, out) = feed(&mut ep, 1, &syn(CLIENT, VIP, Some(7)).build());
    assert_eq!((out[0].window_scale, out[0].window), (Some(0), 4096));
    let (_, out) = feed(&mut ep, 1, &syn("198.18.0.10:40001", VIP, None).build());
    assert_eq!(out[0].window_scale, None);
    assert_eq!(out[0].mss, Some(1460));
}

#[test]
fn ipv6_handshake_and_mss() {
    let vip6 = "[2001:2::1]:443";
    let client6 = "[2001:2:0:1::10]:50000";
    let mut ep = TcpEndpoint::new(config()).unwrap();
    ep.set_listeners(&[(vip6.parse().unwrap(), LISTENER)]);
    let (verdict, out) = feed(&mut ep, 1, &syn(client6, vip6, Some(7)).build());
    assert_eq!(verdict, PacketVerdict::Consumed);
    assert_eq!(
        (out[0].src, out[0].dst),
        (vip6.parse().unwrap(), client6.parse().unwrap())
    );
    assert_eq!(out[0].mss, Some(1500 - 40 - 20));
    assert_eq!(out[0].ack, Some(1001));
}

#[test]
fn segment_for_no_connection_gets_smoltcps_rst_and_rst_gets_nothing() {
    let mut ep = server(config());
    let stray = Seg {
        payload: b"xyz",
        ..Seg::new(CLIENT, VIP, TcpControl::Psh, 5000, Some(777))
    }
    .build();
    let (verdict, out) = feed(&mut ep, 1, &stray);
    assert_eq!(verdict, PacketVerdict::ResetSent);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].control, out[0].seq, out[0].ack),
        (TcpControl::Rst, 777, None)
    );
    assert_eq!(
        (out[0].src, out[0].dst),
        (VIP.parse().unwrap(), CLIENT.parse().unwrap())
    );

    // A SYN to a port with no listener: RST|ACK acknowledging the SYN.
    let (verdict, out) = feed(&mut ep, 1, &syn(CLIENT, "198.18.1.1:8443", None).build());
    assert_eq!(verdict, PacketVerdict::ResetSent);
    assert_eq!(
        (out[0].control, out[0].seq, out[0].ack),
        (TcpControl::Rst, 0, Some(1001))
    );

    let rst = Seg::new(CLIENT, VIP, TcpControl::Rst, 5000, None).build();
    let (verdict, out) = feed(&mut ep, 1, &rst);
    assert_eq!(verdict, PacketVerdict::Dropped(TcpDrop::NoConnection));
    assert!(out.is_empty());
    let c = ep.counters();
    assert_eq!(
        (c.no_connection, c.rst_sent, c.segments_out, c.segments_in),
        (3, 2, 2, 3)
    );
    assert_eq!(ep.connection_count(), 0);
}

#[test]
fn malformed_packets_are_dropped_and_counted() {
    let mut ep = server(config());
    for junk in [&[][..], &[0x45, 0, 0], &[0x60; 39], &[0x10; 60]] {
        let (verdict, out) = feed(&mut ep, 1, junk);
        assert_eq!(
            (verdict, out.len()),
            (PacketVerdict::Dropped(TcpDrop::Malformed), 0)
        );
    }
    let mut bad_sum = syn(CLIENT, VIP, None).build();
    let last = bad_sum.len() - 1;
    bad_sum[last] ^= 0xff; // MSS option byte: TCP checksum now wrong
    let (verdict, out) = feed(&mut ep, 1, &bad_sum);
    // The SYN looked like one to the demux, smoltcp refused it: the slot is given back at once.
    assert_eq!((verdict, out.len()), (PacketVerdict::Consumed, 0));
    assert_eq!(ep.connection_count(), 0);
    assert_eq!(ep.counters().bad_packets, 4);
}

#[test]
fn at_the_connection_limit_a_syn_is_dropped_silently() {
    let mut ep = server(TcpConfig {
        max_connections: 2,
        ..config()
    });
    for port in [40000, 40001] {
        let (verdict, out) = feed(
            &mut ep,
            1,
            &syn(&format!("198.18.0.10:{port}"), VIP, None).build(),
        );
        assert_eq!((verdict, out.len()), (PacketVerdict::Consumed, 1));
    }
    let (verdict, out) = feed(&mut ep, 1, &syn("198.18.0.10:40002", VIP, None).build());
    assert_eq!(verdict, PacketVerdict::Dropped(TcpDrop::ConnectionLimit));
    assert!(out.is_empty(), "no RST at the limit: {out:?}");
    assert_eq!(ep.counters().syn_dropped_limit, 1);
    assert_eq!(ep.counters().rst_sent, 0);
    assert_eq!(ep.connection_count(), 2);
    // The half-open ones time out (RST to their clients), and the slots take new SYNs again.
    let mut out = Vec::new();
    ep.poll_timers(at_ms(1 + 3_000), &mut |p| out.push(parse(p)));
    assert!(
        out.iter().filter(|p| p.control == TcpControl::Rst).count() == 2,
        "{out:?}"
    );
    assert_eq!(ep.connection_count(), 0);
    assert_eq!(ep.counters().half_open_dropped, 2);
    assert_eq!(ep.counters().handshake_timeouts, 2);
    let (verdict, _) = feed(&mut ep, 3_002, &syn("198.18.0.10:40002", VIP, None).build());
    assert_eq!(verdict, PacketVerdict::Consumed);
}

#[test]
fn data_and_fin_both_ways_ipv4_and_ipv6() {
    for (client, vip) in [
        ("198.18.2.1:10000", VIP),
        ("[2001:2::2:1]:10000", "[2001:2::1]:443"),
    ] {
        let mut pair = Pair::new(config(), config(), vip);
        let (c, s) = pair.establish(client, vip);
        assert_eq!(pair.client.send(c, b"GET / HTTP/1.1\r\n\r\n").unwrap(), 18);
        assert!(pair.run_until(Duration::from_secs(1), |p| p
            .server_events
            .contains(&TcpEvent::Readable(s))));
        let mut got = Vec::new();
        assert!(!drain(&mut pair.server, s, &mut got));
        assert_eq!(got, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(pair.server.send(s, b"HTTP/1.1 200 OK\r\n\r\n").unwrap(), 19);

        pair.client.close(c).unwrap();
        assert!(pair.run_until(Duration::from_secs(1), |p| p
            .server_events
            .contains(&TcpEvent::PeerClosed(s))));
        let mut reply = Vec::new();
        assert!(!drain(&mut pair.client, c, &mut reply));
        assert_eq!(reply, b"HTTP/1.1 200 OK\r\n\r\n");
        let mut rest = Vec::new();
        assert!(
            drain(&mut pair.server, s, &mut rest),
            "server sees the end of the stream"
        );
        assert!(rest.is_empty());
        assert_eq!(pair.server.state(s), Some(TcpState::CloseWait));
        assert_eq!(
            pair.server.send(s, b"bye").unwrap(),
            3,
            "half-closed: the server may still send"
        );

        pair.server.close(s).unwrap();
        assert!(
            pair.run_until(Duration::from_secs(1), |p| p.server_events.contains(
                &TcpEvent::Closed {
                    conn: s,
                    reason: CloseReason::Normal
                }
            ))
        );
        assert!(pair.client_events.contains(&TcpEvent::PeerClosed(c)));
        assert!(pair.client_events.contains(&TcpEvent::Closed {
            conn: c,
            reason: CloseReason::Normal
        }));
        // Read after Closed is refused; the bytes sent before the FIN were all readable before.
        assert_eq!(
            pair.client.recv(c, &mut [0; 8]),
            Err(ConnError::UnknownConnection)
        );
        assert_eq!(pair.server.connection_count(), 0);
        assert_eq!(
            pair.client.connection_count(),
            1,
            "the closing side keeps TIME-WAIT"
        );
        pair.advance_to(pair.now + Duration::from_secs(11));
        assert_eq!(pair.client.connection_count(), 0);
        assert_eq!(pair.client.idle_sockets(), (0, 1));
        assert_eq!(pair.server.idle_sockets(), (1, 0));
    }
}

#[test]
fn buffered_data_stays_readable_until_the_closed_event_is_drained() {
    let mut pair = Pair::new(config(), config(), VIP);
    let (c, s) = pair.establish("198.18.2.1:10000", VIP);
    pair.collect_events = false;
    pair.client.close(c).unwrap();
    pair.pump();
    // The server answers and closes at once: data, FIN and TIME-WAIT reach the client together.
    pair.server.send(s, b"last words").unwrap();
    pair.server.close(s).unwrap();
    pair.pump();
    assert_eq!(pair.client.poll_event(), Some(TcpEvent::Readable(c)));
    let mut got = Vec::new();
    assert!(
        drain(&mut pair.client, c, &mut got),
        "data, then the end of the stream"
    );
    assert_eq!(got, b"last words");
    assert_eq!(pair.client.poll_event(), Some(TcpEvent::PeerClosed(c)));
    assert_eq!(pair.client.recv(c, &mut [0; 4]), Err(ConnError::Finished));
    assert_eq!(
        pair.client.poll_event(),
        Some(TcpEvent::Closed {
            conn: c,
            reason: CloseReason::Normal
        })
    );
    assert_eq!(
        pair.client.recv(c, &mut [0; 4]),
        Err(ConnError::UnknownConnection)
    );
    assert_eq!(pair.client.poll_event(), None);
}
