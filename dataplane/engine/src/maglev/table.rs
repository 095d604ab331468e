//! The Maglev lookup table (Eisenbud et al., NSDI 2016): built off the fast path, read once per new
//! flow.
//!
//! Each backend walks its own permutation of the `M` slots, `offset, offset + skip, ...` (mod `M`,
//! prime, so every permutation visits every slot), with `offset` and `skip` taken from a seeded
//! hash of the backend's identity. Backends take turns (weighted, see [`super::turns`]) claiming
//! the next free slot of their permutation until the table is full. A backend's permutation depends
//! only on its identity and the seed, so adding or removing one backend moves few slots between the
//! others.
//!
//! Backends are processed in identity order, so the table does not depend on the order the caller
//! lists them in; entries are still the caller's indices.

use core::fmt;

use super::hash::xxh64;
use super::prime::is_prime;
use super::turns::TurnOrder;

/// The default table size: prime, and large enough that 1 000 backends each own about 65 slots.
pub const DEFAULT_SIZE: u32 = 65_537;
/// The largest table accepted (64 MiB of `u16` would be absurd; this is 32 MiB).
pub const MAX_SIZE: u32 = 1 << 24;
/// A table must have at least this many slots per backend with a non-zero weight, or the shares
/// (and the disruption bound) degrade.
pub const MIN_SLOTS_PER_BACKEND: u32 = 10;
/// At most this many backends: entries are `u16` and `u16::MAX` marks a free slot while building.
pub const MAX_BACKENDS: usize = u16::MAX as usize;

/// A free slot while building.
const FREE: u16 = u16::MAX;
/// Derives the skip hash's seed from the table seed, so offset and skip are independent hashes.
const SKIP_SEED_SALT: u64 = 0x6a09_e667_f3bc_c908;

/// One backend as Maglev sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaglevBackend<'a> {
    /// A stable identity, the same on every appliance and across restarts (e.g.
    /// `"198.18.1.2:8080"`).
    pub key: &'a [u8],
    /// Relative share of new flows; 0 takes none (a draining backend).
    pub weight: u32,
}

/// Why a table could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaglevError {
    /// The size is not prime.
    NotPrime {
        /// The size asked for.
        size: u32,
    },
    /// The size is above [`MAX_SIZE`].
    TooLarge {
        /// The size asked for.
        size: u32,
    },
    /// Fewer than [`MIN_SLOTS_PER_BACKEND`] slots per backend with a non-zero weight.
    TooSmall {
        /// The size asked for.
        size: u32,
        /// Backends with a non-zero weight.
        backends: usize,
    },
    /// More than [`MAX_BACKENDS`] backends.
    TooManyBackends {
        /// Backends given.
        backends: usize,
    },
    /// Two backends share an identity (their indices in the caller's list).
    DuplicateKey {
        /// The earlier index.
        first: u32,
        /// The later index.
        second: u32,
    },
}

impl fmt::Display for MaglevError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MaglevError::NotPrime { size } => write!(f, "maglev table size {size} is not prime"),
            MaglevError::TooLarge { size } => {
                write!(
                    f,
                    "maglev table size {size} is larger than the maximum {MAX_SIZE}"
                )
            }
            MaglevError::TooSmall { size, backends } => write!(
                f,
                "maglev table size {size} is too small for {backends} backends \
                 (at least {MIN_SLOTS_PER_BACKEND} slots per backend)"
            ),
            MaglevError::TooManyBackends { backends } => {
                write!(
                    f,
                    "{backends} backends is more than the maximum {MAX_BACKENDS}"
                )
            }
            MaglevError::DuplicateKey { first, second } => {
                write!(f, "backends {first} and {second} have the same identity")
            }
        }
    }
}

impl std::error::Error for MaglevError {}

/// A built table: `M` slots, each holding the index of a backend in the caller's list.
#[derive(Clone, PartialEq, Eq)]
pub struct MaglevTable {
    /// Backend index per slot; empty when no backend has a weight.
    slots: Box<[u16]>,
    size: u32,
    seed: u64,
    backends: u32,
}

impl fmt::Debug for MaglevTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaglevTable")
            .field("size", &self.size)
            .field("seed", &self.seed)
            .field("backends", &self.backends)
            .field("empty", &self.is_empty())
            .finish()
    }
}

/// One backend's walk through its permutation of the slots.
#[derive(Debug, Clone, Copy)]
struct Walk {
    /// The caller's index.
    index: u16,
    /// The next slot to try.
    next: u32,
    /// Step between tries, in `1..M`.
    skip: u32,
}

