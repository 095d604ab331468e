//! Passive health of upstream backends, per core: a backend whose connections fail to open is left out
//! of the choice for a while (0.5 s, doubling up to 10 s with each failure in a row), so that requests do
//! not keep going to a node that is down only to be retried elsewhere. A connection that opens clears it.
//! A backend that is down is still chosen when no other one is up (it may be back).

use core::net::SocketAddr;
use core::time::Duration;
use std::collections::HashMap;

use crate::time::Instant;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
struct Failing {
    in_a_row: u32,
    until: Instant,
}

/// Backends that failed lately.
#[derive(Debug, Default)]
pub(super) struct Health {
    failing: HashMap<SocketAddr, Failing>,
}

impl Health {
    /// A connection to `backend` could not be opened.
    pub(super) fn failed(&mut self, backend: SocketAddr, now: Instant) -> Duration {
        let entry = self.failing.entry(backend).or_insert(Failing {
            in_a_row: 0,
            until: now,
        });
        entry.in_a_row = entry.in_a_row.saturating_add(1);
        let shift = entry.in_a_row.saturating_sub(1).min(16);
        let backoff = FIRST_BACKOFF.saturating_mul(1 << shift).min(MAX_BACKOFF);
        entry.until = now + backoff;
        backoff
    }

    /// A connection to `backend` opened.
    pub(super) fn succeeded(&mut self, backend: SocketAddr) {
        if !self.failing.is_empty() {
            self.failing.remove(&backend);
        }
    }

    /// Whether `backend` is left out of the choice at `now`.
    pub(super) fn is_down(&self, backend: SocketAddr, now: Instant) -> bool {
        !self.failing.is_empty() && self.failing.get(&backend).is_some_and(|f| f.until > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_and_a_success_clears_them() {
        let b: SocketAddr = "198.19.0.11:80".parse().unwrap_or_else(|_| unreachable!());
        let mut h = Health::default();
        let t0 = Instant::ZERO + Duration::from_secs(100);
        assert!(!h.is_down(b, t0));
        assert_eq!(h.failed(b, t0), Duration::from_millis(500));
        assert!(h.is_down(b, t0 + Duration::from_millis(499)));
        assert!(!h.is_down(b, t0 + Duration::from_millis(500)));
        assert_eq!(h.failed(b, t0), Duration::from_secs(1));
        assert_eq!(h.failed(b, t0), Duration::from_secs(2));
        for _ in 0..10 {
            h.failed(b, t0);
        }
        assert_eq!(h.failed(b, t0), Duration::from_secs(10), "capped");
        h.succeeded(b);
        assert!(!h.is_down(b, t0));
        assert_eq!(
            h.failed(b, t0),
            Duration::from_millis(500),
            "the count starts again"
        );
    }
}
