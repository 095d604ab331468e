//! Neighbour resolution end to end through the public API: queueing and flushing, limits,
//! retransmits and giving up, expiry and refresh, eviction, and updates shared between cores.

// Fixture builders run outside #[test] functions; a broken fixture should fail loudly.
#![allow(clippy::unwrap_used)]

mod lab;

use core::net::{IpAddr, Ipv4Addr};
use core::time::Duration;
use std::sync::Arc;

use edgelb_engine::snapshot::NeighbourTimers;
use edgelb_engine::testing::{arp, ethernet, icmpv4_echo, ipv4, ipv6, neighbour_advert};
use edgelb_engine::{Capacity, DropReason, NeighbourState, NeighbourView, PortId};
use lab::*;
use smoltcp::wire::{
    ArpOperation, ArpRepr, EthernetAddress, EthernetProtocol, Icmpv6Repr, NdiscRepr,
    RawHardwareAddress,
};

const ARP: u16 = 0x0806;
const IPV4: u16 = 0x0800;
const IPV6: u16 = 0x86dd;

fn udp_to_client(tag: u8) -> Vec<u8> {
    ipv4(PORT0_V4, CLIENT_V4, 17, 64, &[0, 1, 0, 2, 0, 9, 0, 0, tag])
}

fn arp_request_bytes(dst: [u8; 6], target: Ipv4Addr) -> Vec<u8> {
    let req = arp_packet(ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: EthernetAddress(PORT0_MAC),
        source_protocol_addr: PORT0_V4,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    });
    eth(dst, PORT0_MAC, EthernetProtocol::Arp, &req)
}

fn client_arp_reply() -> Vec<u8> {
    ethernet(
        PORT0_MAC,
        CLIENT_MAC,
        None,
        ARP,
        &arp(2, CLIENT_MAC, CLIENT_V4, PORT0_MAC, PORT0_V4),
    )
}

fn view(lab: &Lab, ip: IpAddr) -> Option<NeighbourView> {
    lab.worker.neighbours().find(|n| n.ip == ip)
}

#[test]
fn packets_wait_for_resolution_and_leave_in_order() {
    let mut lab = Lab::new();
    let first = lab.send_ip(&udp_to_client(1));
    assert_eq!(
        first,
        vec![(OUTSIDE, arp_request_bytes([0xff; 6], CLIENT_V4))]
    );
    assert!(
        lab.send_ip(&udp_to_client(2)).is_empty(),
        "one request per resolution"
    );
    assert!(lab.send_ip(&udp_to_client(3)).is_empty());
    assert_eq!(
        view(&lab, IpAddr::V4(CLIENT_V4)).unwrap().state,
        NeighbourState::Incomplete
    );

    let flushed = lab.rx(OUTSIDE, &client_arp_reply());
    let expected: Vec<_> = (1..=3)
        .map(|tag| {
            (
                OUTSIDE,
                ethernet(CLIENT_MAC, PORT0_MAC, None, IPV4, &udp_to_client(tag)),
            )
        })
        .collect();
    assert_eq!(flushed, expected);
    let c = lab.counters();
    assert_eq!(
        (
            c.neighbour_queued,
            c.neighbour_flushed,
            c.arp_learned,
            c.rx_absorbed
        ),
        (3, 3, 1, 1)
    );
    let v = view(&lab, IpAddr::V4(CLIENT_V4)).unwrap();
    assert_eq!(
        (v.state, v.mac, v.port),
        (NeighbourState::Reachable, Some(CLIENT_MAC), OUTSIDE)
    );
}

#[test]
fn an_echo_request_from_an_unknown_host_is_answered_once_it_resolves() {
    let mut lab = Lab::new();
    let request = ipv4(CLIENT_V4, PORT0_V4, 1, 64, &icmpv4_echo(3, 4, b"x"));
    let sent = lab.rx(
        OUTSIDE,
        &ethernet(PORT0_MAC, CLIENT_MAC, None, IPV4, &request),
    );
    assert_eq!(
        sent,
        vec![(OUTSIDE, arp_request_bytes([0xff; 6], CLIENT_V4))]
    );
    let sent = lab.rx(OUTSIDE, &client_arp_reply());
    assert_eq!(sent.len(), 1);
    assert_eq!(&sent[0].1[..12], &[CLIENT_MAC, PORT0_MAC].concat()[..]);
    assert_eq!(sent[0].1[14 + 20], 0, "an echo reply");
}

