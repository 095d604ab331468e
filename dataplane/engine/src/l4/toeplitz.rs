//! The Toeplitz hash of receive-side scaling (RSS), as NICs compute it, and the queue it picks.
//!
//! For each set bit of the input (most significant first), the 32-bit window of the key that starts
//! at that bit is XORed into the result. The hash is linear in the input, so the part of a tuple
//! that does not change (addresses, one port) is hashed once and each candidate port's part is
//! XORed onto it: that is how the SNAT port search tries many ports cheaply.
//!
//! The input of a TCP/UDP tuple is source address, destination address, source port, destination
//! port, all in network order (Microsoft's RSS specification, which NICs follow).

use core::net::IpAddr;

/// The shortest key that covers an IPv6 4-tuple (36 bytes of input + 4).
pub const MIN_KEY_LEN: usize = 40;

/// The Toeplitz hash of `input` under `key`. Bits of the input beyond the key's reach
/// (key length − 4 bytes) are ignored; a key of [`MIN_KEY_LEN`] bytes covers every 4-tuple.
#[inline]
pub fn hash(key: &[u8], input: &[u8]) -> u32 {
    input
        .iter()
        .enumerate()
        .fold(0, |acc, (i, &b)| acc ^ hash_byte(key, i, b))
}

/// What the byte `b` at input offset `at` adds to the hash.
#[inline]
fn hash_byte(key: &[u8], at: usize, b: u8) -> u32 {
    if b == 0 {
        return 0;
    }
    // The 64 key bits from `at` on: the windows of this byte's 8 bits all lie inside.
    let mut window = [0u8; 8];
    for (j, w) in window.iter_mut().enumerate() {
        *w = key.get(at + j).copied().unwrap_or(0);
    }
    let window = u64::from_be_bytes(window);
    (0..8)
        .filter(|bit| b & (0x80 >> bit) != 0)
        .fold(0, |acc, bit| acc ^ (window >> (32 - bit)) as u32)
}

/// The hash of a TCP/UDP 4-tuple as the NIC sees it arriving.
#[inline]
pub fn hash_tuple(key: &[u8], src: IpAddr, dst: IpAddr, sport: u16, dport: u16) -> u32 {
    tuple_base(key, src, dst, sport) ^ port_part(key, src.is_ipv4(), dport)
}

/// The hash of a 4-tuple without its destination port (XOR [`port_part`] for the whole hash).
#[inline]
pub fn tuple_base(key: &[u8], src: IpAddr, dst: IpAddr, sport: u16) -> u32 {
    let mut buf = [0u8; 34];
    let len = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            put(&mut buf, 0, &s.octets());
            put(&mut buf, 4, &d.octets());
            put(&mut buf, 8, &sport.to_be_bytes());
            10
        }
        _ => {
            put(&mut buf, 0, &v6_octets(src));
            put(&mut buf, 16, &v6_octets(dst));
            put(&mut buf, 32, &sport.to_be_bytes());
            34
        }
    };
    hash(key, buf.get(..len).unwrap_or_default())
}

/// What a destination port adds to the hash of a 4-tuple of the given family.
#[inline]
pub fn port_part(key: &[u8], ipv4: bool, dport: u16) -> u32 {
    let at = if ipv4 { 10 } else { 34 };
    let [hi, lo] = dport.to_be_bytes();
    hash_byte(key, at, hi) ^ hash_byte(key, at + 1, lo)
}

/// The queue a hash lands on through the redirection table (its low bits index it, as NICs do
/// with a power-of-two table; other lengths use the remainder). None for an empty table.
#[inline]
pub fn queue(reta: &[u16], hash: u32) -> Option<u16> {
    let len = u32::try_from(reta.len()).ok().filter(|&l| l > 0)?;
    reta.get((hash % len) as usize).copied()
}

