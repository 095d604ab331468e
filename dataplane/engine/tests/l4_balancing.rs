//! How the L4 path balances: the spread of new flows, draining and removed backends (reset or
//! dropped), client-ip affinity, core ownership of SNAT ports (hand-off, RSS), and expiry.

// Fixture builders run outside #[test] functions; a broken fixture should fail loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

mod lab;

use core::net::{IpAddr, Ipv4Addr};
use core::time::Duration;
use std::sync::Arc;

use edgelb_engine::l4::toeplitz;
use edgelb_engine::l4::{OnBackendRemoved, RssSpec};
use edgelb_engine::maglev::hash_source;
use edgelb_engine::snapshot::Snapshot;
use edgelb_engine::testing::{ethernet, ipv4, refresh_ipv4_checksum, tcp_segment, TcpSpec};
use edgelb_engine::{Capacity, CoreId, DropReason};
use lab::*;

const IPV4: u16 = 0x0800;

fn ip4(a: Ipv4Addr) -> IpAddr {
    IpAddr::V4(a)
}

fn tcp_from(client: Ipv4Addr, sport: u16, spec: TcpSpec) -> Vec<u8> {
    let spec = TcpSpec {
        sport,
        dport: 80,
        ..spec
    };
    let seg = tcp_segment(ip4(client), ip4(VIP_V4), &spec);
    ethernet(
        PORT0_MAC,
        CLIENT_MAC,
        None,
        IPV4,
        &ipv4(client, VIP_V4, 6, 64, &seg),
    )
}

fn syn_from(client: Ipv4Addr, sport: u16) -> Vec<u8> {
    tcp_from(client, sport, TcpSpec::new(0, 0))
}

fn ack_from(sport: u16, ack: u32) -> Vec<u8> {
    let spec = TcpSpec {
        seq: 1001,
        ack,
        flags: 0x10,
        ..TcpSpec::new(0, 0)
    };
    tcp_from(CLIENT_V4, sport, spec)
}

/// The backend and SNAT port of the one IPv4 frame sent towards the inside (tagged IPv4/TCP);
/// ARP probes of stale neighbours may go with it.
fn backend_of(sent: &Sent) -> (Ipv4Addr, u16) {
    let ip: Vec<_> = sent.iter().filter(|(_, f)| f[16..18] == [8, 0]).collect();
    assert_eq!(ip.len(), 1, "{sent:02x?}");
    let (port, f) = ip[0];
    assert_eq!(*port, INSIDE);
    (
        Ipv4Addr::new(f[34], f[35], f[36], f[37]),
        u16::from_be_bytes([f[38], f[39]]),
    )
}

fn mac_of(backend: Ipv4Addr) -> [u8; 6] {
    let i = WEB_V4.iter().position(|b| *b == backend).unwrap();
    [BACKEND1_MAC, BACKEND2_MAC, BACKEND3_MAC][i]
}

fn from_backend(backend: Ipv4Addr, snat_port: u16, spec: TcpSpec) -> Vec<u8> {
    let spec = TcpSpec {
        sport: WEB_PORT,
        dport: snat_port,
        ..spec
    };
    let seg = tcp_segment(ip4(backend), ip4(SNAT_V4), &spec);
    ethernet(
        PORT1_MAC,
        mac_of(backend),
        Some(VLAN),
        IPV4,
        &ipv4(backend, SNAT_V4, 6, 64, &seg),
    )
}

fn lab_of(snapshot: Snapshot, core: CoreId) -> Lab {
    let capacity = Capacity {
        flows: 8192,
        ..lab_capacity()
    };
    let mut lab = Lab::with_core(snapshot, capacity, core);
    lab.know_everyone();
    lab
}

fn swap(lab: &mut Lab, snapshot: Snapshot) {
    snapshot.validate().unwrap();
    lab.worker.set_snapshot(Arc::new(snapshot));
}

/// Polls the timers until the removed-backend sweep is over; returns what they sent.
fn settle(lab: &mut Lab) -> Sent {
    let mut sent = Vec::new();
    for _ in 0..64 {
        sent.extend(lab.poll());
        if lab.worker.next_timer().is_none_or(|t| t > lab.now) {
            return sent;
        }
    }
    panic!("the sweep never ended");
}

