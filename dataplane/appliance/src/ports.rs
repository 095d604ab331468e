//! Opening the configured ports: find each device EAL probed, configure one rx and one tx queue per worker,
//! RSS where the driver has it, start it, and read back what the driver says (MAC, link, capabilities).

use anyhow::{Context, Result};
use edgelb_config::{ApplianceConfig, Device, PortConfig as PortSection};
use edgelb_dpdk::{DevInfo, Mempool, Port, PortConfig, RxQueue, TxQueue};

/// A started port and what we learned about it.
#[derive(Debug)]
pub struct OpenPort {
    pub name: String,
    pub device: String,
    pub port: Port,
    pub info: DevInfo,
    pub mac: [u8; 6],
    pub queues: u16,
    pub rss: bool,
}

/// The DPDK device name EAL gives a port: the vdev's name (before the first comma) or the PCI address.
pub fn device_name(device: &Device) -> String {
    match device {
        Device::Vdev(spec) => spec.split(',').next().unwrap_or(spec).to_string(),
        Device::Pci(addr) => addr.to_string(),
    }
}

/// The device as written in the config, for messages and status.
pub fn device_spec(device: &Device) -> String {
    match device {
        Device::Vdev(spec) => spec.clone(),
        Device::Pci(addr) => format!("pci {addr}"),
    }
}

/// Opens every port of the config with `queues` rx and tx queues (one per worker).
pub fn open_all(config: &ApplianceConfig, pool: &Mempool, queues: u16) -> Result<Vec<OpenPort>> {
    config
        .ports
        .iter()
        .map(|section| open_one(section, pool, queues))
        .collect()
}

fn open_one(section: &PortSection, pool: &Mempool, queues: u16) -> Result<OpenPort> {
    let name = &section.name;
    let device = device_name(&section.device);
    let spec = device_spec(&section.device);
    let mut port = Port::by_name(&device).with_context(|| {
        format!("port {name:?}: no DPDK device {device:?} (from {spec}); check the vdev spec, or that the PCI device is bound to vfio-pci")
    })?;
    let info = port
        .dev_info()
        .with_context(|| format!("port {name:?}: reading device info"))?;
    if queues > info.max_rx_queues || queues > info.max_tx_queues {
        anyhow::bail!(
            "port {name:?} ({}): {queues} workers need {queues} rx and tx queues, the driver allows {} rx and {} tx \
             (for net_af_packet add qpairs={queues} to the vdev spec)",
            info.driver_name,
            info.max_rx_queues,
            info.max_tx_queues
        );
    }
    let conf = PortConfig {
        rx_queues: queues,
        tx_queues: queues,
        rx_descriptors: section.rx_desc,
        tx_descriptors: section.tx_desc,
        mtu: Some(section.mtu),
        ..PortConfig::default()
    };
    let setup = port
        .configure(&conf, pool)
        .with_context(|| format!("port {name:?} ({device})"))?;
    port.start()
        .with_context(|| format!("port {name:?} ({device})"))?;
    if let Err(e) = port.set_promiscuous(section.promiscuous) {
        // Some virtual devices (net_null) cannot turn it off; frames not for us are dropped and counted anyway.
        if section.promiscuous {
            return Err(e).with_context(|| format!("port {name:?} ({device})"));
        }
        tracing::warn!(port = %name, "cannot turn promiscuous mode off ({e}); frames not for us are dropped by the engine");
    }
    // Neighbour solicitations go to solicited-node multicast groups: take all multicast.
    if let Err(e) = port.enable_allmulticast() {
        tracing::warn!(port = %name, "allmulticast not available ({e}); IPv6 neighbour discovery may not reach us");
    }
    let mac = port
        .mac_addr()
        .with_context(|| format!("port {name:?} ({device})"))?;
    let rss = setup.rss_hf.is_some();
    tracing::info!(
        port = %name, device = %spec, driver = %info.driver_name, dpdk_port = port.id(), queues, rss,
        mac = %crate::status::format_mac(mac), "port started"
    );
    Ok(OpenPort {
        name: name.clone(),
        device: spec,
        port,
        info,
        mac,
        queues,
        rss,
    })
}

impl OpenPort {
    /// Takes this port's rx and tx queue `queue` for a worker.
    pub fn queues_for(&mut self, queue: u16) -> Result<(RxQueue, TxQueue)> {
        let rx = self
            .port
            .rx_queue(queue)
            .with_context(|| format!("port {:?}: rx queue {queue}", self.name))?;
        let tx = self
            .port
            .tx_queue(queue)
            .with_context(|| format!("port {:?}: tx queue {queue}", self.name))?;
        Ok((rx, tx))
    }
}
