//! The neighbour table: a fixed slab of entries, a hash index over it, and the pending pool.
//!
//! All memory is taken in [`NeighbourTable::new`]. The table decides state transitions and says
//! what to send ([`Resolved`], [`TimerAction`]); the worker does the sending.

use core::net::IpAddr;

use super::index::Index;
use super::pending::{PendingPool, Queue};
use super::{NeighbourState, NeighbourView};
use crate::counters::Counters;
use crate::snapshot::NeighbourTimers;
use crate::time::Instant;
use crate::{DropReason, PortId};

/// A neighbour: an address on a port (link-local addresses repeat across links).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) port: PortId,
    pub(crate) ip: IpAddr,
}

impl Key {
    fn hash(&self) -> u64 {
        let bits = match self.ip {
            IpAddr::V4(a) => u128::from(u32::from(a)) | 1 << 127,
            IpAddr::V6(a) => u128::from(a),
        };
        let h =
            (bits as u64) ^ ((bits >> 64) as u64).rotate_left(31) ^ u64::from(self.port.0) << 40;
        let h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^ (h >> 29)
    }
}

#[derive(Debug)]
struct Entry {
    key: Key,
    mac: [u8; 6],
    state: NeighbourState,
    /// Last confirmation, or creation: the base of `reachable`.
    confirmed: Instant,
    /// Last time a packet was sent (or queued) through it: with `confirmed`, the base of `stale_gc`.
    used: Instant,
    last_probe: Instant,
    probes: u8,
    queue: Queue,
}

impl Entry {
    fn state_at(&self, now: Instant, timers: &NeighbourTimers) -> NeighbourState {
        match self.state {
            NeighbourState::Reachable if now >= self.confirmed + timers.reachable => {
                NeighbourState::Stale
            }
            s => s,
        }
    }

    fn last_activity(&self) -> Instant {
        self.used.max(self.confirmed)
    }

    fn deadline(&self, timers: &NeighbourTimers) -> Instant {
        match self.state {
            NeighbourState::Incomplete | NeighbourState::Probe => {
                self.last_probe + timers.retransmit
            }
            NeighbourState::Reachable | NeighbourState::Stale => {
                self.last_activity() + timers.stale_gc
            }
        }
    }
}

/// A request the worker is to send for a neighbour: broadcast/multicast, or unicast to `mac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Solicitation {
    pub(crate) port: PortId,
    pub(crate) ip: IpAddr,
    pub(crate) unicast: Option<[u8; 6]>,
}

/// The outcome of sending a packet through a neighbour.
#[derive(Debug)]
pub(crate) enum Resolved<B> {
    /// Send `packet` to `mac` now (and the solicitation, when the entry is being probed).
    Send {
        mac: [u8; 6],
        packet: B,
        probe: Option<Solicitation>,
    },
    /// The packet waits; send the solicitation if there is one (a new resolution).
    Queued { probe: Option<Solicitation> },
    /// A new resolution started, but the packet could not wait (queue limits): send the
    /// solicitation, count the reason.
    Dropped {
        reason: DropReason,
        probe: Solicitation,
    },
}

/// How a MAC was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Learn {
    /// An answer to our request (ARP reply to us, solicited NA): the entry becomes reachable.
    pub(crate) confirmed: bool,
    /// Whether a missing entry is created.
    pub(crate) create: bool,
    /// Whether a different cached MAC is replaced.
    pub(crate) override_mac: bool,
}

/// The outcome of learning: the entry's slot (its queue is to be flushed), and whether the other
/// cores should hear of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Learned {
    pub(crate) slot: u32,
    pub(crate) news: bool,
}

/// What a timer wants done with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerAction {
    /// Nothing (yet).
    None,
    /// Send another request.
    Retransmit(Solicitation),
    /// Resolution or probing gave up: drop the queue, remove the entry.
    Failed,
    /// Unused past `stale_gc`: remove the entry.
    Expired,
}

/// The per-core neighbour table.
#[derive(Debug)]
pub(crate) struct NeighbourTable<B> {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    index: Index,
    pending: PendingPool<B>,
    next_deadline: Option<Instant>,
}

impl<B> NeighbourTable<B> {
    pub(crate) fn new(entries: usize, pending: usize) -> Self {
        let entries = entries.clamp(1, u32::MAX as usize / 4);
        Self {
            slots: (0..entries).map(|_| None).collect(),
            free: (0..entries as u32).rev().collect(),
            index: Index::new(entries),
            pending: PendingPool::new(pending),
            next_deadline: None,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.next_deadline
    }

    fn find(&self, key: Key) -> Option<(usize, u32)> {
        self.index.find(key.hash(), |slot| {
            self.entry(slot).is_some_and(|e| e.key == key)
        })
    }

    fn entry(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot as usize)?.as_ref()
    }

