//! A packet buffer and an [`Io`] for driving the engine in a loop without allocating per packet.
//!
//! [`FrameBuffer`] is one fixed array (128 bytes of headroom + 2048 of data room, as a default mbuf)
//! behind a pointer, so moving it through the engine costs what moving an mbuf pointer does.
//! [`RecycleIo`] keeps the buffer the engine sends, so the driver can load the next input frame into
//! it (a copy of the frame's bytes, 60–64 bytes here) and hand it back: the measured loop allocates
//! nothing, and the copy is the only work per packet that a NIC would have done instead.

use edgelb_engine::buffer::{DEFAULT_DATA_ROOM, DEFAULT_HEADROOM};
use edgelb_engine::{Io, NoRoom, PacketBuffer, PortId};

/// Bytes of one buffer: headroom plus data room.
pub const ROOM: usize = DEFAULT_HEADROOM + DEFAULT_DATA_ROOM;

/// A single-segment buffer over a fixed array, with the headroom/tailroom of a default mbuf.
pub struct FrameBuffer {
    storage: Box<[u8; ROOM]>,
    start: usize,
    end: usize,
}

impl FrameBuffer {
    /// An empty buffer (allocates its array: call it outside measured loops).
    pub fn new() -> Self {
        Self {
            storage: Box::new([0; ROOM]),
            start: DEFAULT_HEADROOM,
            end: DEFAULT_HEADROOM,
        }
    }

    /// Makes the buffer hold exactly `frame`, behind the default headroom, as a fresh receive would.
    #[inline]
    pub fn load(&mut self, frame: &[u8]) -> Result<(), NoRoom> {
        let end = DEFAULT_HEADROOM + frame.len();
        self.storage
            .get_mut(DEFAULT_HEADROOM..end)
            .ok_or(NoRoom)?
            .copy_from_slice(frame);
        self.start = DEFAULT_HEADROOM;
        self.end = end;
        Ok(())
    }
}

impl Default for FrameBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for FrameBuffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FrameBuffer")
            .field("headroom", &self.start)
            .field("len", &(self.end - self.start))
            .finish()
    }
}

impl PacketBuffer for FrameBuffer {
    #[inline]
    fn data(&self) -> &[u8] {
        self.storage.get(self.start..self.end).unwrap_or_default()
    }
    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        self.storage
            .get_mut(self.start..self.end)
            .unwrap_or_default()
    }
    #[inline]
    fn headroom(&self) -> usize {
        self.start
    }
    #[inline]
    fn tailroom(&self) -> usize {
        ROOM - self.end
    }
    #[inline]
    fn prepend(&mut self, n: usize) -> Result<(), NoRoom> {
        self.start = self.start.checked_sub(n).ok_or(NoRoom)?;
        Ok(())
    }
    #[inline]
    fn append(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.tailroom() {
            return Err(NoRoom);
        }
        self.end += n;
        Ok(())
    }
    #[inline]
    fn trim_front(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.len() {
            return Err(NoRoom);
        }
        self.start += n;
        Ok(())
    }
    #[inline]
    fn trim_back(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.len() {
            return Err(NoRoom);
        }
        self.end -= n;
        Ok(())
    }
}

/// An [`Io`] that keeps the last frame sent, to be taken back and reused as the next input.
#[derive(Debug, Default)]
pub struct RecycleIo {
    sent: Option<(PortId, FrameBuffer)>,
    /// Buffers allocated because none was there to reuse (setup, or a packet the engine dropped).
    pub allocations: u64,
    /// Frames sent, in all.
    pub sends: u64,
    /// Frames sent while an earlier one was still waiting to be taken (that one was freed).
    pub overwritten: u64,
}

impl RecycleIo {
    /// The last frame sent, with its port, if not taken yet.
    pub fn take_sent(&mut self) -> Option<(PortId, FrameBuffer)> {
        self.sent.take()
    }

    /// The last frame sent, for reuse as an input; a fresh buffer (counted) if there is none.
    #[inline]
    pub fn reuse(&mut self) -> FrameBuffer {
        match self.sent.take() {
            Some((_, buf)) => buf,
            None => self.fresh(),
        }
    }

    /// Keeps `buf` for the next [`Self::reuse`] (a buffer the driver took and did not send).
    #[inline]
    pub fn keep(&mut self, buf: FrameBuffer) {
        self.sent = Some((PortId(0), buf));
    }

    #[cold]
    fn fresh(&mut self) -> FrameBuffer {
        self.allocations += 1;
        FrameBuffer::new()
    }
}

impl Io<FrameBuffer> for RecycleIo {
    fn alloc(&mut self) -> Option<FrameBuffer> {
        Some(self.fresh())
    }

    #[inline]
    fn send(&mut self, port: PortId, buf: FrameBuffer) {
        self.sends += 1;
        if self.sent.replace((port, buf)).is_some() {
            self.overwritten += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_kept_like_an_mbuf() {
        let mut b = FrameBuffer::new();
        b.load(&[1, 2, 3, 4]).unwrap();
        assert_eq!(b.headroom(), DEFAULT_HEADROOM);
        assert_eq!(b.tailroom(), DEFAULT_DATA_ROOM - 4);
        b.prepend(4).unwrap();
        b.data_mut()[..4].copy_from_slice(&[9, 8, 7, 6]);
        assert_eq!(b.data(), &[9, 8, 7, 6, 1, 2, 3, 4]);
        b.trim_front(6).unwrap();
        assert_eq!(b.data(), &[3, 4]);
        assert_eq!(b.trim_back(3), Err(NoRoom));
        b.set_len(5).unwrap();
        assert_eq!(b.len(), 5);
        assert_eq!(b.prepend(ROOM), Err(NoRoom));
        assert_eq!(b.append(ROOM), Err(NoRoom));
        // A reload puts the frame back behind the full headroom, whatever was done before.
        b.load(&[5, 6]).unwrap();
        assert_eq!((b.headroom(), b.data()), (DEFAULT_HEADROOM, &[5u8, 6][..]));
        assert_eq!(b.load(&[0; DEFAULT_DATA_ROOM + 1]), Err(NoRoom));
        assert_eq!(b.data(), &[5, 6], "a refused load changes nothing");
    }

    #[test]
    fn the_sent_buffer_comes_back_without_allocating() {
        let mut io = RecycleIo::default();
        let first = io.reuse();
        assert_eq!(io.allocations, 1);
        let ptr = first.storage.as_ptr();
        io.send(PortId(1), first);
        let again = io.reuse();
        assert_eq!(again.storage.as_ptr(), ptr);
        assert_eq!((io.allocations, io.sends, io.overwritten), (1, 1, 0));
        io.send(PortId(0), again);
        io.send(PortId(1), FrameBuffer::new());
        assert_eq!(io.overwritten, 1);
        assert_eq!(io.take_sent().map(|(p, _)| p), Some(PortId(1)));
        assert!(io.take_sent().is_none());
    }
}
