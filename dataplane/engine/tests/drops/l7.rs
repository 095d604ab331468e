//! The L7 path's golden drop cases (one per reason), joined to the others in `drops.rs`.

use core::net::IpAddr;

use edgelb_engine::testing::{ethernet, ipv4, tcp_segment, TcpSpec};
use edgelb_engine::DropReason;

use super::{frame, Case};
use crate::lab::*;

const SYN: u8 = 0x02;
const RST: u8 = 0x04;

/// A TCP segment from the client to the L7 VIP's port 80.
fn to_l7(sport: u16, flags: u8) -> Vec<u8> {
    let spec = TcpSpec {
        flags,
        ..TcpSpec::new(sport, 80)
    };
    let seg = tcp_segment(IpAddr::V4(CLIENT_V4), IpAddr::V4(L7_VIP_V4), &spec);
    ethernet(
        PORT0_MAC,
        CLIENT_MAC,
        None,
        0x0800,
        &ipv4(CLIENT_V4, L7_VIP_V4, 6, 64, &seg),
    )
}

pub(super) fn cases() -> Vec<Case> {
    use DropReason::*;
    vec![
        Case {
            reason: L7ConnectionLimit,
            // One connection slot, taken by a first client's SYN (its SYN-ACK is sent, not dropped).
            setup: |lab| {
                *lab = l7_lab(1);
                assert_eq!(lab.rx(OUTSIDE, &to_l7(40000, SYN)).len(), 1);
            },
            action: frame(OUTSIDE, to_l7(40001, SYN)),
        },
        Case {
            reason: L7NoConnection,
            setup: |lab| *lab = l7_lab(16),
            // An RST for no connection: nothing to answer.
            action: frame(OUTSIDE, to_l7(40002, RST)),
        },
        Case {
            reason: L7BadSegment,
            setup: |lab| *lab = l7_lab(16),
            action: frame(OUTSIDE, {
                // A TCP header whose data offset (4 words) is shorter than a TCP header.
                let mut f = to_l7(40003, SYN);
                let offset_byte = 14 + 20 + 12;
                f[offset_byte] = 0x40;
                f
            }),
        },
    ]
}
