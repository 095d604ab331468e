//! edgelb's sans-I/O packet engine.
//!
//! The engine takes received frames (any [`PacketBuffer`]), the caller's `now`, and an [`Io`] that
//! allocates buffers and queues frames for transmission. It has no DPDK type, reads no clock and does
//! no I/O itself, so tests drive the very code the worker cores run.
//!
//! One [`Worker`] holds all mutable state of one worker core: counters, the neighbour table and the
//! packets waiting for resolution. Configuration comes in as an immutable [`snapshot::Snapshot`].
//!
//! The pipeline for a received frame (see [`Worker::handle_frame`]):
//! Ethernet/802.1Q → ARP (reply, learn) | IPv4/IPv6 → owned address? → ICMP/ICMPv6 echo, ND → reply;
//! TCP/UDP to a listener → flow table (Maglev for a new flow) → FullNAT → next hop; TCP/UDP to a
//! SNAT address → flow table (reverse) → FullNAT back; ICMP errors → the quoted packet's flow.
//! Everything else ends in exactly one [`DropReason`], counted in [`Counters`].
#![forbid(unsafe_code)]

pub mod buffer;
pub mod counters;
pub mod drop_reason;
pub mod flow;
pub mod io;
pub mod l4;
pub mod l7;
pub mod maglev;
pub mod neighbour;
pub mod route;
pub mod snapshot;
pub mod testing;
pub mod time;
pub mod wire;
pub mod worker;

mod addresses;

pub use buffer::{NoRoom, PacketBuffer, TestBuffer};
pub use counters::Counters;
pub use drop_reason::DropReason;
pub use io::Io;
pub use l4::CoreId;
pub use neighbour::{NeighbourState, NeighbourUpdate, NeighbourView};
pub use time::Instant;
pub use worker::{Capacity, Worker};

/// Index of a port in the snapshot's port list (not the DPDK port id).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortId(pub u16);

impl PortId {
    /// The index into the snapshot's port list.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}
