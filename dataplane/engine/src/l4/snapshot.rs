//! The L4 part of a snapshot: listeners, pools with their Maglev tables, and the L4 settings.
//!
//! [`L4Snapshot::build`] runs on the management thread: it checks plain inputs (the appliance maps
//! its YAML onto them), builds one Maglev table per pool from the backends that take new flows,
//! and indexes the listeners. Workers only read the result. What depends on the ports (SNAT
//! defaults, RSS per port) is checked by [`crate::snapshot::Snapshot::validate`].

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::time::Duration;

use super::listeners::ListenerIndex;
use super::toeplitz;
use crate::flow::{FlowConfig, Proto};
use crate::maglev::{xxh64, MaglevBackend, MaglevTable, DEFAULT_SIZE};
use crate::snapshot::{is_assignable, SnapshotError};

/// A VIP:port over TCP or UDP, balanced over a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// A name for logs and errors.
    pub name: String,
    /// The address clients connect to (owned by the appliance).
    pub vip: IpAddr,
    /// The port clients connect to, not 0.
    pub port: u16,
    /// TCP or UDP.
    pub proto: Proto,
    /// Index of its pool in the pool list.
    pub pool: usize,
    /// `affinity: client-ip`: hash the client address only, and keep a client's backend this
    /// long after its last new flow. None hashes the 5-tuple.
    pub affinity: Option<Duration>,
}

impl Listener {
    /// An identity that survives snapshots (indices do not): the key of the affinity table.
    pub fn stable_id(&self) -> u32 {
        let mut buf = [0u8; 19];
        let len = put_endpoint(&mut buf, self.vip, self.port);
        if let Some(b) = buf.get_mut(len) {
            *b = self.proto.number();
        }
        xxh64(0, buf.get(..len + 1).unwrap_or_default()) as u32
    }
}

/// One backend of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    /// Its address (the family of the listeners' VIPs).
    pub addr: IpAddr,
    /// Its port, not 0.
    pub port: u16,
    /// Share of new flows; 0 takes none.
    pub weight: u32,
    /// Draining: keeps its flows, takes no new ones.
    pub draining: bool,
}

impl Backend {
    /// Whether Maglev gives it slots.
    pub fn takes_new_flows(&self) -> bool {
        !self.draining && self.weight > 0
    }

    /// An identity that survives snapshots: what flows and the affinity table remember.
    pub fn stable_id(&self) -> u32 {
        backend_id(self.addr, self.port)
    }
}

/// The stable identity of the backend at `addr`:`port`.
pub fn backend_id(addr: IpAddr, port: u16) -> u32 {
    let mut buf = [0u8; 18];
    let len = put_endpoint(&mut buf, addr, port);
    xxh64(0, buf.get(..len).unwrap_or_default()) as u32
}

fn put_endpoint(buf: &mut [u8], addr: IpAddr, port: u16) -> usize {
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        if let Some(d) = buf.get_mut(len..len + bytes.len()) {
            d.copy_from_slice(bytes);
        }
        len += bytes.len();
    };
    match addr {
        IpAddr::V4(a) => put(&a.octets()),
        IpAddr::V6(a) => put(&a.octets()),
    }
    put(&port.to_be_bytes());
    len
}

/// A named set of backends, as given to [`L4Snapshot::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSpec {
    /// A name for logs and errors.
    pub name: String,
    /// The backends, unique by (address, port).
    pub backends: Vec<Backend>,
}

/// A pool with its Maglev table (entries index `backends`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    name: String,
    backends: Vec<Backend>,
    maglev: MaglevTable,
    /// (stable id, index into `backends`), sorted: affinity and removal checks.
    by_id: Vec<(u32, u32)>,
}

impl Pool {
    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its backends, in the order given.
    pub fn backends(&self) -> &[Backend] {
        &self.backends
    }

    /// The Maglev table over the backends that take new flows.
    pub fn maglev(&self) -> &MaglevTable {
        &self.maglev
    }

    /// The backend a Maglev hash picks; None when no backend takes new flows.
    #[inline]
    pub fn pick(&self, hash: u64) -> Option<&Backend> {
        self.maglev
            .lookup(hash)
            .and_then(|i| self.backends.get(i as usize))
    }

    /// The backend with stable id `id`, if it is in the pool.
    #[inline]
    pub fn by_id(&self, id: u32) -> Option<&Backend> {
        let i = self.by_id.binary_search_by_key(&id, |&(k, _)| k).ok()?;
        let &(_, index) = self.by_id.get(i)?;
        self.backends.get(index as usize)
    }

