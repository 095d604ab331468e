//! The receiving side: polls the rx queue, finds each frame's stamp whatever its headers became,
//! and tallies sequence numbers and one-way latency. Frames are freed as soon as they are read.

use arrayvec::ArrayVec;
use edgelb_dpdk::{tsc_cycles, Mbuf, RxQueue};
use edgelb_engine::buffer::PacketBuffer;

use crate::latency::LatencyRecorder;
use crate::sequence::{Arrival, SeqTracker};
use crate::stamp;
use crate::summary::RxTally;

const RX_BURST: usize = 64;

/// One rx queue's receiver for the run tagged `tag`.
#[derive(Debug)]
pub struct Receiver {
    queue: RxQueue,
    tag: u16,
    tracker: SeqTracker,
    latency: LatencyRecorder,
    foreign: u64,
    flushes: u64,
    other_runs: u64,
    burst: ArrayVec<Mbuf, RX_BURST>,
}

impl Receiver {
    /// A receiver on `queue` counting frames of run `tag` into `latency`.
    pub fn new(queue: RxQueue, tag: u16, latency: LatencyRecorder) -> Self {
        Receiver {
            queue,
            tag,
            tracker: SeqTracker::new(),
            latency,
            foreign: 0,
            flushes: 0,
            other_runs: 0,
            burst: ArrayVec::new(),
        }
    }

    /// Receives one burst; how many frames arrived (any kind).
    #[inline]
    pub fn poll(&mut self) -> usize {
        let n = self.queue.rx_burst(&mut self.burst);
        if n == 0 {
            return 0;
        }
        let now = tsc_cycles();
        for m in self.burst.drain(..) {
            match stamp::find(m.data()) {
                Some(s) if s.tag == self.tag => {
                    if self.tracker.record(u64::from(s.seq)) != Arrival::Duplicate {
                        self.latency.record(s.tsc, now);
                    }
                }
                Some(_) => self.other_runs += 1,
                None if stamp::is_flush(m.data()) => self.flushes += 1,
                None => self.foreign += 1,
            }
        }
        n
    }

    /// Distinct frames of this run so far.
    pub fn distinct(&self) -> u64 {
        self.tracker.distinct
    }

    /// Polls and throws away whatever is queued now (frames from before the run), at most `max` bursts.
    pub fn discard_pending(&mut self, max: usize) {
        for _ in 0..max {
            if self.queue.rx_burst(&mut self.burst) == 0 {
                break;
            }
            self.burst.clear();
        }
    }

    /// The tallies and the latency recorder.
    pub fn finish(self) -> (RxTally, LatencyRecorder) {
        let t = &self.tracker;
        let tally = RxTally {
            distinct: t.distinct,
            reordered: t.reordered,
            duplicates: t.duplicates,
            late: t.late,
            foreign: self.foreign,
            flushes: self.flushes,
            other_runs: self.other_runs,
            negative_latency: self.latency.negative,
        };
        (tally, self.latency)
    }
}
