//! Connection deadlines: a min-heap of `(deadline, slot, generation)` with lazy deletion.
//!
//! Each slot remembers the one deadline it currently has in the heap; an entry that does not match
//! it (the slot was rescheduled earlier, or reused) is stale and skipped when it comes up. A slot
//! only pushes when its new deadline is earlier than the one it has in the heap: a later deadline
//! (an idle timer pushed back by traffic, the usual case) waits for the earlier entry to fire and
//! is recomputed then. The heap is preallocated for twice the slots; when it fills up with stale
//! entries it is compacted in place, so it never allocates.

use core::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::time::Instant;

/// One scheduled wake-up of a slot.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct Due {
    pub at: Instant,
    pub slot: u32,
    pub generation: u32,
}

/// The deadline heap.
#[derive(Debug)]
pub(super) struct TimerHeap {
    heap: BinaryHeap<Reverse<(u64, u32, u32)>>,
    capacity: usize,
}

impl TimerHeap {
    /// A heap for `slots` connection slots.
    pub fn new(slots: usize) -> Self {
        let capacity = slots.saturating_mul(2).saturating_add(64);
        TimerHeap {
            heap: BinaryHeap::with_capacity(capacity),
            capacity,
        }
    }

    /// Schedules `due`. `is_current(slot, generation, at)` says whether an entry is still wanted;
    /// it is asked only when the heap is full and must be compacted.
    pub fn push(&mut self, due: Due, is_current: impl Fn(u32, u32, Instant) -> bool) {
        if self.heap.len() >= self.capacity {
            self.heap.retain(|Reverse((at, slot, generation))| {
                is_current(*slot, *generation, Instant::from_nanos(*at))
            });
        }
        self.heap
            .push(Reverse((due.at.as_nanos(), due.slot, due.generation)));
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Due> {
        let Reverse((at, _, _)) = self.heap.peek()?;
        if *at > now.as_nanos() {
            return None;
        }
        let Reverse((at, slot, generation)) = self.heap.pop()?;
        Some(Due {
            at: Instant::from_nanos(at),
            slot,
            generation,
        })
    }

    /// The earliest entry's deadline (possibly a stale one: waking early is harmless).
    pub fn next(&self) -> Option<Instant> {
        self.heap
            .peek()
            .map(|Reverse((at, _, _))| Instant::from_nanos(*at))
    }

    /// Entries in the heap, stale ones included.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(at: u64, slot: u32) -> Due {
        Due {
            at: Instant::from_nanos(at),
            slot,
            generation: 0,
        }
    }

    #[test]
    fn pops_in_deadline_order_only_when_due() {
        let mut heap = TimerHeap::new(4);
        for (at, slot) in [(30, 3), (10, 1), (20, 2)] {
            heap.push(due(at, slot), |_, _, _| true);
        }
        assert_eq!(heap.next(), Some(Instant::from_nanos(10)));
        assert_eq!(heap.pop_due(Instant::from_nanos(9)), None);
        assert_eq!(heap.pop_due(Instant::from_nanos(25)), Some(due(10, 1)));
        assert_eq!(heap.pop_due(Instant::from_nanos(25)), Some(due(20, 2)));
        assert_eq!(heap.pop_due(Instant::from_nanos(25)), None);
        assert_eq!(heap.len(), 1);
    }

    #[test]
    fn compacts_stale_entries_instead_of_growing() {
        let mut heap = TimerHeap::new(1);
        let capacity = heap.heap.capacity();
        // Slot 0 keeps moving its deadline earlier; only the entry being pushed is current.
        for i in 0..1000u64 {
            let at = 1_000_000 - i;
            heap.push(due(at, 0), |_, _, entry| entry.as_nanos() == at);
        }
        assert!(heap.len() <= 66, "len {}", heap.len());
        assert_eq!(heap.heap.capacity(), capacity);
        assert_eq!(heap.next(), Some(Instant::from_nanos(1_000_000 - 999)));
    }
}
