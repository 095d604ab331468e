//! One flow as the table keeps it, and the small values passed in and out with it.

use core::net::{IpAddr, Ipv4Addr};
use core::time::Duration;

use super::config::FlowTimeouts;
use super::key::{FlowKey, Proto};
use super::state::{Direction, FlowState, TcpFlags, TcpState};
use crate::time::Instant;

/// A flow in the table, valid until the flow is removed; stale handles are refused, never misread.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FlowHandle {
    pub(super) slot: u32,
    pub(super) generation: u32,
}

/// What the caller decided for a new flow.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FlowData {
    /// The listener the flow belongs to.
    pub listener: u32,
    /// The backend, as an identity that stays the same across snapshots (not a Maglev slot index
    /// unless those are stable), so that `drain_backend` finds its flows after a pool change.
    pub backend: u32,
}

/// What one packet tells the table.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PacketInfo {
    /// TCP flags; [`TcpFlags::EMPTY`] for UDP.
    pub flags: TcpFlags,
    /// The TCP acknowledgment number (used only when `flags` has ACK).
    pub ack: u32,
    /// The packet's length, as the caller counts bytes (e.g. the IP total length).
    pub bytes: u32,
}

/// One flow: both keys, where it goes, its state and its counters.
///
/// The NAT rewrite needs no extra fields: a forward packet leaves as the reverse key swapped
/// (SNAT address → backend), a reverse packet as the forward key swapped (VIP → client).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FlowEntry {
    /// Client → listener address, as forward packets carry it.
    pub fwd: FlowKey,
    /// Backend → SNAT address, as reverse packets carry it.
    pub rev: FlowKey,
    /// The listener.
    pub listener: u32,
    /// The backend's stable identity.
    pub backend: u32,
    /// What the flags seen so far say.
    pub state: FlowState,
    /// When the flow was inserted.
    pub created: Instant,
    /// The last packet either way.
    pub last_seen: Instant,
    /// When the flow times out unless another packet comes.
    pub expires_at: Instant,
    /// Packets per [`Direction`] (index with [`Direction::index`]).
    pub packets: [u64; 2],
    /// Bytes per [`Direction`].
    pub bytes: [u64; 2],
    /// The last ACK number each direction carried: the sequence number a RST sent the other way
    /// must use to be accepted (RFC 5961), for resetting flows of a removed backend.
    pub last_ack: [Option<u32>; 2],
}

impl FlowEntry {
    /// A placeholder for free slots.
    pub(super) const VACANT: FlowEntry = {
        let nowhere = FlowKey {
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            sport: 0,
            dport: 0,
            proto: Proto::Udp,
        };
        FlowEntry {
            fwd: nowhere,
            rev: nowhere,
            listener: 0,
            backend: 0,
            state: FlowState::Udp,
            created: Instant::ZERO,
            last_seen: Instant::ZERO,
            expires_at: Instant::ZERO,
            packets: [0; 2],
            bytes: [0; 2],
            last_ack: [None; 2],
        }
    };

    /// The client's address and port.
    pub fn client(&self) -> (IpAddr, u16) {
        (self.fwd.src, self.fwd.sport)
    }

    /// The listener's address and port (the VIP).
    pub fn vip(&self) -> (IpAddr, u16) {
        (self.fwd.dst, self.fwd.dport)
    }

    /// The backend's address and port.
    pub fn backend_addr(&self) -> (IpAddr, u16) {
        (self.rev.src, self.rev.sport)
    }

    /// The SNAT address and port the appliance uses towards the backend.
    pub fn snat(&self) -> (IpAddr, u16) {
        (self.rev.dst, self.rev.dport)
    }

    /// Whether the backend has sent anything back.
    pub fn backend_answered(&self) -> bool {
        self.packets[Direction::Reverse.index()] > 0
    }

    /// Whether the flow has shown two-way traffic in an open state: such flows are kept over
    /// half-open, closing and unanswered ones when the table must evict, so that SYN, stray-ACK and
    /// spoofed-UDP floods push out only their own kind.
    pub fn is_assured(&self) -> bool {
        self.state.is_open() && self.backend_answered()
    }

    /// How long the flow lives after its last packet.
    pub fn timeout(&self, timeouts: &FlowTimeouts) -> Duration {
        match self.state {
            FlowState::Tcp(TcpState::Established) if !self.backend_answered() => timeouts.syn_sent,
            state => timeouts.for_state(state),
        }
    }

