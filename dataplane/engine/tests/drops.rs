//! One golden case per drop reason: the input, and exactly that reason counted, nothing sent, and
//! the appliance still answering afterwards.

// Fixture builders run outside #[test] functions; a broken fixture should fail loudly.
#![allow(clippy::unwrap_used)]

#[path = "drops/l4.rs"]
mod l4;
#[path = "drops/l7.rs"]
mod l7;
mod lab;

use core::net::{IpAddr, Ipv4Addr};
use std::collections::BTreeSet;

use edgelb_engine::snapshot::NeighbourTimers;
use edgelb_engine::testing::{
    arp, ethernet, icmpv4, icmpv4_echo, icmpv6, icmpv6_echo, ipv4, ipv6, neighbour_solicit,
    refresh_ipv4_checksum,
};
use edgelb_engine::{Capacity, DropReason, PortId, TestBuffer};
use lab::*;

const ARP: u16 = 0x0806;
const IPV4: u16 = 0x0800;
const IPV6: u16 = 0x86dd;

fn arp_request(tpa: Ipv4Addr) -> Vec<u8> {
    arp(1, CLIENT_MAC, CLIENT_V4, [0; 6], tpa)
}

fn arp_frame(payload: &[u8]) -> Vec<u8> {
    ethernet([0xff; 6], CLIENT_MAC, None, ARP, payload)
}

fn v4_frame(packet: &[u8]) -> Vec<u8> {
    ethernet(PORT0_MAC, CLIENT_MAC, None, IPV4, packet)
}

fn v6_frame(packet: &[u8]) -> Vec<u8> {
    ethernet(PORT0_MAC, CLIENT_MAC, None, IPV6, packet)
}

fn echo_v4() -> Vec<u8> {
    ipv4(CLIENT_V4, PORT0_V4, 1, 64, &icmpv4_echo(1, 1, b"abcd"))
}

/// The echo request with one header byte changed and the header checksum fixed.
fn echo_v4_with(i: usize, v: u8) -> Vec<u8> {
    let mut p = echo_v4();
    p[i] = v;
    refresh_ipv4_checksum(&mut p);
    p
}

fn echo_v6() -> Vec<u8> {
    ipv6(
        client_v6(),
        port0_v6(),
        58,
        64,
        &icmpv6_echo(client_v6(), port0_v6(), 1, 1, b"abcd"),
    )
}

fn ns_frame(hop_limit: u8, ns: Vec<u8>) -> Vec<u8> {
    let sn = v6("ff02::1:ff00:1");
    ethernet(
        [0x33, 0x33, 0xff, 0, 0, 1],
        CLIENT_MAC,
        None,
        IPV6,
        &ipv6(client_v6(), sn, 58, hop_limit, &ns),
    )
}

fn ns_body(body: &[u8]) -> Vec<u8> {
    icmpv6(client_v6(), v6("ff02::1:ff00:1"), 135, 0, body)
}

fn ns_target_body(extra: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 0];
    b.extend_from_slice(&port0_v6().octets());
    b.extend_from_slice(extra);
    b
}

/// A frame received on `port`.
fn frame(port: PortId, bytes: Vec<u8>) -> Action {
    Action::Frame(port, bytes)
}

enum Action {
    Frame(PortId, Vec<u8>),
    Custom(fn(&mut Lab)),
}

struct Case {
    reason: DropReason,
    setup: fn(&mut Lab),
    action: Action,
}

fn no_setup(_: &mut Lab) {}

fn case(reason: DropReason, action: Action) -> Case {
    Case {
        reason,
        setup: no_setup,
        action,
    }
}