#[test]
fn ipv6_resolution_uses_a_solicitation_and_a_solicited_advert() {
    let mut lab = Lab::new();
    let packet = |tag: u8| {
        ipv6(
            port0_v6(),
            client_v6(),
            17,
            64,
            &[0, 1, 0, 2, 0, 9, 0, 0, tag],
        )
    };
    let sent = lab.send_ip(&packet(1));
    let sn = v6("ff02::1:ff00:9");
    let ns = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
        target_addr: client_v6(),
        lladdr: Some(RawHardwareAddress::from(EthernetAddress(PORT0_MAC))),
    });
    let expected = ipv6_packet(port0_v6(), sn, 255, &icmpv6_message(port0_v6(), sn, ns));
    assert_eq!(
        sent,
        vec![(
            OUTSIDE,
            eth(
                [0x33, 0x33, 0xff, 0, 0, 9],
                PORT0_MAC,
                EthernetProtocol::Ipv6,
                &expected
            )
        )]
    );
    assert!(lab.send_ip(&packet(2)).is_empty());

    let na = neighbour_advert(client_v6(), port0_v6(), client_v6(), 0x60, Some(CLIENT_MAC));
    let sent = lab.rx(
        OUTSIDE,
        &ethernet(
            PORT0_MAC,
            CLIENT_MAC,
            None,
            IPV6,
            &ipv6(client_v6(), port0_v6(), 58, 255, &na),
        ),
    );
    let expected: Vec<_> = (1..=2)
        .map(|t| {
            (
                OUTSIDE,
                ethernet(CLIENT_MAC, PORT0_MAC, None, IPV6, &packet(t)),
            )
        })
        .collect();
    assert_eq!(sent, expected);
    assert_eq!(
        view(&lab, IpAddr::V6(client_v6())).unwrap().state,
        NeighbourState::Reachable
    );
    assert_eq!(lab.counters().nd_learned, 1);
}

#[test]
fn an_unsolicited_advert_creates_nothing() {
    let mut lab = Lab::new();
    let all = v6("ff02::1");
    let na = neighbour_advert(client_v6(), all, client_v6(), 0x20, Some(CLIENT_MAC));
    let frame = ethernet(
        [0x33, 0x33, 0, 0, 0, 1],
        CLIENT_MAC,
        None,
        IPV6,
        &ipv6(client_v6(), all, 58, 255, &na),
    );
    assert!(lab.rx(OUTSIDE, &frame).is_empty());
    assert_eq!(lab.worker.neighbours().count(), 0);
    assert_eq!(
        (lab.counters().rx_absorbed, lab.counters().total_drops()),
        (1, 0)
    );
}

#[test]
fn the_total_queue_is_bounded_across_neighbours() {
    let mut s = snapshot();
    s.neighbour.queue_total = 3;
    let mut lab = Lab::with(s, Capacity::default());
    for tag in 0..2 {
        lab.send_ip(&udp_to_client(tag));
    }
    let to_backend = ipv4(PORT1_V4, BACKEND_V4, 17, 64, &[0; 8]);
    assert_eq!(
        lab.send_ip(&to_backend).len(),
        1,
        "the backend's ARP request"
    );
    // The third packet filled the pool: a new neighbour still gets its request, its packet is dropped.
    assert_eq!(
        lab.send_ip(&ipv4(
            PORT1_V4,
            Ipv4Addr::new(198, 19, 0, 10),
            17,
            64,
            &[0; 8]
        ))
        .len(),
        1
    );
    assert!(lab.send_ip(&udp_to_client(9)).is_empty());
    assert_eq!(lab.counters().drops_for(DropReason::NeighbourQueueFull), 2);
    assert_eq!(lab.counters().neighbour_queued, 3);
}

