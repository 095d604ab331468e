//! What a port reports: device capabilities, link, counters.

use std::ffi::CStr;

use edgelb_dpdk_sys as sys;

/// Capabilities of a port's device (`rte_eth_dev_info`), the ones edgelb looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevInfo {
    /// The PMD, e.g. `net_ring`, `net_af_packet`, `net_ixgbe`.
    pub driver_name: String,
    /// Most rx queues the device has.
    pub max_rx_queues: u16,
    /// Most tx queues the device has.
    pub max_tx_queues: u16,
    /// RSS hash types the device can compute (`RTE_ETH_RSS_*` bits); 0: no RSS.
    pub flow_type_rss_offloads: u64,
    /// Entries in the redirection table; 0: none.
    pub reta_size: u16,
    /// Length of the RSS key in bytes; 0: the device does not say.
    pub hash_key_size: u8,
    /// Smallest MTU the device takes.
    pub min_mtu: u16,
    /// Largest MTU the device takes.
    pub max_mtu: u16,
    /// Rx offloads the device has (`RTE_ETH_RX_OFFLOAD_*`).
    pub rx_offload_capa: u64,
    /// Tx offloads the device has (`RTE_ETH_TX_OFFLOAD_*`).
    pub tx_offload_capa: u64,
}

impl DevInfo {
    pub(crate) fn from_raw(raw: &sys::rte_eth_dev_info) -> Self {
        let driver_name = if raw.driver_name.is_null() {
            String::new()
        } else {
            // SAFETY: a non-NULL driver name is a static NUL-terminated string in the PMD.
            unsafe { CStr::from_ptr(raw.driver_name) }
                .to_string_lossy()
                .into_owned()
        };
        DevInfo {
            driver_name,
            max_rx_queues: raw.max_rx_queues,
            max_tx_queues: raw.max_tx_queues,
            flow_type_rss_offloads: raw.flow_type_rss_offloads,
            reta_size: raw.reta_size,
            hash_key_size: raw.hash_key_size,
            min_mtu: raw.min_mtu,
            max_mtu: raw.max_mtu,
            rx_offload_capa: raw.rx_offload_capa,
            tx_offload_capa: raw.tx_offload_capa,
        }
    }
}

/// Link state (`rte_eth_link_get_nowait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatus {
    /// Whether the link is up.
    pub up: bool,
    /// Speed in Mbit/s; 0 when down or unknown.
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
}

impl LinkStatus {
    pub(crate) fn from_raw(raw: &sys::rte_eth_link) -> Self {
        let speed = raw.link_speed;
        LinkStatus {
            up: raw.link_status() != 0,
            speed_mbps: if speed == sys::RTE_ETH_SPEED_NUM_UNKNOWN {
                0
            } else {
                speed
            },
            full_duplex: u32::from(raw.link_duplex()) == sys::RTE_ETH_LINK_FULL_DUPLEX,
        }
    }
}

/// Basic port counters (`rte_eth_stats`), since start or the last reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortStats {
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Packets the NIC dropped because the rx queues were full (workers too slow).
    pub imissed: u64,
    /// Erroneous packets received.
    pub ierrors: u64,
    /// Failed transmissions.
    pub oerrors: u64,
    /// Rx failures for lack of mbufs (pool too small).
    pub rx_nombuf: u64,
}

impl PortStats {
    pub(crate) fn from_raw(raw: &sys::rte_eth_stats) -> Self {
        PortStats {
            ipackets: raw.ipackets,
            opackets: raw.opackets,
            ibytes: raw.ibytes,
            obytes: raw.obytes,
            imissed: raw.imissed,
            ierrors: raw.ierrors,
            oerrors: raw.oerrors,
            rx_nombuf: raw.rx_nombuf,
        }
    }
}

/// The name in an xstat name slot (NUL-terminated inside a fixed array).
pub(crate) fn xstat_name(raw: &sys::rte_eth_xstat_name) -> String {
    let bytes: Vec<u8> = raw
        .name
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_maps_unknown_speed_and_bits() {
        let mut raw = sys::rte_eth_link {
            link_speed: sys::RTE_ETH_SPEED_NUM_UNKNOWN,
            ..Default::default()
        };
        raw.set_link_status(1);
        raw.set_link_duplex(1);
        assert_eq!(
            LinkStatus::from_raw(&raw),
            LinkStatus {
                up: true,
                speed_mbps: 0,
                full_duplex: true
            }
        );
        let raw = sys::rte_eth_link {
            link_speed: 10_000,
            ..Default::default()
        };
        assert_eq!(
            LinkStatus::from_raw(&raw),
            LinkStatus {
                up: false,
                speed_mbps: 10_000,
                full_duplex: false
            }
        );
    }

    #[test]
    fn xstat_names_stop_at_nul() {
        let mut raw = sys::rte_eth_xstat_name { name: [0; 64] };
        for (i, b) in b"rx_good_packets".iter().enumerate() {
            raw.name[i] = *b as std::ffi::c_char;
        }
        assert_eq!(xstat_name(&raw), "rx_good_packets");
    }
}
