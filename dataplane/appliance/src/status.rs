//! The status document: what the admin socket answers to `status`, and how `edgelb-dataplane status` prints it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Everything a person (or a test) wants to know about a running dataplane.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusDoc {
    pub version: String,
    /// Random per start: a change tells a client that the dataplane restarted.
    pub boot_id: String,
    pub pid: u32,
    pub uptime_s: f64,
    pub config: String,
    /// Generation of the configuration snapshot the workers run (1 at start, +1 per applied reload or put).
    pub generation: u64,
    /// Generation of the desired state applied on top of the config file, if one was pushed.
    #[serde(default)]
    pub desired_generation: Option<u64>,
    /// Who pushed it.
    #[serde(default)]
    pub desired_source: Option<String>,
    pub ports: Vec<PortStatus>,
    /// L4 listeners with their pools, as configured now.
    #[serde(default)]
    pub listeners: Vec<ListenerStatus>,
    /// L7 (HTTP/HTTPS) listeners of the desired state, with their hosts.
    #[serde(default)]
    pub l7_listeners: Vec<L7ListenerStatus>,
    pub workers: Vec<WorkerStatus>,
    /// Engine counters summed over the workers (every counter, zeros included).
    pub totals: BTreeMap<String, u64>,
    pub neighbours: Vec<NeighbourRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortStatus {
    pub index: u16,
    pub name: String,
    pub dpdk_port: u16,
    pub device: String,
    pub driver: String,
    pub mac: String,
    pub link_up: bool,
    pub speed_mbps: u32,
    pub addresses: Vec<String>,
    pub queues: u16,
    pub rss: bool,
    pub stats: PortCounters,
}

/// The port's own (NIC or PMD) counters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PortCounters {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

/// One L4 listener: VIP:port/protocol → pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerStatus {
    pub name: String,
    pub vip: String,
    pub port: u16,
    pub protocol: String,
    pub pool: String,
    /// `none`, or `client-ip Ns`.
    pub affinity: String,
    pub backends: Vec<BackendStatus>,
}