    /// Whether the flow has timed out at `now`.
    #[inline]
    pub fn is_expired(&self, now: Instant) -> bool {
        now >= self.expires_at
    }

    /// Accounts a packet going `dir` (state and expiry are the table's business).
    #[inline]
    pub(super) fn count(&mut self, dir: Direction, now: Instant, packet: PacketInfo) {
        let i = dir.index();
        if let Some(p) = self.packets.get_mut(i) {
            *p = p.wrapping_add(1);
        }
        if let Some(b) = self.bytes.get_mut(i) {
            *b = b.wrapping_add(u64::from(packet.bytes));
        }
        if packet.flags.contains(TcpFlags::ACK) {
            if let Some(a) = self.last_ack.get_mut(i) {
                *a = Some(packet.ack);
            }
        }
        self.last_seen = now;
    }
}

#[cfg(test)]
mod tests {
    use core::net::Ipv6Addr;

    use super::*;

    #[test]
    fn nat_ends_come_from_the_keys() {
        let client = IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1));
        let vip = IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 1, 0, 0, 0, 1));
        let backend = IpAddr::V4(Ipv4Addr::new(198, 18, 1, 2));
        let snat = IpAddr::V4(Ipv4Addr::new(198, 18, 1, 254));
        let entry = FlowEntry {
            fwd: FlowKey {
                src: client,
                dst: vip,
                sport: 5555,
                dport: 443,
                proto: Proto::Tcp,
            },
            rev: FlowKey {
                src: backend,
                dst: snat,
                sport: 8443,
                dport: 20001,
                proto: Proto::Tcp,
            },
            ..FlowEntry::VACANT
        };
        assert_eq!(entry.client(), (client, 5555));
        assert_eq!(entry.vip(), (vip, 443));
        assert_eq!(entry.backend_addr(), (backend, 8443));
        assert_eq!(entry.snat(), (snat, 20001));
    }

    #[test]
    fn assured_and_timeout_depend_on_the_backend_answering() {
        let timeouts = FlowTimeouts::default();
        let mut e = FlowEntry {
            state: FlowState::Tcp(TcpState::Established),
            ..FlowEntry::VACANT
        };
        assert!(!e.is_assured());
        assert_eq!(
            e.timeout(&timeouts),
            timeouts.syn_sent,
            "picked up mid-stream, unanswered"
        );
        e.count(Direction::Reverse, Instant::ZERO, PacketInfo::default());
        assert!(e.is_assured());
        assert_eq!(e.timeout(&timeouts), timeouts.established);
        let udp = FlowEntry {
            packets: [5, 1],
            ..FlowEntry::VACANT
        };
        assert!(udp.is_assured());
        assert_eq!(udp.timeout(&timeouts), timeouts.udp);
        let unanswered = FlowEntry {
            packets: [5, 0],
            ..FlowEntry::VACANT
        };
        assert!(!unanswered.is_assured());
        assert_eq!(unanswered.timeout(&timeouts), timeouts.udp);
        let closing = FlowEntry {
            state: FlowState::Tcp(TcpState::Closed),
            packets: [3, 3],
            ..FlowEntry::VACANT
        };
        assert!(!closing.is_assured());
    }

    #[test]
    fn counts_per_direction_and_keeps_acks() {
        let mut e = FlowEntry::VACANT;
        let t = Instant::from_nanos(7);
        e.count(
            Direction::Forward,
            t,
            PacketInfo {
                flags: TcpFlags::SYN,
                ack: 99,
                bytes: 60,
            },
        );
        assert_eq!(e.last_ack, [None, None], "no ACK flag, no ACK number");
        e.count(
            Direction::Reverse,
            t,
            PacketInfo {
                flags: TcpFlags(0x12),
                ack: 1001,
                bytes: 60,
            },
        );
        e.count(
            Direction::Forward,
            t,
            PacketInfo {
                flags: TcpFlags::ACK,
                ack: 5001,
                bytes: 52,
            },
        );
        assert_eq!(e.packets, [2, 1]);
        assert_eq!(e.bytes, [112, 60]);
        assert_eq!(e.last_ack, [Some(5001), Some(1001)]);
        assert_eq!(e.last_seen, t);
    }
}
