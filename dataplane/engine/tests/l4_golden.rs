//! Golden packets of the L4 path: bytes in → bytes out for a SYN to a VIP and the backend's
//! SYN-ACK, UDP both ways, IPv6 TCP both ways, and ICMP errors (fragmentation needed, packet too
//! big, port unreachable) sent on rewritten.
//!
//! Expected frames are built field by field with `edgelb_engine::testing` (checksums computed
//! from scratch there), never by the engine's rewriting code; the engine's free choices (the
//! Maglev backend among three, the SNAT port) are read from its output and checked against their
//! rules, and every other byte must match. Every output's checksums are also verified from scratch.

// Fixture builders run outside #[test] functions; a broken fixture should fail loudly.
#![allow(clippy::unwrap_used)]

mod lab;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use edgelb_engine::l4::L4Input;
use edgelb_engine::testing::{
    ethernet, icmpv4, icmpv6, ipv4, ipv6, tcp_segment, udp_datagram, TcpSpec,
};
use lab::*;

const IPV4: u16 = 0x0800;
const IPV6: u16 = 0x86dd;
const SYN_ACK: u8 = 0x12;
const ACK: u8 = 0x10;
/// MSS 1460, NOP, NOP, SACK permitted.
const OPTIONS_1460: [u8; 8] = [2, 4, 0x05, 0xb4, 1, 1, 4, 2];
/// The same, clamped to 1400.
const OPTIONS_1400: [u8; 8] = [2, 4, 0x05, 0x78, 1, 1, 4, 2];

fn lab_with(change: impl FnOnce(&mut L4Input)) -> Lab {
    let mut lab = Lab::with(snapshot_with(change), lab_capacity());
    lab.know_everyone();
    lab
}

fn ip4(a: Ipv4Addr) -> IpAddr {
    IpAddr::V4(a)
}

fn ip6(a: Ipv6Addr) -> IpAddr {
    IpAddr::V6(a)
}

fn from_client_v4(packet: &[u8]) -> Vec<u8> {
    ethernet(PORT0_MAC, CLIENT_MAC, None, IPV4, packet)
}

fn from_backend_v4(mac: [u8; 6], packet: &[u8]) -> Vec<u8> {
    ethernet(PORT1_MAC, mac, Some(VLAN), IPV4, packet)
}

fn mac_of(backend: Ipv4Addr) -> [u8; 6] {
    let i = WEB_V4.iter().position(|b| *b == backend).unwrap();
    [BACKEND1_MAC, BACKEND2_MAC, BACKEND3_MAC][i]
}

fn client_syn() -> Vec<u8> {
    let spec = TcpSpec {
        options: OPTIONS_1460.to_vec(),
        ..TcpSpec::new(40000, 80)
    };
    let seg = tcp_segment(ip4(CLIENT_V4), ip4(VIP_V4), &spec);
    from_client_v4(&ipv4(CLIENT_V4, VIP_V4, 6, 64, &seg))
}

/// Sends the client's SYN; returns the backend chosen and the SNAT port, after checking the frame.
fn open_v4(lab: &mut Lab, clamp: bool) -> (Ipv4Addr, u16) {
    let sent = lab.rx(OUTSIDE, &client_syn());
    assert_eq!(sent.len(), 1, "{sent:02x?}");
    let (port, frame) = &sent[0];
    assert_eq!(*port, INSIDE);
    verify_checksums(frame);
    // The free choices: which backend (Maglev) and which SNAT port.
    let backend = Ipv4Addr::new(frame[34], frame[35], frame[36], frame[37]);
    assert!(WEB_V4.contains(&backend), "{backend}");
    let snat_port = u16::from_be_bytes([frame[38], frame[39]]);
    assert!(snat_port >= 1024, "{snat_port}");
    let spec = TcpSpec {
        options: if clamp { OPTIONS_1400 } else { OPTIONS_1460 }.to_vec(),
        ..TcpSpec::new(snat_port, WEB_PORT)
    };
    let seg = tcp_segment(ip4(SNAT_V4), ip4(backend), &spec);
    let want = tagged(
        ethernet(
            mac_of(backend),
            PORT1_MAC,
            None,
            IPV4,
            &ipv4(SNAT_V4, backend, 6, 63, &seg),
        ),
        VLAN,
    );
    assert_eq!(frame, &want);
    (backend, snat_port)
}