    fn entry_mut(&mut self, slot: u32) -> Option<&mut Entry> {
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    fn schedule(&mut self, at: Instant) {
        self.next_deadline = Some(self.next_deadline.map_or(at, |d| d.min(at)));
    }

    /// A new entry, evicting the least recently active resolved entry when full.
    fn insert(
        &mut self,
        key: Key,
        entry: Entry,
        counters: &mut Counters,
    ) -> Result<u32, DropReason> {
        if self.free.is_empty() {
            let victim = self
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, e)| e.as_ref().map(|e| (i, e)))
                .filter(|(_, e)| e.state != NeighbourState::Incomplete)
                .min_by_key(|(_, e)| e.last_activity())
                .map(|(i, _)| i as u32)
                .ok_or(DropReason::NeighbourTableFull)?;
            self.remove(victim);
            counters.neighbour_evicted += 1;
        }
        let slot = self.free.pop().ok_or(DropReason::NeighbourTableFull)?;
        let cell = self
            .slots
            .get_mut(slot as usize)
            .ok_or(DropReason::NeighbourTableFull)?;
        *cell = Some(entry);
        self.index.insert(key.hash(), slot);
        counters.neighbour_created += 1;
        Ok(slot)
    }

    /// Removes the entry in `slot`; packets still queued on it are dropped uncounted, so callers
    /// drain them with [`Self::pop_pending`] first.
    pub(crate) fn remove(&mut self, slot: u32) {
        let Some(key) = self.entry(slot).map(|e| e.key) else {
            return;
        };
        let found = self.index.find(key.hash(), |s| s == slot);
        if let Some((pos, _)) = found {
            let slots = &self.slots;
            let hash_of = |s: u32| {
                slots
                    .get(s as usize)
                    .and_then(Option::as_ref)
                    .map_or(0, |e| e.key.hash())
            };
            self.index.remove_at(pos, hash_of);
        }
        if let Some(mut entry) = self.slots.get_mut(slot as usize).and_then(Option::take) {
            while self.pending.pop(&mut entry.queue).is_some() {}
            self.free.push(slot);
        }
    }

    /// Sends `packet` towards neighbour `key`: at once when resolved, else queued.
    pub(crate) fn resolve(
        &mut self,
        now: Instant,
        key: Key,
        packet: B,
        timers: &NeighbourTimers,
        counters: &mut Counters,
    ) -> Result<Resolved<B>, DropReason> {
        let Key { port, ip } = key;
        let Some((_, slot)) = self.find(key) else {
            let entry = Entry {
                key,
                mac: [0; 6],
                state: NeighbourState::Incomplete,
                confirmed: now,
                used: now,
                last_probe: now,
                probes: 1,
                queue: Queue::EMPTY,
            };
            let slot = self.insert(key, entry, counters)?;
            self.schedule(now + timers.retransmit);
            let probe = Solicitation {
                port,
                ip,
                unicast: None,
            };
            // The request goes out even if this packet cannot wait: later ones may.
            return match self.enqueue(slot, packet, timers, counters) {
                Ok(()) => Ok(Resolved::Queued { probe: Some(probe) }),
                Err(reason) => Ok(Resolved::Dropped { reason, probe }),
            };
        };
        let Some(entry) = self.entry_mut(slot) else {
            return Err(DropReason::NeighbourUnresolved);
        };
        match entry.state_at(now, timers) {
            NeighbourState::Incomplete => {
                self.enqueue(slot, packet, timers, counters)?;
                Ok(Resolved::Queued { probe: None })
            }
            NeighbourState::Stale => {
                entry.state = NeighbourState::Probe;
                entry.probes = 1;
                entry.last_probe = now;
                entry.used = now;
                let mac = entry.mac;
                self.schedule(now + timers.retransmit);
                Ok(Resolved::Send {
                    mac,
                    packet,
                    probe: Some(Solicitation {
                        port,
                        ip,
                        unicast: Some(mac),
                    }),
                })
            }
            NeighbourState::Reachable | NeighbourState::Probe => {
                entry.used = now;
                Ok(Resolved::Send {
                    mac: entry.mac,
                    packet,
                    probe: None,
                })
            }
        }
    }

    fn enqueue(
        &mut self,
        slot: u32,
        packet: B,
        timers: &NeighbourTimers,
        counters: &mut Counters,
    ) -> Result<(), DropReason> {
        let total_limit = timers.queue_total.min(self.pending.capacity());
        let pending = &mut self.pending;
        let Some(entry) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return Err(DropReason::NeighbourUnresolved);
        };
        if entry.queue.len() >= timers.queue_per_neighbour || pending.len() >= total_limit {
            return Err(DropReason::NeighbourQueueFull);
        }
        pending
            .push(&mut entry.queue, packet)
            .map_err(|_| DropReason::NeighbourQueueFull)?;
        counters.neighbour_queued += 1;
        Ok(())
    }

    /// The oldest packet waiting on `slot`.
    pub(crate) fn pop_pending(&mut self, slot: u32) -> Option<B> {
        let pending = &mut self.pending;
        let entry = self.slots.get_mut(slot as usize)?.as_mut()?;
        pending.pop(&mut entry.queue)
    }

    /// The MAC and port of `slot`, once resolved.
    pub(crate) fn resolved(&self, slot: u32) -> Option<([u8; 6], PortId)> {
        self.entry(slot)
            .filter(|e| e.state != NeighbourState::Incomplete)
            .map(|e| (e.mac, e.key.port))
    }

    /// The MAC cached for `key`, unless it is still being resolved.
    pub(crate) fn cached_mac(&self, key: Key) -> Option<[u8; 6]> {
        self.find(key)
            .and_then(|(_, slot)| self.resolved(slot))
            .map(|(mac, _)| mac)
    }

    /// Records that `ip` on `port` is at `mac` (RFC 826's merge, RFC 4861 section 7.2.5).
    pub(crate) fn learn(
        &mut self,
        now: Instant,
        key: Key,
        mac: [u8; 6],
        how: Learn,
        timers: &NeighbourTimers,
        counters: &mut Counters,
    ) -> Option<Learned> {
        let fresh = if how.confirmed {
            NeighbourState::Reachable
        } else {
            NeighbourState::Stale
        };
        let Some((_, slot)) = self.find(key) else {
            if !how.create {
                return None;
            }
            let entry = Entry {
                key,
                mac,
                state: fresh,
                confirmed: now,
                used: now,
                last_probe: now,
                probes: 0,
                queue: Queue::EMPTY,
            };
            let slot = self.insert(key, entry, counters).ok()?;
            self.schedule(now + timers.stale_gc);
            return Some(Learned { slot, news: true });
        };
        let entry = self.entry_mut(slot)?;
        let current = entry.state_at(now, timers);
        let news =
            if current == NeighbourState::Incomplete || (entry.mac != mac && how.override_mac) {
                entry.mac = mac;
                entry.state = fresh;
                entry.confirmed = now;
                entry.probes = 0;
                true
            } else if entry.mac == mac && how.confirmed {
                entry.state = NeighbourState::Reachable;
                entry.confirmed = now;
                entry.probes = 0;
                true
            } else {
                if entry.mac != mac && current == NeighbourState::Reachable {
                    // A different MAC we may not take: no longer trust the one we have.
                    entry.state = NeighbourState::Stale;
                }
                false
            };
        Some(Learned { slot, news })
    }

    /// Runs the timer of `slot`.
    pub(crate) fn poll_slot(
        &mut self,
        slot: u32,
        now: Instant,
        timers: &NeighbourTimers,
    ) -> TimerAction {
        let Some(entry) = self.entry_mut(slot) else {
            return TimerAction::None;
        };
        if now < entry.deadline(timers) {
            return TimerAction::None;
        }
        match entry.state {
            NeighbourState::Incomplete | NeighbourState::Probe
                if entry.probes >= timers.max_probes =>
            {
                TimerAction::Failed
            }
            NeighbourState::Incomplete | NeighbourState::Probe => {
                entry.probes += 1;
                entry.last_probe = now;
                let unicast = (entry.state == NeighbourState::Probe).then_some(entry.mac);
                TimerAction::Retransmit(Solicitation {
                    port: entry.key.port,
                    ip: entry.key.ip,
                    unicast,
                })
            }
            NeighbourState::Reachable | NeighbourState::Stale => TimerAction::Expired,
        }
    }

    /// Recomputes the earliest deadline after a full timer pass.
    pub(crate) fn reschedule(&mut self, timers: &NeighbourTimers) {
        self.next_deadline = self
            .slots
            .iter()
            .flatten()
            .map(|e| e.deadline(timers))
            .min();
    }

    /// The port of the entry in `slot`.
    pub(crate) fn port_of(&self, slot: u32) -> Option<PortId> {
        self.entry(slot).map(|e| e.key.port)
    }

    /// Every entry as of `now`.
    pub(crate) fn views(
        &self,
        now: Instant,
        timers: NeighbourTimers,
    ) -> impl Iterator<Item = NeighbourView> + '_ {
        self.slots.iter().flatten().map(move |e| {
            let state = e.state_at(now, &timers);
            NeighbourView {
                ip: e.key.ip,
                mac: (state != NeighbourState::Incomplete).then_some(e.mac),
                port: e.key.port,
                state,
                age: now.saturating_since(e.confirmed),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;
    use core::time::Duration;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn key(n: u32) -> Key {
        Key {
            port: PortId((n % 3) as u16),
            ip: IpAddr::V4(Ipv4Addr::from(0xc612_0000 + n)),
        }
    }

    const HEARD: Learn = Learn {
        confirmed: false,
        create: true,
        override_mac: true,
    };

    #[test]
    fn an_advert_without_override_does_not_replace_a_mac() {
        let (timers, mut c) = (NeighbourTimers::default(), Counters::default());
        let mut t = NeighbourTable::<u8>::new(4, 4);
        let now = Instant::ZERO;
        let confirm = Learn {
            confirmed: true,
            create: true,
            override_mac: true,
        };
        let slot = t
            .learn(now, key(1), [2, 0, 0, 0, 0, 1], confirm, &timers, &mut c)
            .unwrap()
            .slot;
        let weak = Learn {
            confirmed: true,
            create: false,
            override_mac: false,
        };
        let learned = t
            .learn(now, key(1), [2, 0, 0, 0, 0, 2], weak, &timers, &mut c)
            .unwrap();
        assert!(!learned.news);
        assert_eq!(t.resolved(slot), Some(([2, 0, 0, 0, 0, 1], PortId(1))));
        let view = t.views(now, timers).next().unwrap();
        assert_eq!(view.state, NeighbourState::Stale, "no longer trusted");
        assert_eq!(
            t.learn(now, key(2), [2; 6], weak, &timers, &mut c),
            None,
            "adverts create nothing"
        );
    }

    #[test]
    fn incomplete_entries_are_never_evicted() {
        let (timers, mut c) = (NeighbourTimers::default(), Counters::default());
        let mut t = NeighbourTable::<u8>::new(2, 8);
        for n in 0..2 {
            assert!(matches!(
                t.resolve(Instant::ZERO, key(n), 0, &timers, &mut c),
                Ok(Resolved::Queued { .. })
            ));
        }
        assert_eq!(
            t.resolve(Instant::ZERO, key(5), 0, &timers, &mut c).err(),
            Some(DropReason::NeighbourTableFull)
        );
        assert_eq!(
            t.learn(Instant::ZERO, key(6), [2; 6], HEARD, &timers, &mut c),
            None
        );
        assert_eq!(c.neighbour_evicted, 0);
    }

    #[test]
    fn deadlines_follow_the_state() {
        let (timers, mut c) = (NeighbourTimers::default(), Counters::default());
        let mut t = NeighbourTable::<u8>::new(4, 4);
        let at = Instant::ZERO + Duration::from_secs(5);
        let _ = t.resolve(at, key(1), 0, &timers, &mut c);
        assert_eq!(t.next_deadline(), Some(at + timers.retransmit));
        let learned = t.learn(at, key(1), [2; 6], HEARD, &timers, &mut c).unwrap();
        assert_eq!(t.pop_pending(learned.slot), Some(0));
        t.reschedule(&timers);
        assert_eq!(t.next_deadline(), Some(at + timers.stale_gc));
    }

    proptest! {
        /// Inserts and removals in any order keep the index consistent with a plain map.
        #[test]
        fn index_agrees_with_a_map(ops in proptest::collection::vec((0u32..48, any::<bool>()), 1..400)) {
            let (timers, mut c) = (NeighbourTimers::default(), Counters::default());
            let mut t = NeighbourTable::<u8>::new(32, 0);
            let mut model: HashMap<u32, u32> = HashMap::new();
            for (n, insert) in ops {
                if insert && !model.contains_key(&n) && model.len() < 32 {
                    let learned = t.learn(Instant::ZERO, key(n), [2; 6], HEARD, &timers, &mut c).unwrap();
                    model.insert(n, learned.slot);
                } else if let Some(slot) = model.remove(&n) {
                    t.remove(slot);
                }
                for m in 0..48 {
                    let found = t.find(key(m)).map(|(_, slot)| slot);
                    prop_assert_eq!(found, model.get(&m).copied(), "key {}", m);
                }
            }
        }
    }
}
