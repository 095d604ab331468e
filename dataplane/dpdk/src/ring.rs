//! A ring of mbufs between cores (`rte_ring`): software steering hands a packet that arrived on the
//! wrong core to the core that owns its flow.
//!
//! Many producers (every other worker), one consumer (the owner): the producer handle can be cloned,
//! the consumer cannot. The ring is freed, and the mbufs still in it, when both sides are gone.

use std::ffi::{c_void, CString};
use std::ptr::NonNull;
use std::sync::Arc;

use arrayvec::ArrayVec;
use edgelb_dpdk_sys as sys;

use crate::eal::ensure_running;
use crate::error::DpdkError;
use crate::mbuf::Mbuf;

#[derive(Debug)]
struct RawRing(NonNull<sys::rte_ring>);

// SAFETY: rte_ring is a lock-free shared object; this one is multi-producer, and its single
// consumer side is only reachable through the one non-Clone MbufRingConsumer.
unsafe impl Send for RawRing {}
// SAFETY: see Send.
unsafe impl Sync for RawRing {}

impl Drop for RawRing {
    fn drop(&mut self) {
        let mut objs = [std::ptr::null_mut::<c_void>(); 64];
        loop {
            // SAFETY: last owner of the ring (Arc): nobody else enqueues or dequeues now.
            let n = unsafe {
                sys::edgelb_rte_ring_dequeue_burst(
                    self.0.as_ptr(),
                    objs.as_mut_ptr(),
                    64,
                    std::ptr::null_mut(),
                )
            };
            if n == 0 {
                break;
            }
            // SAFETY: the ring only ever holds mbufs enqueued by MbufRingProducer, owned by it.
            unsafe { sys::rte_pktmbuf_free_bulk(objs.as_mut_ptr().cast(), n) };
        }
        // SAFETY: empty and unreferenced.
        unsafe { sys::rte_ring_free(self.0.as_ptr()) }
    }
}

/// Creates a ring for `size` mbufs (a power of two; it holds size - 1) on `socket`.
pub fn mbuf_ring(
    name: &str,
    size: u32,
    socket: i32,
) -> Result<(MbufRingProducer, MbufRingConsumer), DpdkError> {
    let subject = format!("ring {name}");
    ensure_running()?;
    let cname =
        CString::new(name).map_err(|_| DpdkError::invalid(&subject, "name contains a NUL byte"))?;
    // SAFETY: EAL is running; DPDK copies the name. Flags: multi-producer, single consumer.
    let raw = unsafe { sys::rte_ring_create(cname.as_ptr(), size, socket, sys::RING_F_SC_DEQ) };
    let raw = NonNull::new(raw).ok_or_else(|| {
        DpdkError::from_rte_errno(&subject, format!("rte_ring_create size={size}"))
    })?;
    let ring = Arc::new(RawRing(raw));
    Ok((
        MbufRingProducer {
            ring: Arc::clone(&ring),
        },
        MbufRingConsumer { ring },
    ))
}

/// The sending side; clone it for each producer core.
#[derive(Debug, Clone)]
pub struct MbufRingProducer {
    ring: Arc<RawRing>,
}

impl MbufRingProducer {
    /// Moves as many mbufs from the front of `bufs` into the ring as fit; the rest stay in `bufs`
    /// (the caller drops or retries them). Returns how many went in.
    #[inline]
    pub fn enqueue_burst<const N: usize>(&self, bufs: &mut ArrayVec<Mbuf, N>) -> usize {
        let total = bufs.len();
        let ptr = bufs.as_mut_ptr();
        // SAFETY: Mbuf is repr(transparent) over a pointer; the first `total` entries are valid.
        // The ring is multi-producer, so concurrent enqueues from clones are allowed.
        let n = unsafe {
            sys::edgelb_rte_ring_enqueue_burst(
                self.ring.0.as_ptr(),
                ptr.cast(),
                total as u32,
                std::ptr::null_mut(),
            )
        } as usize;
        let n = n.min(total);
        // SAFETY: the first `n` mbufs now belong to the ring: close the gap and shorten.
        unsafe {
            std::ptr::copy(ptr.add(n), ptr, total - n);
            bufs.set_len(total - n);
        }
        n
    }
}

/// The receiving side, for the one core that owns the ring.
#[derive(Debug)]
pub struct MbufRingConsumer {
    ring: Arc<RawRing>,
}

impl MbufRingConsumer {
    /// Takes up to the room left in `out`; how many were taken.
    #[inline]
    pub fn dequeue_burst<const N: usize>(&mut self, out: &mut ArrayVec<Mbuf, N>) -> usize {
        let len = out.len();
        let room = out.remaining_capacity();
        // SAFETY: the spare capacity is room for `room` pointers (Mbuf is repr(transparent)); only
        // this non-Clone handle dequeues (&mut self), as the single-consumer ring requires.
        let n = unsafe {
            let slots = out.as_mut_ptr().add(len).cast::<*mut c_void>();
            sys::edgelb_rte_ring_dequeue_burst(
                self.ring.0.as_ptr(),
                slots,
                room as u32,
                std::ptr::null_mut(),
            )
        } as usize;
        let n = n.min(room);
        // SAFETY: DPDK wrote `n` mbufs that producers had handed over; `out` owns them now.
        unsafe { out.set_len(len + n) };
        n
    }

    /// Mbufs waiting in the ring.
    pub fn len(&self) -> usize {
        // SAFETY: valid ring; the count only reads its indexes.
        unsafe { sys::edgelb_rte_ring_count(self.ring.0.as_ptr()) as usize }
    }

    /// Whether the ring is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