#[test]
fn resolution_retransmits_then_gives_up_and_can_start_again() {
    let mut lab = Lab::new();
    lab.send_ip(&udp_to_client(1));
    lab.send_ip(&udp_to_client(2));
    assert_eq!(
        lab.worker.next_timer(),
        Some(lab.now + Duration::from_secs(1))
    );
    lab.advance_ms(999);
    assert!(lab.poll().is_empty(), "not yet");
    lab.advance_ms(1);
    assert_eq!(
        lab.poll(),
        vec![(OUTSIDE, arp_request_bytes([0xff; 6], CLIENT_V4))]
    );
    lab.advance_ms(1000);
    assert_eq!(lab.poll().len(), 1);
    lab.advance_ms(1000);
    assert!(lab.poll().is_empty(), "gave up after 3 requests");
    let c = lab.counters();
    assert_eq!((c.arp_requests_sent, c.neighbour_failed), (3, 1));
    assert_eq!(c.drops_for(DropReason::NeighbourUnresolved), 2);
    assert_eq!(lab.worker.neighbours().count(), 0);
    assert_eq!(lab.worker.next_timer(), None);
    assert_eq!(
        lab.send_ip(&udp_to_client(3)).len(),
        1,
        "a fresh resolution"
    );
}

#[test]
fn a_stale_entry_is_used_and_probed_by_unicast_then_confirmed() {
    let mut lab = Lab::new();
    lab.know(OUTSIDE, IpAddr::V4(CLIENT_V4), CLIENT_MAC);
    lab.advance_ms(30_000);
    assert!(
        lab.poll().is_empty(),
        "nothing to do for a stale entry that is not used"
    );
    assert_eq!(
        view(&lab, IpAddr::V4(CLIENT_V4)).unwrap().state,
        NeighbourState::Stale
    );
    let sent = lab.send_ip(&udp_to_client(1));
    assert_eq!(
        sent,
        vec![
            (OUTSIDE, arp_request_bytes(CLIENT_MAC, CLIENT_V4)),
            (
                OUTSIDE,
                ethernet(CLIENT_MAC, PORT0_MAC, None, IPV4, &udp_to_client(1))
            ),
        ]
    );
    assert_eq!(
        view(&lab, IpAddr::V4(CLIENT_V4)).unwrap().state,
        NeighbourState::Probe
    );
    assert_eq!(lab.send_ip(&udp_to_client(2)).len(), 1, "no second probe");
    assert!(lab.rx(OUTSIDE, &client_arp_reply()).is_empty());
    let v = view(&lab, IpAddr::V4(CLIENT_V4)).unwrap();
    assert_eq!(
        (v.state, v.age),
        (NeighbourState::Reachable, Duration::ZERO)
    );
}

/// Regression: Linux answers a unicast probe with an advert that leaves out the target link-layer
/// address option; the entry must still become reachable (RFC 4861 section 7.2.5), not time out.
#[test]
fn an_advert_without_a_link_layer_option_confirms_a_probed_entry() {
    let mut lab = Lab::new();
    lab.know(OUTSIDE, IpAddr::V6(client_v6()), CLIENT_MAC);
    lab.advance_ms(31_000);
    let packet = ipv6(
        port0_v6(),
        client_v6(),
        17,
        64,
        &[0, 1, 0, 2, 0, 9, 0, 0, 1],
    );
    assert_eq!(
        lab.send_ip(&packet).len(),
        2,
        "the packet and a unicast probe"
    );
    assert_eq!(
        view(&lab, IpAddr::V6(client_v6())).unwrap().state,
        NeighbourState::Probe
    );
    let na = neighbour_advert(client_v6(), port0_v6(), client_v6(), 0x40, None);
    let frame = ethernet(
        PORT0_MAC,
        CLIENT_MAC,
        None,
        IPV6,
        &ipv6(client_v6(), port0_v6(), 58, 255, &na),
    );
    assert!(lab.rx(OUTSIDE, &frame).is_empty());
    let v = view(&lab, IpAddr::V6(client_v6())).unwrap();
    assert_eq!(
        (v.state, v.mac),
        (NeighbourState::Reachable, Some(CLIENT_MAC))
    );

    // An incomplete entry cannot be completed by such an advert: it names no MAC.
    let mut lab = Lab::new();
    assert_eq!(lab.send_ip(&packet).len(), 1, "a multicast solicitation");
    assert!(lab.rx(OUTSIDE, &frame).is_empty());
    assert_eq!(
        view(&lab, IpAddr::V6(client_v6())).unwrap().state,
        NeighbourState::Incomplete
    );
}

