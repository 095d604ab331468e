//! The setup the fast-path benches run on, shaped like the engine's test lab: addresses, the
//! snapshot, the flows' client ends, and the frames in and out, built field by field with
//! `edgelb_engine::testing` (never with the engine's rewriting code).

use core::net::{IpAddr, Ipv4Addr};

use edgelb_engine::flow::{Direction, Proto};
use edgelb_engine::l4::{Backend, L4Input, L4Settings, L4Snapshot, Listener, PoolSpec};
use edgelb_engine::snapshot::{NeighbourTimers, PortSpec, Route, Snapshot};
use edgelb_engine::testing::{ethernet, ipv4, tcp_segment, TcpSpec};
use edgelb_engine::{Instant, PortId};

use super::{fail, SetupError};

/// The port towards the clients.
pub const OUTSIDE: PortId = PortId(0);
/// The port towards the backends (VLAN 100).
pub const INSIDE: PortId = PortId(1);
const VLAN: u16 = 100;
const PORT0_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const PORT1_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x01];
pub(super) const GATEWAY_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];
pub(super) const BACKEND_MACS: [[u8; 6]; 3] = [
    [0x02, 0, 0, 0, 0x01, 0x11],
    [0x02, 0, 0, 0, 0x01, 0x12],
    [0x02, 0, 0, 0, 0x01, 0x13],
];
const PORT0_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub(super) const GATEWAY_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 254);
/// The inside port's address.
const PORT1_V4: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
/// The SNAT address: the inside port's, as in the lab. At 100,000 flows over three backends about
/// half of each backend's SNAT ports are taken, which the engine's port search must cope with.
pub(super) const SNAT_V4: [Ipv4Addr; 1] = [PORT1_V4];
/// The listener's address.
pub const VIP_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 10, 10);
const VIP_PORT: u16 = 80;
pub(super) const BACKENDS_V4: [Ipv4Addr; 3] = [
    Ipv4Addr::new(198, 19, 0, 11),
    Ipv4Addr::new(198, 19, 0, 12),
    Ipv4Addr::new(198, 19, 0, 13),
];
const BACKEND_PORT: u16 = 8080;
/// Data carried by each measured packet: 6 bytes make a 60-byte frame (64 on the wire) forward.
const PAYLOAD: &[u8; 6] = b"edgelb";
const IPV4: u16 = 0x0800;
const ACK: u8 = 0x10;
pub(super) const SYN_ACK: u8 = 0x12;
/// Flow table size: room for the largest run (100,000 flows) at under half load, the same for all.
pub(super) const FLOW_CAPACITY: usize = 262_144;
/// The fixed clock of the whole run.
pub(super) const NOW: Instant = Instant::from_nanos(1_000_000_000);
/// The client end of flow `i`: 16 flows per client address, from 198.18.128.1 on.
pub fn client_of(i: u32) -> (Ipv4Addr, u16) {
    (
        Ipv4Addr::from(0xc612_8001 + (i >> 4)),
        40_000 + (i & 15) as u16,
    )
}

/// The snapshot: the lab's ports and default route, one TCP listener over three backends, and
/// default L4 settings (Maglev M = 65537).
pub fn snapshot() -> Result<Snapshot, SetupError> {
    let backend = |addr: &Ipv4Addr| Backend {
        addr: IpAddr::V4(*addr),
        port: BACKEND_PORT,
        weight: 1,
        draining: false,
    };
    let l4 = L4Snapshot::build(L4Input {
        listeners: vec![Listener {
            name: "web".into(),
            vip: IpAddr::V4(VIP_V4),
            port: VIP_PORT,
            proto: Proto::Tcp,
            pool: 0,
            affinity: None,
        }],
        pools: vec![PoolSpec {
            name: "web".into(),
            backends: BACKENDS_V4.iter().map(backend).collect(),
        }],
        settings: L4Settings {
            snat_ipv4: SNAT_V4.to_vec(),
            ..L4Settings::default()
        },
        rss: Vec::new(),
    })
    .map_err(|e| SetupError(format!("L4 snapshot: {e}")))?;
    let port = |name: &str, mac, vlan, addr| PortSpec {
        name: name.into(),
        mac,
        vlan,
        mtu: 1500,
        ipv4: vec![(addr, 24)],
        ipv6: Vec::new(),
    };
    let snapshot = Snapshot {
        ports: vec![
            port("outside", PORT0_MAC, None, PORT0_V4),
            port("inside", PORT1_MAC, Some(VLAN), PORT1_V4),
        ],
        routes: vec![Route {
            prefix: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            prefix_len: 0,
            port: OUTSIDE,
            gateway: Some(IpAddr::V4(GATEWAY_V4)),
        }],
        vips: vec![IpAddr::V4(VIP_V4)],
        neighbour: NeighbourTimers::default(),
        l4,
        l7: Default::default(),
    };
    snapshot
        .validate()
        .map_err(|e| SetupError(format!("snapshot: {e}")))?;
    Ok(snapshot)
}

