//! Properties of the L4 path over arbitrary and mutated frames: `handle_frame` never panics, each
//! frame ends in exactly one outcome (one counted drop; or sent, queued, absorbed or handed off),
//! and when the input's checksums were right, every checksum of every output frame is right
//! (L4 checksums are updated, not verified: a wrong one in stays wrong out).

// Fixture builders run outside #[test] functions; a broken fixture should fail loudly.
#![allow(clippy::unwrap_used)]

mod lab;

use core::net::IpAddr;

use edgelb_engine::testing::{
    ethernet, icmpv4, icmpv6, ipv4, ipv6, tcp_segment, udp_datagram, TcpSpec,
};
use edgelb_engine::{CoreId, PortId};
use lab::*;
use proptest::prelude::*;

const IPV4: u16 = 0x0800;
const IPV6: u16 = 0x86dd;

fn ip4(a: core::net::Ipv4Addr) -> IpAddr {
    IpAddr::V4(a)
}

/// Frames of every L4 kind, for a lab whose flows were opened by [`open_flows`] with SNAT ports
/// `ports` (TCP v4, UDP, TCP v6) and TCP v4 backend `web`.
fn seeds(web: core::net::Ipv4Addr, ports: [u16; 3]) -> Vec<(PortId, Vec<u8>)> {
    let (c, v) = (ip4(CLIENT_V4), ip4(VIP_V4));
    let (c6, v6a, s6, w6) = (
        IpAddr::V6(client_v6()),
        IpAddr::V6(vip_v6()),
        IpAddr::V6(snat_v6()),
        IpAddr::V6(web_v6()),
    );
    let syn = TcpSpec {
        options: vec![2, 4, 5, 0xb4, 1, 1, 4, 2],
        ..TcpSpec::new(40000, 80)
    };
    let ack = TcpSpec {
        flags: 0x10,
        payload: b"data".to_vec(),
        ..TcpSpec::new(40000, 80)
    };
    let syn_ack = TcpSpec {
        flags: 0x12,
        ack: 1001,
        options: vec![2, 4, 5, 0xb4],
        ..TcpSpec::new(WEB_PORT, ports[0])
    };
    let out4 = |p: &[u8]| ethernet(PORT0_MAC, CLIENT_MAC, None, IPV4, p);
    let in4 = |mac, p: &[u8]| ethernet(PORT1_MAC, mac, Some(VLAN), IPV4, p);
    let quoted = ipv4(
        SNAT_V4,
        web,
        6,
        63,
        &tcp_segment(ip4(SNAT_V4), ip4(web), &TcpSpec::new(ports[0], WEB_PORT)),
    );
    let web_mac =
        [BACKEND1_MAC, BACKEND2_MAC, BACKEND3_MAC][WEB_V4.iter().position(|w| *w == web).unwrap()];
    let mut too_big = 1280u32.to_be_bytes().to_vec();
    too_big.extend_from_slice(&ipv6(
        snat_v6(),
        web_v6(),
        6,
        63,
        &tcp_segment(s6, w6, &TcpSpec::new(ports[2], WEB_PORT)),
    ));
    vec![
        (
            OUTSIDE,
            out4(&ipv4(CLIENT_V4, VIP_V4, 6, 64, &tcp_segment(c, v, &syn))),
        ),
        (
            OUTSIDE,
            out4(&ipv4(CLIENT_V4, VIP_V4, 6, 64, &tcp_segment(c, v, &ack))),
        ),
        (
            OUTSIDE,
            out4(&ipv4(
                CLIENT_V4,
                VIP_V4,
                17,
                64,
                &udp_datagram(c, v, 5000, 53, b"query"),
            )),
        ),
        (
            INSIDE,
            in4(
                web_mac,
                &ipv4(
                    web,
                    SNAT_V4,
                    6,
                    64,
                    &tcp_segment(ip4(web), ip4(SNAT_V4), &syn_ack),
                ),
            ),
        ),
        (
            INSIDE,
            in4(
                DNS_MAC,
                &ipv4(
                    DNS_V4,
                    SNAT_V4,
                    17,
                    64,
                    &udp_datagram(ip4(DNS_V4), ip4(SNAT_V4), DNS_PORT, ports[1], b"answer"),
                ),
            ),
        ),
        (
            INSIDE,
            in4(
                web_mac,
                &ipv4(web, SNAT_V4, 1, 64, &icmpv4(3, 4, [0, 0, 5, 0x78], &quoted)),
            ),
        ),
        (
            OUTSIDE,
            ethernet(
                PORT0_MAC,
                CLIENT_MAC,
                None,
                IPV6,
                &ipv6(client_v6(), vip_v6(), 6, 64, &tcp_segment(c6, v6a, &syn)),
            ),
        ),
        (
            INSIDE,
            ethernet(
                PORT1_MAC,
                WEB6_MAC,
                Some(VLAN),
                IPV6,
                &ipv6(
                    web_v6(),
                    snat_v6(),
                    58,
                    64,
                    &icmpv6(web_v6(), snat_v6(), 2, 0, &too_big),
                ),
            ),
        ),
    ]
}

