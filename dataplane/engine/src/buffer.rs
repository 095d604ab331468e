//! The packet buffer the engine works on.
//!
//! The engine never sees a DPDK type: it works on anything that implements [`PacketBuffer`]. The
//! appliance implements it for the DPDK mbuf (`edgelb_dpdk::Mbuf`); tests use [`TestBuffer`], which
//! keeps the same headroom/tailroom behaviour as a default mbuf so that code which prepends or
//! appends headers behaves the same in both.
//!
//! A buffer is one contiguous segment: `data()` is the frame, starting at the Ethernet header.

/// Headroom of a fresh buffer, as DPDK's `RTE_PKTMBUF_HEADROOM`.
pub const DEFAULT_HEADROOM: usize = 128;
/// Data room of a fresh buffer after the headroom, as a default 2 KiB mbuf.
pub const DEFAULT_DATA_ROOM: usize = 2048;

/// The buffer had no room (or not enough data) for the requested change; nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom;

/// A single-segment packet buffer with headroom and tailroom.
pub trait PacketBuffer {
    /// The frame, from the first byte of the Ethernet header.
    fn data(&self) -> &[u8];
    /// The frame, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Bytes free in front of the data.
    fn headroom(&self) -> usize;
    /// Bytes free after the data.
    fn tailroom(&self) -> usize;
    /// Grows the data by `n` bytes at the front (taken from the headroom).
    fn prepend(&mut self, n: usize) -> Result<(), NoRoom>;
    /// Grows the data by `n` bytes at the end (taken from the tailroom).
    fn append(&mut self, n: usize) -> Result<(), NoRoom>;
    /// Removes `n` bytes from the front.
    fn trim_front(&mut self, n: usize) -> Result<(), NoRoom>;
    /// Removes `n` bytes from the end.
    fn trim_back(&mut self, n: usize) -> Result<(), NoRoom>;

    /// Length of the data.
    fn len(&self) -> usize {
        self.data().len()
    }
    /// Whether the data is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Sets the data length to `len`, growing or shrinking at the end.
    fn set_len(&mut self, len: usize) -> Result<(), NoRoom> {
        let cur = self.len();
        if len >= cur {
            self.append(len - cur)
        } else {
            self.trim_back(cur - len)
        }
    }
}

/// A `Vec`-backed buffer for tests and tools, with the headroom/tailroom of a default mbuf.
#[derive(Clone, PartialEq, Eq)]
pub struct TestBuffer {
    storage: Vec<u8>,
    start: usize,
    end: usize,
}

impl TestBuffer {
    /// An empty buffer with [`DEFAULT_HEADROOM`] and [`DEFAULT_DATA_ROOM`].
    pub fn new() -> Self {
        Self::with_room(DEFAULT_HEADROOM, DEFAULT_DATA_ROOM)
    }

    /// An empty buffer with the given headroom and room for data.
    pub fn with_room(headroom: usize, data_room: usize) -> Self {
        Self {
            storage: vec![0; headroom + data_room],
            start: headroom,
            end: headroom,
        }
    }

    /// A buffer holding `frame`, with the default headroom. Frames longer than the data room get
    /// exactly enough room (tests of oversized frames need them).
    pub fn from_frame(frame: &[u8]) -> Self {
        let mut buf = Self::with_room(DEFAULT_HEADROOM, DEFAULT_DATA_ROOM.max(frame.len()));
        buf.storage[DEFAULT_HEADROOM..DEFAULT_HEADROOM + frame.len()].copy_from_slice(frame);
        buf.end = DEFAULT_HEADROOM + frame.len();
        buf
    }
}

impl Default for TestBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for TestBuffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TestBuffer")
            .field("headroom", &self.start)
            .field("len", &(self.end - self.start))
            .finish()
    }
}

impl PacketBuffer for TestBuffer {
    fn data(&self) -> &[u8] {
        &self.storage[self.start..self.end]
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.end]
    }
    fn headroom(&self) -> usize {
        self.start
    }
    fn tailroom(&self) -> usize {
        self.storage.len() - self.end
    }
    fn prepend(&mut self, n: usize) -> Result<(), NoRoom> {
        self.start = self.start.checked_sub(n).ok_or(NoRoom)?;
        Ok(())
    }
    fn append(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.tailroom() {
            return Err(NoRoom);
        }
        self.end += n;
        Ok(())
    }
    fn trim_front(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.len() {
            return Err(NoRoom);
        }
        self.start += n;
        Ok(())
    }
    fn trim_back(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.len() {
            return Err(NoRoom);
        }
        self.end -= n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_kept_like_an_mbuf() {
        let mut b = TestBuffer::from_frame(&[1, 2, 3, 4]);
        assert_eq!(b.headroom(), DEFAULT_HEADROOM);
        assert_eq!(b.tailroom(), DEFAULT_DATA_ROOM - 4);
        b.prepend(4).unwrap();
        assert_eq!(b.data(), &[0, 0, 0, 0, 1, 2, 3, 4]);
        b.trim_front(6).unwrap();
        assert_eq!(b.data(), &[3, 4]);
        assert_eq!(b.trim_back(3), Err(NoRoom));
        b.set_len(5).unwrap();
        assert_eq!(b.len(), 5);
        assert_eq!(b.prepend(DEFAULT_HEADROOM + 3), Err(NoRoom));
        assert_eq!(b.append(DEFAULT_DATA_ROOM), Err(NoRoom));
    }
}
