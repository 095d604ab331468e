//! Maglev consistent hashing: the per-listener lookup table that picks a backend for each new flow.
//!
//! The management thread builds a [`MaglevTable`] for each listener from the backends' identities,
//! weights and the appliance-wide seed, and publishes it with the configuration snapshot; workers
//! only call [`MaglevTable::lookup`] with [`hash_5tuple`] (default) or [`hash_source`] (`affinity:
//! client-ip`). Appliances with the same seed and backends build identical tables, so an ECMP
//! rehash between them keeps flows on their backend.

pub mod hash;
mod prime;
mod table;
mod turns;

#[cfg(test)]
mod properties;

pub use hash::{hash_5tuple, hash_source, xxh64};
pub use prime::{is_prime, next_prime};
pub use table::{
    MaglevBackend, MaglevError, MaglevTable, DEFAULT_SIZE, MAX_BACKENDS, MAX_SIZE,
    MIN_SLOTS_PER_BACKEND,
};