fn cases() -> Vec<Case> {
    use DropReason::*;
    let echo_from = |src: IpAddr| match src {
        IpAddr::V4(src) => v4_frame(&ipv4(src, PORT0_V4, 1, 64, &icmpv4_echo(1, 1, b""))),
        IpAddr::V6(src) => v6_frame(&ipv6(
            src,
            port0_v6(),
            58,
            64,
            &icmpv6_echo(src, port0_v6(), 1, 1, b""),
        )),
    };
    let mut bad_checksum = echo_v4();
    bad_checksum[8] = 1; // TTL changed, checksum not fixed
    let mut bad_icmp_checksum = echo_v4();
    *bad_icmp_checksum.last_mut().unwrap() ^= 0xff;
    let mut bad_icmpv6_checksum = echo_v6();
    *bad_icmpv6_checksum.last_mut().unwrap() ^= 0xff;
    let mut truncated_v6 = echo_v6();
    truncated_v6[5] += 1; // payload length one past the frame
    let mut bad_version_v6 = echo_v6();
    bad_version_v6[0] = 0x40;
    let short_icmpv6 = ipv6(client_v6(), port0_v6(), 58, 64, &[128, 0, 0]);
    let udp_to_vip = ipv4(CLIENT_V4, VIP_V4, 17, 64, &[0x30, 0x39, 0, 80, 0, 8, 0, 0]);
    vec![
        case(
            UnknownPort,
            frame(PortId(7), arp_frame(&arp_request(PORT0_V4))),
        ),
        case(EthernetTruncated, frame(OUTSIDE, vec![0xff; 13])),
        case(
            EthernetBadSource,
            frame(
                OUTSIDE,
                ethernet(
                    [0xff; 6],
                    [1, 0, 0, 0, 0, 9],
                    None,
                    ARP,
                    &arp_request(PORT0_V4),
                ),
            ),
        ),
        case(
            EthernetNotOurs,
            frame(
                OUTSIDE,
                ethernet([2, 0, 0, 0, 0, 0x77], CLIENT_MAC, None, IPV4, &echo_v4()),
            ),
        ),
        case(
            VlanTruncated,
            frame(
                INSIDE,
                ethernet([0xff; 6], BACKEND_MAC, None, 0x8100, &[0, 100]),
            ),
        ),
        case(
            VlanMismatch,
            frame(
                INSIDE,
                ethernet(
                    [0xff; 6],
                    BACKEND_MAC,
                    Some(101),
                    ARP,
                    &arp_request(PORT1_V4),
                ),
            ),
        ),
        case(
            UnknownEthertype,
            frame(
                OUTSIDE,
                ethernet(
                    [0x01, 0x80, 0xc2, 0, 0, 0x0e],
                    CLIENT_MAC,
                    None,
                    0x88cc,
                    &[0; 46],
                ),
            ),
        ),
        case(
            ArpTruncated,
            frame(OUTSIDE, arp_frame(&arp_request(PORT0_V4)[..27])),
        ),
        case(
            ArpBadHardware,
            frame(
                OUTSIDE,
                arp_frame(&{
                    let mut a = arp_request(PORT0_V4);
                    a[1] = 6;
                    a
                }),
            ),
        ),
        case(
            ArpBadProtocol,
            frame(
                OUTSIDE,
                arp_frame(&{
                    let mut a = arp_request(PORT0_V4);
                    a[5] = 16;
                    a
                }),
            ),
        ),
        case(
            ArpBadOperation,
            frame(
                OUTSIDE,
                arp_frame(&{
                    let mut a = arp_request(PORT0_V4);
                    a[7] = 3;
                    a
                }),
            ),
        ),
        case(
            ArpBadSender,
            frame(
                OUTSIDE,
                arp_frame(&arp(1, [0xff; 6], CLIENT_V4, [0; 6], PORT0_V4)),
            ),
        ),
        case(
            ArpNotOwned,
            frame(
                OUTSIDE,
                arp_frame(&arp_request(Ipv4Addr::new(198, 18, 0, 77))),
            ),
        ),
        case(Ipv4Truncated, frame(OUTSIDE, v4_frame(&echo_v4()[..19]))),
        case(
            Ipv4BadVersion,
            frame(OUTSIDE, v4_frame(&echo_v4_with(0, 0x65))),
        ),
        case(
            Ipv4IhlTooSmall,
            frame(OUTSIDE, v4_frame(&echo_v4_with(0, 0x44))),
        ),
        case(
            Ipv4TotalLengthTooSmall,
            frame(OUTSIDE, v4_frame(&echo_v4_with(3, 19))),
        ),
        case(
            Ipv4TotalLengthBeyondFrame,
            frame(OUTSIDE, v4_frame(&echo_v4_with(3, 33))),
        ),
        case(Ipv4BadChecksum, frame(OUTSIDE, v4_frame(&bad_checksum))),
        case(
            Ipv4BadSource,
            frame(OUTSIDE, echo_from(IpAddr::V4(Ipv4Addr::BROADCAST))),
        ),
        case(
            Ipv4Fragment,
            frame(OUTSIDE, v4_frame(&echo_v4_with(6, 0x20))),
        ),
        case(Ipv6Truncated, frame(OUTSIDE, v6_frame(&echo_v6()[..39]))),
        case(Ipv6BadVersion, frame(OUTSIDE, v6_frame(&bad_version_v6))),
        case(
            Ipv6PayloadBeyondFrame,
            frame(OUTSIDE, v6_frame(&truncated_v6)),
        ),
        case(
            Ipv6BadSource,
            frame(OUTSIDE, echo_from(IpAddr::V6(v6("ff02::9")))),
        ),
        case(
            IcmpTruncated,
            frame(
                OUTSIDE,
                v4_frame(&ipv4(CLIENT_V4, PORT0_V4, 1, 64, &[8, 0, 0xf7, 0xff])),
            ),
        ),
        case(
            IcmpBadChecksum,
            frame(OUTSIDE, v4_frame(&bad_icmp_checksum)),
        ),
        case(
            IcmpUnhandledType,
            frame(
                OUTSIDE,
                v4_frame(&ipv4(
                    CLIENT_V4,
                    PORT0_V4,
                    1,
                    64,
                    &icmpv4(13, 0, [0; 4], &[0; 12]),
                )),
            ),
        ),
        case(Icmpv6Truncated, frame(OUTSIDE, v6_frame(&short_icmpv6))),
        case(
            Icmpv6BadChecksum,
            frame(OUTSIDE, v6_frame(&bad_icmpv6_checksum)),
        ),
        case(
            Icmpv6UnhandledType,
            frame(
                OUTSIDE,
                v6_frame(&ipv6(
                    client_v6(),
                    port0_v6(),
                    58,
                    255,
                    &icmpv6(client_v6(), port0_v6(), 133, 0, &[0; 4]),
                )),
            ),
        ),
        case(
            NdBadHopLimit,
            frame(
                OUTSIDE,
                ns_frame(
                    64,
                    neighbour_solicit(
                        client_v6(),
                        v6("ff02::1:ff00:1"),
                        port0_v6(),
                        Some(CLIENT_MAC),
                    ),
                ),
            ),
        ),
        case(
            NdTruncated,
            frame(OUTSIDE, ns_frame(255, ns_body(&ns_target_body(&[])[..16]))),
        ),
        case(
            NdBadOption,
            frame(
                OUTSIDE,
                ns_frame(255, ns_body(&ns_target_body(&[1, 0, 2, 0, 0, 0, 0, 9]))),
            ),
        ),
        case(
            NdInvalid,
            frame(
                OUTSIDE,
                ns_frame(
                    255,
                    icmpv6(
                        client_v6(),
                        v6("ff02::1:ff00:1"),
                        135,
                        1,
                        &ns_target_body(&[]),
                    ),
                ),
            ),
        ),
        case(
            NdNotOwned,
            frame(OUTSIDE, {
                let (target, sn) = (v6("2001:2::77"), v6("ff02::1:ff00:77"));
                let ns = neighbour_solicit(client_v6(), sn, target, Some(CLIENT_MAC));
                ethernet(
                    [0x33, 0x33, 0xff, 0, 0, 0x77],
                    CLIENT_MAC,
                    None,
                    IPV6,
                    &ipv6(client_v6(), sn, 58, 255, &ns),
                )
            }),
        ),
        case(
            NotOwned,
            frame(
                OUTSIDE,
                v4_frame(&ipv4(
                    CLIENT_V4,
                    Ipv4Addr::new(198, 18, 0, 77),
                    1,
                    64,
                    &icmpv4_echo(1, 1, b""),
                )),
            ),
        ),
        case(NoListener, frame(OUTSIDE, v4_frame(&udp_to_vip))),
        // No IPv6 default route in the lab: the reply to a far source has nowhere to go.
        case(
            NoRoute,
            frame(OUTSIDE, echo_from(IpAddr::V6(v6("2001:db8::9")))),
        ),
        case(
            TxMalformed,
            Action::Custom(|lab| assert!(lab.send_ip(&[0x50; 40]).is_empty())),
        ),
        Case {
            reason: NoRoom,
            setup: |lab| lab.know(INSIDE, IpAddr::V4(BACKEND_V4), BACKEND_MAC),
            action: Action::Custom(|lab| {
                // No headroom for the VLAN tag the inside port needs.
                let mut frame = vec![0; 14];
                frame.extend_from_slice(&ipv4(PORT1_V4, BACKEND_V4, 17, 64, &[0; 8]));
                let mut buf = TestBuffer::with_room(0, 100);
                edgelb_engine::PacketBuffer::append(&mut buf, frame.len()).unwrap();
                edgelb_engine::PacketBuffer::data_mut(&mut buf).copy_from_slice(&frame);
                lab.worker.route_and_send(lab.now, buf, &mut lab.io);
            }),
        },
        Case {
            reason: NeighbourTableFull,
            setup: |lab| {
                *lab = Lab::with(
                    snapshot(),
                    Capacity {
                        neighbours: 1,
                        ..Capacity::default()
                    },
                );
                assert_eq!(
                    lab.send_ip(&ipv4(PORT0_V4, CLIENT_V4, 17, 64, &[0; 8]))
                        .len(),
                    1,
                    "one ARP request"
                );
            },
            action: Action::Custom(|lab| {
                assert!(lab
                    .send_ip(&ipv4(PORT1_V4, BACKEND_V4, 17, 64, &[0; 8]))
                    .is_empty())
            }),
        },
        Case {
            reason: NeighbourQueueFull,
            setup: |lab| {
                for _ in 0..NeighbourTimers::default().queue_per_neighbour {
                    lab.send_ip(&ipv4(PORT0_V4, CLIENT_V4, 17, 64, &[0; 8]));
                }
            },
            action: Action::Custom(|lab| {
                assert!(lab
                    .send_ip(&ipv4(PORT0_V4, CLIENT_V4, 17, 64, &[0; 8]))
                    .is_empty())
            }),
        },
        Case {
            reason: NeighbourUnresolved,
            setup: |lab| {
                lab.send_ip(&ipv4(PORT0_V4, CLIENT_V4, 17, 64, &[0; 8]));
                for _ in 1..NeighbourTimers::default().max_probes {
                    lab.advance_ms(1000);
                    assert_eq!(lab.poll().len(), 1, "a retransmitted request");
                }
                lab.advance_ms(1000);
            },
            action: Action::Custom(|lab| assert!(lab.poll().is_empty())),
        },
        Case {
            reason: NoBuffer,
            setup: |lab| lab.io.alloc_budget = Some(0),
            // The packet waits; the ARP request that has no buffer is what is dropped.
            action: Action::Custom(|lab| {
                assert!(lab
                    .send_ip(&ipv4(PORT0_V4, CLIENT_V4, 17, 64, &[0; 8]))
                    .is_empty());
                lab.io.alloc_budget = None;
            }),
        },
    ]
    .into_iter()
    .chain(l4::cases())
    .chain(l7::cases())
    .collect()
}

