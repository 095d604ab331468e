//! Client-ip affinity (Kubernetes `sessionAffinity: ClientIP`, IPVS persistence): which backend a
//! client was last sent to on a listener, kept for the listener's timeout after its last new flow.
//!
//! Per core, like the flow table: fixed capacity, the same open-addressing index and LRU eviction,
//! no allocation after construction. On each new flow of an affinity listener the worker asks
//! [`AffinityTable::get`]; if the backend it gives is still in the pool and not draining it uses
//! it, otherwise it picks one with Maglev (hashing the source address only). Either way it then
//! calls [`AffinityTable::remember`], which restarts the timeout. Existing flows never consult this
//! table: the flow table already pins them.
//!
//! The table is per core, and a client's connections may land on different cores. That is fine
//! while the pool is stable, because every core hashes the same source address into the same Maglev
//! table; the table only matters after a pool change, when a core that has seen the client keeps
//! its old backend and a core that has not picks from the new table.

use core::net::IpAddr;
use core::time::Duration;

use super::counters::FlowCounters;
use super::index::Index;
use super::lru::{expire_round_robin, Lru};
use crate::maglev::xxh64;
use crate::time::Instant;

const LIST: u8 = 0;

#[derive(Copy, Clone, Debug)]
struct Slot {
    listener: u32,
    client: IpAddr,
    backend: u32,
    expires_at: Instant,
    tag: u32,
}

const VACANT: Slot = Slot {
    listener: 0,
    client: IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
    backend: 0,
    expires_at: Instant::ZERO,
    tag: 0,
};

/// (listener, client address) → backend, with a timeout per entry.
#[derive(Debug, Clone)]
pub struct AffinityTable {
    slots: Box<[Slot]>,
    lru: Lru<1>,
    index: Index,
    len: u32,
    seed: u64,
    expire_at: u32,
    counters: FlowCounters,
}

impl AffinityTable {
    /// A table for `capacity` clients (clamped to `1..=MAX_CAPACITY`), hashing with `seed` (random
    /// per process, like the flow table's).
    pub fn with_capacity(capacity: usize, seed: u64) -> AffinityTable {
        let capacity = capacity.clamp(1, super::MAX_CAPACITY);
        AffinityTable {
            slots: vec![VACANT; capacity].into_boxed_slice(),
            lru: Lru::new(capacity as u32),
            index: Index::with_capacity(capacity),
            len: 0,
            seed,
            expire_at: 0,
            counters: FlowCounters::default(),
        }
    }

    /// Remembered clients (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether no client is remembered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Counters: `inserts`, `evictions`, `expirations`, `removals`, `lookups_hit`/`_miss`,
    /// `active`.
    pub fn counters(&self) -> FlowCounters {
        FlowCounters {
            active: u64::from(self.len),
            ..self.counters
        }
    }

    /// The backend `client` was last sent to on `listener`, unless that has expired at `now`.
    pub fn get(&mut self, now: Instant, listener: u32, client: IpAddr) -> Option<u32> {
        let found = self
            .find(listener, client)
            .filter(|&slot| !self.expire_if_due(slot, now));
        let backend = found
            .and_then(|slot| self.slots.get(slot as usize))
            .map(|s| s.backend);
        match backend {
            Some(_) => self.counters.lookups_hit += 1,
            None => self.counters.lookups_miss += 1,
        }
        backend
    }

