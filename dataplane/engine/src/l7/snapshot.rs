//! What the L7 part of a snapshot holds: the HTTP(S) listeners with their routers and TLS configs, and the
//! pools their routes name. Built once per snapshot on the management thread (certificates parsed, keys
//! checked, routers compiled) and shared by every core; a worker only reads it.

use core::fmt;
use core::net::SocketAddr;
use std::collections::HashMap;
use std::sync::Arc;

use rustls::ServerConfig;

use super::router::{PoolId, Route, Router, RouterError, VirtualHost};
use super::tls::{
    server_config, CertInput, CertStore, HostCert, SniInput, SniResolver, TlsConfigError, TlsShared,
};

/// An HTTP(S) listener as the appliance gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerInput {
    /// For logs, errors and counters.
    pub name: String,
    /// The VIP and port.
    pub addr: SocketAddr,
    /// Terminate TLS (certificates by SNI).
    pub tls: bool,
    /// The certificate for a missing or unknown SNI.
    pub default_certificate: Option<String>,
    /// Hosts with their routes (Ingress rules) and certificates.
    pub hosts: Vec<HostInput>,
    /// Where requests go that no host and path match (`None`: edgelb's 404).
    pub default_pool: Option<PoolId>,
    /// Answer every request with a redirect to HTTPS.
    pub redirect_to_https: bool,
    /// Start each upstream connection with a PROXY protocol v2 header naming the client.
    pub proxy_protocol: bool,
}

/// A host of a listener: its pattern, its certificate and its routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInput {
    /// `""`, `foo.example.com` or `*.example.com`.
    pub host: String,
    /// The certificate served for this host's SNI.
    pub certificate: Option<String>,
    /// Its paths.
    pub routes: Vec<Route>,
    /// On a plain HTTP listener: answer this host's requests with a redirect to HTTPS.
    pub redirect_to_https: bool,
}

/// A pool of upstream backends; [`PoolId`] is the index into [`L7Input::pools`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolInput {
    pub name: String,
    pub backends: Vec<BackendInput>,
}

/// A backend of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendInput {
    pub addr: SocketAddr,
    /// Relative share of new requests (0: none).
    pub weight: u32,
    /// Takes new requests (false: draining or down).
    pub active: bool,
}

/// A certificate chain and key, PEM. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateInput {
    pub name: String,
    pub chain_pem: String,
    pub key_pem: String,
}

impl fmt::Debug for CertificateInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateInput")
            .field("name", &self.name)
            .field("chain_pem_len", &self.chain_pem.len())
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// Everything L7 of one snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct L7Input {
    pub listeners: Vec<ListenerInput>,
    pub pools: Vec<PoolInput>,
    pub certificates: Vec<CertificateInput>,
}

/// Why the L7 part of a snapshot could not be built: names the listener, host or certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum L7SnapshotError {
    #[error("L7 listener {listener}: {error}")]
    Router {
        listener: String,
        error: RouterError,
    },
    #[error("{0}")]
    Tls(#[from] TlsConfigError),
    #[error("L7 listener {listener}: route to pool {pool}, which does not exist")]
    UnknownPool { listener: String, pool: u32 },
    #[error("L7 listeners {first} and {second} both listen on {addr}")]
    DuplicateAddress {
        first: String,
        second: String,
        addr: SocketAddr,
    },
}

/// A listener, ready to serve.
pub struct L7Listener {
    pub name: Box<str>,
    pub addr: SocketAddr,
    /// The rustls config (SNI table inside), for TLS listeners.
    pub tls: Option<Arc<ServerConfig>>,
    pub router: Router,
    pub redirect_to_https: bool,
    /// Per host of the router (same index): redirect its requests to HTTPS.
    pub host_redirects: Vec<bool>,
    /// Upstream connections start with a PROXY protocol v2 header (and serve one client only).
    pub proxy_protocol: bool,
}

impl L7Listener {
    /// Whether a request for `host` (as received) is answered with a redirect to HTTPS.
    pub fn redirects(&self, host: &[u8]) -> bool {
        self.redirect_to_https
            || (self.host_redirects.iter().any(|r| *r)
                && self
                    .router
                    .host_index(host)
                    .and_then(|i| self.host_redirects.get(i).copied())
                    .unwrap_or(false))
    }
}

impl fmt::Debug for L7Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("L7Listener")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .field("redirect_to_https", &self.redirect_to_https)
            .finish_non_exhaustive()
    }
}

/// The L7 part of a snapshot. Equality is that of the input it was built from.
#[derive(Debug, Default)]
pub struct L7Snapshot {
    input: L7Input,
    listeners: Vec<L7Listener>,
    by_addr: HashMap<SocketAddr, u32>,
}

impl PartialEq for L7Snapshot {
    fn eq(&self, other: &Self) -> bool {
        self.input == other.input
    }
}

impl Eq for L7Snapshot {}

