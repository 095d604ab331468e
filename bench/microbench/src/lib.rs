//! Inputs shared by the criterion benches and the callgrind instruction counter: deterministic backends and
//! flows, so that every run measures the same work; the engine's fast path set up for measuring
//! ([`fastpath`]) and the buffer that drives it without allocating ([`frame_buffer`]); two L7 TCP endpoints with
//! N connections between them ([`l7pair`]).

pub mod fastpath;
pub mod frame_buffer;
pub mod l7pair;

use std::net::{IpAddr, Ipv4Addr};

use edgelb_engine::flow::{FlowKey, Proto};

/// Identities of `n` backends, as the appliance names them (`addr:port`).
pub fn backend_keys(n: u32) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("198.19.{}.{}:80", i / 250, i % 250 + 1).into_bytes())
        .collect()
}

/// The `i`-th client flow towards the VIP 198.18.10.10:80.
pub fn client_flow(i: u32) -> FlowKey {
    FlowKey {
        src: IpAddr::V4(Ipv4Addr::from(0xc612_0000 + (i >> 14))),
        dst: IpAddr::V4(Ipv4Addr::new(198, 18, 10, 10)),
        sport: 1024 + (i & 0x3fff) as u16,
        dport: 80,
        proto: Proto::Tcp,
    }
}

/// The return key of flow `i`: backend → SNAT address and port.
pub fn return_flow(i: u32) -> FlowKey {
    FlowKey {
        src: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 11 + (i % 3) as u8)),
        dst: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 1 + (i >> 16) as u8)),
        sport: 80,
        dport: i as u16,
        proto: Proto::Tcp,
    }
}

/// A cheap deterministic sequence for picking flows in a random-looking order.
pub fn lcg(x: &mut u32) -> u32 {
    *x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    *x
}