#[test]
fn every_reason_has_a_case() {
    let covered: BTreeSet<_> = cases().iter().map(|c| c.reason as usize).collect();
    let missing: Vec<_> = DropReason::ALL
        .iter()
        .filter(|r| !covered.contains(&(**r as usize)))
        .collect();
    assert!(missing.is_empty(), "no golden case for {missing:?}");
    assert_eq!(cases().len(), DropReason::COUNT, "one case per reason");
}

#[test]
fn each_case_counts_exactly_its_reason_and_sends_nothing() {
    for case in cases() {
        let mut lab = Lab::new();
        (case.setup)(&mut lab);
        let before = lab.counters();
        let sent = match case.action {
            Action::Frame(port, bytes) => lab.rx(port, &bytes),
            Action::Custom(run) => {
                run(&mut lab);
                lab.io.take()
            }
        };
        let after = lab.counters();
        assert!(sent.is_empty(), "{:?}: sent {sent:?}", case.reason);
        for r in DropReason::ALL {
            let delta = after.drops_for(r) - before.drops_for(r);
            let want = u64::from(r == case.reason);
            assert_eq!(
                delta,
                want,
                "{:?}: drop_{} went up by {delta}",
                case.reason,
                r.name()
            );
        }

        // And the appliance keeps answering.
        let request = ethernet(
            [0xff; 6],
            BACKEND_MAC,
            Some(VLAN),
            ARP,
            &arp(1, BACKEND_MAC, BACKEND_V4, [0; 6], PORT1_V4),
        );
        let reply = lab.rx(INSIDE, &request);
        assert_eq!(reply.len(), 1, "{:?}: no ARP reply afterwards", case.reason);
    }
}

