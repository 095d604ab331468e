//! The packets the proxy has to send, as IP packets in one reused arena: the TCP endpoint writes them
//! while the worker is borrowed elsewhere, and the worker takes them out afterwards to route them.

/// IP packets waiting to be sent, in order.
#[derive(Debug, Default)]
pub struct Output {
    bytes: Vec<u8>,
    /// End offset of each packet in `bytes`.
    ends: Vec<usize>,
}

impl Output {
    pub(super) fn push(&mut self, packet: &[u8]) {
        // Grows only to the high-water mark of one burst; capacity is kept by `clear`.
        self.bytes.extend_from_slice(packet);
        self.ends.push(self.bytes.len());
    }

    /// How many packets wait.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// None wait.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Packet `i` (in the order they were produced).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(prev) => *self.ends.get(prev)?,
            None => 0,
        };
        self.bytes.get(start..end)
    }

    /// Forgets every packet (keeps the memory).
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_packets_in_order() {
        let mut out = Output::default();
        out.push(b"abc");
        out.push(b"");
        out.push(b"de");
        assert_eq!(out.len(), 3);
        assert_eq!(out.get(0), Some(&b"abc"[..]));
        assert_eq!(out.get(1), Some(&b""[..]));
        assert_eq!(out.get(2), Some(&b"de"[..]));
        assert_eq!(out.get(3), None);
        out.clear();
        assert!(out.is_empty());
    }
}