fn v6_octets(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn put(buf: &mut [u8], at: usize, src: &[u8]) {
    if let Some(dst) = buf.get_mut(at..at + src.len()) {
        dst.copy_from_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    /// The key of Microsoft's RSS verification suite.
    const KEY: [u8; 40] = [
        0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f,
        0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
        0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
    ];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn addrs_only(src: IpAddr, dst: IpAddr) -> u32 {
        let mut input = Vec::new();
        for a in [src, dst] {
            match a {
                IpAddr::V4(v4) => input.extend_from_slice(&v4.octets()),
                IpAddr::V6(v6) => input.extend_from_slice(&v6.octets()),
            }
        }
        hash(&KEY, &input)
    }

    /// Microsoft's "Verifying the RSS Hash Calculation" tables: (destination, source) with ports,
    /// the hash of the addresses only, and of the addresses and ports.
    #[test]
    fn microsoft_verification_suite_ipv4() {
        let cases = [
            (
                "161.142.100.80",
                1766,
                "66.9.149.187",
                2794,
                0x323e_8fc2,
                0x51cc_c178,
            ),
            (
                "65.69.140.83",
                4739,
                "199.92.111.2",
                14230,
                0xd718_262a,
                0xc626_b0ea,
            ),
            (
                "12.22.207.184",
                38024,
                "24.19.198.95",
                12898,
                0xd2d0_a5de,
                0x5c2b_394a,
            ),
            (
                "209.142.163.6",
                2217,
                "38.27.205.30",
                48228,
                0x8298_9176,
                0xafc7_327f,
            ),
            (
                "202.188.127.2",
                1303,
                "153.39.163.191",
                44251,
                0x5d18_09c5,
                0x10e8_28a2,
            ),
        ];
        for (dst, dport, src, sport, ip_only, with_ports) in cases {
            let (src, dst) = (ip(src), ip(dst));
            assert_eq!(addrs_only(src, dst), ip_only, "{src} -> {dst}");
            assert_eq!(
                hash_tuple(&KEY, src, dst, sport, dport),
                with_ports,
                "{src} -> {dst}"
            );
        }
    }

    #[test]
    fn microsoft_verification_suite_ipv6() {
        let cases = [
            (
                "3ffe:2501:200:3::1",
                1766,
                "3ffe:2501:200:1fff::7",
                2794,
                0x2cc1_8cd5,
                0x4020_7d3d,
            ),
            (
                "ff02::1",
                4739,
                "3ffe:501:8::260:97ff:fe40:efab",
                14230,
                0x0f0c_461c,
                0xdde5_1bbf,
            ),
            (
                "fe80::200:f8ff:fe21:67cf",
                38024,
                "3ffe:1900:4545:3:200:f8ff:fe21:67cf",
                44251,
                0x4b61_e985,
                0x02d1_feef,
            ),
        ];
        for (dst, dport, src, sport, ip_only, with_ports) in cases {
            let (src, dst) = (ip(src), ip(dst));
            assert_eq!(addrs_only(src, dst), ip_only, "{src} -> {dst}");
            assert_eq!(
                hash_tuple(&KEY, src, dst, sport, dport),
                with_ports,
                "{src} -> {dst}"
            );
        }
    }

    #[test]
    fn base_and_port_part_compose() {
        let (s, d) = (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        );
        let base = tuple_base(&KEY, s, d, 80);
        for port in [0u16, 1, 1024, 40000, 65535] {
            let mut input = vec![10, 0, 0, 1, 10, 0, 0, 2, 0, 80];
            input.extend_from_slice(&port.to_be_bytes());
            assert_eq!(base ^ port_part(&KEY, true, port), hash(&KEY, &input));
        }
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(
            tuple_base(&KEY, v6, v6, 1) ^ port_part(&KEY, false, 2),
            hash_tuple(&KEY, v6, v6, 1, 2)
        );
    }

    #[test]
    fn short_keys_and_tables_do_not_panic() {
        assert_eq!(hash(&[], &[0xff; 12]), 0);
        assert_eq!(
            hash(&KEY[..4], &[0x80]),
            u32::from_be_bytes([0x6d, 0x5a, 0x56, 0xda])
        );
        assert_eq!(queue(&[], 7), None);
        assert_eq!(queue(&[3, 5], 7), Some(5));
        assert_eq!(queue(&[3, 5, 9], 7), Some(5));
    }
}