    /// Whether `addr`:`port` is one of the pool's backends (draining ones included).
    #[inline]
    pub fn contains(&self, addr: IpAddr, port: u16) -> bool {
        self.by_id(backend_id(addr, port))
            .is_some_and(|b| b.addr == addr && b.port == port)
    }
}

/// What happens to the flows of a backend that left its pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnBackendRemoved {
    /// TCP flows get a RST each way; UDP flows are removed.
    #[default]
    Reset,
    /// Flows are removed silently (their next packets are dropped).
    Drop,
}

/// The source ports FullNAT uses, inclusive, shared out among the cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnatPorts {
    /// The first port, at least 1.
    pub lo: u16,
    /// The last port, at least `lo`.
    pub hi: u16,
}

impl SnatPorts {
    /// Whether `port` is in the range.
    #[inline]
    pub fn contains(&self, port: u16) -> bool {
        (self.lo..=self.hi).contains(&port)
    }

    /// How many ports it holds.
    pub fn len(&self) -> u32 {
        u32::from(self.hi).saturating_sub(u32::from(self.lo)) + 1
    }

    /// Never true for a valid range (clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.hi < self.lo
    }
}

/// Settings of the L4 path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L4Settings {
    /// Maglev table size, prime (65537 by default).
    pub maglev_size: u32,
    /// Maglev and flow-hash seed, the same on every appliance of an ECMP group.
    pub maglev_seed: u64,
    /// Flow timeouts, the per-core insert cap, and the flow index seed (read when a worker is
    /// built; a later snapshot changes timeouts and the cap only).
    pub flows: FlowConfig,
    /// What happens to the flows of a removed backend.
    pub on_backend_removed: OnBackendRemoved,
    /// Lower the MSS option of SYNs and SYN-ACKs to this; None leaves it.
    pub mss_clamp: Option<u16>,
    /// IPv4 SNAT addresses; empty: the egress port's first IPv4 address. Those on the egress
    /// port's prefixes are used, or all of them if none is.
    pub snat_ipv4: Vec<Ipv4Addr>,
    /// IPv6 SNAT addresses, likewise.
    pub snat_ipv6: Vec<Ipv6Addr>,
    /// SNAT source ports.
    pub snat_ports: SnatPorts,
}

impl Default for L4Settings {
    fn default() -> Self {
        Self {
            maglev_size: DEFAULT_SIZE,
            maglev_seed: 0,
            flows: FlowConfig::default(),
            on_backend_removed: OnBackendRemoved::Reset,
            mss_clamp: None,
            snat_ipv4: Vec::new(),
            snat_ipv6: Vec::new(),
            snat_ports: SnatPorts {
                lo: 1024,
                hi: 65535,
            },
        }
    }
}

/// A port's receive-side scaling as the NIC was set up: the Toeplitz key and the redirection table
/// (entry = rx queue; worker core `i` polls queue `i` of every port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RssSpec {
    /// The hash key, at least [`toeplitz::MIN_KEY_LEN`] bytes.
    pub key: Vec<u8>,
    /// The redirection table, not empty.
    pub reta: Vec<u16>,
}

/// The plain inputs of [`L4Snapshot::build`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct L4Input {
    /// Listeners, unique by (VIP, port, protocol).
    pub listeners: Vec<Listener>,
    /// Pools, referred to by index.
    pub pools: Vec<PoolSpec>,
    /// Settings.
    pub settings: L4Settings,
    /// RSS per port index (missing entries: None, the NIC's hashing is unknown).
    pub rss: Vec<Option<RssSpec>>,
}

/// The L4 configuration the workers run with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct L4Snapshot {
    listeners: Vec<Listener>,
    pools: Vec<Pool>,
    settings: L4Settings,
    rss: Vec<Option<RssSpec>>,
    index: ListenerIndex,
}

impl L4Snapshot {
    /// Checks `input` and builds the Maglev tables and the listener index (allocates; call it off
    /// the fast path).
    pub fn build(input: L4Input) -> Result<Self, SnapshotError> {
        let L4Input {
            listeners,
            pools,
            settings,
            rss,
        } = input;
        check_settings(&settings)?;
        for (port, spec) in rss.iter().enumerate() {
            if let Some(spec) = spec {
                if spec.key.len() < toeplitz::MIN_KEY_LEN || spec.reta.is_empty() {
                    return Err(SnapshotError::BadRss { port });
                }
            }
        }
        let pools = pools
            .into_iter()
            .map(|p| build_pool(p, &settings))
            .collect::<Result<Vec<_>, _>>()?;
        check_listeners(&listeners, &pools)?;
        let index = ListenerIndex::build(&listeners);
        Ok(Self {
            listeners,
            pools,
            settings,
            rss,
            index,
        })
    }

