//! The sending side: builds paced bursts of stamped frames into mbufs and hands them to the tx queue.
//!
//! Frames the queue does not take stay queued in order and are retried with a fresh TSC in their
//! stamp, so that a full ring shows up as a lower send rate, never as loss charged to the device under
//! test. Frame `n` of the run has sequence number `n`, and frames leave in that order, so the first
//! queued frame's number is always the count sent so far.
//!
//! After the run the sender keeps sending a flush frame now and then (see [`crate::stamp::flush_frame`])
//! until the receiver has everything or the drain time is up: on af_packet frames still in the tx
//! ring leave only at a later send call.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use arrayvec::ArrayVec;
use edgelb_dpdk::{Mbuf, Mempool, TxQueue};
use edgelb_engine::buffer::PacketBuffer;

use crate::frame::FrameTemplate;
use crate::pacing::Pacer;
use crate::stamp::FLUSH_LEN;
use crate::summary::TxTally;

/// The largest burst.
pub const MAX_BURST: usize = 64;

/// The sender's progress, shared with the receiving loop (which may run on another lcore).
#[derive(Debug, Default)]
pub struct TxProgress {
    sent: AtomicU64,
    unsent: AtomicU64,
    alloc_failures: AtomicU64,
    first_tsc: AtomicU64,
    last_tsc: AtomicU64,
    flushes: AtomicU64,
    done: AtomicBool,
    drained: AtomicBool,
}

impl TxProgress {
    /// Frames sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Acquire)
    }

    /// Whether the sender has finished (everything else is final once this is true).
    pub fn done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Tells a sender on another lcore that the receiver has drained: stop flushing.
    pub fn set_drained(&self) {
        self.drained.store(true, Ordering::Release);
    }

    /// Whether the receiver has drained.
    pub fn drained(&self) -> bool {
        self.drained.load(Ordering::Acquire)
    }

    /// The final tally (meaningful once [`Self::done`]).
    pub fn tally(&self) -> TxTally {
        TxTally {
            sent: self.sent.load(Ordering::Acquire),
            unsent: self.unsent.load(Ordering::Acquire),
            alloc_failures: self.alloc_failures.load(Ordering::Acquire),
            first_tsc: self.first_tsc.load(Ordering::Acquire),
            last_tsc: self.last_tsc.load(Ordering::Acquire),
            flushes: self.flushes.load(Ordering::Acquire),
        }
    }
}

/// How the sender paces and bounds the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxPlan {
    /// TSC ticks per second.
    pub tsc_hz: u64,
    /// How long to send.
    pub duration_ns: u64,
    /// Target rate (0: as fast as possible).
    pub pps: u64,
    /// At most this many frames.
    pub limit: u64,
    /// Frames per burst (1..=[`MAX_BURST`]).
    pub burst: usize,
}

/// One tx queue's sender.
#[derive(Debug)]
pub struct Sender {
    queue: TxQueue,
    pool: Arc<Mempool>,
    template: FrameTemplate,
    plan: TxPlan,
    pacer: Option<Pacer>,
    queued: ArrayVec<Mbuf, MAX_BURST>,
    flush: [u8; FLUSH_LEN],
    flush_queued: ArrayVec<Mbuf, 1>,
    next_flush: u64,
    built: u64,
    tally: TxTally,
    progress: Arc<TxProgress>,
}

impl Sender {
    /// A sender of `template` frames on `queue`, and of `flush` frames after them; the run starts
    /// at the first [`Self::poll`].
    pub fn new(
        queue: TxQueue,
        pool: Arc<Mempool>,
        template: FrameTemplate,
        flush: [u8; FLUSH_LEN],
        plan: TxPlan,
    ) -> Self {
        // Sequence numbers are 32 bits: a run never sends more than 2^32 frames.
        let plan = TxPlan {
            limit: plan.limit.min(1 << 32),
            burst: plan.burst.clamp(1, MAX_BURST),
            ..plan
        };
        Sender {
            queue,
            pool,
            template,
            plan,
            pacer: None,
            queued: ArrayVec::new(),
            flush,
            flush_queued: ArrayVec::new(),
            next_flush: 0,
            built: 0,
            tally: TxTally::default(),
            progress: Arc::new(TxProgress::default()),
        }
    }