    /// Records that `client` was sent to `backend` on `listener` at `now`, to be remembered for
    /// `timeout`; replaces an earlier choice. When full, the least recently remembered client goes.
    pub fn remember(
        &mut self,
        now: Instant,
        listener: u32,
        client: IpAddr,
        backend: u32,
        timeout: Duration,
    ) {
        let slot = match self.find(listener, client) {
            Some(slot) => slot,
            None => match self.alloc(now) {
                Some(slot) => {
                    let tag = self.tag(listener, client);
                    self.index.insert(tag, slot);
                    self.len += 1;
                    self.counters.inserts += 1;
                    if let Some(s) = self.slots.get_mut(slot as usize) {
                        *s = Slot {
                            listener,
                            client,
                            tag,
                            ..VACANT
                        };
                    }
                    slot
                }
                None => return,
            },
        };
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.backend = backend;
            s.expires_at = now + timeout;
        }
        self.lru.touch(slot, LIST);
    }

    /// Forgets every client sent to `backend` on `listener` (it left the pool); returns how many.
    /// Visits the whole table; not for the fast path.
    pub fn forget_backend(&mut self, listener: u32, backend: u32) -> usize {
        let mut forgotten = 0;
        for slot in 0..self.slots.len() as u32 {
            let hit = self
                .slots
                .get(slot as usize)
                .is_some_and(|s| s.listener == listener && s.backend == backend);
            if hit && self.lru.is_live(slot) {
                self.counters.removals += 1;
                self.free(slot);
                forgotten += 1;
            }
        }
        forgotten
    }

    /// Removes expired clients, looking at no more than `budget` slots; returns how many it
    /// removed.
    pub fn expire(&mut self, now: Instant, budget: usize) -> usize {
        let mut cursor = self.expire_at;
        let capacity = self.slots.len() as u32;
        let removed = expire_round_robin(&mut cursor, capacity, budget, |slot| {
            self.lru.is_live(slot) && self.expire_if_due(slot, now)
        });
        self.expire_at = cursor;
        removed
    }

    fn tag(&self, listener: u32, client: IpAddr) -> u32 {
        let mut buf = [0u8; 20];
        let (head, tail) = buf.split_at_mut(4);
        head.copy_from_slice(&listener.to_be_bytes());
        let len = match client {
            IpAddr::V4(v4) => {
                tail.iter_mut().zip(v4.octets()).for_each(|(d, s)| *d = s);
                8
            }
            IpAddr::V6(v6) => {
                tail.iter_mut().zip(v6.octets()).for_each(|(d, s)| *d = s);
                20
            }
        };
        Index::tag(xxh64(self.seed, buf.get(..len).unwrap_or(&buf)))
    }

    fn find(&self, listener: u32, client: IpAddr) -> Option<u32> {
        let slots = &self.slots;
        self.index.find(self.tag(listener, client), |slot| {
            slots
                .get(slot as usize)
                .is_some_and(|s| s.listener == listener && s.client == client)
        })
    }

    /// A free slot, pushing out the oldest client if there is none.
    fn alloc(&mut self, now: Instant) -> Option<u32> {
        if let Some(slot) = self.lru.alloc(LIST) {
            return Some(slot);
        }
        let oldest = self.lru.oldest(LIST)?;
        if !self.expire_if_due(oldest, now) {
            self.counters.evictions += 1;
            self.free(oldest);
        }
        self.lru.alloc(LIST)
    }

    fn expire_if_due(&mut self, slot: u32, now: Instant) -> bool {
        let due = self
            .slots
            .get(slot as usize)
            .is_some_and(|s| now >= s.expires_at);
        if due {
            self.counters.expirations += 1;
            self.free(slot);
        }
        due
    }

    fn free(&mut self, slot: u32) {
        if self.lru.release(slot) {
            if let Some(s) = self.slots.get(slot as usize) {
                self.index.remove(s.tag, slot);
                self.len = self.len.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 18, 0, last))
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn secs(s: u64) -> Instant {
        Instant::from_nanos(s * 1_000_000_000)
    }

    #[test]
    fn remembers_per_listener_and_client_until_the_timeout() {
        let mut t = AffinityTable::with_capacity(8, 1);
        t.remember(secs(0), 1, v4(1), 10, HOUR);
        t.remember(secs(0), 2, v4(1), 20, HOUR);
        let six = IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1));
        t.remember(secs(0), 1, six, 30, Duration::from_secs(10));
        assert_eq!(t.get(secs(1), 1, v4(1)), Some(10));
        assert_eq!(t.get(secs(1), 2, v4(1)), Some(20));
        assert_eq!(t.get(secs(1), 1, v4(2)), None);
        assert_eq!(t.get(secs(9), 1, six), Some(30));
        assert_eq!(
            t.get(secs(10), 1, six),
            None,
            "expired exactly at the timeout"
        );
        assert_eq!(t.len(), 2);
        let c = t.counters();
        assert_eq!(
            (
                c.inserts,
                c.expirations,
                c.lookups_hit,
                c.lookups_miss,
                c.active
            ),
            (3, 1, 3, 2, 2)
        );
    }

    #[test]
    fn remember_refreshes_and_replaces() {
        let mut t = AffinityTable::with_capacity(8, 1);
        t.remember(secs(0), 1, v4(1), 10, Duration::from_secs(10));
        t.remember(secs(8), 1, v4(1), 11, Duration::from_secs(10));
        assert_eq!(t.get(secs(17), 1, v4(1)), Some(11));
        assert_eq!(t.get(secs(18), 1, v4(1)), None);
        assert_eq!(t.counters().inserts, 1);
    }

    #[test]
    fn full_table_forgets_the_least_recently_remembered() {
        let mut t = AffinityTable::with_capacity(3, 7);
        for i in 1..=3 {
            t.remember(secs(0), 1, v4(i), u32::from(i), HOUR);
        }
        t.remember(secs(1), 1, v4(1), 1, HOUR); // 2 is now the oldest
        t.remember(secs(2), 1, v4(4), 4, HOUR);
        assert_eq!(t.get(secs(3), 1, v4(2)), None);
        for i in [1, 3, 4] {
            assert_eq!(t.get(secs(3), 1, v4(i)), Some(u32::from(i)));
        }
        assert_eq!((t.counters().evictions, t.len()), (1, 3));
    }

    #[test]
    fn forget_backend_and_expire() {
        let mut t = AffinityTable::with_capacity(16, 3);
        for i in 0..10u8 {
            t.remember(
                secs(0),
                1,
                v4(i),
                u32::from(i % 2),
                Duration::from_secs(u64::from(i) + 1),
            );
        }
        assert_eq!(t.forget_backend(1, 0), 5);
        assert_eq!(t.forget_backend(2, 1), 0);
        assert_eq!(t.get(secs(0), 1, v4(0)), None);
        assert_eq!(t.get(secs(0), 1, v4(1)), Some(1));
        // Odd clients expire at 2, 4, 6, 8, 10 s; at 6 s the first three are due.
        let removed: usize = (0..4).map(|_| t.expire(secs(6), 4)).sum();
        assert_eq!(removed, 3);
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(secs(6), 1, v4(7)), Some(1));
    }
}
