//! From the validated config and the opened ports to the engine's immutable snapshot. Runs on the management
//! thread at start and at every reload: this is where the Maglev tables are built, off the fast path.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use edgelb_config::desired::DesiredState;
use edgelb_config::{Affinity, ApplianceConfig, Protocol, RemovedBackendPolicy};
use edgelb_engine::flow::{FlowConfig, FlowTimeouts, InsertRate, Proto};
use edgelb_engine::l4::{
    Backend, L4Input, L4Settings, L4Snapshot, Listener, OnBackendRemoved, PoolSpec, RssSpec,
    SnatPorts,
};
use edgelb_engine::l7::tls::TlsShared;
use edgelb_engine::snapshot::{NeighbourTimers, PortSpec, Route, Snapshot};
use edgelb_engine::PortId;

use crate::ports::OpenPort;

/// Builds the snapshot the workers run with, from `config`, the desired state's L7 part (`tls`: the
/// process-wide TLS ticket key and session cache) and what the ports told us (MACs, RSS).
pub fn build(
    config: &ApplianceConfig,
    desired: Option<&DesiredState>,
    ports: &[OpenPort],
    tls: &TlsShared,
) -> Result<Arc<Snapshot>> {
    let specs = config
        .ports
        .iter()
        .zip(ports)
        .map(|(p, open)| PortSpec {
            name: p.name.clone(),
            mac: open.mac,
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
        ports: specs,
        routes,
        vips: config.owned_vips(),
        neighbour: NeighbourTimers {
            reachable: n.reachable,
            stale_gc: n.stale_gc,
            retransmit: n.retransmit,
            max_probes: n.max_probes,
            queue_per_neighbour: n.queue_per_neighbour,
            queue_total: n.queue_total,
        },
        l4: l4(config, ports)?,
        l7: crate::snapshot_l7::build(config, desired, tls)?,
    };
    snapshot
        .validate()
        .map_err(|e| anyhow::anyhow!("the configuration does not make a valid snapshot: {e}"))?;
    Ok(Arc::new(snapshot))
}

/// Listeners, pools (with their Maglev tables) and L4 settings.
fn l4(config: &ApplianceConfig, ports: &[OpenPort]) -> Result<L4Snapshot> {
    let pools: Vec<PoolSpec> = config
        .pools
        .iter()
        .map(|p| PoolSpec {
            name: p.name.clone(),
            backends: p
                .backends
                .iter()
                .map(|b| Backend {
                    addr: b.address,
                    port: b.port,
                    weight: b.weight,
                    draining: b.state == edgelb_config::BackendState::Draining,
                })
                .collect(),
        })
        .collect();
    let listeners = config
        .listeners
        .iter()
        .map(|l| {
            let pool = config
                .pools
                .iter()
                .position(|p| p.name == l.pool)
                .with_context(|| format!("listener {}: no pool {:?}", l.name, l.pool))?;
            Ok(Listener {
                name: l.name.clone(),
                vip: l.vip,
                port: l.port,
                proto: match l.protocol {
                    Protocol::Tcp => Proto::Tcp,
                    Protocol::Udp => Proto::Udp,
                },
                pool,
                affinity: match l.affinity {
                    Affinity::None => None,
                    Affinity::ClientIp { timeout } => Some(timeout),
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let c = &config.l4;
    let t = &c.timeouts;
    let settings = L4Settings {
        maglev_size: c.maglev_size,
        maglev_seed: c.maglev_seed,
        flows: FlowConfig {
            timeouts: FlowTimeouts {
                syn_sent: t.tcp_syn,
                established: t.tcp_established,
                fin_wait: t.tcp_fin,
                closed: t.tcp_closed,
                udp: t.udp,
            },
            insert_rate: (c.max_new_flows_per_core_per_sec > 0).then(|| InsertRate {
                per_sec: c.max_new_flows_per_core_per_sec,
                // A tenth of a second's worth may arrive at once.
                burst: (c.max_new_flows_per_core_per_sec / 10).max(1),
            }),
            hash_seed: process_hash_seed(),
        },
        on_backend_removed: match c.on_backend_removed {
            RemovedBackendPolicy::Reset => OnBackendRemoved::Reset,
            RemovedBackendPolicy::Drop => OnBackendRemoved::Drop,
        },
        mss_clamp: c.mss_clamp,
        snat_ipv4: c.snat.ipv4.clone(),
        snat_ipv6: c.snat.ipv6.clone(),
        snat_ports: SnatPorts {
            lo: c.snat.ports.lo,
            hi: c.snat.ports.hi,
        },
    };
    let rss = ports
        .iter()
        .map(|p| {
            p.port.rss().filter(|_| p.rss).map(|r| RssSpec {
                key: r.key.clone(),
                reta: r.reta.clone(),
            })
        })
        .collect();
    L4Snapshot::build(L4Input {
        listeners,
        pools,
        settings,
        rss,
    })
    .map_err(|e| anyhow::anyhow!("L4 configuration: {e}"))
}

/// The seed of the flow tables' hash index: random per process (it need not match other appliances, unlike the
/// Maglev seed), so that nobody can aim collisions at a known hash.
fn process_hash_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| RandomState::new().build_hasher().finish())
}
