//! Neighbours: the per-core ARP/ND cache and the packets waiting for it.
//!
//! States follow RFC 4861 section 7.3.2 without DELAY: `Incomplete` (being resolved, packets
//! queue) → `Reachable` (confirmed within `reachable`) → `Stale` (still used; the next use sends a
//! unicast probe) → `Probe` → `Reachable` again, or removed after `max_probes` unanswered requests.
//! Entries unused for `stale_gc` are removed. Each core learns on its own and offers what it
//! learns to the others as [`NeighbourUpdate`]s.

mod index;
mod pending;
mod table;

use core::net::IpAddr;
use core::time::Duration;

use crate::PortId;

pub(crate) use table::{Key, Learn, NeighbourTable, Resolved, Solicitation, TimerAction};

/// The state of a neighbour entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighbourState {
    /// Being resolved: requests sent, no MAC yet, packets queued.
    Incomplete,
    /// Confirmed recently.
    Reachable,
    /// Not confirmed recently; still used, and probed on use.
    Stale,
    /// Unicast probes sent, waiting for a confirmation.
    Probe,
}

impl NeighbourState {
    /// The state's name for the admin API.
    pub const fn name(self) -> &'static str {
        match self {
            NeighbourState::Incomplete => "incomplete",
            NeighbourState::Reachable => "reachable",
            NeighbourState::Stale => "stale",
            NeighbourState::Probe => "probe",
        }
    }
}

/// What one core learned about a neighbour, for the appliance to pass to the other cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighbourUpdate {
    /// The neighbour's address.
    pub ip: IpAddr,
    /// Its MAC.
    pub mac: [u8; 6],
    /// The port it is on.
    pub port: PortId,
    /// Whether it was a confirmation (an answer to our request) rather than hearsay.
    pub confirmed: bool,
}

/// A neighbour entry as the admin API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighbourView {
    /// The neighbour's address.
    pub ip: IpAddr,
    /// Its MAC, once resolved.
    pub mac: Option<[u8; 6]>,
    /// The port it is on.
    pub port: PortId,
    /// Its state, as of the latest `now` the worker was given.
    pub state: NeighbourState,
    /// Time since it was last confirmed (or created), as of the latest `now` the worker was given.
    pub age: Duration,
}
