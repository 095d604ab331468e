//! A minimal DER reader for the few fields edgelb reads itself: a leaf certificate's SAN DNS names and a
//! private key's algorithm (for error messages). Rustls and webpki do the real validation.
//!
//! Only single-byte tags and definite lengths of up to four bytes are read; anything else is
//! [`Malformed`]. No method panics on any input: every read checks the remaining length first.

/// The input is not the DER this reader expects.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct Malformed;

/// Universal and context tags used by the callers.
pub(super) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;
    /// `[0]` constructed (EXPLICIT version, EC parameters).
    pub const CONTEXT_0: u8 = 0xa0;
    /// `[1]` primitive (issuerUniqueID).
    pub const CONTEXT_1_PRIMITIVE: u8 = 0x81;
    /// `[2]` primitive (subjectUniqueID, and a SAN's dNSName).
    pub const CONTEXT_2_PRIMITIVE: u8 = 0x82;
    /// `[3]` constructed (certificate extensions).
    pub const CONTEXT_3: u8 = 0xa3;
}

/// One tag-length-value element.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct Tlv<'a> {
    /// The (single-byte) tag.
    pub tag: u8,
    /// The value bytes.
    pub value: &'a [u8],
}

/// Reads consecutive elements from a byte slice.
#[derive(Clone, Debug)]
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The next element, `None` at the end of the input.
    pub fn next_tlv(&mut self) -> Result<Option<Tlv<'a>>, Malformed> {
        let Some((&tag, after_tag)) = self.rest.split_first() else {
            return Ok(None);
        };
        if tag & 0x1f == 0x1f {
            return Err(Malformed); // multi-byte tag: nothing we read uses one
        }
        let (len, after_len) = read_length(after_tag)?;
        if after_len.len() < len {
            return Err(Malformed);
        }
        let (value, rest) = after_len.split_at(len);
        self.rest = rest;
        Ok(Some(Tlv { tag, value }))
    }

    /// The next element's value, which must carry `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<&'a [u8], Malformed> {
        match self.next_tlv()? {
            Some(tlv) if tlv.tag == tag => Ok(tlv.value),
            _ => Err(Malformed),
        }
    }

    /// The next element's value if it carries `tag`; otherwise nothing is consumed.
    pub fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, Malformed> {
        if self.rest.first() != Some(&tag) {
            return Ok(None);
        }
        self.expect(tag).map(Some)
    }
}

/// Reads a definite length; returns it and the bytes after it.
fn read_length(bytes: &[u8]) -> Result<(usize, &[u8]), Malformed> {
    let (&first, rest) = bytes.split_first().ok_or(Malformed)?;
    if first < 0x80 {
        return Ok((usize::from(first), rest));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 || count > 4 || rest.len() < count {
        return Err(Malformed); // indefinite (BER) or absurdly long
    }
    let (digits, rest) = rest.split_at(count);
    let len = digits
        .iter()
        .fold(0usize, |acc, &d| (acc << 8) | usize::from(d));
    Ok((len, rest))
}

/// The bit length of a DER INTEGER's content read as unsigned (leading zero bytes ignored).
pub(super) fn integer_bits(content: &[u8]) -> usize {
    let mut digits = content.iter().skip_while(|&&b| b == 0);
    match digits.next() {
        None => 0,
        Some(&top) => digits.count() * 8 + (8 - top.leading_zeros() as usize),
    }
}

/// An OID's content in dotted form (`1.2.840.10045.3.1.7`), for error messages.
pub(super) fn oid_to_string(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &byte in content {
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    let parts: Vec<String> = arcs.iter().map(u64::to_string).collect();
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(std::iter::repeat_n(0xab, 0x80));
        long.extend([0x02, 0x01, 0x05]);
        let mut reader = Reader::new(&long);
        let first = reader.next_tlv().unwrap().unwrap();
        assert_eq!((first.tag, first.value.len()), (0x04, 0x80));
        assert_eq!(reader.expect(tag::INTEGER).unwrap(), &[0x05]);
        assert_eq!(reader.next_tlv().unwrap(), None);
    }

    #[test]
    fn refuses_truncated_indefinite_and_multibyte_tags() {
        for bad in [
            &[0x30, 0x03, 0x01][..],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x1f, 0x01, 0x00],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30],
        ] {
            assert_eq!(Reader::new(bad).next_tlv(), Err(Malformed), "{bad:02x?}");
        }
    }

    #[test]
    fn optional_consumes_only_a_matching_tag() {
        let bytes = [0x02, 0x01, 0x07];
        let mut reader = Reader::new(&bytes);
        assert_eq!(reader.optional(tag::CONTEXT_0).unwrap(), None);
        assert_eq!(reader.optional(tag::INTEGER).unwrap(), Some(&[0x07][..]));
    }

    #[test]
    fn integer_bits_ignores_the_sign_padding() {
        assert_eq!(integer_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(integer_bits(&[0x01]), 1);
        assert_eq!(integer_bits(&[0x00]), 0);
        assert_eq!(integer_bits(&[]), 0);
    }

    #[test]
    fn oids_print_dotted() {
        assert_eq!(
            oid_to_string(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
            "1.2.840.10045.3.1.7"
        );
        assert_eq!(
            oid_to_string(&[0x2b, 0x81, 0x04, 0x00, 0x23]),
            "1.3.132.0.35"
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let mut reader = Reader::new(&bytes);
            while let Ok(Some(_)) = reader.next_tlv() {}
            let _ = integer_bits(&bytes);
            let _ = oid_to_string(&bytes);
        }
    }
}
