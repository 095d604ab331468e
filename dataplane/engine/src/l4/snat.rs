//! FullNAT's source side: which SNAT address a flow leaves from, which SNAT port a core may take,
//! and which core owns the return traffic of a SNAT port.
//!
//! Return traffic must reach the core that holds the flow. Where the port's RSS is known (a
//! [`RssSpec`]), a core takes only ports whose return 4-tuple the NIC hashes to its own queue
//! (core `i` polls queue `i`). Where it is not, the ports are split by residue: core `i` of `n`
//! takes the ports `p` with `p mod n = i`, and a core that receives another core's return traffic
//! hands the frame over through a ring. Both rules are pure functions of the 4-tuple, the same on
//! every core, so a handed-off frame is never handed on again.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::snapshot::{RssSpec, SnatPorts};
use super::toeplitz;
use crate::addresses::{prefix_contains_v4, prefix_contains_v6};
use crate::flow::FlowKey;
use crate::maglev::hash::avalanche;
use crate::snapshot::Snapshot;

/// At most this many free-port checks in the flow table per new flow.
pub const MAX_IN_USE_CHECKS: usize = 32;
/// With RSS, at most this many candidate ports are hashed per new flow.
pub const MAX_RSS_CANDIDATES: u32 = 4096;

/// Which worker core this is, of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreId {
    /// This core's index, `0..count`; it polls rx queue `index` of every port.
    pub index: u16,
    /// How many worker cores there are (at least 1).
    pub count: u16,
}

impl CoreId {
    /// The only core.
    pub const SOLE: CoreId = CoreId { index: 0, count: 1 };

    /// Core `index` of `count`; a zero count is taken as 1 and the index reduced into range.
    pub fn new(index: u16, count: u16) -> Self {
        let count = count.max(1);
        Self {
            index: index % count,
            count,
        }
    }
}

/// The SNAT addresses of each port, derived from a snapshot (on the worker, when it is swapped in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnatSources {
    per_port: Vec<(Vec<Ipv4Addr>, Vec<Ipv6Addr>)>,
    /// Every address some port uses, sorted: what return traffic is addressed to.
    all: Vec<IpAddr>,
}

impl SnatSources {
    /// Per port: the configured addresses on the port's prefixes (or all configured ones if none
    /// is on them), or else the port's first address of the family.
    pub fn derive(snapshot: &Snapshot) -> Self {
        let settings = snapshot.l4.settings();
        let per_port: Vec<_> = snapshot
            .ports
            .iter()
            .map(|p| {
                let v4 = pick(&settings.snat_ipv4, p.ipv4.first().map(|(a, _)| *a), |a| {
                    p.ipv4.iter().any(|(n, l)| prefix_contains_v4(*n, *l, *a))
                });
                let v6 = pick(&settings.snat_ipv6, p.ipv6.first().map(|(a, _)| *a), |a| {
                    p.ipv6.iter().any(|(n, l)| prefix_contains_v6(*n, *l, *a))
                });
                (v4, v6)
            })
            .collect();
        let mut all: Vec<IpAddr> = per_port
            .iter()
            .flat_map(|(v4, v6)| {
                let v4 = v4.iter().map(|a| IpAddr::V4(*a));
                v4.chain(v6.iter().map(|a| IpAddr::V6(*a)))
            })
            .collect();
        all.sort_unstable();
        all.dedup();
        Self { per_port, all }
    }

    /// Whether `ip` is a SNAT address of some port.
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.all.binary_search(&ip).is_ok()
    }

    /// Every SNAT address, sorted.
    pub fn all(&self) -> &[IpAddr] {
        &self.all
    }

    /// The SNAT address for a flow leaving through `port` to a backend of the family of `v4`,
    /// spread over the port's addresses by `hash`.
    #[inline]
    pub fn source(&self, port: usize, v4: bool, hash: u64) -> Option<IpAddr> {
        let (a4, a6) = self.per_port.get(port)?;
        if v4 {
            let n = a4.len() as u64;
            a4.get((hash % n.max(1)) as usize).map(|a| IpAddr::V4(*a))
        } else {
            let n = a6.len() as u64;
            a6.get((hash % n.max(1)) as usize).map(|a| IpAddr::V6(*a))
        }
    }
}

fn pick<A: Copy>(configured: &[A], default: Option<A>, on_port: impl Fn(&A) -> bool) -> Vec<A> {
    if configured.is_empty() {
        return default.into_iter().collect();
    }
    let here: Vec<A> = configured.iter().copied().filter(|a| on_port(a)).collect();
    if here.is_empty() {
        configured.to_vec()
    } else {
        here
    }
}

