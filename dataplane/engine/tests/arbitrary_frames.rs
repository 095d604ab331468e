//! Properties over arbitrary input: `handle_frame` never panics, and every frame ends either in
//! exactly one counted drop (and nothing sent) or in something done with it (a frame sent, a
//! packet queued for resolution, or information absorbed) with no drop.

// Fixture builders run outside #[test] functions; a broken fixture should fail loudly.
#![allow(clippy::unwrap_used)]

mod lab;

use core::net::IpAddr;

use edgelb_engine::testing::{
    arp, ethernet, icmpv4_echo, icmpv6_echo, ipv4, ipv6, neighbour_advert, neighbour_solicit,
    padded,
};
use edgelb_engine::PortId;
use lab::*;
use proptest::prelude::*;

fn seeds() -> Vec<(PortId, Vec<u8>)> {
    let sn = v6("ff02::1:ff00:1");
    vec![
        (
            OUTSIDE,
            ethernet(
                [0xff; 6],
                CLIENT_MAC,
                None,
                0x0806,
                &arp(1, CLIENT_MAC, CLIENT_V4, [0; 6], PORT0_V4),
            ),
        ),
        (
            OUTSIDE,
            ethernet(
                PORT0_MAC,
                CLIENT_MAC,
                None,
                0x0806,
                &arp(2, CLIENT_MAC, CLIENT_V4, PORT0_MAC, PORT0_V4),
            ),
        ),
        (
            INSIDE,
            ethernet(
                [0xff; 6],
                BACKEND_MAC,
                Some(VLAN),
                0x0806,
                &arp(1, BACKEND_MAC, BACKEND_V4, [0; 6], VIP_V4),
            ),
        ),
        (
            OUTSIDE,
            padded(
                ethernet(
                    PORT0_MAC,
                    CLIENT_MAC,
                    None,
                    0x0800,
                    &ipv4(CLIENT_V4, PORT0_V4, 1, 64, &icmpv4_echo(1, 2, b"p")),
                ),
                60,
            ),
        ),
        (
            OUTSIDE,
            ethernet(
                PORT0_MAC,
                CLIENT_MAC,
                None,
                0x0800,
                &ipv4(CLIENT_V4, VIP_V4, 17, 64, &[0; 8]),
            ),
        ),
        (
            OUTSIDE,
            ethernet(
                PORT0_MAC,
                CLIENT_MAC,
                None,
                0x86dd,
                &ipv6(
                    client_v6(),
                    port0_v6(),
                    58,
                    64,
                    &icmpv6_echo(client_v6(), port0_v6(), 1, 2, b"p"),
                ),
            ),
        ),
        (
            OUTSIDE,
            ethernet(
                [0x33, 0x33, 0xff, 0, 0, 1],
                CLIENT_MAC,
                None,
                0x86dd,
                &ipv6(
                    client_v6(),
                    sn,
                    58,
                    255,
                    &neighbour_solicit(client_v6(), sn, port0_v6(), Some(CLIENT_MAC)),
                ),
            ),
        ),
        (
            OUTSIDE,
            ethernet(
                PORT0_MAC,
                CLIENT_MAC,
                None,
                0x86dd,
                &ipv6(
                    client_v6(),
                    port0_v6(),
                    58,
                    255,
                    &neighbour_advert(client_v6(), port0_v6(), client_v6(), 0x60, Some(CLIENT_MAC)),
                ),
            ),
        ),
    ]
}

/// Feeds one frame to a fresh lab and checks the accounting.
fn check_one(port: PortId, frame: &[u8], know_client: bool) -> Result<(), TestCaseError> {
    let mut lab = Lab::new();
    if know_client {
        lab.know(OUTSIDE, IpAddr::V4(CLIENT_V4), CLIENT_MAC);
        lab.know(OUTSIDE, IpAddr::V6(client_v6()), CLIENT_MAC);
    }
    let before = lab.counters();
    let sent = lab.rx(port, frame);
    let after = lab.counters();
    let drops = after.total_drops() - before.total_drops();
    let queued = after.neighbour_queued - before.neighbour_queued;
    let absorbed = after.rx_absorbed - before.rx_absorbed;
    prop_assert_eq!(after.rx_frames - before.rx_frames, 1);
    prop_assert_eq!(after.tx_frames - before.tx_frames, sent.len() as u64);
    if drops == 1 {
        prop_assert!(
            sent.is_empty() && queued == 0 && absorbed == 0,
            "dropped, yet did something: {:?}",
            sent
        );
    } else {
        prop_assert_eq!(drops, 0);
        prop_assert!(
            !sent.is_empty() || queued == 1 || absorbed == 1,
            "neither dropped nor handled"
        );
    }
    Ok(())
}

#[test]
fn every_seed_reaches_the_stage_it_is_for() {
    for (port, frame) in seeds() {
        let mut lab = Lab::new();
        lab.rx(port, &frame);
        let c = lab.counters();
        let udp = frame.get(14 + 9) == Some(&17) && frame.get(12..14) == Some(&[8, 0]);
        let want = if udp {
            c.drops_for(edgelb_engine::DropReason::NoListener)
        } else {
            0
        };
        assert_eq!(c.total_drops(), want, "{frame:02x?}");
        assert_eq!(c.total_drops(), u64::from(udp));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(port in 0u16..3, frame in proptest::collection::vec(any::<u8>(), 0..128), know in any::<bool>()) {
        check_one(PortId(port), &frame, know)?;
    }

    #[test]
    fn mutated_valid_frames(
        which in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        know in any::<bool>(),
    ) {
        let seeds = seeds();
        let (port, mut frame) = seeds[which.index(seeds.len())].clone();
        for (at, value) in flips {
            let i = at.index(frame.len());
            frame[i] = value;
        }
        if let Some(cut) = cut {
            frame.truncate(cut.index(frame.len() + 1));
        }
        check_one(port, &frame, know)?;
    }

    #[test]
    fn a_long_run_on_one_worker_never_panics(
        frames in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u8>()), 1..64),
    ) {
        let seeds = seeds();
        let mut lab = Lab::new();
        for (which, at, value) in frames {
            let (port, mut frame) = seeds[which.index(seeds.len())].clone();
            let i = at.index(frame.len());
            frame[i] = value;
            let before = lab.counters().total_drops();
            lab.rx(port, &frame);
            prop_assert!(lab.counters().total_drops() - before <= 1);
            lab.advance_ms(700);
            lab.poll();
        }
    }
}