#[test]
fn an_unanswered_probe_removes_the_entry() {
    let mut lab = Lab::new();
    lab.know(OUTSIDE, IpAddr::V4(CLIENT_V4), CLIENT_MAC);
    lab.advance_ms(31_000);
    assert_eq!(lab.send_ip(&udp_to_client(1)).len(), 2);
    for _ in 0..2 {
        lab.advance_ms(1000);
        assert_eq!(
            lab.poll(),
            vec![(OUTSIDE, arp_request_bytes(CLIENT_MAC, CLIENT_V4))]
        );
    }
    lab.advance_ms(1000);
    assert!(lab.poll().is_empty());
    assert_eq!(lab.worker.neighbours().count(), 0);
    assert_eq!(lab.counters().neighbour_failed, 1);
}

#[test]
fn unused_entries_expire_after_stale_gc() {
    let mut lab = Lab::new();
    lab.know(OUTSIDE, IpAddr::V4(CLIENT_V4), CLIENT_MAC);
    lab.know(INSIDE, IpAddr::V4(BACKEND_V4), BACKEND_MAC);
    lab.advance_ms(20_000);
    // Used at 20 s (still reachable, so no probe): lives until 80 s; the backend, unused, goes at 60 s.
    assert_eq!(lab.send_ip(&udp_to_client(1)).len(), 1);
    lab.advance_ms(39_999);
    assert!(lab.poll().is_empty());
    assert_eq!(lab.worker.neighbours().count(), 2);
    lab.advance_ms(1);
    assert!(lab.poll().is_empty());
    let left: Vec<_> = lab.worker.neighbours().map(|n| n.ip).collect();
    assert_eq!(left, vec![IpAddr::V4(CLIENT_V4)]);
    lab.advance_ms(20_000);
    assert!(lab.poll().is_empty());
    assert_eq!(lab.worker.neighbours().count(), 0);
    assert_eq!(lab.counters().neighbour_expired, 2);
}

#[test]
fn a_full_table_evicts_the_least_recently_active_resolved_entry() {
    let mut lab = Lab::with(
        snapshot(),
        Capacity {
            neighbours: 2,
            ..Capacity::default()
        },
    );
    lab.know(OUTSIDE, IpAddr::V4(CLIENT_V4), CLIENT_MAC);
    lab.advance_ms(10);
    lab.know(INSIDE, IpAddr::V4(BACKEND_V4), BACKEND_MAC);
    lab.advance_ms(10);
    lab.send_ip(&udp_to_client(1)); // the client is now the more recently active
    lab.io.take();
    let other = Ipv4Addr::new(198, 19, 0, 10);
    assert_eq!(
        lab.send_ip(&ipv4(PORT1_V4, other, 17, 64, &[0; 8])).len(),
        1
    );
    let mut left: Vec<_> = lab.worker.neighbours().map(|n| n.ip).collect();
    left.sort();
    assert_eq!(left, vec![IpAddr::V4(CLIENT_V4), IpAddr::V4(other)]);
    assert_eq!(lab.counters().neighbour_evicted, 1);
}

#[test]
fn what_one_core_learns_the_other_applies_and_flushes() {
    let mut a = Lab::new();
    let mut b = Lab::new();
    assert_eq!(b.send_ip(&udp_to_client(7)).len(), 1, "core b asks");
    // The reply lands on core a (RSS put it there).
    assert!(a.rx(OUTSIDE, &client_arp_reply()).is_empty());
    let update = a.worker.poll_neighbour_update().unwrap();
    assert_eq!(update.ip, IpAddr::V4(CLIENT_V4));
    assert_eq!(
        (update.mac, update.port, update.confirmed),
        (CLIENT_MAC, OUTSIDE, true)
    );
    assert_eq!(a.worker.poll_neighbour_update(), None);
    b.worker.apply_neighbour_update(b.now, update, &mut b.io);
    assert_eq!(
        b.io.take(),
        vec![(
            OUTSIDE,
            ethernet(CLIENT_MAC, PORT0_MAC, None, IPV4, &udp_to_client(7))
        )]
    );
    assert_eq!(
        b.worker.poll_neighbour_update(),
        None,
        "applied updates are not passed on again"
    );
    assert_eq!(b.counters().neighbour_updates_applied, 1);
}