#[test]
fn new_flows_spread_evenly_over_three_backends() {
    let mut lab = lab_of(
        snapshot_with(|i| i.settings.maglev_size = 65_537),
        CoreId::SOLE,
    );
    let n = 6000u16;
    let mut counts = [0u32; 3];
    for sport in 10_000..10_000 + n {
        let (b, _) = backend_of(&lab.rx(OUTSIDE, &syn_from(CLIENT_V4, sport)));
        counts[WEB_V4.iter().position(|w| *w == b).unwrap()] += 1;
    }
    let expected = f64::from(n) / 3.0;
    for c in counts {
        let off = (f64::from(c) - expected).abs() / expected;
        assert!(off <= 0.08, "{counts:?}");
    }
    assert_eq!(lab.counters().l4_new_flows, u64::from(n));
}

#[test]
fn a_draining_backend_keeps_its_flows_and_gets_no_new_ones() {
    let mut lab = lab_of(snapshot(), CoreId::SOLE);
    let mut old = Vec::new();
    for sport in 20_000..20_060 {
        old.push((
            sport,
            backend_of(&lab.rx(OUTSIDE, &syn_from(CLIENT_V4, sport))).0,
        ));
    }
    let draining = WEB_V4[0];
    assert!(old.iter().any(|(_, b)| *b == draining));
    swap(
        &mut lab,
        snapshot_with(|i| i.pools[0].backends[0].draining = true),
    );
    assert!(settle(&mut lab).is_empty());
    for (sport, b) in &old {
        let (now, _) = backend_of(&lab.rx(OUTSIDE, &ack_from(*sport, 1)));
        assert_eq!(now, *b, "flow from port {sport} moved");
    }
    for sport in 30_000..30_300 {
        let (b, _) = backend_of(&lab.rx(OUTSIDE, &syn_from(CLIENT_V4, sport)));
        assert_ne!(b, draining);
    }
    assert_eq!(lab.counters().l4_flows_removed_backend_gone, 0);
}

/// Opens a flow through the handshake (client ACKs 5001, backend ACKs 1001); returns its backend
/// and SNAT port.
fn handshake(lab: &mut Lab, sport: u16) -> (Ipv4Addr, u16) {
    let (backend, snat_port) = backend_of(&lab.rx(OUTSIDE, &syn_from(CLIENT_V4, sport)));
    let syn_ack = TcpSpec {
        seq: 5000,
        ack: 1001,
        flags: 0x12,
        ..TcpSpec::new(0, 0)
    };
    assert_eq!(
        lab.rx(INSIDE, &from_backend(backend, snat_port, syn_ack))
            .len(),
        1
    );
    assert_eq!(
        backend_of(&lab.rx(OUTSIDE, &ack_from(sport, 5001))).0,
        backend
    );
    (backend, snat_port)
}

fn without(backend: Ipv4Addr, policy: OnBackendRemoved) -> Snapshot {
    snapshot_with(|i| {
        i.pools[0].backends.retain(|b| b.addr != ip4(backend));
        i.settings.on_backend_removed = policy;
    })
}

/// A RST as the engine builds it: identification 0, don't-fragment, TTL 64, no ACK, window 0.
fn rst(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, seq: u32) -> Vec<u8> {
    let spec = TcpSpec {
        seq,
        flags: 0x04,
        window: 0,
        ..TcpSpec::new(sport, dport)
    };
    let mut p = ipv4(src, dst, 6, 64, &tcp_segment(ip4(src), ip4(dst), &spec));
    p[4..8].copy_from_slice(&[0, 0, 0x40, 0]);
    refresh_ipv4_checksum(&mut p);
    p
}