/// The core that owns the return traffic `key` (backend → SNAT address, as it arrives), by the
/// rule SNAT ports are taken with. None where RSS sends it to a queue no core polls.
#[inline]
pub fn owner(core: CoreId, rss: Option<&RssSpec>, key: &FlowKey) -> Option<u16> {
    match rss {
        Some(rss) => {
            let hash = toeplitz::hash_tuple(&rss.key, key.src, key.dst, key.sport, key.dport);
            toeplitz::queue(&rss.reta, hash).filter(|&q| q < core.count)
        }
        None => Some(key.dport % core.count.max(1)),
    }
}

/// The core that owns a client's connection to an L7 listener (`key` as it arrives: client → VIP), so that
/// every segment of it is handled where its TCP state lives. With RSS, the queue the NIC picks (no hand-off
/// at all); without, a hash of the client's address and port (its source port alone would not do: Linux
/// prefers even ports for `connect`).
#[inline]
pub fn client_owner(core: CoreId, rss: Option<&RssSpec>, key: &FlowKey) -> Option<u16> {
    match rss {
        Some(_) => owner(core, rss, key),
        None => {
            let ip = match key.src {
                IpAddr::V4(a) => u64::from(u32::from(a)),
                IpAddr::V6(a) => {
                    let bits = u128::from(a);
                    (bits as u64) ^ ((bits >> 64) as u64)
                }
            };
            let hash = avalanche(ip ^ (u64::from(key.sport) << 32));
            Some((hash % u64::from(core.count.max(1))) as u16)
        }
    }
}

/// The return traffic of a flow: from `backend`:`backend_port` to `snat`:(the port to pick).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnPath {
    /// The backend's address.
    pub backend: IpAddr,
    /// The backend's port.
    pub backend_port: u16,
    /// The SNAT address.
    pub snat: IpAddr,
}

/// A SNAT port in `ports` that this core owns for `path` and that `in_use` says is free. The
/// search starts at a point drawn from `hash` and is bounded ([`MAX_IN_USE_CHECKS`],
/// [`MAX_RSS_CANDIDATES`]); None when it finds nothing.
pub fn pick_port(
    core: CoreId,
    rss: Option<&RssSpec>,
    ports: SnatPorts,
    path: ReturnPath,
    hash: u64,
    mut in_use: impl FnMut(u16) -> bool,
) -> Option<u16> {
    match rss {
        Some(rss) => {
            let base = toeplitz::tuple_base(&rss.key, path.backend, path.snat, path.backend_port);
            let n = ports.len();
            let mut checks = 0;
            for t in 0..n.min(MAX_RSS_CANDIDATES) {
                let port = port_at(ports, probe(hash, t, n))?;
                let h = base ^ toeplitz::port_part(&rss.key, path.backend.is_ipv4(), port);
                if toeplitz::queue(&rss.reta, h) != Some(core.index) {
                    continue;
                }
                if !in_use(port) {
                    return Some(port);
                }
                checks += 1;
                if checks >= MAX_IN_USE_CHECKS {
                    break;
                }
            }
            None
        }
        None => {
            // The owned ports form first, first + count, ... up to hi.
            let count = u32::from(core.count.max(1));
            let lo = u32::from(ports.lo);
            let first = lo + (u32::from(core.index) + count - lo % count) % count;
            let hi = u32::from(ports.hi);
            if first > hi {
                return None;
            }
            let owned = (hi - first) / count + 1;
            for t in 0..owned.min(MAX_IN_USE_CHECKS as u32) {
                let k = probe(hash, t, owned);
                let port = u16::try_from(first + k * count).ok()?;
                if !in_use(port) {
                    return Some(port);
                }
            }
            None
        }
    }
}

/// The `t`-th place to look among `n`: a range no larger than the probe budget is scanned whole
/// from a hashed start; in a larger one every probe is an independent draw. Scanning onwards from
/// one start would let taken ports gather into runs (as in a linearly probed hash table) that a
/// bounded scan cannot cross: with one SNAT address, flows failed once ports were ~48 % used.
/// With independent draws, 32 probes all miss at half load with probability 2^-32.
fn probe(hash: u64, t: u32, n: u32) -> u32 {
    let n64 = u64::from(n.max(1));
    if n <= MAX_IN_USE_CHECKS as u32 {
        ((hash % n64 + u64::from(t)) % n64) as u32
    } else {
        (avalanche(hash ^ u64::from(t).wrapping_mul(0x9e37_79b9_7f4a_7c15)) % n64) as u32
    }
}

