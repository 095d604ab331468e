//! An Ethernet port (`rte_ethdev`): look-up, configuration, start/stop, and the per-core queue
//! handles the workers use.
//!
//! A port goes Probed → Configured → Started ⇄ Stopped → Closed, and is configured once: queue
//! handles already handed to workers must never name a queue that a reconfiguration removed.
//! Stop and close a port only after its workers have returned ([`crate::Eal::wait_all`]).

mod info;
pub mod rss;

use std::ffi::CString;

use edgelb_dpdk_sys as sys;

pub use info::{DevInfo, LinkStatus, PortStats};
pub use rss::{RssSetup, DEFAULT_RSS_HF, DEFAULT_RSS_KEY, RSS_KEY_LEN};

use crate::eal::ensure_running;
use crate::error::DpdkError;
use crate::mempool::Mempool;
use crate::queue::{RxQueue, TxQueue};

/// How to set a port up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Rx queues (one per worker that polls this port).
    pub rx_queues: u16,
    /// Tx queues (one per worker that sends on this port).
    pub tx_queues: u16,
    /// Descriptors per rx queue (adjusted to the device's limits).
    pub rx_descriptors: u16,
    /// Descriptors per tx queue (adjusted to the device's limits).
    pub tx_descriptors: u16,
    /// MTU; `None` keeps the device's default (1500).
    pub mtu: Option<u16>,
    /// RSS hash types to ask for (`RTE_ETH_RSS_*`); masked by what the device supports, and RSS is
    /// off when nothing is left (single-queue virtual devices). 0: RSS off.
    pub rss_hf: u64,
    /// The Toeplitz key, fitted to the device's key length.
    pub rss_key: [u8; RSS_KEY_LEN],
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            rx_queues: 1,
            tx_queues: 1,
            rx_descriptors: 1024,
            tx_descriptors: 1024,
            mtu: None,
            rss_hf: DEFAULT_RSS_HF,
            rss_key: DEFAULT_RSS_KEY,
        }
    }
}

/// What [`Port::configure`] really set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSetup {
    /// Rx queues.
    pub rx_queues: u16,
    /// Tx queues.
    pub tx_queues: u16,
    /// Descriptors per rx queue after the device's adjustment.
    pub rx_descriptors: u16,
    /// Descriptors per tx queue after the device's adjustment.
    pub tx_descriptors: u16,
    /// The RSS hash types in effect; `None`: RSS off.
    pub rss_hf: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Probed,
    Configured,
    Started,
    Stopped,
    Closed,
}

/// One DPDK Ethernet port, found by its device name.
#[derive(Debug)]
pub struct Port {
    id: u16,
    name: String,
    state: State,
    rss_key: Vec<u8>,
    rss_hf: Option<u64>,
    rss: Option<RssSetup>,
    rx_taken: Vec<bool>,
    tx_taken: Vec<bool>,
}

impl Port {
    /// The port of the device EAL probed under `name`: the vdev name (`net_af_packet0`) or the PCI
    /// address (`0000:01:00.0`).
    pub fn by_name(name: &str) -> Result<Port, DpdkError> {
        ensure_running()?;
        let subject = format!("port {name}");
        let cname = CString::new(name)
            .map_err(|_| DpdkError::invalid(&subject, "name contains a NUL byte"))?;
        let mut id = 0u16;
        // SAFETY: EAL is running; the name is a valid C string and `id` a valid out-pointer.
        let ret = unsafe { sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        if ret != 0 {
            let known: Vec<String> = available_ports().into_iter().map(|(_, n)| n).collect();
            return Err(DpdkError::invalid(
                subject,
                format!("no such DPDK port (EAL has: {})", known.join(", ")),
            ));
        }
        Ok(Port {
            id,
            name: name.to_owned(),
            state: State::Probed,
            rss_key: Vec::new(),
            rss_hf: None,
            rss: None,
            rx_taken: Vec::new(),
            tx_taken: Vec::new(),
        })
    }

    /// The DPDK port id.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The device name it was found by.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn subject(&self) -> String {
        format!("port {} ({})", self.id, self.name)
    }

    fn check(&self, op: impl Into<String>, ret: i32) -> Result<(), DpdkError> {
        if ret < 0 {
            Err(DpdkError::call(self.subject(), op, ret))
        } else {
            Ok(())
        }
    }

    /// The device's capabilities.
    pub fn dev_info(&self) -> Result<DevInfo, DpdkError> {
        let mut raw = sys::rte_eth_dev_info::default();
        // SAFETY: valid port id; `raw` is a valid out-struct DPDK fills.
        let ret = unsafe { sys::rte_eth_dev_info_get(self.id, &mut raw) };
        self.check("rte_eth_dev_info_get", ret)?;
        Ok(DevInfo::from_raw(&raw))
    }

