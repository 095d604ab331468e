//! Packet-buffer pools (`rte_pktmbuf_pool_create`).

use std::ffi::CString;
use std::ptr::NonNull;

use arrayvec::ArrayVec;
use edgelb_dpdk_sys as sys;

use crate::eal::ensure_running;
use crate::error::DpdkError;
use crate::mbuf::Mbuf;

/// Any NUMA socket (`SOCKET_ID_ANY`).
pub const SOCKET_ANY: i32 = sys::SOCKET_ID_ANY;

/// DPDK's default mbuf buffer: 2048 bytes of data room plus `RTE_PKTMBUF_HEADROOM` (128).
pub const DEFAULT_BUF_SIZE: u16 = sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16;

/// A pool of packet buffers, shared by every lcore that allocates or frees its mbufs.
///
/// Freed on drop, unless mbufs are still out of it (in flight, or held by a port's queues): then it
/// is leaked with a warning, because freeing it would leave those mbufs dangling.
#[derive(Debug)]
pub struct Mempool {
    raw: NonNull<sys::rte_mempool>,
    name: String,
}

// SAFETY: an rte_mempool is a shared DPDK object made for concurrent use: its default ops
// (ring_mp_mc) are multi-producer/multi-consumer, and the per-lcore caches are only touched by the
// lcore they belong to (threads outside EAL bypass them). `&Mempool` only allocates and counts.
unsafe impl Send for Mempool {}
// SAFETY: see Send; every `&self` method is safe to call from several threads at once.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Creates a pool of `n` mbufs (best at 2^k - 1) with a per-lcore cache of `cache` and
    /// `buf_size` bytes of buffer each, headroom included (DPDK's `data_room_size`; see
    /// [`DEFAULT_BUF_SIZE`]), on NUMA socket `socket` ([`SOCKET_ANY`] for any).
    pub fn pktmbuf(
        name: &str,
        n: u32,
        cache: u32,
        buf_size: u16,
        socket: i32,
    ) -> Result<Mempool, DpdkError> {
        let subject = format!("mempool {name}");
        ensure_running()?;
        let cname = CString::new(name)
            .map_err(|_| DpdkError::invalid(&subject, "name contains a NUL byte"))?;
        // SAFETY: EAL is running, the name is a valid C string that DPDK copies.
        let raw =
            unsafe { sys::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, buf_size, socket) };
        let raw = NonNull::new(raw).ok_or_else(|| {
            DpdkError::from_rte_errno(
                &subject,
                format!("rte_pktmbuf_pool_create n={n} cache={cache}"),
            )
        })?;
        Ok(Mempool {
            raw,
            name: name.to_owned(),
        })
    }

    /// The name given at creation.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Mbufs that can be allocated now (per-lcore caches included).
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is valid while self lives; the count only reads it.
        unsafe { sys::rte_mempool_avail_count(self.raw.as_ptr()) }
    }

    /// Mbufs out of the pool: held by the program, or by port queues and NIC rings.
    pub fn in_use(&self) -> u32 {
        // SAFETY: as `available`.
        unsafe { sys::rte_mempool_in_use_count(self.raw.as_ptr()) }
    }

    /// One mbuf, reset and empty, with the default headroom; `None` when the pool is empty.
    #[inline]
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is valid and safe for concurrent allocation (see Send/Sync).
        let m = unsafe { sys::edgelb_rte_pktmbuf_alloc(self.raw.as_ptr()) };
        // SAFETY: a non-NULL result is a fresh mbuf that nobody else references.
        NonNull::new(m).map(|m| unsafe { Mbuf::from_raw(m.as_ptr()) })
    }

    /// Fills `out` up to `count` more mbufs, all or none: false (and `out` unchanged) if the pool
    /// has too few or `out` too little room.
    pub fn alloc_bulk<const N: usize>(&self, out: &mut ArrayVec<Mbuf, N>, count: usize) -> bool {
        let Ok(c) = u32::try_from(count) else {
            return false;
        };
        if count > out.remaining_capacity() {
            return false;
        }
        let len = out.len();
        // SAFETY: Mbuf is repr(transparent) over a non-null `*mut rte_mbuf`, so the spare capacity
        // of `out` (at least `count` slots, checked above) is room for `count` raw pointers.
        let ok = unsafe {
            let slots = out.as_mut_ptr().add(len).cast::<*mut sys::rte_mbuf>();
            sys::edgelb_rte_pktmbuf_alloc_bulk(self.raw.as_ptr(), slots, c) == 0
        };
        if ok {
            // SAFETY: on success DPDK wrote `count` valid mbuf pointers into those slots.
            unsafe { out.set_len(len + count) };
        }
        ok
    }

    /// The raw pool, for DPDK calls this crate does not wrap.
    pub fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.raw.as_ptr()
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        let in_use = self.in_use();
        if in_use > 0 {
            tracing::warn!(pool = %self.name, in_use, "mempool still has mbufs out; leaking it");
            return;
        }
        // SAFETY: no mbuf is out of the pool, so nothing references its memory any more.
        unsafe { sys::rte_mempool_free(self.raw.as_ptr()) }
    }
}