#[test]
fn a_removed_backend_with_reset_gets_a_rst_each_way_with_the_right_sequence_numbers() {
    let mut lab = lab_of(snapshot(), CoreId::SOLE);
    let (backend, snat_port) = handshake(&mut lab, 40_000);
    swap(&mut lab, without(backend, OnBackendRemoved::Reset));
    let sent = settle(&mut lab);
    let to_client = ethernet(
        CLIENT_MAC,
        PORT0_MAC,
        None,
        IPV4,
        &rst(VIP_V4, CLIENT_V4, 80, 40_000, 5001),
    );
    let to_backend = tagged(
        ethernet(
            mac_of(backend),
            PORT1_MAC,
            None,
            IPV4,
            &rst(SNAT_V4, backend, snat_port, WEB_PORT, 1001),
        ),
        VLAN,
    );
    assert_eq!(sent, vec![(OUTSIDE, to_client), (INSIDE, to_backend)]);
    let c = lab.counters();
    assert_eq!((c.l4_rst_sent, c.l4_flows_removed_backend_gone), (2, 1));
    assert_eq!(c.flows.active, 0);
    // The client's next segment has no flow.
    assert!(lab.rx(OUTSIDE, &ack_from(40_000, 5001)).is_empty());
    assert_eq!(lab.counters().drops_for(DropReason::L4NoFlow), 1);
}

#[test]
fn a_removed_backend_with_drop_loses_its_flows_silently() {
    let mut lab = lab_of(snapshot(), CoreId::SOLE);
    let (backend, snat_port) = handshake(&mut lab, 40_000);
    let (other, _) = handshake(&mut lab, 40_001);
    swap(&mut lab, without(backend, OnBackendRemoved::Drop));
    assert!(settle(&mut lab).is_empty());
    let c = lab.counters();
    let gone = 1 + u64::from(other == backend);
    assert_eq!((c.l4_rst_sent, c.l4_flows_removed_backend_gone), (0, gone));
    let answer = TcpSpec {
        seq: 5001,
        ack: 1001,
        flags: 0x10,
        ..TcpSpec::new(0, 0)
    };
    assert!(lab
        .rx(INSIDE, &from_backend(backend, snat_port, answer))
        .is_empty());
    assert_eq!(lab.counters().drops_for(DropReason::L4NoFlow), 1);
}

#[test]
fn client_ip_affinity_keeps_a_clients_backend_until_its_timeout() {
    let timeout = Duration::from_secs(60);
    let with_affinity = |extra: bool| {
        snapshot_with(move |i| {
            i.listeners[0].affinity = Some(timeout);
            if extra {
                for last in 14..=20 {
                    let addr = ip4(Ipv4Addr::new(198, 19, 0, last));
                    i.pools[0].backends.push(backend(addr, WEB_PORT));
                }
            }
        })
    };
    let (before, after) = (with_affinity(false), with_affinity(true));
    // A client whose address the grown pool's table maps elsewhere.
    let seed = before.l4.settings().maglev_seed;
    let pick = |s: &Snapshot, c: Ipv4Addr| {
        s.l4.pools()[0]
            .pick(hash_source(seed, ip4(c)))
            .unwrap()
            .addr
    };
    let client = (20..=250)
        .map(|i| Ipv4Addr::new(198, 18, 0, i))
        .find(|c| pick(&before, *c) != pick(&after, *c))
        .unwrap();
    let mut lab = lab_of(before.clone(), CoreId::SOLE);
    let first = backend_of(&lab.rx(OUTSIDE, &syn_from(client, 1000))).0;
    assert_eq!(ip4(first), pick(&before, client));
    for sport in 1001..1040 {
        assert_eq!(
            backend_of(&lab.rx(OUTSIDE, &syn_from(client, sport))).0,
            first
        );
    }
    // Other clients spread over the pool.
    let spread: std::collections::BTreeSet<_> = (2..60)
        .map(|i| backend_of(&lab.rx(OUTSIDE, &syn_from(Ipv4Addr::new(198, 18, 1, i), 9))).0)
        .collect();
    assert!(spread.len() > 1);

    swap(&mut lab, after.clone());
    settle(&mut lab);
    // Where the flow from `sport` went (its packet may wait for a neighbour by now).
    let flow_to = |lab: &mut Lab, sport: u16| {
        lab.rx(OUTSIDE, &syn_from(client, sport));
        let flow = lab.worker.flows().find(|f| f.fwd.sport == sport).unwrap();
        flow.rev.src
    };
    lab.advance_ms(59_000);
    assert_eq!(flow_to(&mut lab, 2000), ip4(first));
    // 60 s after that last new flow, the client is forgotten and the new table decides.
    lab.advance_ms(60_000);
    let now = flow_to(&mut lab, 2001);
    assert_eq!(now, pick(&after, client));
    assert_ne!(now, ip4(first));
}

