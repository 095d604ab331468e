//! RSS settings: which hash types to ask for, the key, and the redirection table (RETA).
//!
//! Pure functions, so that the choice made for a device is unit-tested without one. The appliance
//! needs the key and RETA that were really programmed (to pick SNAT ports whose return traffic
//! hashes to the right queue), so they are returned as [`RssSetup`].

use edgelb_dpdk_sys as sys;

/// Length of edgelb's Toeplitz key: what most NICs (ixgbe, mlx5, ice in 40-byte mode) take.
pub const RSS_KEY_LEN: usize = 40;

/// edgelb's default key: 0x6d5a repeated. It is symmetric (a tuple and its reverse hash the same),
/// so both directions of an un-NATed flow reach the same queue.
pub const DEFAULT_RSS_KEY: [u8; RSS_KEY_LEN] = {
    let mut k = [0u8; RSS_KEY_LEN];
    let mut i = 0;
    while i < RSS_KEY_LEN {
        k[i] = if i % 2 == 0 { 0x6d } else { 0x5a };
        i += 1;
    }
    k
};

/// Hash types edgelb asks for: IPv4/IPv6 addresses plus TCP and UDP ports.
pub const DEFAULT_RSS_HF: u64 = sys::RTE_ETH_RSS_IP | sys::RTE_ETH_RSS_TCP | sys::RTE_ETH_RSS_UDP;

/// RSS as programmed on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RssSetup {
    /// Hash types in effect (the request masked by what the device supports).
    pub hf: u64,
    /// The Toeplitz key in effect, as long as the device's key.
    pub key: Vec<u8>,
    /// The redirection table: entry i is the rx queue of hash values with `hash % len == i`.
    pub reta: Vec<u16>,
}

/// The hash types to program: the request masked by the device's `flow_type_rss_offloads`;
/// `None` (RSS off) when nothing is left.
pub fn masked_hf(requested: u64, supported: u64) -> Option<u64> {
    let hf = requested & supported;
    (hf != 0).then_some(hf)
}

/// `key` fitted to a device whose key is `hash_key_size` bytes (0: the device does not say, use
/// ours as is): repeated cyclically when the device wants more, cut when it wants less.
pub fn key_for_device(key: &[u8; RSS_KEY_LEN], hash_key_size: u8) -> Vec<u8> {
    let len = if hash_key_size == 0 {
        RSS_KEY_LEN
    } else {
        usize::from(hash_key_size)
    };
    key.iter().copied().cycle().take(len).collect()
}

/// A RETA of `size` entries that spreads `queues` round robin (entry i → queue i % queues).
pub fn round_robin_reta(size: u16, queues: u16) -> Vec<u16> {
    let queues = queues.max(1);
    (0..size).map(|i| i % queues).collect()
}

/// The RETA as DPDK takes it: groups of 64 entries, every entry marked for update.
pub fn reta_groups(reta: &[u16]) -> Vec<sys::rte_eth_rss_reta_entry64> {
    reta.chunks(sys::RTE_ETH_RETA_GROUP_SIZE as usize)
        .map(|chunk| {
            let mut g = sys::rte_eth_rss_reta_entry64 {
                mask: 0,
                reta: [0; 64],
            };
            for (i, q) in chunk.iter().enumerate() {
                g.reta[i] = *q;
                g.mask |= 1u64 << i;
            }
            g
        })
        .collect()
}

/// The flat RETA back from DPDK's groups, `size` entries.
pub fn reta_from_groups(groups: &[sys::rte_eth_rss_reta_entry64], size: u16) -> Vec<u16> {
    groups
        .iter()
        .flat_map(|g| g.reta.iter().copied())
        .take(usize::from(size))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_key_is_symmetric_pattern() {
        assert_eq!(&DEFAULT_RSS_KEY[..4], &[0x6d, 0x5a, 0x6d, 0x5a]);
        assert_eq!(DEFAULT_RSS_KEY[39], 0x5a);
    }

    #[test]
    fn hf_is_masked_by_device_support() {
        let tcp4 = sys::RTE_ETH_RSS_NONFRAG_IPV4_TCP;
        assert_eq!(masked_hf(DEFAULT_RSS_HF, 0), None);
        assert_eq!(masked_hf(DEFAULT_RSS_HF, tcp4 | (1 << 40)), Some(tcp4));
        assert_eq!(masked_hf(0, u64::MAX), None);
    }

    #[test]
    fn key_fits_device_size() {
        let mut key = [0u8; RSS_KEY_LEN];
        for (i, b) in key.iter_mut().enumerate() {
            *b = i as u8;
        }
        assert_eq!(key_for_device(&key, 0), key.to_vec());
        assert_eq!(key_for_device(&key, 40), key.to_vec());
        let k52 = key_for_device(&key, 52);
        assert_eq!(k52.len(), 52);
        assert_eq!(&k52[40..], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(key_for_device(&key, 16), (0..16).collect::<Vec<u8>>());
    }

    #[test]
    fn reta_round_robin_and_groups_round_trip() {
        let reta = round_robin_reta(128, 3);
        assert_eq!(&reta[..7], &[0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(reta[127], 127 % 3);
        let groups = reta_groups(&reta);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].mask, u64::MAX);
        assert_eq!(groups[1].reta[0], 64 % 3);
        assert_eq!(reta_from_groups(&groups, 128), reta);
        assert_eq!(round_robin_reta(4, 0), vec![0, 0, 0, 0]);
    }

    #[test]
    fn partial_group_masks_only_its_entries() {
        let groups = reta_groups(&round_robin_reta(8, 2));
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].mask, 0xff);
        assert_eq!(&groups[0].reta[..9], &[0, 1, 0, 1, 0, 1, 0, 1, 0]);
    }
}