    /// The progress handle to read from another thread.
    pub fn progress(&self) -> Arc<TxProgress> {
        Arc::clone(&self.progress)
    }

    /// Sends what is due at TSC `now`; false once the run is over (then the progress is final).
    #[inline]
    pub fn poll(&mut self, now: u64, stop: bool) -> bool {
        let plan = self.plan;
        let pacer = *self.pacer.get_or_insert_with(|| {
            Pacer::new(now, plan.tsc_hz, plan.duration_ns, plan.pps, plan.limit)
        });
        if stop || (pacer.finished(now, self.built) && self.queued.is_empty()) || now >= pacer.end()
        {
            self.finish();
            return false;
        }
        if self.queued.is_empty() {
            let due = pacer.due(now, self.built, plan.burst as u64);
            if due == 0 {
                return true;
            }
            if !self.build(due as usize, now) {
                return true;
            }
        } else {
            self.restamp(now);
        }
        let sent = self.queue.try_tx_burst(&mut self.queued) as u64;
        if sent > 0 {
            if self.tally.sent == 0 {
                self.tally.first_tsc = now;
            }
            self.tally.sent += sent;
            self.tally.last_tsc = now;
            self.progress.sent.store(self.tally.sent, Ordering::Release);
        }
        true
    }

    /// Fills the queue with `n` new frames stamped `now`; false when the pool ran dry.
    fn build(&mut self, n: usize, now: u64) -> bool {
        if !self.pool.alloc_bulk(&mut self.queued, n) {
            self.tally.alloc_failures += 1;
            return false;
        }
        let len = self.template.frame_len();
        let first = self.built;
        for (i, m) in self.queued.iter_mut().enumerate() {
            let seq = (first + i as u64) as u32;
            if m.set_len(len).is_err() || !self.template.write(m.data_mut(), seq, now) {
                // A pool whose buffers cannot hold one frame: give the whole burst back and count it.
                self.queued.clear();
                self.tally.alloc_failures += 1;
                return false;
            }
        }
        self.built += n as u64;
        true
    }

    /// Refreshes the TSC of frames the queue refused before.
    fn restamp(&mut self, now: u64) {
        let first = self.tally.sent;
        for (i, m) in self.queued.iter_mut().enumerate() {
            let seq = (first + i as u64) as u32;
            self.template.restamp(m.data_mut(), seq, now);
        }
    }

    /// After the run: sends a flush frame if none went out in the last `every` TSC ticks.
    #[inline]
    pub fn flush(&mut self, now: u64, every: u64) {
        if now < self.next_flush {
            return;
        }
        self.next_flush = now.saturating_add(every);
        if self.flush_queued.is_empty() {
            let Some(mut m) = self.pool.alloc() else {
                return;
            };
            if m.set_len(FLUSH_LEN).is_err() {
                return;
            }
            m.data_mut().copy_from_slice(&self.flush);
            self.flush_queued.push(m);
        }
        // Sent or not, the call made the port push its tx ring; a refused frame waits for next time.
        if self.queue.try_tx_burst(&mut self.flush_queued) > 0 {
            self.progress.flushes.fetch_add(1, Ordering::Release);
        }
    }

    fn finish(&mut self) {
        self.tally.unsent = self.queued.len() as u64;
        self.queued.clear();
        let p = &self.progress;
        p.unsent.store(self.tally.unsent, Ordering::Release);
        p.alloc_failures
            .store(self.tally.alloc_failures, Ordering::Release);
        p.first_tsc.store(self.tally.first_tsc, Ordering::Release);
        p.last_tsc.store(self.tally.last_tsc, Ordering::Release);
        p.sent.store(self.tally.sent, Ordering::Release);
        p.done.store(true, Ordering::Release);
    }
}
