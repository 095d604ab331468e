//! The per-core flow table: fixed capacity, two open-addressing indexes, LRU eviction, timeouts.
//!
//! Everything is allocated by [`FlowTable::with_capacity`]; lookups, inserts, touches and removals
//! never allocate, lock or panic. Each flow is found by its forward key (client → listener, what
//! arrives from clients) and by its reverse key (backend → SNAT address, what comes back).
//!
//! Flows live on two recency lists: *assured* flows (established TCP and UDP that the backend has
//! answered, see [`FlowEntry::is_assured`]) and the rest (half-open, closing, unanswered). When the
//! table is full, an insert pushes out the oldest assured flow if it has expired, else the oldest
//! of the rest, else the oldest assured flow: a SYN flood evicts its own half-open entries before
//! anybody's established connection. The insert cap bounds how fast new flows can push old ones
//! out at all.

use super::config::{FlowConfig, FlowTimeouts, InsertRate};
use super::counters::FlowCounters;
use super::entry::{FlowData, FlowEntry, FlowHandle, PacketInfo};
use super::index::Index;
use super::key::{FlowKey, Proto};
use super::lru::{expire_round_robin, Lru};
use super::rate_limit::TokenBucket;
use super::state::{Direction, FlowState};
use crate::maglev::hash_5tuple;
use crate::time::Instant;

/// The largest capacity accepted; larger requests are clamped.
pub const MAX_CAPACITY: usize = 1 << 30;

/// Recency list of flows that have not shown two-way traffic, or are closing.
const UNASSURED: u8 = 0;
/// Recency list of assured flows: established TCP and UDP that the backend answered.
const ASSURED: u8 = 1;

/// Why a flow was not inserted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// Over the insert cap; try again later (or drop the packet).
    RateLimited,
    /// A live flow already has this forward key (look it up instead).
    ForwardKeyInUse,
    /// A live flow already has this reverse key (pick another SNAT port).
    ReverseKeyInUse,
    /// No slot could be freed. Not expected: every table has room for at least one flow.
    Full,
}

/// What a sweep does with a flow it visits.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SweepVerdict {
    /// Leave it.
    Keep,
    /// Remove it (counted as a removal).
    Remove,
}

/// Where a budgeted [`FlowTable::sweep`] continues; start with `SweepCursor::default()`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepCursor {
    next: u32,
}

#[derive(Copy, Clone, Debug)]
struct Slot {
    entry: FlowEntry,
    /// Bumped whenever the slot is freed, so handles to an earlier flow stop working.
    generation: u32,
    /// Index tags of the forward and reverse keys, kept to remove them without rehashing.
    tags: [u32; 2],
}

impl Slot {
    fn key(&self, dir: Direction) -> &FlowKey {
        match dir {
            Direction::Forward => &self.entry.fwd,
            Direction::Reverse => &self.entry.rev,
        }
    }
}

/// One core's flows.
#[derive(Debug, Clone)]
pub struct FlowTable {
    slots: Box<[Slot]>,
    lru: Lru<2>,
    fwd: Index,
    rev: Index,
    len: u32,
    timeouts: FlowTimeouts,
    limiter: Option<TokenBucket>,
    seed: u64,
    /// Where [`FlowTable::expire`] continues.
    expire_at: u32,
    counters: FlowCounters,
}

fn list_of(entry: &FlowEntry) -> u8 {
    if entry.is_assured() {
        ASSURED
    } else {
        UNASSURED
    }
}

impl FlowTable {
    /// A table for `capacity` flows (clamped to `1..=MAX_CAPACITY`); all memory is allocated here.
    pub fn with_capacity(capacity: usize, config: FlowConfig) -> FlowTable {
        let capacity = capacity.clamp(1, MAX_CAPACITY);
        let vacant = Slot {
            entry: FlowEntry::VACANT,
            generation: 0,
            tags: [0; 2],
        };
        FlowTable {
            slots: vec![vacant; capacity].into_boxed_slice(),
            lru: Lru::new(capacity as u32),
            fwd: Index::with_capacity(capacity),
            rev: Index::with_capacity(capacity),
            len: 0,
            timeouts: config.timeouts,
            limiter: config
                .insert_rate
                .map(|rate| TokenBucket::new(rate, Instant::ZERO)),
            seed: config.hash_seed,
            expire_at: 0,
            counters: FlowCounters::default(),
        }
    }

    /// New timeouts, applied to each flow at its next packet.
    pub fn set_timeouts(&mut self, timeouts: FlowTimeouts) {
        self.timeouts = timeouts;
    }

    /// A new insert cap (starting with a full bucket), or none.
    pub fn set_insert_rate(&mut self, rate: Option<InsertRate>, now: Instant) {
        self.limiter = rate.map(|rate| TokenBucket::new(rate, now));
    }

    /// Live flows (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether no flow is live.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most flows the table holds.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The counters, with `active` set to the live flows.
    pub fn counters(&self) -> FlowCounters {
        FlowCounters {
            active: u64::from(self.len),
            ..self.counters
        }
    }

