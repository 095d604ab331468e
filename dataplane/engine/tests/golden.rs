//! Golden packet tests: bytes in → bytes out for ARP, ND, ICMP and ICMPv6 echo.
//!
//! Inputs are built with `edgelb_engine::testing`; expected outputs with smoltcp's `Repr::emit`
//! (see `lab`), so the two sides share no code with the engine's own writers.

// Fixture builders run outside #[test] functions; a broken fixture should fail loudly.
#![allow(clippy::unwrap_used)]

mod lab;

use core::net::IpAddr;

use edgelb_engine::testing::{
    arp, ethernet, icmpv4_echo, icmpv6_echo, ipv4, ipv4_with_options, ipv6, neighbour_solicit,
    padded,
};
use lab::*;
use smoltcp::wire::{
    ArpOperation, ArpRepr, EthernetAddress, EthernetProtocol, Icmpv4Repr, Icmpv6Repr, IpProtocol,
    NdiscNeighborFlags, NdiscRepr, RawHardwareAddress,
};

const ARP: u16 = 0x0806;
const IPV4: u16 = 0x0800;
const IPV6: u16 = 0x86dd;

fn arp_reply(
    sha: [u8; 6],
    spa: core::net::Ipv4Addr,
    tha: [u8; 6],
    tpa: core::net::Ipv4Addr,
) -> Vec<u8> {
    arp_packet(ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Reply,
        source_hardware_addr: EthernetAddress(sha),
        source_protocol_addr: spa,
        target_hardware_addr: EthernetAddress(tha),
        target_protocol_addr: tpa,
    })
}

#[test]
fn arp_request_for_a_port_address_is_answered_in_place() {
    let mut lab = Lab::new();
    let request = arp(1, CLIENT_MAC, CLIENT_V4, [0; 6], PORT0_V4);
    // Padded to Ethernet's minimum, as on the wire: the padding must not survive into the reply.
    let sent = lab.rx(
        OUTSIDE,
        &padded(ethernet([0xff; 6], CLIENT_MAC, None, ARP, &request), 60),
    );
    let expected = eth(
        CLIENT_MAC,
        PORT0_MAC,
        EthernetProtocol::Arp,
        &arp_reply(PORT0_MAC, PORT0_V4, CLIENT_MAC, CLIENT_V4),
    );
    assert_eq!(sent, vec![(OUTSIDE, expected)]);
    let c = lab.counters();
    assert_eq!(
        (c.arp_replies_sent, c.tx_frames, c.total_drops()),
        (1, 1, 0)
    );
}

#[test]
fn arp_request_for_a_vip_on_a_vlan_port_is_answered_tagged() {
    let mut lab = Lab::new();
    let request = arp(1, BACKEND_MAC, BACKEND_V4, [0; 6], VIP_V4);
    let sent = lab.rx(
        INSIDE,
        &ethernet([0xff; 6], BACKEND_MAC, Some(VLAN), ARP, &request),
    );
    let reply = arp_reply(PORT1_MAC, VIP_V4, BACKEND_MAC, BACKEND_V4);
    let expected = tagged(
        eth(BACKEND_MAC, PORT1_MAC, EthernetProtocol::Arp, &reply),
        VLAN,
    );
    assert_eq!(sent, vec![(INSIDE, expected)]);
}

#[test]
fn arp_probe_from_an_unconfigured_host_is_answered_to_its_mac() {
    let mut lab = Lab::new();
    let probe = arp(
        1,
        CLIENT_MAC,
        core::net::Ipv4Addr::UNSPECIFIED,
        [0; 6],
        PORT0_V4,
    );
    let sent = lab.rx(OUTSIDE, &ethernet([0xff; 6], CLIENT_MAC, None, ARP, &probe));
    let reply = arp_reply(
        PORT0_MAC,
        PORT0_V4,
        CLIENT_MAC,
        core::net::Ipv4Addr::UNSPECIFIED,
    );
    assert_eq!(
        sent,
        vec![(
            OUTSIDE,
            eth(CLIENT_MAC, PORT0_MAC, EthernetProtocol::Arp, &reply)
        )]
    );
    assert_eq!(lab.worker.neighbours().count(), 0, "0.0.0.0 is not learned");
}

