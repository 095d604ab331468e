//! Whose turn it is to claim the next Maglev slot, in proportion to weight.
//!
//! The paper's weighted variant has heavier backends take turns more often. We order turns exactly:
//! a backend of weight `w` that has taken `t` turns takes its next one at virtual time
//! `(2t + 1) / w` (the Sainte-Laguë divisor sequence, i.e. stride scheduling started half a stride
//! in), ties going to the lower rank. Every turn fills exactly one slot, so a backend ends with its
//! proportional share of the `M` slots to within one slot, and with equal weights the order is
//! plain round robin, as in the unweighted algorithm. Integer arithmetic only, so every build
//! agrees.

use core::cmp::Ordering;
use std::collections::BinaryHeap;

/// One backend's place in the turn order.
#[derive(Debug, Clone, Copy)]
struct Turn {
    /// Turns taken so far.
    taken: u64,
    /// The backend's weight (never zero).
    weight: u32,
    /// The backend's rank in identity order, which breaks ties.
    rank: u32,
}

impl Turn {
    /// Compares the virtual times of the next turns, `(2t + 1) / w`, without division.
    fn due_cmp(&self, other: &Turn) -> Ordering {
        let mine = u128::from(2 * self.taken + 1) * u128::from(other.weight);
        let theirs = u128::from(2 * other.taken + 1) * u128::from(self.weight);
        mine.cmp(&theirs).then(self.rank.cmp(&other.rank))
    }
}

impl PartialEq for Turn {
    fn eq(&self, other: &Self) -> bool {
        self.due_cmp(other) == Ordering::Equal
    }
}

impl Eq for Turn {}

impl PartialOrd for Turn {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Turn {
    /// Reversed, so that std's max-heap pops the turn that is due first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.due_cmp(self)
    }
}

/// An endless sequence of ranks, each appearing in proportion to its weight.
#[derive(Debug)]
pub(super) struct TurnOrder {
    heap: BinaryHeap<Turn>,
}

impl TurnOrder {
    /// Turns for ranks `0..weights.len()`; zero weights never get a turn.
    pub(super) fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let heap = weights
            .into_iter()
            .zip(0u32..)
            .filter(|&(weight, _)| weight > 0)
            .map(|(weight, rank)| Turn {
                taken: 0,
                weight,
                rank,
            })
            .collect();
        TurnOrder { heap }
    }

    /// The rank whose turn it is; None only when every weight was zero.
    pub(super) fn next_rank(&mut self) -> Option<u32> {
        let mut top = self.heap.peek_mut()?;
        let rank = top.rank;
        top.taken += 1;
        Some(rank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(order: &mut TurnOrder, n: usize) -> Vec<u32> {
        (0..n).map_while(|_| order.next_rank()).collect()
    }

    #[test]
    fn equal_weights_are_round_robin() {
        let mut order = TurnOrder::new([5, 5, 5]);
        assert_eq!(take(&mut order, 7), [0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn weights_set_the_frequency() {
        let mut order = TurnOrder::new([1, 3]);
        // Rank 1 is due at 1/3, 3/3, 5/3, ...; rank 0 at 1, 3, ...: ties go to the lower rank.
        assert_eq!(take(&mut order, 8), [1, 0, 1, 1, 1, 0, 1, 1]);
    }

    #[test]
    fn zero_weights_never_take_turns() {
        let mut order = TurnOrder::new([0, 2, 0]);
        assert_eq!(take(&mut order, 3), [1, 1, 1]);
        assert_eq!(TurnOrder::new([0, 0]).next_rank(), None);
    }

    #[test]
    fn huge_weights_do_not_overflow() {
        let mut order = TurnOrder::new([u32::MAX, 1]);
        let turns = take(&mut order, 10_000);
        assert_eq!(turns.iter().filter(|&&r| r == 1).count(), 0);
    }
}
