//! The generator's per-frame checksums: the engine's RFC 1071 sum (`edgelb_engine::l4::checksum`) kept unfolded,
//! so that the parts of a header that never change are summed once and each frame adds only the words it changes.

pub use edgelb_engine::l4::checksum::{finish, sum_words as add_bytes};

/// Adds the two 16-bit halves of `value`.
#[inline]
pub fn add_u32(sum: u32, value: u32) -> u32 {
    sum + (value >> 16) + (value & 0xffff)
}

/// Adds the four 16-bit quarters of `value`.
#[inline]
pub fn add_u64(sum: u32, value: u64) -> u32 {
    add_u32(add_u32(sum, (value >> 32) as u32), value as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_bytes_agree() {
        let v: u64 = 0x0123_4567_89ab_cdef;
        assert_eq!(add_u64(7, v), add_bytes(7, &v.to_be_bytes()));
        assert_eq!(
            add_u32(0, 0xfffe_0001),
            add_bytes(0, &[0xff, 0xfe, 0x00, 0x01])
        );
        assert_eq!(
            finish(add_bytes(
                0,
                &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]
            )),
            0x220d
        );
    }
}