fn advert(
    src: core::net::Ipv6Addr,
    dst: core::net::Ipv6Addr,
    target: core::net::Ipv6Addr,
    mac: [u8; 6],
    solicited: bool,
) -> Vec<u8> {
    let flags = if solicited {
        NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE
    } else {
        NdiscNeighborFlags::OVERRIDE
    };
    let na = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
        flags,
        target_addr: target,
        lladdr: Some(RawHardwareAddress::from(EthernetAddress(mac))),
    });
    ipv6_packet(src, dst, 255, &icmpv6_message(src, dst, na))
}

#[test]
fn neighbour_solicitation_for_a_port_address_is_answered_in_place() {
    let mut lab = Lab::new();
    let sn = v6("ff02::1:ff00:1");
    let ns = neighbour_solicit(client_v6(), sn, port0_v6(), Some(CLIENT_MAC));
    let frame = ethernet(
        [0x33, 0x33, 0xff, 0, 0, 1],
        CLIENT_MAC,
        None,
        IPV6,
        &ipv6(client_v6(), sn, 58, 255, &ns),
    );
    let sent = lab.rx(OUTSIDE, &frame);
    let na = advert(port0_v6(), client_v6(), port0_v6(), PORT0_MAC, true);
    assert_eq!(
        sent,
        vec![(
            OUTSIDE,
            eth(CLIENT_MAC, PORT0_MAC, EthernetProtocol::Ipv6, &na)
        )]
    );
    let c = lab.counters();
    assert_eq!(
        (c.nd_adverts_sent, c.nd_learned, c.total_drops()),
        (1, 1, 0)
    );
}

#[test]
fn neighbour_solicitation_for_the_link_local_address_on_a_vlan_port() {
    let mut lab = Lab::new();
    let (src, target) = (v6("fe80::9"), port1_link_local());
    // Unicast NS (a reachability probe), no source link-layer option: the reply goes to the frame's source.
    let ns = neighbour_solicit(src, target, target, None);
    let frame = ethernet(
        PORT1_MAC,
        BACKEND_MAC,
        Some(VLAN),
        IPV6,
        &ipv6(src, target, 58, 255, &ns),
    );
    let sent = lab.rx(INSIDE, &frame);
    let na = advert(target, src, target, PORT1_MAC, true);
    assert_eq!(
        sent,
        vec![(
            INSIDE,
            tagged(
                eth(BACKEND_MAC, PORT1_MAC, EthernetProtocol::Ipv6, &na),
                VLAN
            )
        )]
    );
}

#[test]
fn duplicate_address_detection_is_answered_to_all_nodes() {
    let mut lab = Lab::new();
    let unspecified = core::net::Ipv6Addr::UNSPECIFIED;
    let sn = v6("ff02::1:ff00:10");
    let ns = neighbour_solicit(unspecified, sn, vip_v6(), None);
    let frame = ethernet(
        [0x33, 0x33, 0xff, 0, 0, 0x10],
        CLIENT_MAC,
        None,
        IPV6,
        &ipv6(unspecified, sn, 58, 255, &ns),
    );
    let sent = lab.rx(OUTSIDE, &frame);
    let all_nodes = v6("ff02::1");
    let na = advert(vip_v6(), all_nodes, vip_v6(), PORT0_MAC, false);
    assert_eq!(
        sent,
        vec![(
            OUTSIDE,
            eth(
                [0x33, 0x33, 0, 0, 0, 1],
                PORT0_MAC,
                EthernetProtocol::Ipv6,
                &na
            )
        )]
    );
}

fn echo_reply_v4(
    src: core::net::Ipv4Addr,
    dst: core::net::Ipv4Addr,
    ident: u16,
    seq_no: u16,
    data: &[u8],
) -> Vec<u8> {
    let icmp = icmpv4_message(Icmpv4Repr::EchoReply {
        ident,
        seq_no,
        data,
    });
    ipv4_packet(src, dst, IpProtocol::Icmp, 64, &icmp)
}

#[test]
fn icmp_echo_to_a_port_address_is_answered() {
    let mut lab = Lab::new();
    lab.know(OUTSIDE, IpAddr::V4(CLIENT_V4), CLIENT_MAC);
    let request = ipv4(CLIENT_V4, PORT0_V4, 1, 63, &icmpv4_echo(0x4242, 7, b"ping"));
    let sent = lab.rx(
        OUTSIDE,
        &padded(ethernet(PORT0_MAC, CLIENT_MAC, None, IPV4, &request), 60),
    );
    let reply = echo_reply_v4(PORT0_V4, CLIENT_V4, 0x4242, 7, b"ping");
    assert_eq!(
        sent,
        vec![(
            OUTSIDE,
            eth(CLIENT_MAC, PORT0_MAC, EthernetProtocol::Ipv4, &reply)
        )]
    );
    assert_eq!(lab.counters().icmp_echo_replies, 1);
}

