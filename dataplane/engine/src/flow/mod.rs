//! The per-core flow table of the L4 path, and the client-ip affinity table.
//!
//! A worker looks up each packet's flow by its forward key (from clients) or reverse key (from
//! backends); a miss on the forward side picks a backend (Maglev, or the affinity table first) and
//! inserts a flow. Both tables are sized once and never allocate, lock or panic afterwards. Flows
//! keep the backend they were given when the pool changes; a draining backend (weight 0 in Maglev)
//! keeps its flows; a removed backend's flows are found with [`FlowTable::drain_backend`] or
//! [`FlowTable::sweep`], and the caller resets (RST both ways, from [`FlowEntry::last_ack`]) or
//! just drops them.

mod affinity;
mod config;
mod counters;
mod entry;
mod index;
mod key;
mod lru;
mod rate_limit;
mod state;
mod table;

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod table_tests;

pub use affinity::AffinityTable;
pub use config::{FlowConfig, FlowTimeouts, InsertRate};
pub use counters::FlowCounters;
pub use entry::{FlowData, FlowEntry, FlowHandle, PacketInfo};
pub use key::{FlowKey, Proto};
pub use state::{Direction, FlowState, TcpFlags, TcpState};
pub use table::{FlowTable, InsertError, SweepCursor, SweepVerdict, MAX_CAPACITY};
