//! What the planner tests share: loading fixtures, the lab's settings and base config, and views of a plan.

#![allow(dead_code)] // each test file uses some of it
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers: failing loudly is the point

use std::path::{Path, PathBuf};

use edgelb_config::desired::{DesiredListener, DesiredState, L7Listener};
use edgelb_config::ApplianceConfig;
use edgelb_control::model::ClusterState;
use edgelb_control::planner::{self, Allocations, BackendMode, Plan, PlannerSettings};
use edgelb_control::source::manifests::Loader;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/examples/k8s")
}

/// The fixtures named, plus the nodes.
pub fn load(files: &[&str]) -> ClusterState {
    let mut loader = Loader::default();
    for file in std::iter::once(&"nodes.yaml").chain(files) {
        let path = fixtures().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        loader.add_text(&text, &path).unwrap();
    }
    loader.finish()
}

/// The lab's VIP pools, nodes as backends.
pub fn settings() -> PlannerSettings {
    PlannerSettings {
        vip_pools: vec![
            "198.18.10.100-198.18.10.199".parse().unwrap(),
            "2001:2:0:10::100-2001:2:0:10::1ff".parse().unwrap(),
        ],
        ..PlannerSettings::default()
    }
}

pub fn pods() -> PlannerSettings {
    PlannerSettings {
        backends: BackendMode::Pods,
        ..settings()
    }
}

pub fn plan(files: &[&str], settings: &PlannerSettings) -> Plan {
    planner::plan(&load(files), settings, &Allocations::default())
}

/// A pool's backends as `address:port`, with ` wN` for weights other than 1 and ` draining`.
pub fn pool(plan: &Plan, name: &str) -> Vec<String> {
    let pool = plan
        .desired
        .pools
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no pool {name}: {:?}", names(plan)));
    pool.backends
        .iter()
        .map(|b| {
            let mut text = std::net::SocketAddr::new(b.address, b.port).to_string();
            if b.weight != 1 {
                text.push_str(&format!(" w{}", b.weight));
            }
            if b.state == edgelb_config::BackendState::Draining {
                text.push_str(" draining");
            }
            text
        })
        .collect()
}

pub fn listener<'p>(plan: &'p Plan, name: &str) -> &'p DesiredListener {
    plan.desired
        .listeners
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no listener {name}: {:?}", names(plan)))
}

/// The listeners as `name vip:port/protocol pool`.
pub fn listeners(plan: &Plan) -> Vec<String> {
    plan.desired
        .listeners
        .iter()
        .map(|l| {
            let socket = std::net::SocketAddr::new(l.vip, l.port);
            format!("{} {socket}/{} {}", l.name, l.protocol.as_str(), l.pool)
        })
        .collect()
}

pub fn names(plan: &Plan) -> (Vec<&str>, Vec<&str>) {
    (
        plan.desired
            .listeners
            .iter()
            .map(|l| l.name.as_str())
            .collect(),
        plan.desired.pools.iter().map(|p| p.name.as_str()).collect(),
    )
}

pub fn events(plan: &Plan) -> Vec<String> {
    plan.events.iter().map(ToString::to_string).collect()
}

pub fn lab_config() -> ApplianceConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/examples/lab.yaml");
    edgelb_config::load(&path).unwrap()
}

/// The dataplane's own rules accept `desired` on top of the lab config.
pub fn assert_accepted(desired: &DesiredState) {
    if let Err(e) = edgelb_config::desired::apply(&lab_config(), desired) {
        panic!("the lab config refuses the plan: {e}");
    }
}

pub fn l7<'p>(plan: &'p Plan, name: &str) -> &'p L7Listener {
    plan.desired
        .l7
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no L7 listener {name}"))
}

/// The L7 listeners as `name vip:port`.
pub fn l7_sockets(plan: &Plan) -> Vec<String> {
    plan.desired
        .l7
        .iter()
        .map(|l| format!("{} {}", l.name, std::net::SocketAddr::new(l.vip, l.port)))
        .collect()
}

/// Each host as `host [certificate]` (and ` -> 308 https` when redirected) and its routes as
/// `path (type) -> pool <- origin`.
pub fn site(listener: &L7Listener) -> Vec<String> {
    let mut lines = Vec::new();
    for h in &listener.hosts {
        let redirect = if h.redirect_to_https {
            " -> 308 https"
        } else {
            ""
        };
        lines.push(format!(
            "{} [{}]{redirect}",
            h.host,
            h.certificate.as_deref().unwrap_or("-")
        ));
        for r in &h.routes {
            lines.push(format!(
                "  {} ({:?}) -> {} <- {}",
                r.path, r.path_type, r.pool, r.origin
            ));
        }
    }
    lines
}

/// What `status.loadBalancer.ingress` of each Ingress should show, as `namespace/name ip ip`.
pub fn ingress_status(plan: &Plan) -> Vec<String> {
    plan.status_addresses
        .iter()
        .filter(|(object, _)| object.kind == "Ingress")
        .map(|(object, ips)| {
            let ips: Vec<String> = ips.iter().map(ToString::to_string).collect();
            format!("{} {}", object.key, ips.join(" "))
                .trim_end()
                .to_string()
        })
        .collect()
}
