//! An open-addressing hash index from neighbour keys to slab slots.
//!
//! Linear probing over a power-of-two table at most half full, with backward-shift deletion (no
//! tombstones, so lookups stay short however many entries come and go). Sized once; never grows.

const EMPTY: u32 = u32::MAX;

#[derive(Debug)]
pub(crate) struct Index {
    buckets: Vec<u32>,
    mask: usize,
}

impl Index {
    /// An index for up to `entries` values.
    pub(crate) fn new(entries: usize) -> Self {
        let size = entries.saturating_mul(2).next_power_of_two().max(2);
        Self {
            buckets: vec![EMPTY; size],
            mask: size - 1,
        }
    }

    fn home(&self, hash: u64) -> usize {
        (hash as usize) & self.mask
    }

    fn bucket(&self, pos: usize) -> u32 {
        self.buckets.get(pos).copied().unwrap_or(EMPTY)
    }

    fn set(&mut self, pos: usize, value: u32) {
        if let Some(b) = self.buckets.get_mut(pos) {
            *b = value;
        }
    }

    /// The value with `hash` for which `is` holds, and its bucket.
    pub(crate) fn find(&self, hash: u64, is: impl Fn(u32) -> bool) -> Option<(usize, u32)> {
        let mut pos = self.home(hash);
        for _ in 0..self.buckets.len() {
            match self.bucket(pos) {
                EMPTY => return None,
                v if is(v) => return Some((pos, v)),
                _ => pos = (pos + 1) & self.mask,
            }
        }
        None
    }

    /// Adds `value` (the caller keeps the load at most half, so a free bucket exists).
    pub(crate) fn insert(&mut self, hash: u64, value: u32) {
        let mut pos = self.home(hash);
        for _ in 0..self.buckets.len() {
            if self.bucket(pos) == EMPTY {
                self.set(pos, value);
                return;
            }
            pos = (pos + 1) & self.mask;
        }
    }

    /// Empties bucket `pos`, moving later values of the same probe run back into the hole.
    pub(crate) fn remove_at(&mut self, pos: usize, hash_of: impl Fn(u32) -> u64) {
        let mut hole = pos & self.mask;
        let mut j = hole;
        for _ in 0..self.buckets.len() {
            j = (j + 1) & self.mask;
            let v = self.bucket(j);
            if v == EMPTY {
                break;
            }
            let home = self.home(hash_of(v));
            // `v` may fill the hole when the hole lies on its probe path (home ..= j, cyclically).
            if (j.wrapping_sub(home) & self.mask) >= (j.wrapping_sub(hole) & self.mask) {
                self.set(hole, v);
                hole = j;
            }
        }
        self.set(hole, EMPTY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_values_survive_removals() {
        // Hash = value / 10, so 1, 2, 3 collide in bucket 0 and 11 wants bucket 1.
        let hash = |v: u32| u64::from(v / 10);
        let mut idx = Index::new(4);
        for v in [1, 2, 11, 3] {
            idx.insert(hash(v), v);
        }
        let find = |idx: &Index, v: u32| idx.find(hash(v), |x| x == v);
        assert_eq!(find(&idx, 3).map(|(p, _)| p), Some(3));
        let (pos, _) = find(&idx, 1).unwrap();
        idx.remove_at(pos, hash);
        for v in [2, 11, 3] {
            assert!(find(&idx, v).is_some(), "{v} lost");
        }
        assert_eq!(find(&idx, 1), None);
        let (pos, _) = find(&idx, 2).unwrap();
        idx.remove_at(pos, hash);
        assert_eq!(find(&idx, 11).map(|(p, _)| p), Some(1));
        assert_eq!(find(&idx, 3).map(|(p, _)| p), Some(0));
    }

    #[test]
    fn wraps_around_the_end() {
        let hash = |v: u32| u64::from(v / 10);
        let mut idx = Index::new(4); // 8 buckets
        for v in [70, 71, 72] {
            idx.insert(hash(v), v);
        }
        assert_eq!(idx.find(hash(72), |x| x == 72).map(|(p, _)| p), Some(1));
        let (pos, _) = idx.find(hash(70), |x| x == 70).unwrap();
        idx.remove_at(pos, hash);
        assert_eq!(idx.find(hash(71), |x| x == 71).map(|(p, _)| p), Some(7));
        assert_eq!(idx.find(hash(72), |x| x == 72).map(|(p, _)| p), Some(0));
    }
}