    /// The NUMA socket of the device; [`crate::SOCKET_ANY`] when unknown (virtual devices).
    pub fn socket_id(&self) -> i32 {
        // SAFETY: valid port id; returns the socket or a negative value.
        let s = unsafe { sys::rte_eth_dev_socket_id(self.id) };
        if s < 0 {
            sys::SOCKET_ID_ANY
        } else {
            s
        }
    }

    /// Configures queues, descriptors, MTU and RSS, with rx buffers from `pool`. Once per port.
    pub fn configure(&mut self, cfg: &PortConfig, pool: &Mempool) -> Result<PortSetup, DpdkError> {
        if self.state != State::Probed {
            return Err(DpdkError::invalid(
                self.subject(),
                "already configured (ports are configured once)",
            ));
        }
        let info = self.dev_info()?;
        self.check_limits(cfg, &info)?;
        let mut conf = sys::rte_eth_conf::default();
        if let Some(mtu) = cfg.mtu {
            conf.rxmode.mtu = u32::from(mtu);
        }
        self.rss_hf = if cfg.rss_hf == 0 {
            None
        } else {
            rss::masked_hf(cfg.rss_hf, info.flow_type_rss_offloads)
        };
        if let Some(hf) = self.rss_hf {
            self.rss_key = rss::key_for_device(&cfg.rss_key, info.hash_key_size);
            conf.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_RSS;
            conf.rxmode.offloads |= info.rx_offload_capa & sys::RTE_ETH_RX_OFFLOAD_RSS_HASH;
            conf.rx_adv_conf.rss_conf.rss_key = self.rss_key.as_mut_ptr();
            conf.rx_adv_conf.rss_conf.rss_key_len =
                u8::try_from(self.rss_key.len()).unwrap_or(u8::MAX);
            conf.rx_adv_conf.rss_conf.rss_hf = hf;
        } else {
            tracing::info!(port = %self.name, driver = %info.driver_name, "RSS off: the device hashes none of the requested types");
        }
        let (rxq, txq) = (cfg.rx_queues, cfg.tx_queues);
        // SAFETY: valid port id; `conf` is fully initialised and the key it points to lives in
        // self.rss_key, which DPDK copies during this call.
        let ret = unsafe { sys::rte_eth_dev_configure(self.id, rxq, txq, &conf) };
        self.check(format!("rte_eth_dev_configure rxq={rxq} txq={txq}"), ret)?;

        let (mut nrx, mut ntx) = (cfg.rx_descriptors, cfg.tx_descriptors);
        // SAFETY: valid, configured port; both out-pointers are valid.
        let ret = unsafe { sys::rte_eth_dev_adjust_nb_rx_tx_desc(self.id, &mut nrx, &mut ntx) };
        self.check("rte_eth_dev_adjust_nb_rx_tx_desc", ret)?;
        let socket = u32::try_from(self.socket_id()).unwrap_or(sys::SOCKET_ID_ANY as u32);
        for q in 0..rxq {
            // SAFETY: configured port, q < rxq; NULL rxconf means the device's defaults; the pool
            // is valid (and must outlive the queue: see Mempool's Drop).
            let ret = unsafe {
                sys::rte_eth_rx_queue_setup(
                    self.id,
                    q,
                    nrx,
                    socket,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            };
            self.check(format!("rte_eth_rx_queue_setup queue {q}"), ret)?;
        }
        for q in 0..txq {
            // SAFETY: configured port, q < txq; NULL txconf means the device's defaults.
            let ret =
                unsafe { sys::rte_eth_tx_queue_setup(self.id, q, ntx, socket, std::ptr::null()) };
            self.check(format!("rte_eth_tx_queue_setup queue {q}"), ret)?;
        }
        self.rx_taken = vec![false; usize::from(rxq)];
        self.tx_taken = vec![false; usize::from(txq)];
        self.state = State::Configured;
        Ok(PortSetup {
            rx_queues: rxq,
            tx_queues: txq,
            rx_descriptors: nrx,
            tx_descriptors: ntx,
            rss_hf: self.rss_hf,
        })
    }

    fn check_limits(&self, cfg: &PortConfig, info: &DevInfo) -> Result<(), DpdkError> {
        let s = self.subject();
        if cfg.rx_queues == 0 || cfg.rx_queues > info.max_rx_queues {
            let why = format!(
                "{} rx queues asked, device has 1..={}",
                cfg.rx_queues, info.max_rx_queues
            );
            return Err(DpdkError::invalid(s, why));
        }
        if cfg.tx_queues == 0 || cfg.tx_queues > info.max_tx_queues {
            let why = format!(
                "{} tx queues asked, device has 1..={}",
                cfg.tx_queues, info.max_tx_queues
            );
            return Err(DpdkError::invalid(s, why));
        }
        match cfg.mtu {
            Some(mtu) if mtu < info.min_mtu || (info.max_mtu != 0 && mtu > info.max_mtu) => {
                Err(DpdkError::invalid(
                    s,
                    format!("MTU {mtu} outside {}..={}", info.min_mtu, info.max_mtu),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Starts the port, then programs the RSS redirection table (round robin over the rx queues;
    /// devices rewrite it at start, so it is set after).
    pub fn start(&mut self) -> Result<(), DpdkError> {
        if !matches!(self.state, State::Configured | State::Stopped) {
            return Err(DpdkError::invalid(
                self.subject(),
                "start: not configured, or already started/closed",
            ));
        }
        // SAFETY: valid, configured port with all queues set up.
        let ret = unsafe { sys::rte_eth_dev_start(self.id) };
        self.check("rte_eth_dev_start", ret)?;
        self.state = State::Started;
        if let Some(hf) = self.rss_hf {
            self.rss = Some(self.program_reta(hf)?);
        }
        Ok(())
    }

    fn program_reta(&self, hf: u64) -> Result<RssSetup, DpdkError> {
        let info = self.dev_info()?;
        let queues = u16::try_from(self.rx_taken.len()).unwrap_or(u16::MAX);
        let wanted = rss::round_robin_reta(info.reta_size, queues);
        if info.reta_size == 0 {
            return Ok(RssSetup {
                hf,
                key: self.rss_key.clone(),
                reta: wanted,
            });
        }
        let mut groups = rss::reta_groups(&wanted);
        // SAFETY: started port; `groups` holds reta_size entries in 64-entry groups, as DPDK reads.
        let ret = unsafe {
            sys::rte_eth_dev_rss_reta_update(self.id, groups.as_mut_ptr(), info.reta_size)
        };
        if ret < 0 {
            tracing::warn!(
                "{}",
                DpdkError::call(self.subject(), "rte_eth_dev_rss_reta_update", ret)
            );
        }
        let mut read = rss::reta_groups(&vec![0; usize::from(info.reta_size)]);
        // SAFETY: as above; DPDK writes the entries whose mask bit is set (all of them).
        let ret =
            unsafe { sys::rte_eth_dev_rss_reta_query(self.id, read.as_mut_ptr(), info.reta_size) };
        let reta = if ret < 0 {
            wanted
        } else {
            rss::reta_from_groups(&read, info.reta_size)
        };
        Ok(RssSetup {
            hf,
            key: self.rss_key.clone(),
            reta,
        })
    }

    /// RSS as programmed (after [`Port::start`]); `None` when RSS is off.
    pub fn rss(&self) -> Option<&RssSetup> {
        self.rss.as_ref()
    }

    /// Stops the port; its workers must have returned first.
    pub fn stop(&mut self) -> Result<(), DpdkError> {
        if self.state != State::Started {
            return Ok(());
        }
        // SAFETY: valid, started port; no worker polls it any more (documented precondition).
        let ret = unsafe { sys::rte_eth_dev_stop(self.id) };
        self.check("rte_eth_dev_stop", ret)?;
        self.state = State::Stopped;
        Ok(())
    }

    /// Stops (if started) and closes the port, releasing its queues and their mbufs.
    pub fn close(mut self) -> Result<(), DpdkError> {
        self.close_once()
    }

    fn close_once(&mut self) -> Result<(), DpdkError> {
        if self.state == State::Closed {
            return Ok(());
        }
        self.stop()?;
        self.state = State::Closed;
        // SAFETY: valid, stopped port; queue handles that outlive it see DPDK's dummy burst functions.
        let ret = unsafe { sys::rte_eth_dev_close(self.id) };
        self.check("rte_eth_dev_close", ret)
    }

    /// Promiscuous mode on or off.
    pub fn set_promiscuous(&mut self, on: bool) -> Result<(), DpdkError> {
        // SAFETY: valid port id.
        let ret = unsafe {
            if on {
                sys::rte_eth_promiscuous_enable(self.id)
            } else {
                sys::rte_eth_promiscuous_disable(self.id)
            }
        };
        self.check(
            if on {
                "rte_eth_promiscuous_enable"
            } else {
                "rte_eth_promiscuous_disable"
            },
            ret,
        )
    }

    /// Receives all multicast (ND, VRRP, routing protocols).
    pub fn enable_allmulticast(&mut self) -> Result<(), DpdkError> {
        // SAFETY: valid port id.
        let ret = unsafe { sys::rte_eth_allmulticast_enable(self.id) };
        self.check("rte_eth_allmulticast_enable", ret)
    }

    /// The port's MAC address.
    pub fn mac_addr(&self) -> Result<[u8; 6], DpdkError> {
        let mut mac = sys::rte_ether_addr::default();
        // SAFETY: valid port id; `mac` is a valid out-struct.
        let ret = unsafe { sys::rte_eth_macaddr_get(self.id, &mut mac) };
        self.check("rte_eth_macaddr_get", ret)?;
        Ok(mac.addr_bytes)
    }

    /// The link state, without waiting for auto-negotiation.
    pub fn link(&self) -> Result<LinkStatus, DpdkError> {
        let mut raw = sys::rte_eth_link::default();
        // SAFETY: valid port id; `raw` is a valid out-struct.
        let ret = unsafe { sys::rte_eth_link_get_nowait(self.id, &mut raw) };
        self.check("rte_eth_link_get_nowait", ret)?;
        Ok(LinkStatus::from_raw(&raw))
    }

    /// The basic counters.
    pub fn stats(&self) -> Result<PortStats, DpdkError> {
        let mut raw = sys::rte_eth_stats::default();
        // SAFETY: valid port id; `raw` is a valid out-struct. Safe while workers run.
        let ret = unsafe { sys::rte_eth_stats_get(self.id, &mut raw) };
        self.check("rte_eth_stats_get", ret)?;
        Ok(PortStats::from_raw(&raw))
    }

    /// Every extended counter the driver has, by name. Allocates: not for the fast path.
    pub fn xstats(&self) -> Result<Vec<(String, u64)>, DpdkError> {
        // SAFETY: valid port id; NULL with size 0 asks for the count.
        let n = unsafe { sys::rte_eth_xstats_get_names(self.id, std::ptr::null_mut(), 0) };
        self.check("rte_eth_xstats_get_names", n)?;
        let size = u32::try_from(n).unwrap_or(0);
        let mut names = vec![sys::rte_eth_xstat_name { name: [0; 64] }; size as usize];
        // SAFETY: `names` has room for `size` entries.
        let got = unsafe { sys::rte_eth_xstats_get_names(self.id, names.as_mut_ptr(), size) };
        self.check("rte_eth_xstats_get_names", got)?;
        let mut values = vec![sys::rte_eth_xstat { id: 0, value: 0 }; size as usize];
        // SAFETY: `values` has room for `size` entries.
        let got = unsafe { sys::rte_eth_xstats_get(self.id, values.as_mut_ptr(), size) };
        self.check("rte_eth_xstats_get", got)?;
        let got = usize::try_from(got).unwrap_or(0).min(values.len());
        Ok(values[..got]
            .iter()
            .filter_map(|v| {
                let name = names.get(usize::try_from(v.id).ok()?)?;
                Some((info::xstat_name(name), v.value))
            })
            .collect())
    }

    /// The handle for rx queue `queue`, for the one worker that polls it. Each queue once.
    pub fn rx_queue(&mut self, queue: u16) -> Result<RxQueue, DpdkError> {
        let subject = self.subject();
        take(&mut self.rx_taken, queue, "rx", &subject)?;
        Ok(RxQueue::new(self.id, queue))
    }

    /// The handle for tx queue `queue`, for the one worker that sends on it. Each queue once.
    pub fn tx_queue(&mut self, queue: u16) -> Result<TxQueue, DpdkError> {
        let subject = self.subject();
        take(&mut self.tx_taken, queue, "tx", &subject)?;
        Ok(TxQueue::new(self.id, queue))
    }
}

fn take(taken: &mut [bool], queue: u16, dir: &str, subject: &str) -> Result<(), DpdkError> {
    match taken.get_mut(usize::from(queue)) {
        None => Err(DpdkError::invalid(
            subject,
            format!("{dir} queue {queue} is not configured"),
        )),
        Some(true) => Err(DpdkError::invalid(
            subject,
            format!("{dir} queue {queue} was already taken"),
        )),
        Some(t) => {
            *t = true;
            Ok(())
        }
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        if let Err(e) = self.close_once() {
            tracing::warn!("{e}");
        }
    }
}

/// Every port EAL probed, as (id, device name). Empty before EAL init.
pub fn available_ports() -> Vec<(u16, String)> {
    if ensure_running().is_err() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for id in 0..sys::RTE_MAX_ETHPORTS as u16 {
        // SAFETY: EAL is running; any id below RTE_MAX_ETHPORTS may be asked about.
        if unsafe { sys::rte_eth_dev_is_valid_port(id) } == 0 {
            continue;
        }
        let mut buf = [0 as std::ffi::c_char; sys::RTE_ETH_NAME_MAX_LEN as usize];
        // SAFETY: valid port; `buf` has RTE_ETH_NAME_MAX_LEN bytes, as DPDK writes at most.
        if unsafe { sys::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) } == 0 {
            let bytes: Vec<u8> = buf
                .iter()
                .take_while(|c| **c != 0)
                .map(|c| *c as u8)
                .collect();
            out.push((id, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}
