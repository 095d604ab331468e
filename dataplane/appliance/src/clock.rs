//! The workers' clock: the TSC, read once per loop and turned into the engine's nanosecond `Instant`.

use edgelb_engine::Instant;

/// Converts TSC cycles to nanoseconds since the clock was made.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: u64,
    hz: u64,
}

impl Clock {
    /// A clock over the TSC, with the frequency DPDK measured at EAL init.
    pub fn tsc() -> Self {
        Self {
            start: edgelb_dpdk::tsc_cycles(),
            hz: edgelb_dpdk::tsc_hz().max(1),
        }
    }

    /// Now, on the engine's clock.
    #[inline]
    pub fn now(&self) -> Instant {
        Instant::from_nanos(cycles_to_nanos(
            edgelb_dpdk::tsc_cycles().wrapping_sub(self.start),
            self.hz,
        ))
    }
}

#[inline]
fn cycles_to_nanos(cycles: u64, hz: u64) -> u64 {
    let nanos = u128::from(cycles) * 1_000_000_000 / u128::from(hz);
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_cycles_at_the_given_rate() {
        assert_eq!(cycles_to_nanos(3_000_000_000, 3_000_000_000), 1_000_000_000);
        assert_eq!(cycles_to_nanos(1, 2_000_000_000), 0);
        assert_eq!(cycles_to_nanos(u64::MAX, 1), u64::MAX);
    }
}
