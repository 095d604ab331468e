//! Incremental internet checksum updates (RFC 1624) for rewriting headers in place.
//!
//! A checksum field holds `~sum` of the covered 16-bit words. When words change from `m` to
//! `m'`, the new field is `~(~HC + ~m + m')` (RFC 1624, equation 3), in one's complement
//! arithmetic. Equation 3 yields the same bits a full recomputation would (it never produces the
//! `0xffff` that a naive update can), so a rewritten packet is byte-identical to one built from
//! scratch. Nothing here can panic: out-of-range offsets leave the data untouched and report it.

/// Folds a 32-bit one's complement accumulator to 16 bits.
#[inline]
fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The one's complement sum of `data` as 16-bit big-endian words (an odd tail is padded with 0),
/// added to `sum`, unfolded.
#[inline]
pub fn sum_words(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        if let [a, b] = *c {
            sum += u32::from(u16::from_be_bytes([a, b]));
        }
    }
    if let [last] = *chunks.remainder() {
        sum += u32::from(last) << 8;
    }
    sum
}

/// The checksum field over `sum` (unfolded): `~fold(sum)`.
#[inline]
pub fn finish(sum: u32) -> u16 {
    !fold(sum)
}

/// A pending change to one checksum: the sum of the old words' complements and the new words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta(u32);

impl Delta {
    /// Records that `old` (16-bit aligned in the checksummed data) becomes `new`, of equal length.
    #[inline]
    pub fn replace(&mut self, old: &[u8], new: &[u8]) {
        // ~m for each old word: 0xffff - m, summed; the new words summed.
        let old_sum = sum_words(0, old);
        let words = old.len().div_ceil(2) as u32;
        self.0 += u32::from(fold(words * 0xffff - old_sum.min(words * 0xffff)));
        self.0 += u32::from(fold(sum_words(0, new)));
        self.0 = u32::from(fold(self.0));
    }

    /// Records a 16-bit word going from `old` to `new`.
    #[inline]
    pub fn replace_word(&mut self, old: u16, new: u16) {
        self.replace(&old.to_be_bytes(), &new.to_be_bytes());
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        fold(self.0) == 0 || fold(self.0) == 0xffff
    }

    /// Applies the change to the checksum field value `checksum`.
    #[inline]
    pub fn apply(self, checksum: u16) -> u16 {
        !fold(u32::from(!checksum) + self.0)
    }

    /// Applies the change to the big-endian checksum field at `at` in `data`; None if out of range.
    #[inline]
    pub fn apply_at(self, data: &mut [u8], at: usize) -> Option<()> {
        let field = data.get_mut(at..at + 2)?;
        let old = u16::from_be_bytes([field.first().copied()?, field.get(1).copied()?]);
        field.copy_from_slice(&self.apply(old).to_be_bytes());
        Some(())
    }
}

/// Writes `new` at `at` in `data` (whose byte 0 starts a 16-bit word of the checksummed data),
/// recording the change in `delta`; handles odd offsets by taking in the neighbouring bytes.
/// None (and nothing written) if the range is outside `data`.
pub fn write_tracked(data: &mut [u8], at: usize, new: &[u8], delta: &mut Delta) -> Option<()> {
    let start = at & !1;
    let end = (at + new.len()).next_multiple_of(2);
    // At most a 16-byte address plus a byte either side.
    let mut before = [0u8; 20];
    let span = end - start;
    let window = data.get(start..end.min(data.len()))?;
    if at + new.len() > data.len() || span > before.len() {
        return None;
    }
    before.get_mut(..window.len())?.copy_from_slice(window);
    data.get_mut(at..at + new.len())?.copy_from_slice(new);
    let after = data.get(start..end.min(data.len()))?;
    delta.replace(before.get(..after.len())?, after);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::internet_checksum;

    fn with_checksum(mut data: Vec<u8>, at: usize) -> Vec<u8> {
        data[at..at + 2].copy_from_slice(&[0, 0]);
        let sum = internet_checksum(&[&data]);
        data[at..at + 2].copy_from_slice(&sum.to_be_bytes());
        data
    }

    #[test]
    fn incremental_equals_recomputed() {
        let original = with_checksum((0u8..40).map(|b| b.wrapping_mul(37)).collect(), 10);
        for (at, new) in [
            (0usize, vec![0xffu8, 0xff]),
            (3, vec![1, 2, 3]),
            (12, vec![198, 18, 0, 1]),
            (21, vec![0; 16]),
            (38, vec![0xab, 0xcd]),
        ] {
            let mut data = original.clone();
            let mut delta = Delta::default();
            write_tracked(&mut data, at, &new, &mut delta).unwrap();
            delta.apply_at(&mut data, 10).unwrap();
            assert_eq!(data, with_checksum(data.clone(), 10), "at {at}");
        }
    }

    #[test]
    fn equation_3_never_yields_negative_zero() {
        // RFC 1624 section 4: field 0xdd2f, a word 0x5555 becomes 0x3285; the answer is 0x0000.
        let mut d = Delta::default();
        d.replace_word(0x5555, 0x3285);
        assert_eq!(d.apply(0xdd2f), 0x0000);
        assert!(!d.is_empty());
        assert!(Delta::default().is_empty());
    }

    #[test]
    fn out_of_range_writes_nothing() {
        let mut data = vec![1u8, 2, 3];
        let mut delta = Delta::default();
        assert_eq!(write_tracked(&mut data, 2, &[9, 9], &mut delta), None);
        assert_eq!(data, [1, 2, 3]);
        assert_eq!(delta.apply_at(&mut data, 2), None);
    }
}
