//! What the engine sends through, on one worker: per-port tx batches flushed with `tx_burst`, per-core hand-off
//! batches flushed into the owner core's ring, and the mempool new frames come from.

use arrayvec::ArrayVec;
use edgelb_dpdk::{Mbuf, MbufRingProducer, Mempool, TxQueue};
use edgelb_engine::{Io, PortId};

/// Largest rx burst, tx batch and hand-off batch (the config's `workers.burst` is at most this).
pub const MAX_BURST: usize = edgelb_config::MAX_BURST as usize;

/// Frames queued during one loop of a worker, and what became of those that could not be sent.
#[derive(Debug)]
pub struct TxBatches<'a> {
    pool: &'a Mempool,
    queues: Vec<TxQueue>,
    pending: Vec<ArrayVec<Mbuf, MAX_BURST>>,
    /// Rings of the other cores, by core index (`None` for this core).
    peers: Vec<Option<MbufRingProducer>>,
    handoffs: Vec<ArrayVec<Mbuf, MAX_BURST>>,
    /// Frames the NIC queue did not take.
    pub tx_dropped: u64,
    /// Frames for another core whose ring was full.
    pub handoff_dropped: u64,
}

impl<'a> TxBatches<'a> {
    pub fn new(
        pool: &'a Mempool,
        queues: Vec<TxQueue>,
        peers: Vec<Option<MbufRingProducer>>,
    ) -> Self {
        let pending = queues.iter().map(|_| ArrayVec::new()).collect();
        let handoffs = peers.iter().map(|_| ArrayVec::new()).collect();
        Self {
            pool,
            queues,
            pending,
            peers,
            handoffs,
            tx_dropped: 0,
            handoff_dropped: 0,
        }
    }

    /// Sends everything queued: frames to the NIC, hand-offs to their cores' rings.
    pub fn flush(&mut self) {
        for (queue, pending) in self.queues.iter_mut().zip(self.pending.iter_mut()) {
            if !pending.is_empty() {
                self.tx_dropped += queue.tx_burst(pending) as u64;
            }
        }
        for (peer, batch) in self.peers.iter().zip(self.handoffs.iter_mut()) {
            if batch.is_empty() {
                continue;
            }
            if let Some(ring) = peer {
                ring.enqueue_burst(batch);
            }
            // What did not fit (or had no ring) is dropped here; the frames free themselves.
            self.handoff_dropped += batch.len() as u64;
            batch.clear();
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
            self.tx_dropped += 1;
            return;
        };
        if pending.is_full() {
            self.tx_dropped += queue.tx_burst(pending) as u64;
        }
        if pending.try_push(buf).is_err() {
            self.tx_dropped += 1;
        }
    }

    #[inline]
    fn handoff(&mut self, core: u16, _port: PortId, buf: Mbuf) -> Result<(), Mbuf> {
        // The owner reads the port from the mbuf itself (`Mbuf::port`), set by the PMD on receive.
        let c = usize::from(core);
        let (Some(Some(ring)), Some(batch)) = (self.peers.get(c), self.handoffs.get_mut(c)) else {
            return Err(buf);
        };
        if batch.is_full() {
            ring.enqueue_burst(batch);
            self.handoff_dropped += batch.len() as u64;
            batch.clear();
        }
        batch.try_push(buf).map_err(|e| e.element())
    }
}
