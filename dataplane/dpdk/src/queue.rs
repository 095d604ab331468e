//! Per-core rx and tx queue handles: the fast path's only calls into the NIC.
//!
//! A handle is `Send` (made on the main thread, moved to its worker) but not `Sync`: a DPDK queue
//! must be polled by one thread. The burst calls allocate nothing; they write straight into the
//! caller's `ArrayVec`.

use std::cell::Cell;
use std::marker::PhantomData;

use arrayvec::ArrayVec;
use edgelb_dpdk_sys as sys;

use crate::mbuf::Mbuf;

/// Makes a handle `Send` but not `Sync`.
type NotSync = PhantomData<Cell<()>>;

/// Rx queue `queue_id` of port `port_id`, polled by one worker.
#[derive(Debug)]
pub struct RxQueue {
    port_id: u16,
    queue_id: u16,
    _one_thread: NotSync,
}

impl RxQueue {
    pub(crate) fn new(port_id: u16, queue_id: u16) -> Self {
        RxQueue {
            port_id,
            queue_id,
            _one_thread: PhantomData,
        }
    }

    /// The port.
    pub fn port_id(&self) -> u16 {
        self.port_id
    }

    /// The queue.
    pub fn queue_id(&self) -> u16 {
        self.queue_id
    }

    /// Receives up to the room left in `out` (appended after what it holds); how many arrived.
    #[inline]
    pub fn rx_burst<const N: usize>(&mut self, out: &mut ArrayVec<Mbuf, N>) -> usize {
        self.rx_burst_max(out, N)
    }

    /// Receives at most `max` frames, and never more than the room left in `out`; how many arrived.
    #[inline]
    pub fn rx_burst_max<const N: usize>(
        &mut self,
        out: &mut ArrayVec<Mbuf, N>,
        max: usize,
    ) -> usize {
        let len = out.len();
        let room = u16::try_from(out.remaining_capacity().min(max)).unwrap_or(u16::MAX);
        if room == 0 {
            return 0;
        }
        // SAFETY: Mbuf is repr(transparent) over a non-null `*mut rte_mbuf`, so the spare capacity
        // is room for `room` raw pointers; the queue was set up by Port::configure and only this
        // handle polls it (not Sync, handed out once). Stale handles after stop/close reach DPDK's
        // dummy burst function, which receives nothing.
        let n = unsafe {
            let slots = out.as_mut_ptr().add(len).cast::<*mut sys::rte_mbuf>();
            sys::edgelb_rte_eth_rx_burst(self.port_id, self.queue_id, slots, room)
        };
        let n = usize::from(n.min(room));
        // SAFETY: DPDK wrote `n` valid mbufs, each now owned by `out`.
        unsafe { out.set_len(len + n) };
        n
    }
}

/// Tx queue `queue_id` of port `port_id`, used by one worker.
#[derive(Debug)]
pub struct TxQueue {
    port_id: u16,
    queue_id: u16,
    _one_thread: NotSync,
}

impl TxQueue {
    pub(crate) fn new(port_id: u16, queue_id: u16) -> Self {
        TxQueue {
            port_id,
            queue_id,
            _one_thread: PhantomData,
        }
    }

    /// The port.
    pub fn port_id(&self) -> u16 {
        self.port_id
    }

    /// The queue.
    pub fn queue_id(&self) -> u16 {
        self.queue_id
    }

    #[inline]
    fn send<const N: usize>(&mut self, bufs: &mut ArrayVec<Mbuf, N>) -> usize {
        let total = u16::try_from(bufs.len()).unwrap_or(u16::MAX);
        // SAFETY: Mbuf is repr(transparent) over `*mut rte_mbuf`, so the first `total` elements are
        // valid mbuf pointers; only this handle uses the queue (not Sync, handed out once).
        let sent = unsafe {
            sys::edgelb_rte_eth_tx_burst(
                self.port_id,
                self.queue_id,
                bufs.as_mut_ptr().cast(),
                total,
            )
        };
        usize::from(sent.min(total))
    }

    /// Sends what the NIC takes, frees the rest; `bufs` ends empty. Returns how many were dropped
    /// (the caller counts them).
    #[inline]
    pub fn tx_burst<const N: usize>(&mut self, bufs: &mut ArrayVec<Mbuf, N>) -> usize {
        let total = bufs.len();
        let sent = self.send(bufs);
        let ptr = bufs.as_mut_ptr().cast::<*mut sys::rte_mbuf>();
        // SAFETY: the first `sent` mbufs now belong to the driver, so `bufs` must forget them;
        // the pointers stay readable in its buffer after set_len(0).
        unsafe { bufs.set_len(0) };
        let dropped = total - sent;
        if dropped > 0 {
            // SAFETY: entries sent..total are valid mbufs this function still owns; they are
            // freed once, here, and `bufs` no longer lists them.
            unsafe { sys::rte_pktmbuf_free_bulk(ptr.add(sent), dropped as u32) };
        }
        dropped
    }

    /// Sends what the NIC takes and keeps the rest at the front of `bufs` (to retry later);
    /// returns how many were sent.
    #[inline]
    pub fn try_tx_burst<const N: usize>(&mut self, bufs: &mut ArrayVec<Mbuf, N>) -> usize {
        let total = bufs.len();
        let sent = self.send(bufs);
        if sent > 0 {
            let ptr = bufs.as_mut_ptr();
            // SAFETY: the first `sent` now belong to the driver: move the unsent ones over them
            // (overlapping copy) and shorten, so that `bufs` holds each remaining mbuf once.
            unsafe {
                std::ptr::copy(ptr.add(sent), ptr, total - sent);
                bufs.set_len(total - sent);
            }
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send<T: Send>() {}

    #[test]
    fn handles_are_send() {
        is_send::<RxQueue>();
        is_send::<TxQueue>();
        let q = RxQueue::new(3, 1);
        assert_eq!((q.port_id(), q.queue_id()), (3, 1));
    }
}
