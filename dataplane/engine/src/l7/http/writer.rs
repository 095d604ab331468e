//! A cursor over a caller's fixed buffer: heads and answers are written in place, never allocated.

use core::fmt;
use core::net::IpAddr;

/// The caller's buffer is too small for what was to be written into it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("output buffer too small")]
pub struct TooSmall;

/// Appends to a fixed buffer and remembers how much it wrote.
pub(crate) struct Out<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Out<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Out { buf, len: 0 }
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) -> Result<(), TooSmall> {
        let end = self.len.checked_add(bytes.len()).ok_or(TooSmall)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(TooSmall)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// A decimal number.
    pub(crate) fn put_dec(&mut self, mut n: u64) -> Result<(), TooSmall> {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            if let Some(d) = digits.get_mut(at) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || at == 0 {
                break;
            }
        }
        self.put(digits.get(at..).unwrap_or_default())
    }

    /// An address as text (IPv6 without brackets, as X-Forwarded-For carries it).
    pub(crate) fn put_ip(&mut self, ip: IpAddr) -> Result<(), TooSmall> {
        fmt::Write::write_fmt(self, format_args!("{ip}")).map_err(|_| TooSmall)
    }

    /// A header line `name: value\r\n`.
    pub(crate) fn put_header(&mut self, name: &[u8], value: &[u8]) -> Result<(), TooSmall> {
        self.put(name)?;
        self.put(b": ")?;
        self.put(value)?;
        self.put(b"\r\n")
    }
}

impl fmt::Write for Out<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_numbers_addresses_and_refuses_overflow() {
        let mut buf = [0u8; 64];
        let mut out = Out::new(&mut buf);
        out.put_dec(0).unwrap();
        out.put(b" ").unwrap();
        out.put_dec(u64::MAX).unwrap();
        out.put(b" ").unwrap();
        out.put_ip("2001:db8::1".parse().unwrap()).unwrap();
        let n = out.len();
        assert_eq!(&buf[..n], b"0 18446744073709551615 2001:db8::1");
        let mut small = [0u8; 3];
        let mut out = Out::new(&mut small);
        assert_eq!(out.put(b"abcd"), Err(TooSmall));
        assert_eq!(out.put_ip("10.0.0.1".parse().unwrap()), Err(TooSmall));
    }
}
