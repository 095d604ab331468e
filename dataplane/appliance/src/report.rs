//! Gathers the status document from the ports' own counters and the workers' published reports.

use std::collections::BTreeMap;
use std::time::Instant;

use edgelb_engine::Counters;

use crate::ports::OpenPort;
use crate::shared::Shared;
use crate::status::{
    format_mac, BackendStatus, ListenerStatus, NeighbourRow, PortCounters, PortStatus, StatusDoc,
    WorkerStatus,
};

/// Facts about this process that do not change while it runs.
#[derive(Debug)]
pub struct Identity {
    pub boot_id: String,
    pub started: Instant,
    pub config: String,
}

impl Identity {
    pub fn new(config: String) -> Self {
        Self {
            boot_id: new_boot_id(),
            started: Instant::now(),
            config,
        }
    }
}

/// A random id per start, from the kernel (no extra dependency for a one-off).
fn new_boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| format!("{:x}-{}", std::process::id(), chrono_free_nanos()))
}

fn chrono_free_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// The status document now.
pub fn status(
    id: &Identity,
    ports: &[OpenPort],
    config: &edgelb_config::ApplianceConfig,
    shared: &Shared,
) -> StatusDoc {
    let mut totals = Counters::default();
    let mut workers = Vec::new();
    let mut neighbours = Vec::new();
    for (index, w) in shared.workers.iter().enumerate() {
        let report = w.report.load();
        totals.add(&report.counters);
        let counters = report
            .counters
            .iter()
            .filter(|(_, v)| *v != 0)
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        workers.push(WorkerStatus {
            index,
            lcore: w.lcore,
            tx_dropped: report.tx_dropped,
            handoff_dropped: report.handoff_dropped,
            counters,
        });
        for n in &report.neighbours {
            let port = ports
                .get(usize::from(n.port))
                .map(|p| p.name.clone())
                .unwrap_or_else(|| n.port.to_string());
            neighbours.push(NeighbourRow {
                ip: n.ip.to_string(),
                mac: n.mac.map(format_mac),
                port,
                state: n.state.to_string(),
                age_ms: n.age_ms,
                worker: index,
            });
        }
    }
    neighbours.sort_by(|a, b| (&a.ip, a.worker).cmp(&(&b.ip, b.worker)));
    let totals: BTreeMap<String, u64> = totals.iter().map(|(k, v)| (k.to_string(), v)).collect();
    StatusDoc {
        version: env!("CARGO_PKG_VERSION").to_string(),
        boot_id: id.boot_id.clone(),
        pid: std::process::id(),
        uptime_s: id.started.elapsed().as_secs_f64(),
        config: id.config.clone(),
        generation: shared.generation(),
        desired_generation: None,
        desired_source: None,
        listeners: listeners(config),
        l7_listeners: Vec::new(),
        ports: ports
            .iter()
            .enumerate()
            .map(|(i, p)| port_status(i, p, config))
            .collect(),
        workers,
        totals,
        neighbours,
    }
}

fn listeners(config: &edgelb_config::ApplianceConfig) -> Vec<ListenerStatus> {
    config
        .listeners
        .iter()
        .map(|l| ListenerStatus {
            name: l.name.clone(),
            vip: l.vip.to_string(),
            port: l.port,
            protocol: l.protocol.to_string(),
            pool: l.pool.clone(),
            affinity: match l.affinity {
                edgelb_config::Affinity::None => "none".to_string(),
                edgelb_config::Affinity::ClientIp { timeout } => {
                    format!("client-ip {}s", timeout.as_secs())
                }
            },
            backends: config
                .pool(&l.pool)
                .map(|p| {
                    p.backends
                        .iter()
                        .map(|b| BackendStatus {
                            address: b.address.to_string(),
                            port: b.port,
                            weight: b.weight,
                            state: match b.state {
                                edgelb_config::BackendState::Active => "active".to_string(),
                                edgelb_config::BackendState::Draining => "draining".to_string(),
                            },
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

fn port_status(index: usize, p: &OpenPort, config: &edgelb_config::ApplianceConfig) -> PortStatus {
    let link = p.port.link().ok();
    let stats = p.port.stats().unwrap_or_default();
    let addresses = config
        .ports
        .get(index)
        .map(|c| {
            c.ipv4
                .iter()
                .map(|a| a.to_string())
                .chain(c.ipv6.iter().map(|a| a.to_string()))
                .collect()
        })
        .unwrap_or_default();
    PortStatus {
        index: u16::try_from(index).unwrap_or(u16::MAX),
        name: p.name.clone(),
        dpdk_port: p.port.id(),
        device: p.device.clone(),
        driver: p.info.driver_name.clone(),
        mac: format_mac(p.mac),
        link_up: link.as_ref().is_some_and(|l| l.up),
        speed_mbps: link.map(|l| l.speed_mbps).unwrap_or(0),
        addresses,
        queues: p.queues,
        rss: p.rss,
        stats: PortCounters {
            ipackets: stats.ipackets,
            opackets: stats.opackets,
            ibytes: stats.ibytes,
            obytes: stats.obytes,
            imissed: stats.imissed,
            ierrors: stats.ierrors,
            oerrors: stats.oerrors,
            rx_nombuf: stats.rx_nombuf,
        },
    }
}
