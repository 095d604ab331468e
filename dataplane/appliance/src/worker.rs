//! The run-to-completion loop of one worker lcore: rx burst on every port, the engine, tx burst, timers.
//!
//! Everything mutable here belongs to this core. Between bursts the worker picks up a new snapshot (one atomic
//! load to notice it), applies neighbours learned by other cores, and a few times a second publishes its counters.

use std::sync::Arc;
use std::time::Duration;

use arrayvec::ArrayVec;
use edgelb_dpdk::{Mbuf, Mempool, RxQueue, TxQueue};
use edgelb_engine::{Instant, Io, PortId, Worker};

use crate::clock::Clock;
use crate::shared::{NeighbourEntry, Shared, WorkerReport};

/// Largest rx burst and tx batch (the config's `workers.burst` is at most this).
pub const MAX_BURST: usize = edgelb_config::MAX_BURST as usize;
/// Empty polls in a row before an idle worker starts sleeping (when `idle_sleep` is not zero).
const IDLE_POLLS_BEFORE_SLEEP: u32 = 1024;
/// How often a worker republishes its counters and neighbours.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// Everything a worker needs, moved onto its lcore at launch.
#[derive(Debug)]
pub struct WorkerSetup {
    pub index: usize,
    /// One rx and one tx queue per port, indexed by the engine's `PortId`.
    pub rx: Vec<RxQueue>,
    pub tx: Vec<TxQueue>,
    pub pool: Arc<Mempool>,
    pub shared: Arc<Shared>,
    /// Frames per rx burst, at most [`MAX_BURST`].
    pub burst: usize,
    pub idle_sleep: Duration,
}

/// Frames waiting for the end of the burst, per port, and the mempool new frames come from.
struct TxBatches<'a> {
    pool: &'a Mempool,
    queues: Vec<TxQueue>,
    pending: Vec<ArrayVec<Mbuf, MAX_BURST>>,
    dropped: u64,
}

impl TxBatches<'_> {
    fn flush(&mut self) {
        for (queue, pending) in self.queues.iter_mut().zip(self.pending.iter_mut()) {
            if !pending.is_empty() {
                self.dropped += queue.tx_burst(pending) as u64;
            }
        }
    }
}

impl Io<Mbuf> for TxBatches<'_> {
    #[inline]
    fn alloc(&mut self) -> Option<Mbuf> {
        self.pool.alloc()
    }

    #[inline]
    fn send(&mut self, port: PortId, buf: Mbuf) {
        let p = usize::from(port.0);
        let (Some(queue), Some(pending)) = (self.queues.get_mut(p), self.pending.get_mut(p)) else {
            self.dropped += 1;
            return;
        };
        if pending.is_full() {
            self.dropped += queue.tx_burst(pending) as u64;
        }
        // After a flush the batch has room; if the NIC took nothing the frame is dropped by `try_push`'s error.
        if pending.try_push(buf).is_err() {
            self.dropped += 1;
        }
    }
}

impl WorkerSetup {
    /// The worker loop; returns when the management thread asks all workers to stop.
    pub fn run(self) -> i32 {
        let WorkerSetup {
            index,
            mut rx,
            tx,
            pool,
            shared,
            burst,
            idle_sleep,
        } = self;
        let clock = Clock::tsc();
        let mut generation = shared.generation();
        let mut engine: Worker<Mbuf> = Worker::new(shared.snapshot(), Default::default());
        let pending = tx.iter().map(|_| ArrayVec::new()).collect();
        let mut io = TxBatches {
            pool: &pool,
            queues: tx,
            pending,
            dropped: 0,
        };
        let mut rx_burst: ArrayVec<Mbuf, MAX_BURST> = ArrayVec::new();
        let mut idle_polls = 0u32;
        let mut next_report = Instant::ZERO;
        let Some(me) = shared.workers.get(index) else {
            tracing::error!("worker {index}: no shared state for this worker");
            return -1;
        };

        while !shared.stopping() {
            let now = clock.now();
            if shared.generation() != generation {
                generation = shared.generation();
                engine.set_snapshot(shared.snapshot());
            }
            while let Some(update) = me.inbox.pop() {
                engine.apply_neighbour_update(now, update, &mut io);
            }

            let mut received = 0;
            for (port, queue) in rx.iter_mut().enumerate() {
                received += queue.rx_burst_max(&mut rx_burst, burst);
                let port = PortId(port as u16);
                for frame in rx_burst.drain(..) {
                    engine.handle_frame(now, port, frame, &mut io);
                }
            }
            if engine.next_timer().is_some_and(|t| t <= now) {
                engine.poll_timers(now, &mut io);
            }
            io.flush();
            while let Some(update) = engine.poll_neighbour_update() {
                shared.broadcast(index, update);
            }

            if now >= next_report {
                publish_report(me, &engine, io.dropped);
                next_report = now + REPORT_EVERY;
            }
            if received == 0 {
                idle_polls = idle_polls.saturating_add(1);
                if !idle_sleep.is_zero() && idle_polls > IDLE_POLLS_BEFORE_SLEEP {
                    // Only when there is nothing to do: lets a lab share its few cores with clients and servers.
                    std::thread::sleep(idle_sleep);
                }
            } else {
                idle_polls = 0;
            }
        }
        io.flush();
        publish_report(me, &engine, io.dropped);
        0
    }
}

/// Publishes this core's counters and neighbours for the management thread (allocates: a few times a second).
fn publish_report(me: &crate::shared::WorkerShared, engine: &Worker<Mbuf>, tx_dropped: u64) {
    let neighbours = engine
        .neighbours()
        .map(|n| NeighbourEntry {
            ip: n.ip,
            mac: n.mac,
            port: n.port.0,
            state: n.state.name(),
            age_ms: u64::try_from(n.age.as_millis()).unwrap_or(u64::MAX),
        })
        .collect();
    me.report.store(Arc::new(WorkerReport {
        counters: engine.counters().clone(),
        tx_dropped,
        neighbours,
    }));
}