#[test]
fn syn_to_a_vip_leaves_for_a_backend_from_the_snat_address_with_its_mss_clamped() {
    let mut lab = lab_with(|i| i.settings.mss_clamp = Some(1400));
    open_v4(&mut lab, true);
    let c = lab.counters();
    assert_eq!(
        (
            c.l4_new_flows,
            c.l4_forward_packets,
            c.l4_mss_clamped,
            c.total_drops()
        ),
        (1, 1, 1, 0)
    );
    assert_eq!(c.flows.active, 1);
}

#[test]
fn syn_without_a_clamp_keeps_its_mss() {
    let mut lab = lab_with(|_| {});
    open_v4(&mut lab, false);
    assert_eq!(lab.counters().l4_mss_clamped, 0);
}

#[test]
fn the_backends_syn_ack_comes_back_to_the_client_from_the_vip() {
    let mut lab = lab_with(|i| i.settings.mss_clamp = Some(1400));
    let (backend, snat_port) = open_v4(&mut lab, true);
    let spec = TcpSpec {
        seq: 5000,
        ack: 1001,
        flags: SYN_ACK,
        window: 28960,
        options: OPTIONS_1460.to_vec(),
        ..TcpSpec::new(WEB_PORT, snat_port)
    };
    let seg = tcp_segment(ip4(backend), ip4(SNAT_V4), &spec);
    let sent = lab.rx(
        INSIDE,
        &from_backend_v4(mac_of(backend), &ipv4(backend, SNAT_V4, 6, 64, &seg)),
    );
    let back = TcpSpec {
        options: OPTIONS_1400.to_vec(),
        ..TcpSpec {
            sport: 80,
            dport: 40000,
            ..spec
        }
    };
    let seg = tcp_segment(ip4(VIP_V4), ip4(CLIENT_V4), &back);
    let want = ethernet(
        CLIENT_MAC,
        PORT0_MAC,
        None,
        IPV4,
        &ipv4(VIP_V4, CLIENT_V4, 6, 63, &seg),
    );
    assert_eq!(sent, vec![(OUTSIDE, want.clone())]);
    verify_checksums(&want);

    // The client's ACK follows the flow to the same backend.
    let ack = TcpSpec {
        seq: 1001,
        ack: 5001,
        flags: ACK,
        payload: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        ..TcpSpec::new(40000, 80)
    };
    let seg = tcp_segment(ip4(CLIENT_V4), ip4(VIP_V4), &ack);
    let sent = lab.rx(
        OUTSIDE,
        &from_client_v4(&ipv4(CLIENT_V4, VIP_V4, 6, 64, &seg)),
    );
    let out = TcpSpec {
        sport: snat_port,
        dport: WEB_PORT,
        ..ack
    };
    let seg = tcp_segment(ip4(SNAT_V4), ip4(backend), &out);
    let want = tagged(
        ethernet(
            mac_of(backend),
            PORT1_MAC,
            None,
            IPV4,
            &ipv4(SNAT_V4, backend, 6, 63, &seg),
        ),
        VLAN,
    );
    assert_eq!(sent, vec![(INSIDE, want)]);
    let c = lab.counters();
    assert_eq!(
        (
            c.l4_new_flows,
            c.l4_forward_packets,
            c.l4_reverse_packets,
            c.l4_mss_clamped
        ),
        (1, 2, 1, 2)
    );
}

/// A UDP query through "dns" and its answer; returns the SNAT port.
fn udp_round_trip(lab: &mut Lab) -> u16 {
    let q = udp_datagram(ip4(CLIENT_V4), ip4(VIP_V4), 5000, 53, b"query");
    let sent = lab.rx(
        OUTSIDE,
        &from_client_v4(&ipv4(CLIENT_V4, VIP_V4, 17, 64, &q)),
    );
    assert_eq!(sent.len(), 1);
    let frame = &sent[0].1;
    let snat_port = u16::from_be_bytes([frame[38], frame[39]]);
    let q = udp_datagram(ip4(SNAT_V4), ip4(DNS_V4), snat_port, DNS_PORT, b"query");
    let want = tagged(
        ethernet(
            DNS_MAC,
            PORT1_MAC,
            None,
            IPV4,
            &ipv4(SNAT_V4, DNS_V4, 17, 63, &q),
        ),
        VLAN,
    );
    assert_eq!(sent, vec![(INSIDE, want.clone())]);
    verify_checksums(&want);

    let a = udp_datagram(ip4(DNS_V4), ip4(SNAT_V4), DNS_PORT, snat_port, b"answer!");
    let sent = lab.rx(
        INSIDE,
        &from_backend_v4(DNS_MAC, &ipv4(DNS_V4, SNAT_V4, 17, 64, &a)),
    );
    let a = udp_datagram(ip4(VIP_V4), ip4(CLIENT_V4), 53, 5000, b"answer!");
    let want = ethernet(
        CLIENT_MAC,
        PORT0_MAC,
        None,
        IPV4,
        &ipv4(VIP_V4, CLIENT_V4, 17, 63, &a),
    );
    assert_eq!(sent, vec![(OUTSIDE, want.clone())]);
    verify_checksums(&want);
    snat_port
}