/// Regression (found in the lab with two workers): the solicited advert answering core b's
/// solicitation lands on core a, which had no entry; it must still be learned and passed on.
#[test]
fn a_solicited_advert_on_another_core_resolves_the_asking_core() {
    let mut a = Lab::new();
    let mut b = Lab::new();
    let packet = ipv6(
        port0_v6(),
        client_v6(),
        17,
        64,
        &[0, 1, 0, 2, 0, 9, 0, 0, 7],
    );
    assert_eq!(b.send_ip(&packet).len(), 1, "core b solicits");
    let na = neighbour_advert(client_v6(), port0_v6(), client_v6(), 0x60, Some(CLIENT_MAC));
    let frame = ethernet(
        PORT0_MAC,
        CLIENT_MAC,
        None,
        IPV6,
        &ipv6(client_v6(), port0_v6(), 58, 255, &na),
    );
    assert!(a.rx(OUTSIDE, &frame).is_empty());
    let update = a.worker.poll_neighbour_update().unwrap();
    assert_eq!(
        (update.ip, update.mac, update.confirmed),
        (IpAddr::V6(client_v6()), CLIENT_MAC, true)
    );
    b.worker.apply_neighbour_update(b.now, update, &mut b.io);
    assert_eq!(
        b.io.take(),
        vec![(
            OUTSIDE,
            ethernet(CLIENT_MAC, PORT0_MAC, None, IPV6, &packet)
        )]
    );
}

#[test]
fn arp_learning_follows_the_merge_rule() {
    let mut lab = Lab::new();
    // A request for someone else teaches nothing new.
    let other = Ipv4Addr::new(198, 18, 0, 77);
    lab.rx(
        OUTSIDE,
        &ethernet(
            [0xff; 6],
            CLIENT_MAC,
            None,
            ARP,
            &arp(1, CLIENT_MAC, CLIENT_V4, [0; 6], other),
        ),
    );
    assert_eq!(lab.worker.neighbours().count(), 0);
    // A request for us creates a stale entry (heard, not confirmed).
    lab.rx(
        OUTSIDE,
        &ethernet(
            [0xff; 6],
            CLIENT_MAC,
            None,
            ARP,
            &arp(1, CLIENT_MAC, CLIENT_V4, [0; 6], PORT0_V4),
        ),
    );
    assert_eq!(
        view(&lab, IpAddr::V4(CLIENT_V4)).unwrap().state,
        NeighbourState::Stale
    );
    // A gratuitous ARP moves an existing entry to the new MAC...
    let moved = [2, 0, 0, 0, 0, 0x99];
    let garp = arp(1, moved, CLIENT_V4, [0; 6], CLIENT_V4);
    assert!(lab
        .rx(OUTSIDE, &ethernet([0xff; 6], moved, None, ARP, &garp))
        .is_empty());
    assert_eq!(view(&lab, IpAddr::V4(CLIENT_V4)).unwrap().mac, Some(moved));
    // ...but creates nothing for a host we never heard of.
    let stranger = Ipv4Addr::new(198, 18, 0, 50);
    lab.rx(
        OUTSIDE,
        &ethernet(
            [0xff; 6],
            moved,
            None,
            ARP,
            &arp(1, moved, stranger, [0; 6], stranger),
        ),
    );
    assert_eq!(lab.worker.neighbours().count(), 1);
    assert_eq!(
        lab.counters().total_drops(),
        1,
        "only the request for someone else"
    );
}

#[test]
fn a_new_snapshot_keeps_neighbours_of_ports_that_remain() {
    let mut lab = Lab::new();
    lab.know(OUTSIDE, IpAddr::V4(CLIENT_V4), CLIENT_MAC);
    lab.send_ip(&ipv4(PORT1_V4, BACKEND_V4, 17, 64, &[0; 8]));
    lab.io.take();
    let mut s = snapshot();
    s.ports.truncate(1);
    lab.worker.set_snapshot(Arc::new(s));
    let left: Vec<_> = lab.worker.neighbours().map(|n| (n.port, n.ip)).collect();
    assert_eq!(left, vec![(PortId(0), IpAddr::V4(CLIENT_V4))]);
    assert_eq!(lab.counters().drops_for(DropReason::NeighbourUnresolved), 1);
    assert_eq!(lab.send_ip(&udp_to_client(1)).len(), 1, "still resolved");
}

#[test]
fn timers_default_as_documented() {
    let t = NeighbourTimers::default();
    assert_eq!(
        (
            t.reachable,
            t.stale_gc,
            t.retransmit,
            t.max_probes,
            t.queue_per_neighbour,
            t.queue_total
        ),
        (
            Duration::from_secs(30),
            Duration::from_secs(60),
            Duration::from_secs(1),
            3,
            8,
            256
        )
    );
}
