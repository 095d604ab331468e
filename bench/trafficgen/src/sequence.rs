//! Counting what arrived by sequence number: distinct frames, duplicates, reordering.
//!
//! A frame is *reordered* when a higher sequence number arrived before it. Duplicates are told apart
//! from late frames with a bitmap over the last [`WINDOW`] sequence numbers (the anti-replay window
//! of IPsec, RFC 4303 section 3.4.3); a frame older than the window is counted as distinct and *late*
//! (it cannot be checked for duplication). The bitmap is allocated once; recording allocates nothing.

/// Sequence numbers remembered behind the highest one seen.
pub const WINDOW: u64 = 1 << 20;
const WORDS: usize = (WINDOW / 64) as usize;

/// What became of one received sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Higher than every one before it.
    InOrder,
    /// First seen, but after a higher one.
    Reordered,
    /// Seen before.
    Duplicate,
    /// Older than the window: counted as distinct and reordered, unchecked for duplication.
    Late,
}

/// Tallies of received sequence numbers.
#[derive(Debug, Clone)]
pub struct SeqTracker {
    seen: Vec<u64>,
    highest: Option<u64>,
    /// Distinct frames (in order, reordered and late).
    pub distinct: u64,
    /// Frames that arrived after a higher sequence number (late ones included).
    pub reordered: u64,
    /// Frames seen twice or more (each extra copy once).
    pub duplicates: u64,
    /// Frames older than the window.
    pub late: u64,
}

impl Default for SeqTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl SeqTracker {
    /// An empty tracker (allocates the window once).
    pub fn new() -> Self {
        SeqTracker {
            seen: vec![0; WORDS],
            highest: None,
            distinct: 0,
            reordered: 0,
            duplicates: 0,
            late: 0,
        }
    }

    /// Records sequence number `seq`.
    #[inline]
    pub fn record(&mut self, seq: u64) -> Arrival {
        let arrival = match self.highest {
            Some(high) if seq <= high => {
                if high - seq >= WINDOW {
                    Arrival::Late
                } else if self.test_and_set(seq) {
                    Arrival::Duplicate
                } else {
                    Arrival::Reordered
                }
            }
            previous => {
                // Forget the bits the window slides past: those of high+1..=seq (at most one lap).
                let from = previous.map_or(0, |h| h + 1);
                if seq - from >= WINDOW {
                    self.seen.fill(0);
                } else {
                    for s in from..=seq {
                        self.clear(s);
                    }
                }
                self.highest = Some(seq);
                self.test_and_set(seq);
                Arrival::InOrder
            }
        };
        match arrival {
            Arrival::InOrder => self.distinct += 1,
            Arrival::Reordered => {
                self.distinct += 1;
                self.reordered += 1;
            }
            Arrival::Late => {
                self.distinct += 1;
                self.reordered += 1;
                self.late += 1;
            }
            Arrival::Duplicate => self.duplicates += 1,
        }
        arrival
    }

    #[inline]
    fn slot(seq: u64) -> (usize, u64) {
        let bit = seq % WINDOW;
        ((bit / 64) as usize, 1u64 << (bit % 64))
    }

    #[inline]
    fn clear(&mut self, seq: u64) {
        let (word, mask) = Self::slot(seq);
        if let Some(w) = self.seen.get_mut(word) {
            *w &= !mask;
        }
    }

    /// Sets the bit of `seq`; whether it was set already.
    #[inline]
    fn test_and_set(&mut self, seq: u64) -> bool {
        let (word, mask) = Self::slot(seq);
        match self.seen.get_mut(word) {
            Some(w) => {
                let was = *w & mask != 0;
                *w |= mask;
                was
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seqs: &[u64]) -> (SeqTracker, Vec<Arrival>) {
        let mut t = SeqTracker::new();
        let arrivals = seqs.iter().map(|&s| t.record(s)).collect();
        (t, arrivals)
    }

    #[test]
    fn in_order_with_gaps() {
        let (t, a) = run(&[0, 1, 2, 5, 9]);
        assert!(a.iter().all(|x| *x == Arrival::InOrder));
        assert_eq!(
            (t.distinct, t.reordered, t.duplicates, t.highest),
            (5, 0, 0, Some(9))
        );
    }

    #[test]
    fn reordered_then_duplicate() {
        use Arrival::*;
        let (t, a) = run(&[1, 0, 3, 2, 2, 3, 1, 4]);
        assert_eq!(
            a,
            [InOrder, Reordered, InOrder, Reordered, Duplicate, Duplicate, Duplicate, InOrder]
        );
        assert_eq!(
            (t.distinct, t.reordered, t.duplicates, t.late),
            (5, 2, 3, 0)
        );
    }

    #[test]
    fn the_first_frame_need_not_be_zero() {
        use Arrival::*;
        let (t, a) = run(&[7, 3, 7]);
        assert_eq!(a, [InOrder, Reordered, Duplicate]);
        assert_eq!(t.distinct, 2);
    }

    #[test]
    fn a_slid_window_forgets_old_bits() {
        use Arrival::*;
        // seq 5 and 5 + WINDOW share a bit: after the slide, 5 + WINDOW is new, and 5 is late.
        let (t, a) = run(&[5, 5 + WINDOW, 5, WINDOW + 6, WINDOW + 6]);
        assert_eq!(a, [InOrder, InOrder, Late, InOrder, Duplicate]);
        assert_eq!((t.distinct, t.late, t.duplicates), (4, 1, 1));
        // a jump of several windows clears everything: the in-window frame just behind is new
        let (_, a) = run(&[10, 10 + 3 * WINDOW, 9 + 3 * WINDOW]);
        assert_eq!(a, [InOrder, InOrder, Reordered]);
    }

    #[test]
    fn bits_of_skipped_numbers_are_cleared_when_the_window_passes() {
        use Arrival::*;
        // 3 is marked; the window moves one lap and a bit past it, so 3 + WINDOW must read as new.
        let (_, a) = run(&[3, WINDOW + 10, WINDOW + 3]);
        assert_eq!(a, [InOrder, InOrder, Reordered]);
    }
}
