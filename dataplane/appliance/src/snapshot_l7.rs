//! From the desired state's L7 part (listeners, hosts, routes, certificates) and the config's pools to the
//! engine's L7 snapshot: routers compiled and certificates loaded here, on the management thread.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use edgelb_config::desired::{DesiredState, PathType as DesiredPathType};
use edgelb_config::{ApplianceConfig, BackendState};
use edgelb_engine::l7::router::{PathType, PoolId, Route};
use edgelb_engine::l7::snapshot::{
    BackendInput, CertificateInput, HostInput, L7Input, L7Snapshot, ListenerInput, PoolInput,
};
use edgelb_engine::l7::tls::TlsShared;

/// The L7 snapshot of `desired` (empty without one), its routes' pools taken from `config` (the file's pools
/// with the desired state's merged in).
pub fn build(
    config: &ApplianceConfig,
    desired: Option<&DesiredState>,
    tls: &TlsShared,
) -> Result<Arc<L7Snapshot>> {
    let Some(desired) = desired.filter(|d| !d.l7.is_empty()) else {
        return Ok(Arc::default());
    };
    // Pools in the order the routes first name them; PoolId is the index.
    let mut pool_ids: BTreeMap<&str, u32> = BTreeMap::new();
    let mut pools = Vec::new();
    let mut pool_id = |name: &str| -> Result<PoolId> {
        if let Some(&id) = pool_ids.get(name) {
            return Ok(PoolId(id));
        }
        let pool = config
            .pools
            .iter()
            .find(|p| p.name == name)
            .with_context(|| format!("no pool {name:?}"))?;
        let id = u32::try_from(pools.len()).context("too many pools")?;
        pools.push(PoolInput {
            name: pool.name.clone(),
            backends: pool
                .backends
                .iter()
                .map(|b| BackendInput {
                    addr: SocketAddr::new(b.address, b.port),
                    weight: b.weight,
                    active: b.state == BackendState::Active,
                })
                .collect(),
        });
        pool_ids.insert(&pool.name, id);
        Ok(PoolId(id))
    };
    let mut listeners = Vec::with_capacity(desired.l7.len());
    for l in &desired.l7 {
        let mut hosts = Vec::with_capacity(l.hosts.len());
        for h in &l.hosts {
            let routes = h
                .routes
                .iter()
                .map(|r| {
                    Ok(Route {
                        path: r.path.clone(),
                        path_type: match r.path_type {
                            DesiredPathType::Exact => PathType::Exact,
                            DesiredPathType::Prefix => PathType::Prefix,
                            DesiredPathType::ImplementationSpecific => {
                                PathType::ImplementationSpecific
                            }
                        },
                        pool: pool_id(&r.pool).with_context(|| {
                            format!("L7 listener {}, host {:?}", l.name, h.host)
                        })?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            hosts.push(HostInput {
                host: h.host.clone(),
                certificate: h.certificate.clone(),
                routes,
                redirect_to_https: h.redirect_to_https,
            });
        }
        let default_pool = match &l.default_pool {
            Some(name) => Some(
                pool_id(name).with_context(|| format!("L7 listener {}: default pool", l.name))?,
            ),
            None => None,
        };
        listeners.push(ListenerInput {
            name: l.name.clone(),
            addr: SocketAddr::new(l.vip, l.port),
            tls: l.tls,
            default_certificate: l.default_certificate.clone(),
            hosts,
            default_pool,
            redirect_to_https: l.redirect_to_https,
            proxy_protocol: l.proxy_protocol,
        });
    }
    let certificates = desired
        .certificates
        .iter()
        .map(|c| CertificateInput {
            name: c.name.clone(),
            chain_pem: c.chain_pem.clone(),
            key_pem: c.key_pem.0.clone(),
        })
        .collect();
    let input = L7Input {
        listeners,
        pools,
        certificates,
    };
    let snapshot = L7Snapshot::build(input, tls).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Arc::new(snapshot))
}
