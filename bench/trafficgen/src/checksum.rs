//! The Internet checksum (RFC 1071) as an unfolded 32-bit sum of 16-bit words, so that the parts of a
//! header that never change are summed once and each frame adds only the words it changes.

/// Adds the big-endian 16-bit words of `bytes` to `sum` (an odd last byte is padded with a zero).
pub fn add_bytes(mut sum: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(2);
    for w in &mut words {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Adds the two 16-bit halves of `value`.
#[inline]
pub fn add_u32(sum: u64, value: u32) -> u64 {
    sum + u64::from(value >> 16) + u64::from(value & 0xffff)
}

/// Adds the four 16-bit quarters of `value`.
#[inline]
pub fn add_u64(sum: u64, value: u64) -> u64 {
    add_u32(add_u32(sum, (value >> 32) as u32), value as u32)
}

/// The checksum field for a sum: the ones' complement of the folded sum.
#[inline]
pub fn finish(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded); the checksum is 220d.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(add_bytes(0, &bytes)), !0xddf2);
        assert_eq!(finish(add_bytes(0, &bytes)), 0x220d);
    }

    #[test]
    fn a_real_ipv4_header_verifies() {
        // A header with its checksum (0xb861) in place sums to 0xffff, so finish() gives 0.
        let header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(finish(add_bytes(0, &header)), 0);
        let mut zeroed = header;
        zeroed[10..12].copy_from_slice(&[0, 0]);
        assert_eq!(finish(add_bytes(0, &zeroed)), 0xb861);
    }

    #[test]
    fn words_and_bytes_agree() {
        let v: u64 = 0x0123_4567_89ab_cdef;
        assert_eq!(add_u64(7, v), add_bytes(7, &v.to_be_bytes()));
        assert_eq!(
            add_u32(0, 0xfffe_0001),
            add_bytes(0, &[0xff, 0xfe, 0x00, 0x01])
        );
        assert_eq!(add_bytes(0, &[0xab]), 0xab00);
    }
}
