//! One-way latency from TSC stamps into an hdrhistogram.
//!
//! Sender and receiver read the TSC of the same host (an invariant TSC is synchronised across cores),
//! so `rx_tsc - tx_tsc` is the one-way delay. The histogram is made once (1 ns to 60 s, 3 significant
//! digits); recording allocates nothing.

use hdrhistogram::Histogram;
use serde::Serialize;

const HIGHEST_NS: u64 = 60_000_000_000;

/// The latency histogram of a run, in nanoseconds.
#[derive(Debug, Clone)]
pub struct LatencyRecorder {
    histogram: Histogram<u64>,
    tsc_hz: u64,
    /// Frames whose receive TSC was before their send TSC (cores' TSCs out of step); recorded as 0.
    pub negative: u64,
}

/// Percentiles in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Frames measured.
    pub samples: u64,
    /// Smallest.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

impl LatencyRecorder {
    /// A recorder for a TSC of `tsc_hz` ticks per second (must be > 0).
    pub fn new(tsc_hz: u64) -> Result<Self, String> {
        if tsc_hz == 0 {
            return Err("the TSC frequency is 0 (EAL not initialised?)".into());
        }
        let histogram = Histogram::new_with_bounds(1, HIGHEST_NS, 3)
            .map_err(|e| format!("hdrhistogram: {e}"))?;
        Ok(LatencyRecorder {
            histogram,
            tsc_hz,
            negative: 0,
        })
    }

    /// Nanoseconds in `cycles` TSC ticks.
    #[inline]
    pub fn cycles_to_ns(&self, cycles: u64) -> u64 {
        let ns = u128::from(cycles) * 1_000_000_000 / u128::from(self.tsc_hz);
        u64::try_from(ns).unwrap_or(u64::MAX)
    }

    /// Records a frame sent at `tx_tsc` and received at `rx_tsc`.
    #[inline]
    pub fn record(&mut self, tx_tsc: u64, rx_tsc: u64) {
        let cycles = match rx_tsc.checked_sub(tx_tsc) {
            Some(c) => c,
            None => {
                self.negative += 1;
                0
            }
        };
        self.histogram.saturating_record(self.cycles_to_ns(cycles));
    }

    /// The percentiles so far; all zero when nothing was recorded.
    pub fn summary(&self) -> LatencySummary {
        let h = &self.histogram;
        let us = |ns: u64| ns as f64 / 1000.0;
        if h.is_empty() {
            return LatencySummary {
                samples: 0,
                min: 0.0,
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
            };
        }
        LatencySummary {
            samples: h.len(),
            min: us(h.min()),
            mean: h.mean() / 1000.0,
            p50: us(h.value_at_quantile(0.50)),
            p90: us(h.value_at_quantile(0.90)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_become_nanoseconds() {
        let r = LatencyRecorder::new(2_500_000_000).unwrap();
        assert_eq!(r.cycles_to_ns(2_500), 1_000);
        assert_eq!(r.cycles_to_ns(2_500_000_000 * 60), 60_000_000_000);
        assert_eq!(r.cycles_to_ns(u64::MAX), 7_378_697_629_483_820_646);
        assert!(LatencyRecorder::new(0).is_err());
    }

    #[test]
    fn percentiles_of_a_known_spread() {
        // 1 GHz TSC: one cycle is one nanosecond. 1000 frames at 1..=1000 µs.
        let mut r = LatencyRecorder::new(1_000_000_000).unwrap();
        for i in 1..=1000u64 {
            r.record(5_000, 5_000 + i * 1000);
        }
        let s = r.summary();
        assert_eq!(s.samples, 1000);
        // hdrhistogram with 3 significant digits: within 0.1%.
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 1e-9;
        assert!(close(s.min, 1.0), "{s:?}");
        assert!(close(s.p50, 500.0), "{s:?}");
        assert!(close(s.p90, 900.0), "{s:?}");
        assert!(close(s.p99, 990.0), "{s:?}");
        assert!(close(s.p999, 999.0), "{s:?}");
        assert!(close(s.max, 1000.0), "{s:?}");
        assert!(close(s.mean, 500.5), "{s:?}");
    }

    #[test]
    fn out_of_step_clocks_count_as_zero_and_are_reported() {
        let mut r = LatencyRecorder::new(1_000_000_000).unwrap();
        r.record(10_000, 9_000);
        r.record(10_000, 12_000);
        assert_eq!(r.negative, 1);
        let s = r.summary();
        assert_eq!((s.samples, s.min), (2, 0.0));
        assert!((s.max - 2.0).abs() < 0.01, "{s:?}");
    }

    #[test]
    fn empty_is_all_zero() {
        let s = LatencyRecorder::new(1).unwrap().summary();
        assert_eq!(s.samples, 0);
        assert_eq!(s.max, 0.0);
    }
}