impl MaglevTable {
    /// Builds the table for `backends` with `size` slots (prime) and the hash `seed`.
    ///
    /// Same backends (in any order), size and seed give the same table on every machine. With no
    /// backend of non-zero weight the table is empty and every lookup gives None.
    pub fn build(
        backends: &[MaglevBackend<'_>],
        size: u32,
        seed: u64,
    ) -> Result<MaglevTable, MaglevError> {
        if !is_prime(size) {
            return Err(MaglevError::NotPrime { size });
        }
        if size > MAX_SIZE {
            return Err(MaglevError::TooLarge { size });
        }
        if backends.len() > MAX_BACKENDS {
            return Err(MaglevError::TooManyBackends {
                backends: backends.len(),
            });
        }
        let order = identity_order(backends)?;
        let active: Vec<u16> = order
            .into_iter()
            .filter(|&i| weight_of(backends, i) > 0)
            .collect();
        let count = backends.len() as u32;
        if active.is_empty() {
            return Ok(MaglevTable {
                slots: Box::new([]),
                size,
                seed,
                backends: count,
            });
        }
        if u64::from(size) < u64::from(MIN_SLOTS_PER_BACKEND) * active.len() as u64 {
            return Err(MaglevError::TooSmall {
                size,
                backends: active.len(),
            });
        }
        let slots = populate(backends, &active, size, seed);
        Ok(MaglevTable {
            slots,
            size,
            seed,
            backends: count,
        })
    }

    /// The backend index for a flow hash; None when the table is empty.
    ///
    /// The slot is `hash * M / 2^64` (Lemire's multiply-shift reduction): no division, and it uses
    /// the hash's high bits.
    #[inline]
    pub fn lookup(&self, hash: u64) -> Option<u32> {
        let slot = (u128::from(hash) * self.slots.len() as u128) >> 64;
        self.slots.get(slot as usize).map(|&b| u32::from(b))
    }

    /// The number of slots `M` the table was built with.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The seed the table was built with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// How many backends the caller listed (including those of weight 0).
    pub fn backend_count(&self) -> u32 {
        self.backends
    }

    /// Whether no backend takes new flows.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The backend index of every slot, in slot order (empty for an empty table).
    pub fn slots(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.slots.iter().map(|&b| u32::from(b))
    }

    /// Slots owned by each backend, indexed like the caller's list (for metrics and tests).
    pub fn slot_counts(&self) -> Vec<u32> {
        let mut counts = vec![0u32; self.backends as usize];
        for &b in self.slots.iter() {
            if let Some(c) = counts.get_mut(usize::from(b)) {
                *c += 1;
            }
        }
        counts
    }
}

fn weight_of(backends: &[MaglevBackend<'_>], index: u16) -> u32 {
    backends.get(usize::from(index)).map_or(0, |b| b.weight)
}

fn key_of<'a>(backends: &[MaglevBackend<'a>], index: u16) -> &'a [u8] {
    backends.get(usize::from(index)).map_or(&[], |b| b.key)
}