/// One L7 listener: VIP:port, TLS or not, its hosts (with their route counts) and default pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L7ListenerStatus {
    pub name: String,
    pub vip: String,
    pub port: u16,
    pub tls: bool,
    /// `host (N routes)`; `*` for the host-less rules.
    pub hosts: Vec<String>,
    pub default_pool: Option<String>,
    pub default_certificate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendStatus {
    pub address: String,
    pub port: u16,
    pub weight: u32,
    /// `active` or `draining`.
    pub state: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerStatus {
    pub index: usize,
    pub lcore: u32,
    /// Frames the NIC queue did not take (tx ring full); freed and counted here.
    pub tx_dropped: u64,
    /// Frames for another core that did not fit in its hand-off ring.
    pub handoff_dropped: u64,
    /// Non-zero engine counters of this core.
    pub counters: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighbourRow {
    pub ip: String,
    pub mac: Option<String>,
    pub port: String,
    pub state: String,
    pub age_ms: u64,
    pub worker: usize,
}

/// Formats a MAC address the way `ip link` does.
pub fn format_mac(mac: [u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

/// Renders the document as tables for a person.
pub fn render(doc: &StatusDoc) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "edgelb-dataplane {}  pid {}  boot {}  up {:.0}s  config {} (generation {})",
        doc.version, doc.pid, doc.boot_id, doc.uptime_s, doc.config, doc.generation
    );
    if let (Some(g), Some(source)) = (doc.desired_generation, &doc.desired_source) {
        let _ = writeln!(out, "desired state generation {g} from {source}");
    }
    render_ports(&mut out, &doc.ports);
    render_listeners(&mut out, &doc.listeners);
    render_l7_listeners(&mut out, &doc.l7_listeners);
    render_neighbours(&mut out, &doc.neighbours);
    render_workers(&mut out, doc);
    out
}

fn render_ports(out: &mut String, ports: &[PortStatus]) {
    let _ = writeln!(out, "\nPORTS");
    let _ = writeln!(
        out,
        "{:<3} {:<10} {:<18} {:<6} {:>6} {:>12} {:>12} {:>9} {:>8}  addresses",
        "#", "name", "mac", "link", "queues", "rx pkts", "tx pkts", "rx miss", "errors"
    );
    for p in ports {
        let link = if p.link_up { "up" } else { "down" };
        let errors = p.stats.ierrors + p.stats.oerrors + p.stats.rx_nombuf;
        let _ = writeln!(
            out,
            "{:<3} {:<10} {:<18} {:<6} {:>6} {:>12} {:>12} {:>9} {:>8}  {}",
            p.index,
            p.name,
            p.mac,
            link,
            p.queues,
            p.stats.ipackets,
            p.stats.opackets,
            p.stats.imissed,
            errors,
            p.addresses.join(" ")
        );
        let _ = writeln!(
            out,
            "    {} ({}), dpdk port {}, rss {}",
            p.device, p.driver, p.dpdk_port, p.rss
        );
    }
}

fn render_l7_listeners(out: &mut String, listeners: &[L7ListenerStatus]) {
    if listeners.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nL7 LISTENERS");
    let _ = writeln!(
        out,
        "{:<20} {:<26} {:<5} {:<28} hosts",
        "name", "vip:port", "tls", "default pool"
    );
    for l in listeners {
        let vip = if l.vip.contains(':') {
            format!("[{}]:{}", l.vip, l.port)
        } else {
            format!("{}:{}", l.vip, l.port)
        };
        let _ = writeln!(
            out,
            "{:<20} {:<26} {:<5} {:<28} {}",
            l.name,
            vip,
            if l.tls { "yes" } else { "no" },
            l.default_pool.as_deref().unwrap_or("- (404)"),
            l.hosts.join(", ")
        );
    }
}

fn render_listeners(out: &mut String, listeners: &[ListenerStatus]) {
    if listeners.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nLISTENERS");
    let _ = writeln!(
        out,
        "{:<14} {:<30} {:<16} {:<14} backends (weight, state)",
        "name", "vip:port/proto", "pool", "affinity"
    );
    for l in listeners {
        let vip = if l.vip.contains(':') {
            format!("[{}]", l.vip)
        } else {
            l.vip.clone()
        };
        let backends: Vec<String> = l
            .backends
            .iter()
            .map(|b| {
                let addr = if b.address.contains(':') {
                    format!("[{}]", b.address)
                } else {
                    b.address.clone()
                };
                format!("{addr}:{} ({}, {})", b.port, b.weight, b.state)
            })
            .collect();
        let _ = writeln!(
            out,
            "{:<14} {:<30} {:<16} {:<14} {}",
            l.name,
            format!("{vip}:{}/{}", l.port, l.protocol),
            l.pool,
            l.affinity,
            backends.join(" ")
        );
    }
}

fn render_neighbours(out: &mut String, neighbours: &[NeighbourRow]) {
    let _ = writeln!(out, "\nNEIGHBOURS");
    let _ = writeln!(
        out,
        "{:<28} {:<18} {:<10} {:<11} {:>8} {:>6}",
        "address", "mac", "port", "state", "age ms", "core"
    );
    for n in neighbours {
        let mac = n.mac.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "{:<28} {:<18} {:<10} {:<11} {:>8} {:>6}",
            n.ip, mac, n.port, n.state, n.age_ms, n.worker
        );
    }
}

fn render_workers(out: &mut String, doc: &StatusDoc) {
    let _ = writeln!(out, "\nCOUNTERS (non-zero; total and per worker core)");
    let mut header = format!("{:<36} {:>12}", "counter", "total");
    for w in &doc.workers {
        let _ = write!(header, " {:>12}", format!("lcore {}", w.lcore));
    }
    let _ = writeln!(out, "{header}");
    for (name, total) in doc.totals.iter().filter(|(_, v)| **v != 0) {
        let mut line = format!("{name:<36} {total:>12}");
        for w in &doc.workers {
            let _ = write!(line, " {:>12}", w.counters.get(name).copied().unwrap_or(0));
        }
        let _ = writeln!(out, "{line}");
    }
    for (name, value) in [
        (
            "tx_ring_full_dropped",
            doc.workers.iter().map(|w| w.tx_dropped).sum::<u64>(),
        ),
        (
            "handoff_ring_full_dropped",
            doc.workers.iter().map(|w| w.handoff_dropped).sum::<u64>(),
        ),
    ] {
        if value != 0 {
            let _ = writeln!(out, "{name:<36} {value:>12}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> StatusDoc {
        let mut totals = BTreeMap::new();
        totals.insert("icmp_echo_replies".to_string(), 7);
        totals.insert("drop_ipv4_ihl_too_small".to_string(), 0);
        let mut per_core = BTreeMap::new();
        per_core.insert("icmp_echo_replies".to_string(), 7);
        StatusDoc {
            version: "0.1.0".into(),
            boot_id: "b".into(),
            pid: 1,
            uptime_s: 2.0,
            config: "lab.yaml".into(),
            generation: 1,
            desired_generation: Some(4),
            desired_source: Some("edgelb-control".into()),
            ports: vec![PortStatus {
                index: 0,
                name: "client".into(),
                dpdk_port: 0,
                device: "net_af_packet0,iface=p0".into(),
                driver: "net_af_packet".into(),
                mac: format_mac([2, 0, 0, 0, 0, 1]),
                link_up: true,
                speed_mbps: 10000,
                addresses: vec!["198.18.0.1/24".into()],
                queues: 1,
                rss: false,
                stats: PortCounters {
                    ipackets: 9,
                    ..PortCounters::default()
                },
            }],
            listeners: vec![ListenerStatus {
                name: "web".into(),
                vip: "198.18.10.10".into(),
                port: 80,
                protocol: "tcp".into(),
                pool: "nodes-http".into(),
                affinity: "none".into(),
                backends: vec![BackendStatus {
                    address: "198.19.0.11".into(),
                    port: 80,
                    weight: 1,
                    state: "draining".into(),
                }],
            }],
            l7_listeners: vec![L7ListenerStatus {
                name: "ing-edgelb-443".into(),
                vip: "2001:2:0:10::20".into(),
                port: 443,
                tls: true,
                hosts: vec!["secure.example.test (1 routes)".into()],
                default_pool: None,
                default_certificate: Some("tls-default.edgelb-default-tls".into()),
            }],
            workers: vec![WorkerStatus {
                index: 0,
                lcore: 1,
                tx_dropped: 0,
                handoff_dropped: 0,
                counters: per_core,
            }],
            totals,
            neighbours: vec![NeighbourRow {
                ip: "198.18.0.2".into(),
                mac: Some("02:00:00:00:00:02".into()),
                port: "client".into(),
                state: "reachable".into(),
                age_ms: 5,
                worker: 0,
            }],
        }
    }

    #[test]
    fn tables_show_ports_neighbours_and_nonzero_counters() {
        let text = render(&doc());
        assert!(text.contains("02:00:00:00:00:01"), "{text}");
        assert!(
            text.contains("198.18.10.10:80/tcp") && text.contains("198.19.0.11:80 (1, draining)"),
            "{text}"
        );
        assert!(
            text.contains("198.18.0.2") && text.contains("02:00:00:00:00:02"),
            "{text}"
        );
        assert!(
            text.contains("L7 LISTENERS")
                && text.contains("[2001:2:0:10::20]:443")
                && text.contains("- (404)")
                && text.contains("secure.example.test (1 routes)"),
            "{text}"
        );
        assert!(
            text.contains("icmp_echo_replies") && text.contains(" 7"),
            "{text}"
        );
        assert!(
            !text.contains("drop_ipv4_ihl_too_small"),
            "zero counters are hidden: {text}"
        );
    }

    #[test]
    fn json_round_trips() {
        let d = doc();
        let back: StatusDoc = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back.neighbours, d.neighbours);
        assert_eq!(back.totals, d.totals);
    }
}
