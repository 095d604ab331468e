//! Pacing the sender to a target rate on the TSC, and ending the run after a duration or a count.
//!
//! The budget is cumulative (frames allowed since the start minus frames built), so a sender that
//! fell behind catches up a burst at a time and the average rate over the run is the target. Rate 0
//! sends as fast as the port takes frames.

/// When to send and when to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacer {
    start: u64,
    end: u64,
    hz: u64,
    pps: u64,
    limit: u64,
}

impl Pacer {
    /// A run from TSC `start` lasting `duration_ns` with at most `limit` frames at `pps` (0: no pacing).
    pub fn new(start: u64, tsc_hz: u64, duration_ns: u64, pps: u64, limit: u64) -> Self {
        let cycles = u128::from(duration_ns) * u128::from(tsc_hz) / 1_000_000_000;
        let end = start.saturating_add(u64::try_from(cycles).unwrap_or(u64::MAX));
        Pacer {
            start,
            end,
            hz: tsc_hz.max(1),
            pps,
            limit,
        }
    }

    /// The TSC at which the run ends.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Whether the run is over at `now` with `built` frames made.
    #[inline]
    pub fn finished(&self, now: u64, built: u64) -> bool {
        now >= self.end || built >= self.limit
    }

    /// How many more frames may be built at `now`, `built` having been built already; at most `burst`.
    #[inline]
    pub fn due(&self, now: u64, built: u64, burst: u64) -> u64 {
        if self.finished(now, built) {
            return 0;
        }
        let left = self.limit - built;
        if self.pps == 0 {
            return burst.min(left);
        }
        // One frame at the very start, then pps per second.
        let elapsed = u128::from(now.saturating_sub(self.start));
        let allowed = elapsed * u128::from(self.pps) / u128::from(self.hz) + 1;
        let allowed = u64::try_from(allowed).unwrap_or(u64::MAX);
        allowed.saturating_sub(built).min(burst).min(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HZ: u64 = 1_000_000_000; // one tick per nanosecond

    #[test]
    fn paced_budget_accumulates() {
        // 1000 pps for 1 s: one frame per ms.
        let p = Pacer::new(100, HZ, 1_000_000_000, 1000, u64::MAX);
        assert_eq!(p.due(100, 0, 32), 1);
        assert_eq!(p.due(100, 1, 32), 0);
        assert_eq!(p.due(100 + 999_999, 1, 32), 0);
        assert_eq!(p.due(100 + 1_000_000, 1, 32), 1);
        // 10 ms behind: ten due, but one burst at a time
        assert_eq!(p.due(100 + 10_000_000, 1, 32), 10);
        assert_eq!(p.due(100 + 100_000_000, 1, 32), 32);
    }

    #[test]
    fn the_run_ends_on_time_or_count() {
        let p = Pacer::new(0, HZ, 2_000, 0, 100);
        assert_eq!(p.end(), 2_000);
        assert_eq!(p.due(0, 0, 32), 32);
        assert_eq!(p.due(10, 90, 32), 10);
        assert!(p.finished(10, 100));
        assert_eq!(p.due(10, 100, 32), 0);
        assert!(p.finished(2_000, 0));
        assert_eq!(p.due(2_000, 0, 32), 0);
        assert!(!p.finished(1_999, 99));
    }

    #[test]
    fn a_tsc_of_a_few_ghz_scales_duration() {
        let p = Pacer::new(7, 2_500_000_000, 60_000_000_000, 0, u64::MAX);
        assert_eq!(p.end(), 7 + 150_000_000_000);
    }
}