    /// The flow whose forward key is `key`, if it is live at `now` (an expired one is removed).
    #[inline]
    pub fn lookup_forward(&mut self, key: &FlowKey, now: Instant) -> Option<FlowHandle> {
        self.lookup(Direction::Forward, key, now)
    }

    /// The flow whose reverse key is `key`, if it is live at `now` (an expired one is removed).
    #[inline]
    pub fn lookup_reverse(&mut self, key: &FlowKey, now: Instant) -> Option<FlowHandle> {
        self.lookup(Direction::Reverse, key, now)
    }

    /// Whether a flow live at `now` uses `key` as its reverse key (for picking a free SNAT port);
    /// changes nothing, counts nothing.
    pub fn reverse_in_use(&self, key: &FlowKey, now: Instant) -> bool {
        self.find(Direction::Reverse, key, self.tag(key))
            .and_then(|slot| self.slots.get(slot as usize))
            .is_some_and(|s| !s.entry.is_expired(now))
    }

    /// The flow behind `handle`, if it is still in the table.
    #[inline]
    pub fn entry(&self, handle: FlowHandle) -> Option<&FlowEntry> {
        self.checked(handle)
            .and_then(|slot| self.slots.get(slot as usize))
            .map(|s| &s.entry)
    }

    /// Accounts a packet of the flow going `dir` at `now`: counters, state, expiry, recency.
    #[inline]
    pub fn touch(
        &mut self,
        handle: FlowHandle,
        now: Instant,
        dir: Direction,
        packet: PacketInfo,
    ) -> Option<&FlowEntry> {
        let slot = self.checked(handle)?;
        let s = self.slots.get_mut(slot as usize)?;
        s.entry.state = s.entry.state.next(dir, packet.flags);
        s.entry.count(dir, now, packet);
        s.entry.expires_at = now + s.entry.timeout(&self.timeouts);
        let list = list_of(&s.entry);
        self.lru.touch(slot, list);
        self.slots.get(slot as usize).map(|s| &s.entry)
    }

    /// Inserts a flow whose first packet, going forward, is `first` (already counted in the entry).
    ///
    /// The insert cap is checked first, so a refused conflict still spends a token. When the table
    /// is full, one flow is pushed out (see the module documentation) and counted.
    pub fn insert(
        &mut self,
        now: Instant,
        fwd: FlowKey,
        rev: FlowKey,
        data: FlowData,
        first: PacketInfo,
    ) -> Result<FlowHandle, InsertError> {
        if let Some(limiter) = self.limiter.as_mut() {
            if !limiter.take(now) {
                self.counters.rate_limited += 1;
                return Err(InsertError::RateLimited);
            }
        }
        let tags = [self.tag(&fwd), self.tag(&rev)];
        for (dir, key, tag, error) in [
            (
                Direction::Forward,
                &fwd,
                tags[0],
                InsertError::ForwardKeyInUse,
            ),
            (
                Direction::Reverse,
                &rev,
                tags[1],
                InsertError::ReverseKeyInUse,
            ),
        ] {
            if let Some(slot) = self.find(dir, key, tag) {
                if !self.expire_if_due(slot, now) {
                    self.counters.insert_conflicts += 1;
                    return Err(error);
                }
            }
        }
        let state = FlowState::initial(fwd.proto == Proto::Tcp, first.flags);
        // Nothing came back yet, so a new flow is never assured.
        let list = UNASSURED;
        let slot = match self.lru.alloc(list) {
            Some(slot) => slot,
            None => {
                self.make_room(now);
                // Capacity is at least 1, so making room always frees a slot.
                self.lru.alloc(list).ok_or(InsertError::Full)?
            }
        };
        let Some(s) = self.slots.get_mut(slot as usize) else {
            return Err(InsertError::Full);
        };
        s.entry = FlowEntry {
            fwd,
            rev,
            listener: data.listener,
            backend: data.backend,
            state,
            created: now,
            ..FlowEntry::VACANT
        };
        s.entry.count(Direction::Forward, now, first);
        s.entry.expires_at = now + s.entry.timeout(&self.timeouts);
        s.tags = tags;
        let handle = FlowHandle {
            slot,
            generation: s.generation,
        };
        self.fwd.insert(tags[0], slot);
        self.rev.insert(tags[1], slot);
        self.len += 1;
        self.counters.inserts += 1;
        Ok(handle)
    }

    /// Removes the flow behind `handle` and returns it.
    pub fn remove(&mut self, handle: FlowHandle) -> Option<FlowEntry> {
        let slot = self.checked(handle)?;
        self.counters.removals += 1;
        self.free(slot)
    }

    /// Removes flows whose timeout has passed, looking at no more than `budget` slots (call it
    /// between bursts; a full pass takes `capacity / budget` calls). Returns how many it removed.
    pub fn expire(&mut self, now: Instant, budget: usize) -> usize {
        let mut cursor = self.expire_at;
        let capacity = self.slots.len() as u32;
        let removed = expire_round_robin(&mut cursor, capacity, budget, |slot| {
            self.lru.is_live(slot) && self.expire_if_due(slot, now)
        });
        self.expire_at = cursor;
        removed
    }