#[test]
fn a_udp_datagram_goes_to_its_backend_and_the_answer_comes_back() {
    let mut lab = lab_with(|_| {});
    udp_round_trip(&mut lab);
    let c = lab.counters();
    assert_eq!(
        (
            c.l4_new_flows,
            c.l4_forward_packets,
            c.l4_reverse_packets,
            c.total_drops()
        ),
        (1, 1, 1, 0)
    );
}

#[test]
fn ipv6_tcp_both_ways() {
    let mut lab = lab_with(|_| {});
    let spec = TcpSpec {
        options: OPTIONS_1460.to_vec(),
        ..TcpSpec::new(40000, 80)
    };
    let seg = tcp_segment(ip6(client_v6()), ip6(vip_v6()), &spec);
    let syn = ethernet(
        PORT0_MAC,
        CLIENT_MAC,
        None,
        IPV6,
        &ipv6(client_v6(), vip_v6(), 6, 64, &seg),
    );
    let sent = lab.rx(OUTSIDE, &syn);
    assert_eq!(sent.len(), 1);
    let frame = &sent[0].1;
    let snat_port = u16::from_be_bytes([frame[58], frame[59]]);
    let out = TcpSpec {
        sport: snat_port,
        dport: WEB_PORT,
        ..spec.clone()
    };
    let seg = tcp_segment(ip6(snat_v6()), ip6(web_v6()), &out);
    let want = tagged(
        ethernet(
            WEB6_MAC,
            PORT1_MAC,
            None,
            IPV6,
            &ipv6(snat_v6(), web_v6(), 6, 63, &seg),
        ),
        VLAN,
    );
    assert_eq!(sent, vec![(INSIDE, want.clone())]);
    verify_checksums(&want);

    let reply = TcpSpec {
        seq: 9000,
        ack: 1001,
        flags: SYN_ACK,
        ..TcpSpec::new(WEB_PORT, snat_port)
    };
    let seg = tcp_segment(ip6(web_v6()), ip6(snat_v6()), &reply);
    let frame = ethernet(
        PORT1_MAC,
        WEB6_MAC,
        Some(VLAN),
        IPV6,
        &ipv6(web_v6(), snat_v6(), 6, 64, &seg),
    );
    let sent = lab.rx(INSIDE, &frame);
    let back = TcpSpec {
        sport: 80,
        dport: 40000,
        ..reply
    };
    let seg = tcp_segment(ip6(vip_v6()), ip6(client_v6()), &back);
    let want = ethernet(
        CLIENT_MAC,
        PORT0_MAC,
        None,
        IPV6,
        &ipv6(vip_v6(), client_v6(), 6, 63, &seg),
    );
    assert_eq!(sent, vec![(OUTSIDE, want.clone())]);
    verify_checksums(&want);
}

