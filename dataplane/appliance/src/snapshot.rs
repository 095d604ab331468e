//! From the validated config and the opened ports to the engine's immutable snapshot.

use std::sync::Arc;

use anyhow::{Context, Result};
use edgelb_config::ApplianceConfig;
use edgelb_engine::snapshot::{NeighbourTimers, PortSpec, Route, Snapshot};
use edgelb_engine::PortId;

/// Builds the snapshot the workers run with; `macs[i]` is the MAC of the config's port `i`.
pub fn build(config: &ApplianceConfig, macs: &[[u8; 6]]) -> Result<Arc<Snapshot>> {
    let ports = config
        .ports
        .iter()
        .zip(macs)
        .map(|(p, mac)| PortSpec {
            name: p.name.clone(),
            mac: *mac,
            vlan: p.vlan,
            mtu: p.mtu,
            ipv4: p.ipv4.iter().map(|c| (c.addr(), c.prefix_len())).collect(),
            ipv6: p.ipv6.iter().map(|c| (c.addr(), c.prefix_len())).collect(),
        })
        .collect();
    let port_index = |name: &str| config.ports.iter().position(|p| p.name == name);
    let routes = config
        .routes
        .iter()
        .map(|r| {
            let port = port_index(&r.port)
                .with_context(|| format!("route to {}: unknown port {:?}", r.to, r.port))?;
            Ok(Route {
                prefix: r.to.addr(),
                prefix_len: r.to.prefix_len(),
                port: PortId(u16::try_from(port)?),
                gateway: Some(r.via),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let n = &config.neighbours;
    let snapshot = Snapshot {
        ports,
        routes,
        vips: config.vips.clone(),
        neighbour: NeighbourTimers {
            reachable: n.reachable,
            stale_gc: n.stale_gc,
            retransmit: n.retransmit,
            max_probes: n.max_probes,
            queue_per_neighbour: n.queue_per_neighbour,
            queue_total: n.queue_total,
        },
    };
    snapshot
        .validate()
        .map_err(|e| anyhow::anyhow!("the configuration does not make a valid snapshot: {e}"))?;
    Ok(Arc::new(snapshot))
}