    /// The listeners, in the order given.
    pub fn listeners(&self) -> &[Listener] {
        &self.listeners
    }

    /// The pools, in the order given.
    pub fn pools(&self) -> &[Pool] {
        &self.pools
    }

    /// The settings.
    pub fn settings(&self) -> &L4Settings {
        &self.settings
    }

    /// RSS of the port with index `port`, if known.
    #[inline]
    pub fn rss(&self, port: usize) -> Option<&RssSpec> {
        self.rss.get(port).and_then(Option::as_ref)
    }

    /// How many ports have an RSS entry (`Snapshot::validate` checks they exist).
    pub fn rss_ports(&self) -> usize {
        self.rss.len()
    }

    /// The listener for `vip`:`port` over `proto`, with its index.
    #[inline]
    pub fn listener(&self, vip: IpAddr, port: u16, proto: Proto) -> Option<(usize, &Listener)> {
        let i = self.index.lookup(&self.listeners, vip, port, proto)?;
        Some((i, self.listeners.get(i)?))
    }

    /// The pool of listener `listener`.
    #[inline]
    pub fn pool_of(&self, listener: &Listener) -> Option<&Pool> {
        self.pools.get(listener.pool)
    }
}

fn check_settings(s: &L4Settings) -> Result<(), SnapshotError> {
    if s.snat_ports.lo == 0 || s.snat_ports.hi < s.snat_ports.lo {
        return Err(SnapshotError::BadSnatPorts {
            lo: s.snat_ports.lo,
            hi: s.snat_ports.hi,
        });
    }
    if s.mss_clamp == Some(0) {
        return Err(SnapshotError::BadMssClamp);
    }
    let snat = s.snat_ipv4.iter().map(|a| IpAddr::V4(*a));
    let snat = snat.chain(s.snat_ipv6.iter().map(|a| IpAddr::V6(*a)));
    for addr in snat {
        if !is_assignable(addr) {
            return Err(SnapshotError::BadSnatAddress(addr));
        }
    }
    Ok(())
}

fn build_pool(spec: PoolSpec, settings: &L4Settings) -> Result<Pool, SnapshotError> {
    let PoolSpec { name, backends } = spec;
    for b in &backends {
        if !is_assignable(b.addr) || b.port == 0 {
            return Err(SnapshotError::BadBackend {
                pool: name.clone(),
                backend: SocketAddr::new(b.addr, b.port),
            });
        }
    }
    // The identity Maglev permutes by: the endpoint as text, readable and the same everywhere.
    let keys: Vec<String> = backends
        .iter()
        .map(|b| SocketAddr::new(b.addr, b.port).to_string())
        .collect();
    let maglev_backends: Vec<MaglevBackend<'_>> = backends
        .iter()
        .zip(&keys)
        .map(|(b, key)| MaglevBackend {
            key: key.as_bytes(),
            weight: if b.takes_new_flows() { b.weight } else { 0 },
        })
        .collect();
    let maglev = MaglevTable::build(&maglev_backends, settings.maglev_size, settings.maglev_seed)
        .map_err(|source| SnapshotError::Maglev {
        pool: name.clone(),
        source,
    })?;
    let mut by_id: Vec<(u32, u32)> = backends
        .iter()
        .zip(0u32..)
        .map(|(b, i)| (b.stable_id(), i))
        .collect();
    // Ids may collide (32 bits); `contains` compares the endpoint, `by_id` then finds one of them.
    by_id.sort_unstable();
    Ok(Pool {
        name,
        backends,
        maglev,
        by_id,
    })
}

