//! The flow hashes: XXH64 over a flow's canonical bytes.
//!
//! XXH64 (Yann Collet's xxHash, 64-bit variant) is well known, fast on short inputs and well mixed,
//! and its output is defined byte for byte. Maglev slots are chosen from these hashes, so two
//! appliances with the same seed must compute the same value for the same flow: the byte layout
//! encoded by [`FlowKey::encode`] and the algorithm here are part of that contract.
//!
//! Never use std's `RandomState` here: it differs per process.

use core::net::IpAddr;

use crate::flow::FlowKey;

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

/// The hash of a flow's 5-tuple: what a listener without affinity hashes into its Maglev table.
#[inline]
pub fn hash_5tuple(seed: u64, key: &FlowKey) -> u64 {
    let mut buf = [0u8; FlowKey::MAX_ENCODED_LEN];
    let len = key.encode(&mut buf);
    xxh64(seed, buf.get(..len).unwrap_or(&buf))
}

/// The hash of a source address alone: what a listener with `affinity: client-ip` hashes.
#[inline]
pub fn hash_source(seed: u64, ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => xxh64(seed, &v4.octets()),
        IpAddr::V6(v6) => xxh64(seed, &v6.octets()),
    }
}

/// XXH64 of `bytes` with `seed`.
pub fn xxh64(seed: u64, bytes: &[u8]) -> u64 {
    let mut rest = bytes;
    let mut h = if bytes.len() >= 32 {
        let mut acc = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        while let Some((stripe, tail)) = rest.split_first_chunk::<32>() {
            for (v, lane) in acc.iter_mut().zip(stripe.chunks_exact(8)) {
                *v = round(*v, read_u64(lane));
            }
            rest = tail;
        }
        let [v1, v2, v3, v4] = acc;
        let mut h = v1
            .rotate_left(1)
            .wrapping_add(v2.rotate_left(7))
            .wrapping_add(v3.rotate_left(12))
            .wrapping_add(v4.rotate_left(18));
        for v in acc {
            h = merge_round(h, v);
        }
        h
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(bytes.len() as u64);
    while let Some((lane, tail)) = rest.split_first_chunk::<8>() {
        h ^= round(0, u64::from_le_bytes(*lane));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        rest = tail;
    }
    if let Some((word, tail)) = rest.split_first_chunk::<4>() {
        h ^= u64::from(u32::from_le_bytes(*word)).wrapping_mul(P1);
        h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = tail;
    }
    for &b in rest {
        h ^= u64::from(b).wrapping_mul(P5);
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    avalanche(h)
}

#[inline]
fn round(acc: u64, lane: u64) -> u64 {
    acc.wrapping_add(lane.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

#[inline]
fn merge_round(acc: u64, v: u64) -> u64 {
    (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4)
}

/// XXH64's final mix: every input bit flips about half of the output bits.
#[inline]
pub(crate) fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// The first 8 bytes of `lane` as a little-endian word (callers pass exactly 8).
#[inline]
fn read_u64(lane: &[u8]) -> u64 {
    lane.first_chunk::<8>()
        .map_or(0, |b| u64::from_le_bytes(*b))
}

#[cfg(test)]
mod tests {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::flow::Proto;

    fn counting(n: u8) -> Vec<u8> {
        (0..n).collect()
    }

    /// Reference values from the xxHash project's own implementation (python `xxhash` 3.x).
    #[test]
    fn matches_reference_xxh64() {
        assert_eq!(xxh64(0, b""), 0xef46_db37_51d8_e999);
        assert_eq!(xxh64(0, b"a"), 0xd24e_c4f1_a98c_6e5b);
        assert_eq!(xxh64(0, b"abc"), 0x44bc_2cf5_ad77_0999);
        assert_eq!(xxh64(1, b"abc"), 0xbea9_ca81_9932_8908);
        assert_eq!(xxh64(7, &counting(13)), 0x8778_b280_63fb_3b84);
        assert_eq!(
            xxh64(0x9e37_79b9_7f4a_7c15, &counting(37)),
            0x5475_db57_4caa_6a58
        );
        assert_eq!(xxh64(42, &counting(100)), 0x819d_2b72_6001_d507);
    }

    #[test]
    fn five_tuple_hash_is_xxh64_of_the_encoding() {
        let key = FlowKey {
            src: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 10)),
            sport: 40000,
            dport: 443,
            proto: Proto::Tcp,
        };
        let bytes = [198, 18, 0, 1, 198, 19, 0, 10, 0x9c, 0x40, 0x01, 0xbb, 6];
        assert_eq!(hash_5tuple(5, &key), xxh64(5, &bytes));
        assert_ne!(hash_5tuple(5, &key), hash_5tuple(6, &key));
    }

    #[test]
    fn source_hash_covers_the_address_only() {
        let v6 = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 7);
        assert_eq!(hash_source(9, IpAddr::V6(v6)), xxh64(9, &v6.octets()));
        assert_eq!(
            hash_source(9, IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4))),
            xxh64(9, &[1, 2, 3, 4])
        );
    }

    #[test]
    fn nearby_ports_give_unrelated_hashes() {
        let base = FlowKey {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            sport: 1000,
            dport: 80,
            proto: Proto::Udp,
        };
        let mut total = 0u32;
        for port in 1001..1257u16 {
            let other = FlowKey {
                sport: port,
                ..base
            };
            total += (hash_5tuple(1, &base) ^ hash_5tuple(1, &other)).count_ones();
        }
        let mean = f64::from(total) / 256.0;
        assert!((28.0..36.0).contains(&mean), "mean flipped bits {mean}");
    }
}