/// The caller's indices sorted by identity; an error if two identities are equal.
fn identity_order(backends: &[MaglevBackend<'_>]) -> Result<Vec<u16>, MaglevError> {
    let mut order: Vec<u16> = (0..backends.len())
        .filter_map(|i| u16::try_from(i).ok())
        .collect();
    order.sort_unstable_by(|&a, &b| key_of(backends, a).cmp(key_of(backends, b)).then(a.cmp(&b)));
    for pair in order.windows(2) {
        if let [a, b] = *pair {
            if key_of(backends, a) == key_of(backends, b) {
                return Err(MaglevError::DuplicateKey {
                    first: u32::from(a),
                    second: u32::from(b),
                });
            }
        }
    }
    Ok(order)
}

/// Fills all `size` slots; `active` lists the caller's indices with non-zero weight, in identity
/// order.
fn populate(backends: &[MaglevBackend<'_>], active: &[u16], size: u32, seed: u64) -> Box<[u16]> {
    let mut walks: Vec<Walk> = active
        .iter()
        .map(|&index| {
            let key = key_of(backends, index);
            let offset = (xxh64(seed, key) % u64::from(size)) as u32;
            let skip = (xxh64(seed ^ SKIP_SEED_SALT, key) % u64::from(size - 1)) as u32 + 1;
            Walk {
                index,
                next: offset,
                skip,
            }
        })
        .collect();
    let mut turns = TurnOrder::new(active.iter().map(|&i| weight_of(backends, i)));
    let mut slots = vec![FREE; size as usize].into_boxed_slice();
    let mut filled = 0u32;
    while filled < size {
        let Some(walk) = turns
            .next_rank()
            .and_then(|rank| walks.get_mut(rank as usize))
        else {
            break; // unreachable: `active` is non-empty and every weight in it non-zero
        };
        if claim_next(&mut slots, walk) {
            filled += 1;
        }
    }
    slots
}

/// Advances `walk` to its next free slot and claims it; false only if the table is already full
/// (a full cycle of the permutation finds nothing).
fn claim_next(slots: &mut [u16], walk: &mut Walk) -> bool {
    let size = slots.len() as u32;
    for _ in 0..size {
        let here = walk.next;
        walk.next += walk.skip;
        if walk.next >= size {
            walk.next -= size;
        }
        if let Some(slot) = slots.get_mut(here as usize) {
            if *slot == FREE {
                *slot = walk.index;
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(names: &[&'static str]) -> Vec<MaglevBackend<'static>> {
        names
            .iter()
            .map(|n| MaglevBackend {
                key: n.as_bytes(),
                weight: 1,
            })
            .collect()
    }

    #[test]
    fn rejects_sizes_and_names_the_value() {
        let b = named(&["a", "b"]);
        assert_eq!(
            MaglevTable::build(&b, 65536, 0),
            Err(MaglevError::NotPrime { size: 65536 })
        );
        assert_eq!(
            MaglevTable::build(&b, 65536, 0).map_err(|e| e.to_string()),
            Err("maglev table size 65536 is not prime".to_string())
        );
        assert_eq!(
            MaglevTable::build(&b, 16_777_259, 0),
            Err(MaglevError::TooLarge { size: 16_777_259 })
        );
        assert_eq!(
            MaglevTable::build(&b, 19, 0),
            Err(MaglevError::TooSmall {
                size: 19,
                backends: 2
            })
        );
        assert!(MaglevTable::build(&b, 23, 0).is_ok());
    }

    #[test]
    fn rejects_duplicate_identities() {
        let b = named(&["x", "y", "x"]);
        assert_eq!(
            MaglevTable::build(&b, 65537, 0),
            Err(MaglevError::DuplicateKey {
                first: 0,
                second: 2
            })
        );
    }

    #[test]
    fn no_weighted_backend_gives_an_empty_table() {
        for b in [
            vec![],
            vec![MaglevBackend {
                key: b"a",
                weight: 0,
            }],
        ] {
            let t = MaglevTable::build(&b, 65537, 1).unwrap();
            assert!(t.is_empty());
            assert_eq!(t.lookup(0), None);
            assert_eq!(t.lookup(u64::MAX), None);
        }
    }

    #[test]
    fn small_table_matches_the_algorithm_by_hand() {
        // Recompute a 23-slot, 2-backend table step by step from the hashes.
        let b = named(&["b", "a"]);
        let t = MaglevTable::build(&b, 23, 99).unwrap();
        let perm = |key: &[u8]| {
            let offset = xxh64(99, key) % 23;
            let skip = xxh64(99 ^ SKIP_SEED_SALT, key) % 22 + 1;
            (0..23).map(move |j| ((offset + j * skip) % 23) as usize)
        };
        let mut expect = [u32::MAX; 23];
        let (mut pa, mut pb) = (perm(b"a"), perm(b"b"));
        let mut filled = 0;
        'fill: loop {
            // "a" sorts first, so it takes the first turn of each round; it is index 1.
            for (perm, index) in [(&mut pa, 1u32), (&mut pb, 0u32)] {
                let slot = perm.by_ref().find(|&s| expect[s] == u32::MAX).unwrap();
                expect[slot] = index;
                filled += 1;
                if filled == 23 {
                    break 'fill;
                }
            }
        }
        assert_eq!(t.slots().collect::<Vec<_>>(), expect);
        assert_eq!(t.slot_counts(), [11, 12]);
    }

    #[test]
    fn lookup_spans_every_slot_in_order() {
        let b = named(&["a", "b", "c"]);
        let t = MaglevTable::build(&b, 31, 7).unwrap();
        let slots: Vec<u32> = t.slots().collect();
        assert_eq!(t.lookup(0), Some(slots[0]));
        assert_eq!(t.lookup(u64::MAX), Some(slots[30]));
        // The first hash of slot k is ceil(k * 2^64 / 31).
        let first_of = |k: u128| (k << 64).div_ceil(31) as u64;
        for k in 1..31u128 {
            assert_eq!(t.lookup(first_of(k)), Some(slots[k as usize]));
            assert_eq!(t.lookup(first_of(k) - 1), Some(slots[k as usize - 1]));
        }
    }

    #[test]
    fn debug_is_short() {
        let t = MaglevTable::build(&named(&["a"]), 65537, 3).unwrap();
        assert_eq!(
            format!("{t:?}"),
            "MaglevTable { size: 65537, seed: 3, backends: 1, empty: false }"
        );
    }
}
