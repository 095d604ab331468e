//! Property tests of the Maglev table against the acceptance criteria of issue 3: a full table,
//! balance, weights, disruption, order independence and determinism.

use proptest::prelude::*;

use super::{MaglevBackend, MaglevTable, DEFAULT_SIZE};

/// Distinct identities in the style the appliance uses ("addr:port").
fn identities(n: usize, salt: u16) -> Vec<String> {
    (0..n)
        .map(|i| format!("198.18.{}.{}:{}", i / 250, i % 250, 8000 + salt))
        .collect()
}

fn backends<'a>(keys: &'a [String], weights: &[u32]) -> Vec<MaglevBackend<'a>> {
    keys.iter()
        .zip(weights)
        .map(|(k, &weight)| MaglevBackend {
            key: k.as_bytes(),
            weight,
        })
        .collect()
}

/// The identity owning each slot.
fn owners<'a>(table: &MaglevTable, keys: &'a [String]) -> Vec<&'a str> {
    table.slots().map(|i| keys[i as usize].as_str()).collect()
}

/// Every slot holds an index of a backend with non-zero weight; shares are within `tolerance` of
/// the weight's proportion.
fn assert_full_and_proportional(table: &MaglevTable, weights: &[u32], tolerance: f64) {
    let size = table.size() as usize;
    assert_eq!(table.slots().len(), size);
    assert!(table
        .slots()
        .all(|i| weights.get(i as usize).is_some_and(|&w| w > 0)));
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    for (i, (&count, &w)) in table.slot_counts().iter().zip(weights).enumerate() {
        let expect = size as f64 * w as f64 / total as f64;
        let error = (f64::from(count) - expect).abs() / expect.max(1.0);
        assert!(
            w == 0 || error <= tolerance,
            "backend {i} weight {w}: {count} slots, expected {expect:.1}"
        );
        assert!(w != 0 || count == 0);
    }
}

/// Of the slots that belonged to a backend present in both tables, the fraction whose owner
/// changed.
fn disruption(old: &[&str], new: &[&str]) -> f64 {
    let survivors: std::collections::BTreeSet<&str> = new.iter().copied().collect();
    let (mut kept_owner, mut moved) = (0u32, 0u32);
    for (o, n) in old.iter().zip(new) {
        if survivors.contains(o) && (old.contains(n)) {
            kept_owner += 1;
            if o != n {
                moved += 1;
            }
        }
    }
    f64::from(moved) / f64::from(kept_owner)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn equal_weights_share_within_ten_percent(seed: u64, n_pick in 0usize..6) {
        let n = [1, 2, 3, 10, 100, 1000][n_pick];
        let keys = identities(n, 0);
        let weights = vec![1; n];
        let table = MaglevTable::build(&backends(&keys, &weights), DEFAULT_SIZE, seed).unwrap();
        assert_full_and_proportional(&table, &weights, 0.10);
    }

    #[test]
    fn weights_are_honoured_within_ten_percent(
        seed: u64,
        scale in 1u32..1000,
        n_groups in 1usize..25,
    ) {
        // Weights 1, 2, 3, 4 repeated, optionally scaled, with a draining (weight 0) backend too.
        let mut weights: Vec<u32> = (0..4 * n_groups).map(|i| (i as u32 % 4 + 1) * scale).collect();
        weights.push(0);
        let keys = identities(weights.len(), 1);
        let table = MaglevTable::build(&backends(&keys, &weights), DEFAULT_SIZE, seed).unwrap();
        assert_full_and_proportional(&table, &weights, 0.10);
    }

    #[test]
    fn removing_one_of_a_hundred_moves_under_one_and_a_half_percent(
        seed: u64,
        gone in 0usize..100,
    ) {
        let keys = identities(100, 2);
        let old = MaglevTable::build(&backends(&keys, &[1; 100]), DEFAULT_SIZE, seed).unwrap();
        let mut rest = keys.clone();
        rest.remove(gone);
        let new = MaglevTable::build(&backends(&rest, &[1; 99]), DEFAULT_SIZE, seed).unwrap();
        let moved = disruption(&owners(&old, &keys), &owners(&new, &rest));
        prop_assert!(moved <= 0.015, "{:.3} % of surviving slots moved", moved * 100.0);
    }

    #[test]
    fn adding_one_to_a_hundred_moves_under_one_and_a_half_percent(seed: u64) {
        let keys = identities(101, 3);
        let old = backends(&keys[..100], &[1; 100]);
        let old = MaglevTable::build(&old, DEFAULT_SIZE, seed).unwrap();
        let new = MaglevTable::build(&backends(&keys, &[1; 101]), DEFAULT_SIZE, seed).unwrap();
        let moved = disruption(&owners(&old, &keys[..100]), &owners(&new, &keys));
        prop_assert!(moved <= 0.015, "{:.3} % of surviving slots moved", moved * 100.0);
    }

    #[test]
    fn listing_order_does_not_matter(
        seed: u64,
        n in 1usize..60,
        rotate in 0usize..60,
        weights in proptest::collection::vec(0u32..5, 60),
    ) {
        let keys = identities(n, 4);
        let weights = &weights[..n];
        let size = 1009; // prime, and at least 10 slots per backend
        let a = MaglevTable::build(&backends(&keys, weights), size, seed).unwrap();
        let mut shuffled: Vec<(String, u32)> =
            keys.iter().cloned().zip(weights.iter().copied()).collect();
        shuffled.reverse();
        shuffled.rotate_left(rotate % n);
        let (keys_b, weights_b): (Vec<String>, Vec<u32>) = shuffled.into_iter().unzip();
        let b = MaglevTable::build(&backends(&keys_b, &weights_b), size, seed).unwrap();
        prop_assert_eq!(owners(&a, &keys), owners(&b, &keys_b));
    }

    #[test]
    fn same_inputs_give_the_same_table(seed: u64, n in 1usize..200) {
        let keys = identities(n, 5);
        let weights: Vec<u32> = (0..n as u32).map(|i| i % 7 + 1).collect();
        let a = MaglevTable::build(&backends(&keys, &weights), DEFAULT_SIZE, seed).unwrap();
        let b = MaglevTable::build(&backends(&keys, &weights), DEFAULT_SIZE, seed).unwrap();
        prop_assert!(a == b);
        let other = MaglevTable::build(&backends(&keys, &weights), DEFAULT_SIZE, seed ^ 1).unwrap();
        prop_assert!(n == 1 || a != other, "the seed must matter");
    }
}

/// A table is a pure function of its inputs: pin one, so that a change to the hash, the encoding or
/// the population order (which would re-balance flows across an upgrade) cannot go unnoticed.
#[test]
fn a_known_table_stays_the_same() {
    let keys = identities(3, 6);
    let table = MaglevTable::build(&backends(&keys, &[1, 2, 1]), 31, 0x5eed).unwrap();
    let slots: Vec<u32> = table.slots().collect();
    assert_eq!(table.slot_counts(), [8, 15, 8]);
    assert_eq!(slots, PINNED);
}

const PINNED: [u32; 31] = [
    1, 1, 1, 1, 1, 0, 1, 1, 1, 2, 1, 1, 2, 0, 0, 0, 2, 1, 2, 2, 0, 0, 2, 2, 0, 1, 1, 1, 0, 2, 1,
];
