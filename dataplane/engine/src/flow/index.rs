//! An open-addressing index from a key's hash to the slot that holds the key.
//!
//! Linear probing over a power-of-two bucket array at most half full, and deletion by backward
//! shift (Knuth's algorithm R), so there are no tombstones and lookups never slow down with churn.
//! The index stores only slot numbers and 32 bits of each hash: the caller keeps the keys and says
//! whether a slot holds the key it is after. Sized once; never allocates afterwards.

/// Marks an empty bucket.
const EMPTY: u32 = u32::MAX;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Bucket {
    /// The low 32 bits of the key's hash: its home bucket, and a filter before comparing keys.
    tag: u32,
    /// The slot holding the key, or [`EMPTY`].
    slot: u32,
}

const FREE_BUCKET: Bucket = Bucket {
    tag: 0,
    slot: EMPTY,
};

/// Hash → slot, for up to the capacity it was made with.
#[derive(Debug, Clone)]
pub(super) struct Index {
    buckets: Box<[Bucket]>,
    mask: u32,
}

impl Index {
    /// An index for up to `entries` keys (clamped to `1..=2^30`).
    pub(super) fn with_capacity(entries: usize) -> Index {
        let buckets = (entries.clamp(1, 1 << 30) * 2).next_power_of_two();
        Index {
            buckets: vec![FREE_BUCKET; buckets].into_boxed_slice(),
            mask: (buckets - 1) as u32,
        }
    }

    /// The tag of a 64-bit hash.
    #[inline]
    pub(super) fn tag(hash: u64) -> u32 {
        hash as u32
    }

    /// The slot whose key `is_key` accepts among those stored under `tag`.
    #[inline]
    pub(super) fn find(&self, tag: u32, mut is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        let mut at = tag & self.mask;
        // At most half full, so an empty bucket ends every probe; the bound only guards the loop.
        for _ in 0..self.buckets.len() {
            let bucket = self.buckets.get(at as usize)?;
            if bucket.slot == EMPTY {
                return None;
            }
            if bucket.tag == tag && is_key(bucket.slot) {
                return Some(bucket.slot);
            }
            at = (at + 1) & self.mask;
        }
        None
    }

    /// Records `slot` under `tag`. The caller never holds more keys than the capacity, and has
    /// checked that the key is not present.
    #[inline]
    pub(super) fn insert(&mut self, tag: u32, slot: u32) {
        let mut at = tag & self.mask;
        for _ in 0..self.buckets.len() {
            if let Some(bucket) = self.buckets.get_mut(at as usize) {
                if bucket.slot == EMPTY {
                    *bucket = Bucket { tag, slot };
                    return;
                }
            }
            at = (at + 1) & self.mask;
        }
    }

    /// Forgets `slot`, stored under `tag`; false if it was not there.
    pub(super) fn remove(&mut self, tag: u32, slot: u32) -> bool {
        let mut at = tag & self.mask;
        for _ in 0..self.buckets.len() {
            let Some(bucket) = self.buckets.get(at as usize) else {
                return false;
            };
            if bucket.slot == EMPTY {
                return false;
            }
            if bucket.slot == slot {
                self.shift_back(at);
                return true;
            }
            at = (at + 1) & self.mask;
        }
        false
    }

    /// Empties bucket `hole`, moving later members of its cluster back so that every key stays
    /// reachable from its home bucket without passing an empty one.
    fn shift_back(&mut self, mut hole: u32) {
        let mut next = (hole + 1) & self.mask;
        loop {
            let Some(&bucket) = self.buckets.get(next as usize) else {
                return;
            };
            if bucket.slot == EMPTY {
                break;
            }
            let home = bucket.tag & self.mask;
            // The bucket may move into the hole if the hole is not before its home (cyclically):
            // its distance from home is at least the distance from the hole.
            if (next.wrapping_sub(home) & self.mask) >= (next.wrapping_sub(hole) & self.mask) {
                if let Some(h) = self.buckets.get_mut(hole as usize) {
                    *h = bucket;
                }
                hole = next;
            }
            next = (next + 1) & self.mask;
        }
        if let Some(h) = self.buckets.get_mut(hole as usize) {
            *h = FREE_BUCKET;
        }
    }

    /// How far the bucket holding `slot` is from its home (for tests and diagnostics).
    #[cfg(test)]
    fn displacement(&self, tag: u32, slot: u32) -> Option<u32> {
        let home = tag & self.mask;
        (0..=self.mask).find(|d| {
            self.buckets
                .get(((home + d) & self.mask) as usize)
                .map(|b| b.slot)
                == Some(slot)
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn sizes_to_twice_the_capacity() {
        assert_eq!(Index::with_capacity(0).buckets.len(), 2);
        assert_eq!(Index::with_capacity(3).buckets.len(), 8);
        assert_eq!(Index::with_capacity(4).buckets.len(), 8);
    }

    #[test]
    fn colliding_tags_probe_and_shift_back() {
        // 8 buckets. Slots 0, 1 and 2 all live at home bucket 7, so they wrap around to buckets 0
        // and 1.
        let mut index = Index::with_capacity(4);
        for slot in 0..3 {
            index.insert(7, slot);
        }
        index.insert(0, 3); // home 0, displaced behind the wrapped ones to bucket 2
        assert_eq!(index.displacement(7, 2), Some(2));
        assert_eq!(index.displacement(0, 3), Some(2));
        assert_eq!(index.find(7, |s| s == 2), Some(2));
        assert_eq!(index.find(0, |s| s == 3), Some(3));
        assert!(index.remove(7, 0));
        // Everything behind the hole moved back one bucket.
        assert_eq!(index.displacement(7, 1), Some(0));
        assert_eq!(index.displacement(7, 2), Some(1));
        assert_eq!(index.displacement(0, 3), Some(1));
        assert_eq!(index.find(7, |s| s == 0), None);
        assert!(!index.remove(7, 0));
        assert_eq!(index.find(0, |s| s == 3), Some(3));
    }

    #[test]
    fn an_entry_at_home_is_not_moved_into_an_earlier_hole() {
        let mut index = Index::with_capacity(4);
        index.insert(2, 10);
        index.insert(3, 11); // at home
        assert!(index.remove(2, 10));
        assert_eq!(index.displacement(3, 11), Some(0));
        assert_eq!(index.buckets[2], FREE_BUCKET);
    }

    proptest! {
        /// Random inserts and removals with few distinct homes (heavy collisions) against a model.
        #[test]
        fn agrees_with_a_model(
            ops in proptest::collection::vec((any::<bool>(), 0u32..24, 0u32..6), 1..300),
        ) {
            let mut index = Index::with_capacity(24); // 64 buckets
            let mut model = std::collections::BTreeMap::new(); // slot -> tag
            for (insert, slot, home) in ops {
                let tag = home * 9 + (slot << 8); // homes 0, 9, .., 45: clusters overlap
                match (insert, model.get(&slot).copied()) {
                    (true, None) => {
                        index.insert(tag, slot);
                        model.insert(slot, tag);
                    }
                    (false, Some(t)) => {
                        prop_assert!(index.remove(t, slot));
                        model.remove(&slot);
                    }
                    _ => {}
                }
                for s in 0..24 {
                    let found = model.get(&s).and_then(|&t| index.find(t, |c| c == s));
                    prop_assert_eq!(found, model.get(&s).map(|_| s));
                }
                let occupied = index.buckets.iter().filter(|b| b.slot != EMPTY).count();
                prop_assert_eq!(occupied, model.len());
            }
        }
    }
}