    /// Visits up to `budget` slots from `cursor`, removing the live flows that `verdict` says to
    /// (it sees each one first). Returns true once the whole table has been visited. For the
    /// flows of removed backends: the caller decides per flow, and sends RSTs from what it sees.
    pub fn sweep(
        &mut self,
        cursor: &mut SweepCursor,
        budget: usize,
        mut verdict: impl FnMut(&FlowEntry) -> SweepVerdict,
    ) -> bool {
        let capacity = self.slots.len() as u32;
        let end = cursor
            .next
            .saturating_add(u32::try_from(budget).unwrap_or(u32::MAX))
            .min(capacity);
        for slot in cursor.next..end {
            let live = self.lru.is_live(slot);
            if live
                && self
                    .slots
                    .get(slot as usize)
                    .is_some_and(|s| verdict(&s.entry) == SweepVerdict::Remove)
            {
                self.counters.removals += 1;
                self.free(slot);
            }
        }
        cursor.next = end;
        end >= capacity
    }

    /// Removes every flow of `backend` on `listener`, showing each to `removed` first (to send
    /// RSTs); returns how many. Visits the whole table: use [`FlowTable::sweep`] to spread the
    /// work.
    pub fn drain_backend(
        &mut self,
        listener: u32,
        backend: u32,
        mut removed: impl FnMut(&FlowEntry),
    ) -> usize {
        let mut count = 0;
        self.sweep(&mut SweepCursor::default(), self.slots.len(), |entry| {
            if entry.listener == listener && entry.backend == backend {
                removed(entry);
                count += 1;
                SweepVerdict::Remove
            } else {
                SweepVerdict::Keep
            }
        });
        count
    }

    /// Every live flow, in slot order (for dumps and metrics; not on the fast path).
    pub fn iter(&self) -> impl Iterator<Item = &FlowEntry> + '_ {
        self.slots
            .iter()
            .zip(0u32..)
            .filter(|&(_, slot)| self.lru.is_live(slot))
            .map(|(s, _)| &s.entry)
    }

    #[inline]
    fn tag(&self, key: &FlowKey) -> u32 {
        Index::tag(hash_5tuple(self.seed, key))
    }

    #[inline]
    fn find(&self, dir: Direction, key: &FlowKey, tag: u32) -> Option<u32> {
        let slots = &self.slots;
        let index = match dir {
            Direction::Forward => &self.fwd,
            Direction::Reverse => &self.rev,
        };
        index.find(tag, |slot| {
            slots.get(slot as usize).is_some_and(|s| s.key(dir) == key)
        })
    }

    #[inline]
    fn lookup(&mut self, dir: Direction, key: &FlowKey, now: Instant) -> Option<FlowHandle> {
        let found = self
            .find(dir, key, self.tag(key))
            .filter(|&slot| !self.expire_if_due(slot, now));
        let handle = found.and_then(|slot| {
            let generation = self.slots.get(slot as usize)?.generation;
            Some(FlowHandle { slot, generation })
        });
        match handle {
            Some(_) => self.counters.lookups_hit += 1,
            None => self.counters.lookups_miss += 1,
        }
        handle
    }

    /// The slot of a handle that still names a live flow.
    #[inline]
    fn checked(&self, handle: FlowHandle) -> Option<u32> {
        let slot = self.slots.get(handle.slot as usize)?;
        (slot.generation == handle.generation && self.lru.is_live(handle.slot))
            .then_some(handle.slot)
    }

    /// Removes the live flow in `slot` if it has expired at `now`; true if it did.
    fn expire_if_due(&mut self, slot: u32, now: Instant) -> bool {
        let due = self
            .slots
            .get(slot as usize)
            .is_some_and(|s| s.entry.is_expired(now));
        if due {
            self.counters.expirations += 1;
            self.free(slot);
        }
        due
    }

    /// Frees one slot for an insert into a full table.
    fn make_room(&mut self, now: Instant) {
        if let Some(oldest) = self.lru.oldest(ASSURED) {
            if self.expire_if_due(oldest, now) {
                return;
            }
        }
        let Some(victim) = self
            .lru
            .oldest(UNASSURED)
            .or_else(|| self.lru.oldest(ASSURED))
        else {
            return;
        };
        if !self.expire_if_due(victim, now) {
            self.counters.evictions += 1;
            self.free(victim);
        }
    }

    /// Takes the live flow in `slot` out of both indexes and the lists, and returns it.
    fn free(&mut self, slot: u32) -> Option<FlowEntry> {
        if !self.lru.release(slot) {
            return None;
        }
        let s = self.slots.get_mut(slot as usize)?;
        s.generation = s.generation.wrapping_add(1);
        let [fwd_tag, rev_tag] = s.tags;
        let entry = s.entry;
        self.fwd.remove(fwd_tag, slot);
        self.rev.remove(rev_tag, slot);
        self.len = self.len.saturating_sub(1);
        Some(entry)
    }
}