#[test]
fn return_traffic_for_another_cores_snat_port_is_handed_to_it_once() {
    let core0 = CoreId { index: 0, count: 2 };
    let mut lab = lab_of(snapshot(), core0);
    // Core 0 of 2 takes even SNAT ports only.
    for sport in 100..140 {
        let (_, port) = backend_of(&lab.rx(OUTSIDE, &syn_from(CLIENT_V4, sport)));
        assert_eq!(port % 2, 0);
    }
    let stray = from_backend(WEB_V4[0], 3001, TcpSpec::new(0, 0));
    assert!(lab.rx(INSIDE, &stray).is_empty());
    assert_eq!(lab.io.handed_off, vec![(1, INSIDE, stray.clone())]);
    let c = lab.counters();
    assert_eq!((c.l4_handed_off, c.total_drops()), (1, 0));

    // On core 1 it has no flow either: it stays there, dropped, never handed on.
    let mut core1 = lab_of(snapshot(), CoreId { index: 1, count: 2 });
    core1.worker.handle_handed_off(
        core1.now,
        INSIDE,
        edgelb_engine::TestBuffer::from_frame(&stray),
        &mut core1.io,
    );
    assert!(core1.io.handed_off.is_empty());
    assert_eq!(core1.counters().drops_for(DropReason::L4NoFlow), 1);

    // Core 0's own port with no flow is dropped, not handed off.
    let own = from_backend(WEB_V4[0], 3000, TcpSpec::new(0, 0));
    assert!(lab.rx(INSIDE, &own).is_empty());
    assert_eq!(lab.io.handed_off.len(), 1);
    assert_eq!(lab.counters().drops_for(DropReason::L4NoFlow), 1);
}

/// Microsoft's RSS verification key.
const RSS_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

#[test]
fn with_rss_the_snat_port_brings_the_return_traffic_to_this_core() {
    let rss = RssSpec {
        key: RSS_KEY.to_vec(),
        reta: (0..128).map(|i| i % 4).collect(),
    };
    let s = snapshot_with(|i| i.rss = vec![None, Some(rss.clone())]);
    let core = CoreId { index: 2, count: 4 };
    let mut lab = lab_of(s, core);
    let queue = |b: Ipv4Addr, port: u16| {
        let h = toeplitz::hash_tuple(&rss.key, ip4(b), ip4(SNAT_V4), WEB_PORT, port);
        toeplitz::queue(&rss.reta, h)
    };
    let mut ports = std::collections::BTreeSet::new();
    for sport in 500..600 {
        let (b, port) = backend_of(&lab.rx(OUTSIDE, &syn_from(CLIENT_V4, sport)));
        assert_eq!(queue(b, port), Some(2), "port {port} to {b}");
        ports.insert(port);
    }
    assert!(ports.len() > 90, "ports are spread: {}", ports.len());
    // Return traffic the NIC would give core 3 is handed there.
    let port = (1024..).find(|p| queue(WEB_V4[1], *p) == Some(3)).unwrap();
    let stray = from_backend(WEB_V4[1], port, TcpSpec::new(0, 0));
    assert!(lab.rx(INSIDE, &stray).is_empty());
    assert_eq!(lab.io.handed_off, vec![(3, INSIDE, stray)]);
}

#[test]
fn idle_flows_expire_and_the_timer_says_when() {
    let mut lab = lab_of(snapshot(), CoreId::SOLE);
    let soon = |lab: &Lab| {
        lab.worker
            .next_timer()
            .is_some_and(|t| t <= lab.now + Duration::from_millis(1))
    };
    assert!(!soon(&lab), "only neighbour timers, far off");
    handshake(&mut lab, 40_000);
    assert!(soon(&lab), "the expiry walk");
    lab.advance_ms(899_000);
    lab.poll();
    assert_eq!(lab.counters().flows.active, 1);
    lab.advance_ms(2_000);
    // The expiry walk visits 1024 slots a millisecond: 8 runs cover the table.
    for _ in 0..8 {
        lab.poll();
        lab.advance_ms(1);
    }
    let c = lab.counters();
    assert_eq!((c.flows.active, c.flows.expirations), (0, 1));
    lab.poll();
    assert!(!soon(&lab), "no flow left to expire");
}