/// A lab with a TCP v4, a UDP and a TCP v6 flow open; the seeds that reach them.
fn open_flows(core: CoreId) -> (Lab, Vec<(PortId, Vec<u8>)>) {
    let mut lab = Lab::with_core(
        snapshot_with(|i| i.settings.mss_clamp = Some(1400)),
        lab_capacity(),
        core,
    );
    lab.know_everyone();
    let probe = seeds(WEB_V4[0], [0; 3]);
    let mut ports = [0u16; 3];
    let mut web = WEB_V4[0];
    for (i, at) in [(0usize, 0usize), (1, 2), (2, 6)] {
        let (port, frame) = &probe[at];
        let sent = lab.rx(*port, frame);
        let f = &sent[0].1;
        ports[i] = match i {
            2 => u16::from_be_bytes([f[58], f[59]]),
            _ => u16::from_be_bytes([f[38], f[39]]),
        };
        if i == 0 {
            web = core::net::Ipv4Addr::new(f[34], f[35], f[36], f[37]);
        }
    }
    (lab, seeds(web, ports))
}

fn check_one(core: CoreId, port: PortId, frame: &[u8]) -> Result<(), TestCaseError> {
    let (mut lab, _) = open_flows(core);
    let before = lab.counters();
    let sent = lab.rx(port, frame);
    let after = lab.counters();
    let drops = after.total_drops() - before.total_drops();
    let queued = after.neighbour_queued - before.neighbour_queued;
    let absorbed = after.rx_absorbed - before.rx_absorbed;
    let handed = after.l4_handed_off - before.l4_handed_off;
    prop_assert_eq!(handed, lab.io.handed_off.len() as u64);
    prop_assert_eq!(after.tx_frames - before.tx_frames, sent.len() as u64);
    if drops == 1 {
        prop_assert!(sent.is_empty() && queued == 0 && absorbed == 0 && handed == 0);
    } else {
        prop_assert_eq!(drops, 0);
        prop_assert!(
            !sent.is_empty() || queued + absorbed + handed == 1,
            "no outcome"
        );
    }
    if checksum_fault(frame).is_none() {
        for (_, out) in &sent {
            prop_assert_eq!(checksum_fault(out), None, "{:02x?} -> {:02x?}", frame, out);
        }
    }
    Ok(())
}

#[test]
fn every_seed_is_sent_on() {
    let (mut lab, seeds) = open_flows(CoreId::SOLE);
    for (port, frame) in seeds {
        let sent = lab.rx(port, &frame);
        assert_eq!(sent.len(), 1, "{frame:02x?}");
        verify_checksums(&sent[0].1);
    }
    assert_eq!(lab.counters().total_drops(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn mutated_l4_frames(
        which in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        two_cores in any::<bool>(),
    ) {
        let core = if two_cores { CoreId { index: 1, count: 2 } } else { CoreId::SOLE };
        let (_, seeds) = open_flows(core);
        let (port, mut frame) = seeds[which.index(seeds.len())].clone();
        for (at, value) in flips {
            let i = at.index(frame.len());
            frame[i] = value;
        }
        if let Some(cut) = cut {
            frame.truncate(cut.index(frame.len() + 1));
        }
        check_one(core, port, &frame)?;
    }

    #[test]
    fn arbitrary_l4_payloads(proto in prop::sample::select(vec![6u8, 17]), dport in prop::sample::select(vec![53u16, 80, 2000, 2001]), body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut l4 = vec![0x9c, 0x40];
        l4.extend_from_slice(&dport.to_be_bytes());
        l4.extend_from_slice(&body);
        let frame = ethernet(PORT0_MAC, CLIENT_MAC, None, IPV4, &ipv4(CLIENT_V4, VIP_V4, proto, 64, &l4));
        check_one(CoreId::SOLE, OUTSIDE, &frame)?;
        let frame = ethernet(PORT1_MAC, DNS_MAC, Some(VLAN), IPV4, &ipv4(DNS_V4, SNAT_V4, proto, 64, &l4));
        check_one(CoreId { index: 0, count: 2 }, INSIDE, &frame)?;
    }
}
