//! Slot allocation and recency order for a fixed set of slots.
//!
//! Every slot is either free (on a free list) or live on one of `LISTS` doubly linked lists kept in
//! least-recently-used order: `touch` moves a slot to the tail, `oldest` is the head. The links
//! live in one array made at the start; nothing allocates afterwards.

/// No slot.
pub(super) const NIL: u32 = u32::MAX;
/// The list number of a free slot.
const FREE: u8 = u8::MAX;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Link {
    prev: u32,
    next: u32,
    list: u8,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Ends {
    head: u32,
    tail: u32,
}

const NO_ENDS: Ends = Ends {
    head: NIL,
    tail: NIL,
};

/// Free and live slots of a table, with the live ones on `LISTS` recency lists.
#[derive(Debug, Clone)]
pub(super) struct Lru<const LISTS: usize> {
    links: Box<[Link]>,
    lists: [Ends; LISTS],
    /// Singly linked through `next`.
    free: u32,
}

/// Visits at most `budget` of `capacity` slots round-robin from `*cursor` (which it advances),
/// calling `expire` on each; returns how many `expire` said it removed. Bounded expiry work
/// between bursts, shared by the flow and affinity tables.
pub(crate) fn expire_round_robin(
    cursor: &mut u32,
    capacity: u32,
    budget: usize,
    mut expire: impl FnMut(u32) -> bool,
) -> usize {
    let mut removed = 0;
    for _ in 0..budget.min(capacity as usize) {
        let slot = *cursor;
        *cursor = if slot + 1 >= capacity { 0 } else { slot + 1 };
        if expire(slot) {
            removed += 1;
        }
    }
    removed
}

impl<const LISTS: usize> Lru<LISTS> {
    /// `slots` free slots (at most `u32::MAX - 1`, the caller clamps).
    pub(super) fn new(slots: u32) -> Self {
        let links = (0..slots)
            .map(|i| Link {
                prev: NIL,
                next: if i + 1 < slots { i + 1 } else { NIL },
                list: FREE,
            })
            .collect();
        Lru {
            links,
            lists: [NO_ENDS; LISTS],
            free: if slots > 0 { 0 } else { NIL },
        }
    }

    /// Takes a free slot and makes it the newest on `list`; None when no slot is free.
    pub(super) fn alloc(&mut self, list: u8) -> Option<u32> {
        let slot = self.free;
        let link = self.links.get_mut(slot as usize)?;
        self.free = link.next;
        self.push_tail(slot, list);
        Some(slot)
    }

    /// Returns a live slot to the free list; false if it was free already.
    pub(super) fn release(&mut self, slot: u32) -> bool {
        if !self.unlink(slot) {
            return false;
        }
        if let Some(link) = self.links.get_mut(slot as usize) {
            *link = Link {
                prev: NIL,
                next: self.free,
                list: FREE,
            };
            self.free = slot;
        }
        true
    }

    /// Makes a live slot the newest on `list` (moving it there from its current list).
    #[inline]
    pub(super) fn touch(&mut self, slot: u32, list: u8) {
        let Some(&link) = self.links.get(slot as usize) else {
            return;
        };
        let at_tail = self
            .lists
            .get(usize::from(list))
            .is_some_and(|e| e.tail == slot);
        if link.list == FREE || (link.list == list && at_tail) {
            return;
        }
        self.unlink(slot);
        self.push_tail(slot, list);
    }

    /// The least recently touched slot on `list`.
    pub(super) fn oldest(&self, list: u8) -> Option<u32> {
        self.lists
            .get(usize::from(list))
            .map(|e| e.head)
            .filter(|&h| h != NIL)
    }

    /// The slot after `slot` on its list, towards the newest.
    #[cfg(test)]
    pub(super) fn newer(&self, slot: u32) -> Option<u32> {
        self.links
            .get(slot as usize)
            .map(|l| l.next)
            .filter(|&n| n != NIL)
    }

    /// Whether `slot` is live.
    #[inline]
    pub(super) fn is_live(&self, slot: u32) -> bool {
        self.links
            .get(slot as usize)
            .is_some_and(|l| l.list != FREE)
    }

    /// Takes a live slot off its list (leaving its own link stale); false if it is free.
    fn unlink(&mut self, slot: u32) -> bool {
        let Some(&Link { prev, next, list }) = self.links.get(slot as usize) else {
            return false;
        };
        let Some(ends) = self.lists.get_mut(usize::from(list)) else {
            return false;
        };
        match self.links.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => ends.head = next,
        }
        match self.links.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => ends.tail = prev,
        }
        true
    }

    fn push_tail(&mut self, slot: u32, list: u8) {
        let Some(ends) = self.lists.get_mut(usize::from(list)) else {
            return;
        };
        let old_tail = ends.tail;
        ends.tail = slot;
        match self.links.get_mut(old_tail as usize) {
            Some(t) => t.next = slot,
            None => ends.head = slot,
        }
        if let Some(link) = self.links.get_mut(slot as usize) {
            *link = Link {
                prev: old_tail,
                next: NIL,
                list,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order<const L: usize>(lru: &Lru<L>, list: u8) -> Vec<u32> {
        std::iter::successors(lru.oldest(list), |&s| lru.newer(s)).collect()
    }

    #[test]
    fn allocates_every_slot_once() {
        let mut lru = Lru::<1>::new(3);
        assert_eq!(
            [lru.alloc(0), lru.alloc(0), lru.alloc(0), lru.alloc(0)],
            [Some(0), Some(1), Some(2), None]
        );
        assert_eq!(order(&lru, 0), [0, 1, 2]);
        assert!(lru.release(1));
        assert!(!lru.release(1));
        assert!(!lru.is_live(1));
        assert_eq!(order(&lru, 0), [0, 2]);
        assert_eq!(lru.alloc(0), Some(1));
        assert_eq!(order(&lru, 0), [0, 2, 1]);
    }

    #[test]
    fn touch_moves_to_the_newest_end_and_between_lists() {
        let mut lru = Lru::<2>::new(4);
        for _ in 0..4 {
            lru.alloc(0);
        }
        lru.touch(0, 0);
        assert_eq!(order(&lru, 0), [1, 2, 3, 0]);
        lru.touch(2, 1);
        lru.touch(1, 1);
        assert_eq!(order(&lru, 0), [3, 0]);
        assert_eq!(order(&lru, 1), [2, 1]);
        lru.touch(1, 1); // already newest
        assert_eq!(order(&lru, 1), [2, 1]);
        lru.release(3);
        lru.release(0);
        assert_eq!(lru.oldest(0), None);
        assert_eq!(order(&lru, 1), [2, 1]);
    }

    #[test]
    fn touching_a_free_slot_does_nothing() {
        let mut lru = Lru::<1>::new(2);
        lru.touch(1, 0);
        assert_eq!(lru.oldest(0), None);
        assert_eq!(lru.alloc(0), Some(0));
        assert_eq!(lru.alloc(0), Some(1));
    }

    #[test]
    fn empty() {
        let mut lru = Lru::<1>::new(0);
        assert_eq!(lru.alloc(0), None);
        assert_eq!(lru.oldest(0), None);
    }
}
