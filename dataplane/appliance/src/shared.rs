//! What the management thread and the workers share. Nothing here is locked: a stop flag, the configuration
//! snapshot behind an RCU pointer (arc-swap), per-worker lock-free inboxes, and per-worker reports that each
//! worker republishes a few times a second (off the per-packet path).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use crossbeam_queue::ArrayQueue;
use edgelb_engine::snapshot::Snapshot;
use edgelb_engine::{Counters, NeighbourUpdate};

/// Neighbour updates a worker can hold before the oldest are lost (it drains them every loop).
pub const INBOX_CAPACITY: usize = 1024;

/// State shared by the management thread and every worker.
#[derive(Debug)]
pub struct Shared {
    stop: AtomicBool,
    generation: AtomicU64,
    snapshot: ArcSwap<Snapshot>,
    pub workers: Vec<WorkerShared>,
}

/// The part of [`Shared`] that belongs to one worker.
#[derive(Debug)]
pub struct WorkerShared {
    pub lcore: u32,
    /// Neighbours learned by other cores, applied by this one between bursts.
    pub inbox: ArrayQueue<NeighbourUpdate>,
    /// Updates lost because the inbox was full (the next ARP/ND exchange relearns them).
    pub inbox_overflow: AtomicU64,
    pub report: ArcSwap<WorkerReport>,
}

/// A worker's published view of itself.
#[derive(Debug, Clone, Default)]
pub struct WorkerReport {
    pub counters: Counters,
    pub tx_dropped: u64,
    pub handoff_dropped: u64,
    pub neighbours: Vec<NeighbourEntry>,
}

/// One neighbour as a worker saw it when it published its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighbourEntry {
    pub ip: std::net::IpAddr,
    pub mac: Option<[u8; 6]>,
    pub port: u16,
    pub state: &'static str,
    pub age_ms: u64,
}

impl Shared {
    pub fn new(snapshot: Arc<Snapshot>, lcores: &[u32]) -> Self {
        let workers = lcores
            .iter()
            .map(|&lcore| WorkerShared {
                lcore,
                inbox: ArrayQueue::new(INBOX_CAPACITY),
                inbox_overflow: AtomicU64::new(0),
                report: ArcSwap::from_pointee(WorkerReport::default()),
            })
            .collect();
        Self {
            stop: AtomicBool::new(false),
            generation: AtomicU64::new(1),
            snapshot: ArcSwap::new(snapshot),
            workers,
        }
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    #[inline]
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Publishes a new snapshot; workers pick it up before their next burst.
    pub fn publish(&self, snapshot: Arc<Snapshot>) -> u64 {
        self.snapshot.store(snapshot);
        self.generation.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The generation of the current snapshot: one atomic load, cheap enough for every loop.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Hands a neighbour update learned by worker `from` to every other worker.
    pub fn broadcast(&self, from: usize, update: NeighbourUpdate) {
        for (i, w) in self.workers.iter().enumerate() {
            if i != from && w.inbox.push(update).is_err() {
                w.inbox_overflow.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
