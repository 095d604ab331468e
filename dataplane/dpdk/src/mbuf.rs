//! One owned packet buffer (`rte_mbuf`), and the engine's [`PacketBuffer`] view of it.
//!
//! Only the first segment is the packet data: ports run without scatter, so received frames are
//! single-segment. On a chained mbuf, growing or trimming the end reports `NoRoom` instead of
//! touching a later segment.

use std::fmt;
use std::ptr::NonNull;

use edgelb_dpdk_sys as sys;
use edgelb_engine::buffer::{NoRoom, PacketBuffer};

/// An mbuf owned by this handle; freed (`rte_pktmbuf_free`) when dropped.
#[repr(transparent)]
pub struct Mbuf(NonNull<sys::rte_mbuf>);

// SAFETY: an mbuf is owned by exactly one handle; moving the handle to another lcore (through a
// ring) moves that ownership, and freeing it there returns it to its pool, which is MP/MC safe.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `m` must be a valid, non-NULL mbuf that nothing else owns or frees.
    #[inline]
    pub unsafe fn from_raw(m: *mut sys::rte_mbuf) -> Mbuf {
        // SAFETY: the caller promises a non-NULL pointer.
        Mbuf(unsafe { NonNull::new_unchecked(m) })
    }

    /// Gives up ownership; the caller must free or hand on the mbuf.
    #[inline]
    pub fn into_raw(self) -> *mut sys::rte_mbuf {
        let m = self.0.as_ptr();
        std::mem::forget(self);
        m
    }

    /// The raw mbuf, still owned by this handle.
    #[inline]
    pub fn as_ptr(&self) -> *mut sys::rte_mbuf {
        self.0.as_ptr()
    }

    #[inline]
    fn raw(&self) -> &sys::rte_mbuf {
        // SAFETY: the handle owns a valid mbuf for its whole life.
        unsafe { self.0.as_ref() }
    }

    /// Length of the whole packet, every segment.
    #[inline]
    pub fn pkt_len(&self) -> u32 {
        self.raw().pkt_len
    }

    /// Number of segments.
    #[inline]
    pub fn nb_segs(&self) -> u16 {
        self.raw().nb_segs
    }

    /// The port the mbuf was received on.
    #[inline]
    pub fn port(&self) -> u16 {
        self.raw().port
    }

    /// The RSS hash the NIC computed, if it did.
    #[inline]
    pub fn rss_hash(&self) -> Option<u32> {
        let mut hash = 0u32;
        // SAFETY: valid mbuf; the shim writes `hash` only when it returns 1.
        let has = unsafe { sys::edgelb_rte_pktmbuf_rss_hash(self.0.as_ptr(), &mut hash) };
        (has == 1).then_some(hash)
    }

    /// Prefetches the first cache line of the data (`rte_prefetch0`).
    #[inline]
    pub fn prefetch(&self) {
        // SAFETY: a prefetch is a hint; the address is inside the mbuf's buffer.
        unsafe { sys::edgelb_rte_prefetch0(self.data_ptr().cast()) }
    }

    #[inline]
    fn data_ptr(&self) -> *mut u8 {
        let m = self.raw();
        // SAFETY: data_off is within buf_len by DPDK's invariant, so the result is inside the buffer.
        unsafe { m.buf_addr.cast::<u8>().add(usize::from(m.data_off)) }
    }
}

#[inline]
fn room(n: usize) -> Result<u16, NoRoom> {
    u16::try_from(n).map_err(|_| NoRoom)
}

impl PacketBuffer for Mbuf {
    #[inline]
    fn data(&self) -> &[u8] {
        // SAFETY: the first segment holds data_len initialised bytes at buf_addr + data_off, owned
        // by this handle and borrowed for the lifetime of &self.
        unsafe { std::slice::from_raw_parts(self.data_ptr(), usize::from(self.raw().data_len)) }
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as `data`; &mut self makes the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.data_ptr(), usize::from(self.raw().data_len)) }
    }

    #[inline]
    fn headroom(&self) -> usize {
        usize::from(self.raw().data_off)
    }

    #[inline]
    fn tailroom(&self) -> usize {
        let m = self.raw();
        usize::from(m.buf_len).saturating_sub(usize::from(m.data_off) + usize::from(m.data_len))
    }

    #[inline]
    fn prepend(&mut self, n: usize) -> Result<(), NoRoom> {
        let n = room(n)?;
        // SAFETY: valid owned mbuf; DPDK checks n against the headroom and returns NULL if short.
        let p = unsafe { sys::edgelb_rte_pktmbuf_prepend(self.0.as_ptr(), n) };
        if p.is_null() {
            Err(NoRoom)
        } else {
            Ok(())
        }
    }

    #[inline]
    fn append(&mut self, n: usize) -> Result<(), NoRoom> {
        let n = room(n)?;
        if self.nb_segs() != 1 {
            return Err(NoRoom);
        }
        // SAFETY: valid owned single-segment mbuf; DPDK checks the tailroom, NULL if short.
        let p = unsafe { sys::edgelb_rte_pktmbuf_append(self.0.as_ptr(), n) };
        if p.is_null() {
            Err(NoRoom)
        } else {
            Ok(())
        }
    }

    #[inline]
    fn trim_front(&mut self, n: usize) -> Result<(), NoRoom> {
        let n = room(n)?;
        // SAFETY: valid owned mbuf; DPDK checks n against the first segment's length, NULL if over.
        let p = unsafe { sys::edgelb_rte_pktmbuf_adj(self.0.as_ptr(), n) };
        if p.is_null() {
            Err(NoRoom)
        } else {
            Ok(())
        }
    }

    #[inline]
    fn trim_back(&mut self, n: usize) -> Result<(), NoRoom> {
        let n = room(n)?;
        if self.nb_segs() != 1 {
            return Err(NoRoom);
        }
        // SAFETY: valid owned single-segment mbuf; DPDK checks n against data_len, -1 if over.
        let r = unsafe { sys::edgelb_rte_pktmbuf_trim(self.0.as_ptr(), n) };
        if r == 0 {
            Ok(())
        } else {
            Err(NoRoom)
        }
    }
}

impl Drop for Mbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this handle owns the mbuf and is the last user of it.
        unsafe { sys::edgelb_rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mbuf")
            .field("headroom", &self.headroom())
            .field("len", &self.len())
            .field("nb_segs", &self.nb_segs())
            .field("port", &self.port())
            .finish()
    }
}
