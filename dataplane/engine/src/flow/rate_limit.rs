//! The insert cap: a token bucket on the caller's clock, in integer arithmetic.

use super::config::InsertRate;
use crate::time::Instant;

/// One token, in the bucket's unit (nano-tokens, so that a nanosecond of refill is exact).
const TOKEN: u64 = 1_000_000_000;

/// Allows `per_sec` events per second on average and `burst` at once.
#[derive(Debug, Clone)]
pub(super) struct TokenBucket {
    per_sec: u64,
    /// Full bucket, in nano-tokens.
    capacity: u64,
    /// Current fill, in nano-tokens.
    tokens: u64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(super) fn new(rate: InsertRate, now: Instant) -> Self {
        let capacity = u64::from(rate.burst.max(1)).saturating_mul(TOKEN);
        TokenBucket {
            per_sec: u64::from(rate.per_sec),
            capacity,
            tokens: capacity,
            updated: now,
        }
    }

    /// Takes one token if there is one.
    #[inline]
    pub(super) fn take(&mut self, now: Instant) -> bool {
        if now > self.updated {
            // Nanoseconds × tokens per second = nano-tokens.
            let refill = (now.as_nanos() - self.updated.as_nanos()).saturating_mul(self.per_sec);
            self.tokens = self.tokens.saturating_add(refill).min(self.capacity);
            self.updated = now;
        }
        if self.tokens >= TOKEN {
            self.tokens -= TOKEN;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_ms(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    fn takes(bucket: &mut TokenBucket, now: Instant, tries: u32) -> u32 {
        (0..tries).filter(|_| bucket.take(now)).count() as u32
    }

    #[test]
    fn burst_then_rate() {
        let mut b = TokenBucket::new(
            InsertRate {
                per_sec: 1000,
                burst: 5,
            },
            at_ms(0),
        );
        assert_eq!(takes(&mut b, at_ms(0), 10), 5);
        assert_eq!(takes(&mut b, at_ms(1), 10), 1); // 1 ms at 1000/s
        assert_eq!(takes(&mut b, at_ms(4), 10), 3);
        assert_eq!(
            takes(&mut b, at_ms(1000), 10),
            5,
            "refill stops at the burst"
        );
    }

    #[test]
    fn fractions_of_a_token_accumulate() {
        let mut b = TokenBucket::new(
            InsertRate {
                per_sec: 3,
                burst: 1,
            },
            at_ms(0),
        );
        assert!(b.take(at_ms(0)));
        assert!(!b.take(at_ms(333)));
        assert!(b.take(at_ms(334)), "334 ms at 3/s is 1.002 tokens");
        assert!(!b.take(at_ms(500)));
    }

    #[test]
    fn clock_going_backwards_adds_nothing() {
        let mut b = TokenBucket::new(
            InsertRate {
                per_sec: 1000,
                burst: 1,
            },
            at_ms(10),
        );
        assert!(b.take(at_ms(10)));
        assert!(!b.take(at_ms(5)));
        assert!(!b.take(at_ms(10)));
        assert!(b.take(at_ms(11)));
    }

    #[test]
    fn zero_rate_allows_only_the_burst_and_huge_values_saturate() {
        let mut b = TokenBucket::new(
            InsertRate {
                per_sec: 0,
                burst: 0,
            },
            at_ms(0),
        );
        assert_eq!(takes(&mut b, Instant::from_nanos(u64::MAX), 3), 1);
        let mut b = TokenBucket::new(
            InsertRate {
                per_sec: u32::MAX,
                burst: u32::MAX,
            },
            at_ms(0),
        );
        assert!(b.take(Instant::from_nanos(u64::MAX)));
    }
}