#[test]
fn fragmentation_needed_from_a_backend_reaches_the_client_rewritten() {
    let mut lab = lab_with(|_| {});
    let (backend, snat_port) = open_v4(&mut lab, false);
    // The packet the appliance sent (a full-size data segment), as the backend's router quotes it.
    let data = TcpSpec {
        seq: 1001,
        ack: 5001,
        flags: ACK,
        payload: vec![0xab; 24],
        ..TcpSpec::new(snat_port, WEB_PORT)
    };
    let quoted = ipv4(
        SNAT_V4,
        backend,
        6,
        63,
        &tcp_segment(ip4(SNAT_V4), ip4(backend), &data),
    );
    let mtu = [0, 0, 0x05, 0x78];
    let error = ipv4(backend, SNAT_V4, 1, 64, &icmpv4(3, 4, mtu, &quoted));
    let sent = lab.rx(INSIDE, &from_backend_v4(mac_of(backend), &error));

    // The client's own packet, as it would have been quoted.
    let theirs = TcpSpec {
        sport: 40000,
        dport: 80,
        ..data
    };
    let quoted = ipv4(
        CLIENT_V4,
        VIP_V4,
        6,
        63,
        &tcp_segment(ip4(CLIENT_V4), ip4(VIP_V4), &theirs),
    );
    let error = ipv4(VIP_V4, CLIENT_V4, 1, 63, &icmpv4(3, 4, mtu, &quoted));
    let want = ethernet(CLIENT_MAC, PORT0_MAC, None, IPV4, &error);
    assert_eq!(sent, vec![(OUTSIDE, want.clone())]);
    verify_checksums(&want);
    assert_eq!(lab.counters().icmp_errors_forwarded, 1);
}

#[test]
fn packet_too_big_from_an_ipv6_backend_reaches_the_client_rewritten() {
    let mut lab = lab_with(|_| {});
    let syn = tcp_segment(ip6(client_v6()), ip6(vip_v6()), &TcpSpec::new(40001, 80));
    let sent = lab.rx(
        OUTSIDE,
        &ethernet(
            PORT0_MAC,
            CLIENT_MAC,
            None,
            IPV6,
            &ipv6(client_v6(), vip_v6(), 6, 64, &syn),
        ),
    );
    let snat_port = u16::from_be_bytes([sent[0].1[58], sent[0].1[59]]);
    let data = TcpSpec {
        seq: 1001,
        ack: 1,
        flags: ACK,
        payload: vec![7; 30],
        ..TcpSpec::new(snat_port, WEB_PORT)
    };
    let seg = tcp_segment(ip6(snat_v6()), ip6(web_v6()), &data);
    let mut body = 1280u32.to_be_bytes().to_vec();
    body.extend_from_slice(&ipv6(snat_v6(), web_v6(), 6, 63, &seg));
    let msg = icmpv6(web_v6(), snat_v6(), 2, 0, &body);
    let frame = ethernet(
        PORT1_MAC,
        WEB6_MAC,
        Some(VLAN),
        IPV6,
        &ipv6(web_v6(), snat_v6(), 58, 64, &msg),
    );
    let sent = lab.rx(INSIDE, &frame);

    let theirs = TcpSpec {
        sport: 40001,
        dport: 80,
        ..data
    };
    let seg = tcp_segment(ip6(client_v6()), ip6(vip_v6()), &theirs);
    let mut body = 1280u32.to_be_bytes().to_vec();
    body.extend_from_slice(&ipv6(client_v6(), vip_v6(), 6, 63, &seg));
    let msg = icmpv6(vip_v6(), client_v6(), 2, 0, &body);
    let want = ethernet(
        CLIENT_MAC,
        PORT0_MAC,
        None,
        IPV6,
        &ipv6(vip_v6(), client_v6(), 58, 63, &msg),
    );
    assert_eq!(sent, vec![(OUTSIDE, want.clone())]);
    verify_checksums(&want);
}

#[test]
fn port_unreachable_from_the_client_reaches_the_backend_rewritten() {
    let mut lab = lab_with(|_| {});
    let snat_port = udp_round_trip(&mut lab);
    // The client's host quotes the answer it could not deliver (UDP checksum included).
    let answer = udp_datagram(ip4(VIP_V4), ip4(CLIENT_V4), 53, 5000, b"answer!");
    let quoted = ipv4(VIP_V4, CLIENT_V4, 17, 63, &answer);
    let error = ipv4(CLIENT_V4, VIP_V4, 1, 64, &icmpv4(3, 3, [0; 4], &quoted));
    let sent = lab.rx(OUTSIDE, &from_client_v4(&error));

    let answer = udp_datagram(ip4(DNS_V4), ip4(SNAT_V4), DNS_PORT, snat_port, b"answer!");
    let quoted = ipv4(DNS_V4, SNAT_V4, 17, 63, &answer);
    let error = ipv4(SNAT_V4, DNS_V4, 1, 63, &icmpv4(3, 3, [0; 4], &quoted));
    let want = tagged(ethernet(DNS_MAC, PORT1_MAC, None, IPV4, &error), VLAN);
    assert_eq!(sent, vec![(INSIDE, want.clone())]);
    verify_checksums(&want);
}
