//! Primality for Maglev table sizes: trial division, which is plenty for a `u32` checked off the
//! fast path.

/// Whether `n` is prime.
pub const fn is_prime(n: u32) -> bool {
    if n < 4 {
        return n >= 2;
    }
    if n % 2 == 0 || n % 3 == 0 {
        return false;
    }
    // Every prime above 3 is 6k ± 1.
    let mut d: u32 = 5;
    while (d as u64) * (d as u64) <= n as u64 {
        if n % d == 0 || n % (d + 2) == 0 {
            return false;
        }
        d += 6;
    }
    true
}

/// The smallest prime `>= n`, or None past the largest `u32` prime.
pub fn next_prime(n: u32) -> Option<u32> {
    (n.max(2)..=u32::MAX).find(|&c| is_prime(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_numbers_agree_with_a_sieve() {
        const N: usize = 2000;
        let mut composite = [false; N];
        for i in 2..N {
            for j in (i * i..N).step_by(i) {
                composite[j] = true;
            }
        }
        for (n, &c) in composite.iter().enumerate() {
            assert_eq!(is_prime(n as u32), n >= 2 && !c, "{n}");
        }
    }

    #[test]
    fn known_table_sizes() {
        assert!(is_prime(65537));
        assert!(is_prime(4093));
        assert!(is_prime(u32::MAX - 4)); // 4294967291, the largest u32 prime
        assert!(!is_prime(65535));
        assert!(!is_prime(3 * 65537));
        assert!(!is_prime(65521 * 65519)); // both factors near the square root
        assert_eq!(next_prime(65536), Some(65537));
        assert_eq!(next_prime(0), Some(2));
        assert_eq!(next_prime(u32::MAX - 3), None);
    }
}
