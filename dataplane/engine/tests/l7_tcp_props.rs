//! Properties of the L7 TCP endpoint under arbitrary input: random bytes and random well-formed
//! segments (valid checksums, any flags, numbers and options) aimed at live connections never
//! panic, never exceed the connection limit, and leave the endpoint able to serve a new client.

#![allow(clippy::unwrap_used)]

mod l7_tcp_harness;

use core::time::Duration;

use edgelb_engine::l7::tcp::{TcpConfig, TcpEvent};
use l7_tcp_harness::*;
use proptest::prelude::*;
use smoltcp::wire::TcpControl;

const VIP: &str = "198.18.1.1:443";

fn control() -> impl Strategy<Value = TcpControl> {
    prop_oneof![
        Just(TcpControl::None),
        Just(TcpControl::Psh),
        Just(TcpControl::Syn),
        Just(TcpControl::Fin),
        Just(TcpControl::Rst),
    ]
}

#[derive(Clone, Debug)]
struct RandomSeg {
    from_client: bool,
    src_port: u16,
    control: TcpControl,
    seq: u32,
    ack: Option<u32>,
    window: u16,
    window_scale: Option<u8>,
    mss: Option<u16>,
    payload: Vec<u8>,
    advance_ms: u64,
}

fn random_seg() -> impl Strategy<Value = RandomSeg> {
    (
        any::<bool>(),
        prop_oneof![Just(10_000u16), Just(10_001), any::<u16>()],
        control(),
        any::<u32>(),
        proptest::option::of(any::<u32>()),
        any::<u16>(),
        proptest::option::of(0u8..20),
        proptest::option::of(any::<u16>()),
        proptest::collection::vec(any::<u8>(), 0..64),
        0u64..3_000,
    )
        .prop_map(
            |(
                from_client,
                src_port,
                control,
                seq,
                ack,
                window,
                window_scale,
                mss,
                payload,
                advance_ms,
            )| {
                RandomSeg {
                    from_client,
                    src_port,
                    control,
                    seq,
                    ack,
                    window,
                    window_scale,
                    mss,
                    payload,
                    advance_ms,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_segments_at_live_connections_never_break_the_endpoint(
        segs in proptest::collection::vec(random_seg(), 1..40),
        junk in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..8),
    ) {
        let cfg = TcpConfig { max_connections: 4, ..config() };
        let mut pair = Pair::new(cfg, cfg, VIP);
        let (c, s) = pair.establish("198.18.2.1:10000", VIP);
        pair.client.send(c, b"some data in flight").unwrap();
        pair.server.send(s, b"and some back").unwrap();
        pair.flush();
        for seg in &segs {
            let (src, dst) = if seg.from_client {
                (format!("198.18.2.1:{}", seg.src_port), VIP.to_string())
            } else {
                (format!("198.18.1.1:{}", seg.src_port.max(1)), "198.18.2.1:10000".to_string())
            };
            let packet = Seg {
                window: seg.window,
                window_scale: seg.window_scale,
                mss: seg.mss,
                payload: &seg.payload,
                ..Seg::new(&src, &dst, seg.control, seg.seq, seg.ack)
            }
            .build();
            let mut sink = |_: &[u8]| {};
            if seg.from_client {
                pair.server.handle_packet(pair.now, &packet, &mut sink);
            } else {
                pair.client.handle_packet(pair.now, &packet, &mut sink);
            }
            prop_assert!(pair.server.connection_count() <= 4);
            pair.advance_to(pair.now + Duration::from_millis(seg.advance_ms));
        }
        for bytes in &junk {
            pair.server.handle_packet(pair.now, bytes, &mut |_| {});
        }
        // Whatever happened, the endpoint drains its events and serves a fresh client after the
        // half-open and idle connections have timed out.
        pair.advance_to(pair.now + Duration::from_secs(31));
        pair.advance_to(pair.now + Duration::from_secs(11));
        pair.server_events.clear();
        pair.client_events.clear();
        let fresh = pair.connect("198.18.2.2:20000", VIP);
        prop_assert!(pair.run_until(Duration::from_secs(5), |p| p.client_events.contains(&TcpEvent::Connected(fresh))));
    }
}