fn port_at(ports: SnatPorts, offset: u32) -> Option<u16> {
    u16::try_from(u32::from(ports.lo) + offset).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Proto;
    use crate::snapshot::PortSpec;

    fn path() -> ReturnPath {
        ReturnPath {
            backend: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 11)),
            backend_port: 8080,
            snat: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 1)),
        }
    }

    fn key(port: u16) -> FlowKey {
        let p = path();
        FlowKey {
            src: p.backend,
            dst: p.snat,
            sport: p.backend_port,
            dport: port,
            proto: Proto::Tcp,
        }
    }

    fn rss() -> RssSpec {
        RssSpec {
            key: (0u8..40)
                .map(|i| i.wrapping_mul(73).wrapping_add(0x5a))
                .collect(),
            reta: (0..128).map(|i| i % 4).collect(),
        }
    }

    /// Regression: with one SNAT address the bench could not open 100,000 flows to 3 backends
    /// (about 48 % of each backend's ports) because taken ports gathered into runs.
    #[test]
    fn a_busy_range_still_finds_free_ports() {
        let ports = SnatPorts {
            lo: 1024,
            hi: 65535,
        };
        let mut taken = std::collections::HashSet::new();
        let mut x = 0x1234_5678_u64;
        // Fill 75 % of the range with flows of random hashes: none may fail.
        for _ in 0..(64_512 * 3 / 4) {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let p = pick_port(CoreId::SOLE, None, ports, path(), x, |p| taken.contains(&p));
            assert!(taken.insert(p.expect("a free port")));
        }
    }

    #[test]
    fn residue_rule_gives_each_core_its_own_ports() {
        let ports = SnatPorts { lo: 1000, hi: 1011 };
        for index in 0..3 {
            let core = CoreId::new(index, 3);
            let mut taken = Vec::new();
            for h in 0..4u64 {
                let p =
                    pick_port(core, None, ports, path(), h * 7, |p| taken.contains(&p)).unwrap();
                assert!(ports.contains(p) && !taken.contains(&p));
                assert_eq!(p % 3, index);
                assert_eq!(owner(core, None, &key(p)), Some(index));
                taken.push(p);
            }
            assert_eq!(
                pick_port(core, None, ports, path(), 0, |p| taken.contains(&p)),
                None
            );
        }
    }

    #[test]
    fn rss_rule_picks_ports_that_hash_to_this_core() {
        let rss = rss();
        let ports = SnatPorts {
            lo: 1024,
            hi: 65535,
        };
        for index in 0..4 {
            let core = CoreId::new(index, 4);
            for h in [1u64, 99, 12345] {
                let p = pick_port(core, Some(&rss), ports, path(), h, |_| false).unwrap();
                let k = key(p);
                let hash = toeplitz::hash_tuple(&rss.key, k.src, k.dst, k.sport, k.dport);
                assert_eq!(toeplitz::queue(&rss.reta, hash), Some(index));
                assert_eq!(owner(core, Some(&rss), &k), Some(index));
            }
        }
        let all_busy = pick_port(CoreId::new(0, 4), Some(&rss), ports, path(), 5, |_| true);
        assert_eq!(all_busy, None);
    }

    #[test]
    fn sources_default_to_the_first_port_address() {
        let mut s = Snapshot {
            ports: vec![PortSpec {
                name: "p".into(),
                mac: [2, 0, 0, 0, 0, 1],
                vlan: None,
                mtu: 1500,
                ipv4: vec![
                    (Ipv4Addr::new(198, 19, 0, 1), 24),
                    (Ipv4Addr::new(198, 19, 0, 2), 24),
                ],
                ipv6: vec![],
            }],
            ..Snapshot::default()
        };
        let src = SnatSources::derive(&s);
        assert_eq!(
            src.source(0, true, 7),
            Some(IpAddr::V4(Ipv4Addr::new(198, 19, 0, 1)))
        );
        assert_eq!(src.source(0, false, 7), None);
        assert_eq!(src.source(1, true, 7), None);
        let mut l4 = crate::l4::L4Input::default();
        l4.settings.snat_ipv4 = vec![Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(198, 19, 0, 50)];
        s.l4 = crate::l4::L4Snapshot::build(l4).unwrap();
        let src = SnatSources::derive(&s);
        assert_eq!(
            src.source(0, true, 3),
            Some(IpAddr::V4(Ipv4Addr::new(198, 19, 0, 50)))
        );
        assert!(src.contains(IpAddr::V4(Ipv4Addr::new(198, 19, 0, 50))));
        assert!(!src.contains(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5))));
    }
}