impl L7Snapshot {
    /// Checks and compiles `input`: routers, certificates, SNI tables and rustls configs (with `tls`, the
    /// process-wide ticket key and session cache).
    pub fn build(input: L7Input, tls: &TlsShared) -> Result<Self, L7SnapshotError> {
        let needs_tls = input.listeners.iter().any(|l| l.tls);
        let store = if needs_tls {
            let certs: Vec<CertInput<'_>> = input
                .certificates
                .iter()
                .map(|c| CertInput {
                    name: &c.name,
                    chain_pem: c.chain_pem.as_bytes(),
                    key_pem: c.key_pem.as_bytes(),
                })
                .collect();
            Some(Arc::new(CertStore::build(&certs)?))
        } else {
            None
        };
        let mut listeners = Vec::with_capacity(input.listeners.len());
        let mut by_addr = HashMap::with_capacity(input.listeners.len());
        for (index, l) in input.listeners.iter().enumerate() {
            if let Some(&first) = by_addr.get(&l.addr) {
                let first: &ListenerInput = &input.listeners[first as usize];
                return Err(L7SnapshotError::DuplicateAddress {
                    first: first.name.clone(),
                    second: l.name.clone(),
                    addr: l.addr,
                });
            }
            let pools = input.pools.len();
            let routes = l.hosts.iter().flat_map(|h| h.routes.iter().map(|r| r.pool));
            if let Some(bad) = routes.chain(l.default_pool).find(|p| p.0 as usize >= pools) {
                return Err(L7SnapshotError::UnknownPool {
                    listener: l.name.clone(),
                    pool: bad.0,
                });
            }
            let hosts: Vec<VirtualHost> = l
                .hosts
                .iter()
                .map(|h| VirtualHost {
                    host: h.host.clone(),
                    routes: h.routes.clone(),
                })
                .collect();
            let router =
                Router::build(&hosts, l.default_pool).map_err(|error| L7SnapshotError::Router {
                    listener: l.name.clone(),
                    error,
                })?;
            let tls_config = match (&store, l.tls) {
                (Some(store), true) => Some(listener_tls(l, store, tls)?),
                _ => None,
            };
            by_addr.insert(l.addr, u32::try_from(index).unwrap_or(u32::MAX));
            listeners.push(L7Listener {
                name: l.name.as_str().into(),
                addr: l.addr,
                tls: tls_config,
                router,
                redirect_to_https: l.redirect_to_https,
                host_redirects: l.hosts.iter().map(|h| h.redirect_to_https).collect(),
                proxy_protocol: l.proxy_protocol,
            });
        }
        Ok(Self {
            input,
            listeners,
            by_addr,
        })
    }

    /// What it was built from.
    pub fn input(&self) -> &L7Input {
        &self.input
    }

    /// No L7 listener at all.
    pub fn is_empty(&self) -> bool {
        self.listeners.is_empty()
    }

    /// The listeners, indexed by the ids [`Self::listener_at`] gives.
    pub fn listeners(&self) -> &[L7Listener] {
        &self.listeners
    }

    /// The listener on `addr`, if any: one hash lookup.
    pub fn listener_at(&self, addr: SocketAddr) -> Option<u32> {
        if self.by_addr.is_empty() {
            return None;
        }
        self.by_addr.get(&addr).copied()
    }

    /// A listener by id.
    pub fn listener(&self, id: u32) -> Option<&L7Listener> {
        self.listeners.get(id as usize)
    }

    /// A pool's backends.
    pub fn pool(&self, id: PoolId) -> Option<&PoolInput> {
        self.input.pools.get(id.0 as usize)
    }
}

/// A TLS listener's rustls config: its hosts' certificates, every certificate it names by SAN, its default.
/// A listener with no certificate at all is still built: every handshake then ends with
/// `unrecognized_name`, as for an unknown SNI without a default (the other listeners keep working).
fn listener_tls(
    l: &ListenerInput,
    store: &Arc<CertStore>,
    shared: &TlsShared,
) -> Result<Arc<ServerConfig>, L7SnapshotError> {
    let hosts: Vec<HostCert<'_>> = l
        .hosts
        .iter()
        .filter(|h| !h.host.is_empty())
        .filter_map(|h| {
            h.certificate.as_deref().map(|certificate| HostCert {
                host: &h.host,
                certificate,
            })
        })
        .collect();
    let mut named: Vec<&str> = l
        .hosts
        .iter()
        .filter_map(|h| h.certificate.as_deref())
        .chain(l.default_certificate.as_deref())
        .collect();
    named.sort_unstable();
    named.dedup();
    let input = SniInput {
        listener: &l.name,
        hosts: &hosts,
        san_certificates: &named,
        default: l.default_certificate.as_deref(),
    };
    let resolver = SniResolver::build(Arc::clone(store), &input)?;
    Ok(server_config(shared, Arc::new(resolver))?)
}
