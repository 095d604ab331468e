//! The L4 path's golden drop cases (one per reason), joined to the others in `drops.rs`.

use core::net::{IpAddr, Ipv4Addr};

use edgelb_engine::flow::InsertRate;
use edgelb_engine::l4::SnatPorts;
use edgelb_engine::snapshot::{PortSpec, Route};
use edgelb_engine::testing::{ethernet, icmpv4, ipv4, tcp_segment, udp_datagram, TcpSpec};
use edgelb_engine::{CoreId, DropReason, PortId};

use super::{case, frame, Case};
use crate::lab::*;

fn client_tcp(flags: u8, ttl: u8) -> Vec<u8> {
    let spec = TcpSpec {
        flags,
        ..TcpSpec::new(40000, 80)
    };
    let seg = tcp_segment(IpAddr::V4(CLIENT_V4), IpAddr::V4(VIP_V4), &spec);
    ethernet(
        PORT0_MAC,
        CLIENT_MAC,
        None,
        0x0800,
        &ipv4(CLIENT_V4, VIP_V4, 6, ttl, &seg),
    )
}

fn client_udp(sport: u16) -> Vec<u8> {
    let d = udp_datagram(IpAddr::V4(CLIENT_V4), IpAddr::V4(VIP_V4), sport, 53, b"q");
    ethernet(
        PORT0_MAC,
        CLIENT_MAC,
        None,
        0x0800,
        &ipv4(CLIENT_V4, VIP_V4, 17, 64, &d),
    )
}

/// A UDP datagram from the DNS backend to SNAT port `port`, with no flow behind it.
fn stray_return(port: u16) -> Vec<u8> {
    let d = udp_datagram(
        IpAddr::V4(DNS_V4),
        IpAddr::V4(SNAT_V4),
        DNS_PORT,
        port,
        b"a",
    );
    ethernet(
        PORT1_MAC,
        DNS_MAC,
        Some(VLAN),
        0x0800,
        &ipv4(DNS_V4, SNAT_V4, 17, 64, &d),
    )
}

fn frag_needed_from_dns(quote_len: usize) -> Vec<u8> {
    let d = udp_datagram(
        IpAddr::V4(SNAT_V4),
        IpAddr::V4(DNS_V4),
        2000,
        DNS_PORT,
        b"query",
    );
    let quoted = ipv4(SNAT_V4, DNS_V4, 17, 63, &d);
    let quoted = &quoted[..quote_len.min(quoted.len())];
    let error = ipv4(
        DNS_V4,
        SNAT_V4,
        1,
        64,
        &icmpv4(3, 4, [0, 0, 5, 0xdc], quoted),
    );
    ethernet(PORT1_MAC, DNS_MAC, Some(VLAN), 0x0800, &error)
}

fn relab(lab: &mut Lab, snapshot: edgelb_engine::snapshot::Snapshot, core: CoreId) {
    *lab = Lab::with_core(snapshot, lab_capacity(), core);
    lab.know_everyone();
}

pub(super) fn cases() -> Vec<Case> {
    use DropReason::*;
    let mut short_tcp = ipv4(
        CLIENT_V4,
        VIP_V4,
        6,
        64,
        &[0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0],
    );
    short_tcp.truncate(30);
    vec![
        case(
            L4Truncated,
            frame(
                OUTSIDE,
                ethernet(PORT0_MAC, CLIENT_MAC, None, 0x0800, &short_tcp),
            ),
        ),
        Case {
            reason: L4NoFlow,
            setup: |lab| lab.know_everyone(),
            action: frame(OUTSIDE, client_tcp(0x10, 64)),
        },
        Case {
            reason: L4NoBackend,
            setup: |lab| {
                let s = snapshot_with(|i| {
                    for b in &mut i.pools[0].backends {
                        b.draining = true;
                    }
                });
                relab(lab, s, CoreId::SOLE);
            },
            action: frame(OUTSIDE, client_tcp(0x02, 64)),
        },
        Case {
            // A backend behind a port with no IPv4 address, and no SNAT address configured.
            reason: L4NoSnatAddress,
            setup: |lab| {
                let mut s = snapshot_with(|i| {
                    i.pools[0].backends =
                        vec![backend(IpAddr::V4(Ipv4Addr::new(10, 99, 0, 5)), 80)];
                });
                s.ports.push(PortSpec {
                    name: "bare".into(),
                    mac: [2, 0, 0, 0, 2, 1],
                    vlan: None,
                    mtu: 1500,
                    ipv4: vec![],
                    ipv6: vec![],
                });
                s.routes.push(Route {
                    prefix: IpAddr::V4(Ipv4Addr::new(10, 99, 0, 0)),
                    prefix_len: 16,
                    port: PortId(2),
                    gateway: None,
                });
                relab(lab, s, CoreId::SOLE);
            },
            action: frame(OUTSIDE, client_tcp(0x02, 64)),
        },
        Case {
            // One SNAT port, taken by the first datagram's flow to the only DNS backend.
            reason: L4SnatExhausted,
            setup: |lab| {
                let s = snapshot_with(|i| i.settings.snat_ports = SnatPorts { lo: 2000, hi: 2000 });
                relab(lab, s, CoreId::SOLE);
                assert_eq!(lab.rx(OUTSIDE, &client_udp(5000)).len(), 1);
            },
            action: frame(OUTSIDE, client_udp(5001)),
        },
        Case {
            reason: L4FlowRateLimited,
            setup: |lab| {
                let s = snapshot_with(|i| {
                    i.settings.flows.insert_rate = Some(InsertRate {
                        per_sec: 1,
                        burst: 1,
                    })
                });
                relab(lab, s, CoreId::SOLE);
                assert_eq!(lab.rx(OUTSIDE, &client_udp(5000)).len(), 1);
            },
            action: frame(OUTSIDE, client_udp(5001)),
        },
        Case {
            reason: TtlExceeded,
            setup: |lab| lab.know_everyone(),
            action: frame(OUTSIDE, client_tcp(0x02, 1)),
        },
        case(IcmpErrorNoFlow, frame(INSIDE, frag_needed_from_dns(48))),
        case(IcmpErrorTruncated, frame(INSIDE, frag_needed_from_dns(24))),
        Case {
            // Core 0 of 2 gets return traffic for an odd port (core 1's), and the ring is full.
            reason: HandoffFailed,
            setup: |lab| {
                relab(lab, snapshot(), CoreId { index: 0, count: 2 });
                lab.io.refuse_handoff = true;
            },
            action: frame(INSIDE, stray_return(2001)),
        },
    ]
}
