//! A fixed-capacity byte queue: bytes are appended at the back and consumed from the front; the
//! space is allocated once (from [`BufPool`]) and reused, so the proxy's data path does not allocate.

/// A byte queue over a boxed slice.
#[derive(Debug, Default)]
pub(super) struct Buf {
    data: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Buf {
    fn new(capacity: usize) -> Self {
        Self {
            data: vec![0; capacity].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// The queued bytes.
    pub(super) fn data(&self) -> &[u8] {
        self.data.get(self.start..self.end).unwrap_or_default()
    }

    pub(super) fn len(&self) -> usize {
        self.end - self.start
    }

    pub(super) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Whether no more bytes fit (after compaction).
    pub(super) fn is_full(&self) -> bool {
        self.len() == self.data.len()
    }

    /// Drops `n` bytes from the front.
    pub(super) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    pub(super) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// The free space at the back (the queued bytes moved to the front first if that makes room).
    pub(super) fn free_mut(&mut self) -> &mut [u8] {
        if self.start > 0 && self.end == self.data.len() {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.data.get_mut(self.end..).unwrap_or_default()
    }

    /// Marks `n` bytes written into [`Self::free_mut`] as queued.
    pub(super) fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }

    /// Appends as much of `bytes` as fits; returns how much.
    pub(super) fn push(&mut self, bytes: &[u8]) -> usize {
        let free = self.free_mut();
        let n = free.len().min(bytes.len());
        if let (Some(to), Some(from)) = (free.get_mut(..n), bytes.get(..n)) {
            to.copy_from_slice(from);
        }
        self.commit(n);
        n
    }
}

/// Buffers of one size, handed out and taken back: allocation happens only while the number of
/// buffers in use climbs to a new high.
#[derive(Debug)]
pub(super) struct BufPool {
    size: usize,
    free: Vec<Buf>,
    /// Most buffers kept for reuse (the rest are freed when returned).
    keep: usize,
}

impl BufPool {
    pub(super) fn new(size: usize, keep: usize) -> Self {
        Self {
            size,
            free: Vec::with_capacity(keep.min(4096)),
            keep,
        }
    }

    pub(super) fn get(&mut self) -> Buf {
        self.free.pop().unwrap_or_else(|| Buf::new(self.size))
    }

    pub(super) fn put(&mut self, mut buf: Buf) {
        if buf.data.len() == self.size && self.free.len() < self.keep {
            buf.clear();
            self.free.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_consumes_and_compacts() {
        let mut pool = BufPool::new(8, 4);
        let mut b = pool.get();
        assert_eq!(b.push(b"hello world"), 8);
        assert!(b.is_full());
        assert_eq!(b.data(), b"hello wo");
        b.consume(6);
        assert_eq!(b.data(), b"wo");
        assert_eq!(b.free_mut().len(), 6, "compacted to the front");
        assert_eq!(b.push(b"rld!"), 4);
        assert_eq!(b.data(), b"world!");
        b.consume(100);
        assert!(b.is_empty());
        pool.put(b);
        assert_eq!(pool.get().len(), 0);
    }
}
