//! The generator's ports: the EAL device arguments for the --tx and --rx specs, and opening them
//! (one port when both specs are the same device).

use anyhow::{Context, Result};
use edgelb_dpdk::{EalArgs, Mempool, Port, PortConfig, PortStats, RxQueue, TxQueue};

use crate::summary::PortCounters;

/// Whether `spec` names a PCI device (`0000:01:00.0`, `01:00.0`) rather than a vdev.
pub fn is_pci(spec: &str) -> bool {
    !spec.contains(',')
        && spec.contains(':')
        && spec.contains('.')
        && spec
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
}

/// The name EAL gives the device of `spec`: the vdev name before the first comma, or the PCI address.
pub fn device_name(spec: &str) -> &str {
    spec.split(',').next().unwrap_or(spec)
}

/// Adds the devices of `tx` and `rx` (once when they are the same device) to EAL's arguments.
pub fn with_devices(mut args: EalArgs, tx: &str, rx: &str) -> EalArgs {
    let mut specs = vec![tx];
    if device_name(rx) != device_name(tx) {
        specs.push(rx);
    }
    for spec in specs {
        args = if is_pci(spec) {
            args.pci(spec)
        } else {
            args.vdev(spec)
        };
    }
    args
}

/// The opened ports: the sender's and, when it is another device, the receiver's.
#[derive(Debug)]
pub struct OpenPorts {
    /// The sending port.
    pub tx: Port,
    /// The receiving port; `None` when it is the sending one.
    pub rx: Option<Port>,
}

fn open(spec: &str, pool: &Mempool) -> Result<Port> {
    let name = device_name(spec);
    let mut port =
        Port::by_name(name).with_context(|| format!("no DPDK port {name:?} (from {spec})"))?;
    let conf = PortConfig {
        rx_queues: 1,
        tx_queues: 1,
        rss_hf: 0,
        ..PortConfig::default()
    };
    port.configure(&conf, pool)
        .with_context(|| format!("configuring {spec}"))?;
    port.start().with_context(|| format!("starting {spec}"))?;
    Ok(port)
}

impl OpenPorts {
    /// Opens and starts the ports of `tx` and `rx`, the receiving one promiscuous (frames a switch
    /// floods to it carry other MACs).
    pub fn open(tx: &str, rx: &str, pool: &Mempool) -> Result<Self> {
        let tx_port = open(tx, pool)?;
        let mut ports = OpenPorts {
            tx: tx_port,
            rx: None,
        };
        if device_name(rx) != device_name(tx) {
            ports.rx = Some(open(rx, pool)?);
        }
        if let Err(e) = ports.rx_port_mut().set_promiscuous(true) {
            eprintln!("edgelb-trafficgen: warning: {rx}: promiscuous mode not set: {e}");
        }
        Ok(ports)
    }

    fn rx_port_mut(&mut self) -> &mut Port {
        match &mut self.rx {
            Some(p) => p,
            None => &mut self.tx,
        }
    }

    fn rx_port(&self) -> &Port {
        self.rx.as_ref().unwrap_or(&self.tx)
    }

    /// The queues: tx queue 0 of the sending port, rx queue 0 of the receiving one.
    pub fn queues(&mut self) -> Result<(TxQueue, RxQueue)> {
        let txq = self.tx.tx_queue(0).context("tx queue")?;
        let rxq = self.rx_port_mut().rx_queue(0).context("rx queue")?;
        Ok((txq, rxq))
    }

    /// The counters of both ports now.
    pub fn stats(&self) -> Result<(PortStats, PortStats)> {
        Ok((
            self.tx.stats().context("tx port stats")?,
            self.rx_port().stats().context("rx port stats")?,
        ))
    }

    /// Stops and closes both ports.
    pub fn close(self) {
        for port in [Some(self.tx), self.rx].into_iter().flatten() {
            let name = port.name().to_owned();
            if let Err(e) = port.close() {
                eprintln!("edgelb-trafficgen: warning: closing {name}: {e}");
            }
        }
    }
}

/// `after - before`, counter by counter.
pub fn counters_between(before: &PortStats, after: &PortStats) -> PortCounters {
    PortCounters {
        ipackets: after.ipackets.saturating_sub(before.ipackets),
        opackets: after.opackets.saturating_sub(before.opackets),
        imissed: after.imissed.saturating_sub(before.imissed),
        ierrors: after.ierrors.saturating_sub(before.ierrors),
        oerrors: after.oerrors.saturating_sub(before.oerrors),
        rx_nombuf: after.rx_nombuf.saturating_sub(before.rx_nombuf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pci_or_vdev() {
        assert!(is_pci("0000:01:00.0"));
        assert!(is_pci("01:00.1"));
        assert!(!is_pci("net_af_packet0,iface=eth0"));
        assert!(!is_pci("net_tap0"));
        assert_eq!(
            device_name("net_af_packet1,iface=eth0,qpairs=1"),
            "net_af_packet1"
        );
        assert_eq!(device_name("0000:01:00.0"), "0000:01:00.0");
    }

    #[test]
    fn one_device_is_probed_once() {
        let two = with_devices(
            EalArgs::new("g"),
            "net_af_packet0,iface=a",
            "net_af_packet1,iface=b",
        )
        .build();
        assert_eq!(
            two,
            [
                "g",
                "--no-pci",
                "--vdev",
                "net_af_packet0,iface=a",
                "--vdev",
                "net_af_packet1,iface=b"
            ]
        );
        let one = with_devices(
            EalArgs::new("g"),
            "net_af_packet0,iface=a",
            "net_af_packet0,iface=a",
        )
        .build();
        assert_eq!(one, ["g", "--no-pci", "--vdev", "net_af_packet0,iface=a"]);
        let pci = with_devices(EalArgs::new("g"), "0000:01:00.0", "0000:01:00.1").build();
        assert_eq!(pci, ["g", "-a", "0000:01:00.0", "-a", "0000:01:00.1"]);
    }

    #[test]
    fn counters_are_differences() {
        let before = PortStats {
            ipackets: 10,
            opackets: 5,
            imissed: 1,
            ..Default::default()
        };
        let after = PortStats {
            ipackets: 110,
            opackets: 5,
            imissed: 4,
            oerrors: 2,
            ..Default::default()
        };
        let c = counters_between(&before, &after);
        assert_eq!(
            (c.ipackets, c.opackets, c.imissed, c.oerrors, c.ierrors),
            (100, 0, 3, 2, 0)
        );
    }
}