fn check_listeners(listeners: &[Listener], pools: &[Pool]) -> Result<(), SnapshotError> {
    let mut keys: Vec<(IpAddr, u16, Proto, usize)> = Vec::with_capacity(listeners.len());
    for l in listeners {
        let name = || l.name.clone();
        if !is_assignable(l.vip) {
            return Err(SnapshotError::BadVip(l.vip));
        }
        if l.port == 0 || l.affinity.is_some_and(|t| t.is_zero()) {
            return Err(SnapshotError::BadListener { listener: name() });
        }
        let pool = pools
            .get(l.pool)
            .ok_or_else(|| SnapshotError::UnknownPool {
                listener: name(),
                pool: l.pool,
            })?;
        if let Some(b) = pool
            .backends
            .iter()
            .find(|b| b.addr.is_ipv4() != l.vip.is_ipv4())
        {
            return Err(SnapshotError::BackendFamily {
                listener: name(),
                backend: SocketAddr::new(b.addr, b.port),
            });
        }
        keys.push((l.vip, l.port, l.proto, keys.len()));
    }
    // The later of two equal listeners is named.
    keys.sort_unstable();
    for pair in keys.windows(2) {
        if let [a, b] = pair {
            if (a.0, a.1, a.2) == (b.0, b.1, b.2) {
                let name = listeners
                    .get(b.3)
                    .map(|l| l.name.clone())
                    .unwrap_or_default();
                return Err(SnapshotError::DuplicateListener { listener: name });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maglev::MaglevError;

    fn backend(last: u8, weight: u32) -> Backend {
        Backend {
            addr: IpAddr::V4(Ipv4Addr::new(198, 19, 0, last)),
            port: 8080,
            weight,
            draining: false,
        }
    }

    fn input() -> L4Input {
        L4Input {
            listeners: vec![Listener {
                name: "web".into(),
                vip: IpAddr::V4(Ipv4Addr::new(198, 18, 10, 10)),
                port: 80,
                proto: Proto::Tcp,
                pool: 0,
                affinity: None,
            }],
            pools: vec![PoolSpec {
                name: "web".into(),
                backends: vec![backend(11, 1), backend(12, 1), backend(13, 0)],
            }],
            settings: L4Settings {
                maglev_size: 251,
                ..L4Settings::default()
            },
            rss: Vec::new(),
        }
    }

    #[test]
    fn builds_tables_from_active_backends_only() {
        let mut i = input();
        i.pools[0].backends[1].draining = true;
        let l4 = L4Snapshot::build(i).unwrap();
        let pool = &l4.pools()[0];
        assert_eq!(pool.maglev().slot_counts(), vec![251, 0, 0]);
        assert!(pool.contains(backend(12, 1).addr, 8080));
        assert!(!pool.contains(backend(12, 1).addr, 8081));
        assert_eq!(
            pool.by_id(backend(13, 0).stable_id()),
            Some(&backend(13, 0))
        );
        let vip = l4.listeners()[0].vip;
        let (i, l) = l4.listener(vip, 80, Proto::Tcp).unwrap();
        assert_eq!((i, l.name.as_str()), (0, "web"));
        assert!(l4.listener(vip, 80, Proto::Udp).is_none());
    }

    #[test]
    fn each_fault_is_named() {
        let mut i = input();
        i.listeners[0].pool = 3;
        assert!(matches!(
            L4Snapshot::build(i),
            Err(SnapshotError::UnknownPool { pool: 3, .. })
        ));

        let mut i = input();
        i.listeners.push(Listener {
            name: "again".into(),
            ..i.listeners[0].clone()
        });
        assert_eq!(
            L4Snapshot::build(i),
            Err(SnapshotError::DuplicateListener {
                listener: "again".into()
            })
        );

        let mut i = input();
        i.pools[0].backends[0].addr = "2001:2::1".parse().unwrap();
        assert!(matches!(
            L4Snapshot::build(i),
            Err(SnapshotError::BackendFamily { .. })
        ));

        let mut i = input();
        i.pools[0].backends[1] = i.pools[0].backends[0];
        assert!(matches!(
            L4Snapshot::build(i),
            Err(SnapshotError::Maglev {
                source: MaglevError::DuplicateKey { .. },
                ..
            })
        ));

        let mut i = input();
        i.settings.maglev_size = 250;
        assert!(matches!(
            L4Snapshot::build(i),
            Err(SnapshotError::Maglev { .. })
        ));

        let mut i = input();
        i.settings.snat_ports = SnatPorts { lo: 0, hi: 10 };
        assert!(matches!(
            L4Snapshot::build(i),
            Err(SnapshotError::BadSnatPorts { .. })
        ));

        let mut i = input();
        i.listeners[0].affinity = Some(Duration::ZERO);
        assert!(matches!(
            L4Snapshot::build(i),
            Err(SnapshotError::BadListener { .. })
        ));

        let mut i = input();
        i.rss = vec![
            None,
            Some(RssSpec {
                key: vec![0; 39],
                reta: vec![0],
            }),
        ];
        assert_eq!(L4Snapshot::build(i), Err(SnapshotError::BadRss { port: 1 }));

        let mut i = input();
        i.pools[0].backends[0].port = 0;
        assert!(matches!(
            L4Snapshot::build(i),
            Err(SnapshotError::BadBackend { .. })
        ));
    }

    #[test]
    fn stable_ids_depend_on_the_endpoint_only() {
        let a = backend(11, 1);
        let b = Backend {
            weight: 9,
            draining: true,
            ..a
        };
        assert_eq!(a.stable_id(), b.stable_id());
        assert_ne!(a.stable_id(), backend(12, 1).stable_id());
        let l = input().listeners[0].clone();
        let udp = Listener {
            proto: Proto::Udp,
            ..l.clone()
        };
        assert_ne!(l.stable_id(), udp.stable_id());
    }
}