/// What the engine chose for a flow: the backend (index into the pool) and the SNAT port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ends {
    pub(super) backend: usize,
    pub(super) snat: Ipv4Addr,
    pub(super) snat_port: u16,
}

pub(super) fn client_frame(i: u32, flags: u8, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    let (client, sport) = client_of(i);
    let spec = TcpSpec {
        seq,
        ack,
        flags,
        payload: payload.to_vec(),
        ..TcpSpec::new(sport, VIP_PORT)
    };
    let seg = tcp_segment(IpAddr::V4(client), IpAddr::V4(VIP_V4), &spec);
    ethernet(
        PORT0_MAC,
        GATEWAY_MAC,
        None,
        IPV4,
        &ipv4(client, VIP_V4, 6, 64, &seg),
    )
}

pub(super) fn backend_frame(
    ends: Ends,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Result<Vec<u8>, SetupError> {
    let (Some(addr), Some(mac)) = (
        BACKENDS_V4.get(ends.backend),
        BACKEND_MACS.get(ends.backend),
    ) else {
        return fail("no such backend");
    };
    let spec = TcpSpec {
        seq,
        ack,
        flags,
        payload: payload.to_vec(),
        ..TcpSpec::new(BACKEND_PORT, ends.snat_port)
    };
    let seg = tcp_segment(IpAddr::V4(*addr), IpAddr::V4(ends.snat), &spec);
    Ok(ethernet(
        PORT1_MAC,
        *mac,
        Some(VLAN),
        IPV4,
        &ipv4(*addr, ends.snat, 6, 64, &seg),
    ))
}

/// The frame the engine must send for flow `i`'s measured packet going `dir`, built field by field.
pub(super) fn expected_output(
    i: u32,
    ends: Ends,
    dir: Direction,
) -> Result<(PortId, Vec<u8>), SetupError> {
    let (client, sport) = client_of(i);
    let (Some(addr), Some(mac)) = (
        BACKENDS_V4.get(ends.backend),
        BACKEND_MACS.get(ends.backend),
    ) else {
        return fail("no such backend");
    };
    let (src, dst, spec) = match dir {
        Direction::Forward => (ends.snat, *addr, forward_spec(ends.snat_port, BACKEND_PORT)),
        Direction::Reverse => (VIP_V4, client, reverse_spec(VIP_PORT, sport)),
    };
    let seg = tcp_segment(IpAddr::V4(src), IpAddr::V4(dst), &spec);
    let packet = ipv4(src, dst, 6, 63, &seg);
    Ok(match dir {
        Direction::Forward => (INSIDE, ethernet(*mac, PORT1_MAC, Some(VLAN), IPV4, &packet)),
        Direction::Reverse => (
            OUTSIDE,
            ethernet(GATEWAY_MAC, PORT0_MAC, None, IPV4, &packet),
        ),
    })
}

/// The input frame of flow `i`'s measured packet going `dir`.
pub(super) fn measured_input(i: u32, ends: Ends, dir: Direction) -> Result<Vec<u8>, SetupError> {
    match dir {
        Direction::Forward => {
            let spec = forward_spec(0, 0);
            Ok(client_frame(
                i,
                spec.flags,
                spec.seq,
                spec.ack,
                &spec.payload,
            ))
        }
        Direction::Reverse => {
            let spec = reverse_spec(0, 0);
            backend_frame(ends, spec.flags, spec.seq, spec.ack, &spec.payload)
        }
    }
}

/// The measured client segment (after the handshake: seq 1001, ack 5001) between two ports.
fn forward_spec(sport: u16, dport: u16) -> TcpSpec {
    TcpSpec {
        seq: 1001,
        ack: 5001,
        flags: ACK,
        payload: PAYLOAD.to_vec(),
        ..TcpSpec::new(sport, dport)
    }
}

/// The measured backend segment (seq 5001, acking the client's data).
fn reverse_spec(sport: u16, dport: u16) -> TcpSpec {
    TcpSpec {
        seq: 5001,
        ack: 1001 + PAYLOAD.len() as u32,
        flags: ACK,
        payload: PAYLOAD.to_vec(),
        ..TcpSpec::new(sport, dport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_distinct_and_off_link() {
        assert_eq!(client_of(0), (Ipv4Addr::new(198, 18, 128, 1), 40_000));
        assert_eq!(client_of(17), (Ipv4Addr::new(198, 18, 128, 2), 40_001));
        assert_eq!(client_of(99_999).0, Ipv4Addr::new(198, 18, 152, 106));
        let mut all: Vec<_> = (0..100_000).map(client_of).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 100_000);
    }

    #[test]
    fn the_snapshot_validates() {
        let s = snapshot().unwrap();
        assert_eq!(s.l4.settings().snat_ipv4, SNAT_V4.to_vec());
        assert_eq!(
            s.l4.pools()[0].maglev().slot_counts().iter().sum::<u32>(),
            65_537
        );
    }
}