#[test]
fn icmp_echo_to_a_vip_from_afar_goes_back_through_the_gateway_without_options() {
    let mut lab = Lab::new();
    lab.know(OUTSIDE, IpAddr::V4(GATEWAY_V4), GATEWAY_MAC);
    let far = core::net::Ipv4Addr::new(192, 0, 2, 1);
    // A record-route option (type 7, 8 bytes incl. one empty slot) that the reply must not echo.
    let options = [7, 7, 4, 0, 0, 0, 0, 1];
    let request = ipv4_with_options(
        far,
        VIP_V4,
        1,
        60,
        &options,
        &icmpv4_echo(1, 2, &[0xab; 100]),
    );
    let sent = lab.rx(
        OUTSIDE,
        &ethernet(PORT0_MAC, GATEWAY_MAC, None, IPV4, &request),
    );
    let reply = echo_reply_v4(VIP_V4, far, 1, 2, &[0xab; 100]);
    assert_eq!(
        sent,
        vec![(
            OUTSIDE,
            eth(GATEWAY_MAC, PORT0_MAC, EthernetProtocol::Ipv4, &reply)
        )]
    );
}

#[test]
fn icmp_echo_on_a_vlan_port_is_answered_tagged() {
    let mut lab = Lab::new();
    lab.know(INSIDE, IpAddr::V4(BACKEND_V4), BACKEND_MAC);
    let request = ipv4(BACKEND_V4, PORT1_V4, 1, 64, &icmpv4_echo(9, 9, b""));
    let sent = lab.rx(
        INSIDE,
        &ethernet(PORT1_MAC, BACKEND_MAC, Some(VLAN), IPV4, &request),
    );
    let reply = echo_reply_v4(PORT1_V4, BACKEND_V4, 9, 9, b"");
    assert_eq!(
        sent,
        vec![(
            INSIDE,
            tagged(
                eth(BACKEND_MAC, PORT1_MAC, EthernetProtocol::Ipv4, &reply),
                VLAN
            )
        )]
    );
}

fn echo_reply_v6(
    src: core::net::Ipv6Addr,
    dst: core::net::Ipv6Addr,
    ident: u16,
    seq_no: u16,
    data: &[u8],
) -> Vec<u8> {
    let icmp = icmpv6_message(
        src,
        dst,
        Icmpv6Repr::EchoReply {
            ident,
            seq_no,
            data,
        },
    );
    ipv6_packet(src, dst, 64, &icmp)
}

#[test]
fn icmpv6_echo_to_a_vip_is_answered() {
    let mut lab = Lab::new();
    lab.know(OUTSIDE, IpAddr::V6(client_v6()), CLIENT_MAC);
    let request = ipv6(
        client_v6(),
        vip_v6(),
        58,
        64,
        &icmpv6_echo(client_v6(), vip_v6(), 0x77, 1, b"hello"),
    );
    let sent = lab.rx(
        OUTSIDE,
        &ethernet(PORT0_MAC, CLIENT_MAC, None, IPV6, &request),
    );
    let reply = echo_reply_v6(vip_v6(), client_v6(), 0x77, 1, b"hello");
    assert_eq!(
        sent,
        vec![(
            OUTSIDE,
            eth(CLIENT_MAC, PORT0_MAC, EthernetProtocol::Ipv6, &reply)
        )]
    );
    assert_eq!(lab.counters().icmpv6_echo_replies, 1);
}

#[test]
fn icmpv6_echo_between_link_local_addresses_stays_on_the_link() {
    let mut lab = Lab::new();
    let (peer, us) = (v6("fe80::1:9"), port1_link_local());
    lab.know(INSIDE, IpAddr::V6(peer), BACKEND_MAC);
    let request = ipv6(peer, us, 58, 64, &icmpv6_echo(peer, us, 5, 6, b"ll"));
    let sent = lab.rx(
        INSIDE,
        &padded(
            ethernet(PORT1_MAC, BACKEND_MAC, Some(VLAN), IPV6, &request),
            90,
        ),
    );
    let reply = echo_reply_v6(us, peer, 5, 6, b"ll");
    assert_eq!(
        sent,
        vec![(
            INSIDE,
            tagged(
                eth(BACKEND_MAC, PORT1_MAC, EthernetProtocol::Ipv6, &reply),
                VLAN
            )
        )]
    );
}
