//! Thin safe wrappers over DPDK for edgelb: EAL, ports and their queues, mempools, mbufs, lcore
//! launch, rings.
//!
//! Every `unsafe` block of the dataplane lives here or in `edgelb-dpdk-sys`. The fast-path calls
//! ([`RxQueue::rx_burst`], [`TxQueue::tx_burst`], [`Mempool::alloc`], the [`Mbuf`] buffer methods)
//! allocate nothing, take no lock and cannot panic.
//!
//! Order of life: [`Eal::init`] → [`Mempool::pktmbuf`] → [`Port::by_name`] → [`Port::configure`]
//! → [`Port::rx_queue`]/[`Port::tx_queue`] → [`Port::start`] → [`Eal::launch`] workers →
//! [`Eal::wait_all`] → drop ports, pools, then the `Eal` → [`remove_runtime_dir`].

mod cycles;
mod eal;
mod eal_args;
mod error;
mod lcore;
mod mbuf;
mod mempool;
mod port;
mod queue;
mod ring;
mod runtime_dir;

pub use cycles::{pause, tsc_cycles, tsc_hz};
pub use eal::Eal;
pub use eal_args::EalArgs;
pub use error::{rte_errno, strerror, DpdkError};
pub use lcore::{Lcore, LAUNCH_PANICKED};
pub use mbuf::Mbuf;
pub use mempool::{Mempool, DEFAULT_BUF_SIZE, SOCKET_ANY};
pub use port::rss;
pub use port::{
    available_ports, DevInfo, LinkStatus, Port, PortConfig, PortSetup, PortStats, RssSetup,
    DEFAULT_RSS_HF, DEFAULT_RSS_KEY, RSS_KEY_LEN,
};
pub use queue::{RxQueue, TxQueue};
pub use ring::{mbuf_ring, MbufRingConsumer, MbufRingProducer};
pub use runtime_dir::{
    remove_runtime_dir, remove_stale_runtime_dir, runtime_dir, RuntimeDirState, DEFAULT_PREFIX,
};

/// The raw bindings, for what these wrappers do not cover.
pub use edgelb_dpdk_sys as sys;
