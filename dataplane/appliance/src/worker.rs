//! The run-to-completion loop of one worker lcore: rx burst on every port, the engine, tx burst, timers.
//!
//! Everything mutable here belongs to this core. Between bursts the worker picks up a new snapshot (one atomic
//! load to notice it), takes frames other cores handed over (return traffic of flows this core owns), applies
//! neighbours learned by other cores, and a few times a second publishes its counters.

use std::sync::Arc;
use std::time::Duration;

use arrayvec::ArrayVec;
use edgelb_dpdk::{Mbuf, MbufRingConsumer, MbufRingProducer, Mempool, RxQueue, TxQueue};
use edgelb_engine::{Capacity, CoreId, Instant, PortId, Worker};

use crate::clock::Clock;
use crate::shared::{NeighbourEntry, Shared, WorkerReport, WorkerShared};
use crate::tx_batches::{TxBatches, MAX_BURST};

/// Empty polls in a row before an idle worker starts sleeping (when `idle_sleep` is not zero).
const IDLE_POLLS_BEFORE_SLEEP: u32 = 1024;
/// How often a worker republishes its counters and neighbours.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// Everything a worker needs, moved onto its lcore at launch.
#[derive(Debug)]
pub struct WorkerSetup {
    pub core: CoreId,
    /// One rx and one tx queue per port, indexed by the engine's `PortId`.
    pub rx: Vec<RxQueue>,
    pub tx: Vec<TxQueue>,
    /// Frames other cores hand to this one.
    pub inbox: MbufRingConsumer,
    /// The other cores' inboxes, by core index (`None` at this core's own index).
    pub peers: Vec<Option<MbufRingProducer>>,
    pub pool: Arc<Mempool>,
    pub shared: Arc<Shared>,
    pub capacity: Capacity,
    /// Frames per rx burst, at most [`MAX_BURST`].
    pub burst: usize,
    pub idle_sleep: Duration,
}

impl WorkerSetup {
    /// The worker loop; returns when the management thread asks all workers to stop.
    pub fn run(self) -> i32 {
        let WorkerSetup {
            core,
            mut rx,
            tx,
            mut inbox,
            peers,
            pool,
            shared,
            capacity,
            burst,
            idle_sleep,
        } = self;
        let index = usize::from(core.index);
        let Some(me) = shared.workers.get(index) else {
            tracing::error!("worker {index}: no shared state for this worker");
            return -1;
        };
        // DPDK port id → the engine's port index, for frames handed over by other cores.
        let port_of: Vec<Option<PortId>> = {
            let mut map =
                vec![None; usize::from(rx.iter().map(|q| q.port_id()).max().unwrap_or(0)) + 1];
            for (i, q) in rx.iter().enumerate() {
                if let Some(slot) = map.get_mut(usize::from(q.port_id())) {
                    *slot = Some(PortId(i as u16));
                }
            }
            map
        };
        let burst = burst.clamp(1, MAX_BURST);
        let clock = Clock::tsc();
        let mut generation = shared.generation();
        let mut engine: Worker<Mbuf> = Worker::new(shared.snapshot(), capacity, core);
        let mut io = TxBatches::new(&pool, tx, peers);
        let mut frames: ArrayVec<Mbuf, MAX_BURST> = ArrayVec::new();
        let mut idle_polls = 0u32;
        let mut next_report = Instant::ZERO;

        while !shared.stopping() {
            let now = clock.now();
            if shared.generation() != generation {
                generation = shared.generation();
                engine.set_snapshot(shared.snapshot());
            }
            while let Some(update) = me.inbox.pop() {
                engine.apply_neighbour_update(now, update, &mut io);
            }

            let mut received = inbox.dequeue_burst(&mut frames);
            for frame in frames.drain(..) {
                match port_of.get(usize::from(frame.port())).copied().flatten() {
                    Some(port) => engine.handle_handed_off(now, port, frame, &mut io),
                    None => io.handoff_dropped += 1,
                }
            }
            for (port, queue) in rx.iter_mut().enumerate() {
                received += queue.rx_burst_max(&mut frames, burst);
                let port = PortId(port as u16);
                for frame in frames.drain(..) {
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
                publish_report(me, &engine, &io);
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
        publish_report(me, &engine, &io);
        0
    }
}

/// Publishes this core's counters and neighbours for the management thread (allocates: a few times a second).
fn publish_report(me: &WorkerShared, engine: &Worker<Mbuf>, io: &TxBatches<'_>) {
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
        tx_dropped: io.tx_dropped,
        handoff_dropped: io.handoff_dropped,
        neighbours,
    }));
}