#[test]
fn vlan_rules_both_ways() {
    let mut lab = Lab::new();
    let untagged_on_vlan_port = ethernet(
        [0xff; 6],
        BACKEND_MAC,
        None,
        ARP,
        &arp(1, BACKEND_MAC, BACKEND_V4, [0; 6], PORT1_V4),
    );
    let tagged_on_plain_port =
        ethernet([0xff; 6], CLIENT_MAC, Some(1), ARP, &arp_request(PORT0_V4));
    assert!(lab.rx(INSIDE, &untagged_on_vlan_port).is_empty());
    assert!(lab.rx(OUTSIDE, &tagged_on_plain_port).is_empty());
    assert_eq!(lab.counters().drops_for(DropReason::VlanMismatch), 2);
}

#[test]
fn our_own_address_as_a_source_is_a_martian() {
    let mut lab = Lab::new();
    let v4 = ipv4(VIP_V4, PORT0_V4, 1, 64, &icmpv4_echo(1, 1, b""));
    let v6 = ipv6(
        port1_v6(),
        port0_v6(),
        58,
        64,
        &icmpv6_echo(port1_v6(), port0_v6(), 1, 1, b""),
    );
    assert!(lab.rx(OUTSIDE, &v4_frame(&v4)).is_empty());
    assert!(lab.rx(OUTSIDE, &v6_frame(&v6)).is_empty());
    let c = lab.counters();
    assert_eq!(
        (
            c.drops_for(DropReason::Ipv4BadSource),
            c.drops_for(DropReason::Ipv6BadSource)
        ),
        (1, 1)
    );
}
