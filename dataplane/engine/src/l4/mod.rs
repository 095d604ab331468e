//! L4 balancing: listeners (VIP, port, protocol) over pools of backends, with Maglev picking the
//! backend of each new flow and FullNAT rewriting both directions in place.
//!
//! This module holds the pure parts: the snapshot inputs and their checks ([`snapshot`]), the
//! listener index, header parsing and checksum-preserving rewrites, SNAT port ownership with the
//! Toeplitz hash, ICMP error rewriting and TCP resets. The worker's L4 stages
//! (`worker/l4_*.rs`) use them on the fast path: none of them allocates or panics there.

pub mod checksum;
pub mod icmp_error;
pub mod listeners;
pub mod nat;
pub mod rst;
pub mod segment;
pub mod snapshot;
pub mod snat;
pub mod toeplitz;

pub use snapshot::{
    backend_id, Backend, L4Input, L4Settings, L4Snapshot, Listener, OnBackendRemoved, Pool,
    PoolSpec, RssSpec, SnatPorts,
};
pub use snat::CoreId;
