//! VIP allocation: which address each Service, IngressClass or Ingress with VIPs of its own is served on.
//!
//! An owner keeps what it holds: first the address the previous plan gave it, then the one its status records
//! (`status.loadBalancer.ingress[].ip`), as long as that address is still in a VIP pool (or is what it asks for).
//! A requested address (`edgelb.io/ip`) is granted unless another live object holds it; only then do owners
//! without an address get the lowest free one of the first pool of their family that has one. Contests go to the
//! oldest object (creation time, then kind/namespace/name), so the outcome is independent of input order. Nothing
//! new is allocated before a full list of the cluster has been seen.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::{Deserialize, Serialize};

use super::{IpFamily, PlanEvent, VipRange, IP_ANNOTATION};
use crate::model::ObjectRef;

/// The VIPs each owner holds, keyed by `Kind/namespace/name` (`Service/default/web`, `IngressClass/edgelb`,
/// `Ingress/shop/web` for the oldest Ingress of those on VIPs of their own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Allocations(BTreeMap<String, Vec<IpAddr>>);

impl Allocations {
    /// The key of `owner` in this map.
    pub fn key(owner: &ObjectRef) -> String {
        if owner.key.namespace.is_empty() {
            format!("{}/{}", owner.kind, owner.key.name)
        } else {
            format!("{}/{}/{}", owner.kind, owner.key.namespace, owner.key.name)
        }
    }

    /// What `owner` holds, IPv4 first.
    pub fn addresses(&self, owner: &ObjectRef) -> &[IpAddr] {
        self.0.get(&Self::key(owner)).map_or(&[], Vec::as_slice)
    }

    /// Records that `owner` holds `ip` (its other address of that family, if any, is replaced).
    pub fn insert(&mut self, owner: &ObjectRef, ip: IpAddr) {
        let held = self.0.entry(Self::key(owner)).or_default();
        held.retain(|a| IpFamily::of(*a) != IpFamily::of(ip));
        held.push(ip);
        held.sort_by_key(|a| (IpFamily::of(*a), *a));
    }

    /// The owner key of `ip`.
    pub fn owner_of(&self, ip: IpAddr) -> Option<&str> {
        self.0
            .iter()
            .find(|(_, ips)| ips.contains(&ip))
            .map(|(owner, _)| owner.as_str())
    }

    /// Every allocated address, sorted.
    pub fn all_addresses(&self) -> Vec<IpAddr> {
        let all: BTreeSet<IpAddr> = self.0.values().flatten().copied().collect();
        all.into_iter().collect()
    }

    /// Owner keys and their addresses, sorted by owner.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[IpAddr])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An object that wants VIPs.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub owner: ObjectRef,
    pub created: Option<Time>,
    /// The families it needs an address of, in order.
    pub families: Vec<IpFamily>,
    /// Addresses it asks for (`edgelb.io/ip`).
    pub requested: Vec<IpAddr>,
    /// Addresses its status says it has.
    pub records: Vec<IpAddr>,
}

/// Parses a comma-separated list of addresses (the `edgelb.io/ip` annotation).
pub(crate) fn parse_requested(text: &str) -> Result<Vec<IpAddr>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<IpAddr>()
                .map_err(|_| format!("{IP_ANNOTATION}: {t:?} is not an IP address"))
        })
        .collect()
}

type Slot<'a> = (&'a ObjectRef, IpFamily);

/// Gives each claim an address of each of its families, or an event saying why not.
pub(crate) fn allocate(
    claims: &[Claim],
    pools: &[VipRange],
    previous: &Allocations,
    complete: bool,
    events: &mut Vec<PlanEvent>,
) -> Allocations {
    let mut order: Vec<&Claim> = claims.iter().collect();
    order.sort_by(|a, b| {
        (a.created.is_none(), &a.created, &a.owner).cmp(&(
            b.created.is_none(),
            &b.created,
            &b.owner,
        ))
    });
    let in_pool = |ip: IpAddr| pools.iter().any(|p| p.contains(ip));
    let mut taken: BTreeMap<IpAddr, &ObjectRef> = BTreeMap::new();
    let mut held: BTreeMap<Slot<'_>, IpAddr> = BTreeMap::new();

    for claim in &order {
        let before = previous
            .addresses(&claim.owner)
            .iter()
            .chain(&claim.records);
        for &family in &claim.families {
            let keep = before.clone().copied().find(|&ip| {
                IpFamily::of(ip) == family
                    && (in_pool(ip) || claim.requested.contains(&ip))
                    && !taken.contains_key(&ip)
            });
            if let Some(ip) = keep {
                taken.insert(ip, &claim.owner);
                held.insert((&claim.owner, family), ip);
            }
        }
    }

    let mut refused: BTreeSet<Slot<'_>> = BTreeSet::new();
    for claim in &order {
        let mut asked = BTreeSet::new();
        for &ip in &claim.requested {
            let family = IpFamily::of(ip);
            let problem = if !claim.families.contains(&family) {
                let families: Vec<&str> = claim.families.iter().map(|f| f.as_str()).collect();
                Some((
                    "InvalidAddressRequest",
                    format!(
                        "{IP_ANNOTATION} asks for {ip}, an {family} address, but the families served are {families:?}"
                    ),
                ))
            } else if !asked.insert(family) {
                Some((
                    "InvalidAddressRequest",
                    format!("{IP_ANNOTATION} asks for a second {family} address, {ip}: only the first is used"),
                ))
            } else {
                match taken.get(&ip) {
                    Some(holder) if *holder != &claim.owner => {
                        refused.insert((&claim.owner, family));
                        Some((
                            "AddressInUse",
                            format!("{ip} ({IP_ANNOTATION}) is held by {holder}"),
                        ))
                    }
                    Some(_) => None,
                    None => {
                        if let Some(old) = held.insert((&claim.owner, family), ip) {
                            taken.remove(&old);
                        }
                        taken.insert(ip, &claim.owner);
                        None
                    }
                }
            };
            if let Some((reason, message)) = problem {
                events.push(PlanEvent::warning(claim.owner.clone(), reason, message));
            }
        }
    }

    for claim in &order {
        for &family in &claim.families {
            let slot = (&claim.owner, family);
            if !complete || held.contains_key(&slot) || refused.contains(&slot) {
                continue;
            }
            let mut of_family = pools.iter().filter(|p| p.family() == family).peekable();
            if of_family.peek().is_none() {
                events.push(PlanEvent::warning(
                    claim.owner.clone(),
                    "NoAddressAvailable",
                    format!("no VIP pool has {family} addresses (--vip-pool)"),
                ));
                continue;
            }
            match of_family.find_map(|p| p.first_free(&taken)) {
                Some(ip) => {
                    taken.insert(ip, &claim.owner);
                    held.insert(slot, ip);
                }
                None => events.push(PlanEvent::warning(
                    claim.owner.clone(),
                    "NoAddressAvailable",
                    format!("every address of the {family} VIP pools is taken"),
                )),
            }
        }
    }

    let mut result = Allocations::default();
    for ((owner, _), ip) in held {
        result.insert(owner, ip);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ObjectKey;
    use crate::planner::EventType;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn svc(name: &str) -> ObjectRef {
        ObjectRef::new("Service", ObjectKey::new("default", name))
    }

    fn claim(name: &str, created: Option<&str>) -> Claim {
        Claim {
            owner: svc(name),
            created: created.map(|t| Time(t.parse().unwrap())),
            families: vec![IpFamily::IPv4],
            requested: vec![],
            records: vec![],
        }
    }

    fn pools() -> Vec<VipRange> {
        vec![
            "198.18.10.100-198.18.10.102".parse().unwrap(),
            "2001:2:0:10::100-2001:2:0:10::1ff".parse().unwrap(),
        ]
    }

    fn run(claims: &[Claim], previous: &Allocations) -> (Allocations, Vec<String>) {
        let mut events = Vec::new();
        let a = allocate(claims, &pools(), previous, true, &mut events);
        let texts = events.iter().map(ToString::to_string).collect();
        (a, texts)
    }

    #[test]
    fn new_owners_get_the_lowest_free_address_oldest_first() {
        let claims = [
            claim("young", Some("2024-03-01T00:00:00Z")),
            claim("no-date", None),
            claim("old", Some("2024-01-01T00:00:00Z")),
        ];
        let (a, events) = run(&claims, &Allocations::default());
        assert_eq!(events, Vec::<String>::new());
        assert_eq!(a.addresses(&svc("old")), [ip("198.18.10.100")]);
        assert_eq!(a.addresses(&svc("young")), [ip("198.18.10.101")]);
        assert_eq!(a.addresses(&svc("no-date")), [ip("198.18.10.102")]);
        assert_eq!(
            a.owner_of(ip("198.18.10.101")),
            Some("Service/default/young")
        );
    }

    #[test]
    fn held_addresses_stay_and_are_never_given_to_another() {
        let mut previous = Allocations::default();
        previous.insert(&svc("b"), ip("198.18.10.100"));
        let mut a = claim("a", Some("2024-01-01T00:00:00Z"));
        a.records = vec![ip("198.18.10.102")];
        let b = claim("b", Some("2024-02-01T00:00:00Z"));
        let c = claim("c", Some("2024-03-01T00:00:00Z"));
        let (got, events) = run(&[c, b, a], &previous);
        assert_eq!(events, Vec::<String>::new());
        assert_eq!(
            got.addresses(&svc("a")),
            [ip("198.18.10.102")],
            "status record"
        );
        assert_eq!(
            got.addresses(&svc("b")),
            [ip("198.18.10.100")],
            "previous plan"
        );
        assert_eq!(
            got.addresses(&svc("c")),
            [ip("198.18.10.101")],
            "the one left"
        );
    }

    #[test]
    fn records_outside_every_pool_are_not_kept() {
        let mut a = claim("a", None);
        a.records = vec![ip("203.0.113.5")];
        let (got, _) = run(&[a], &Allocations::default());
        assert_eq!(got.addresses(&svc("a")), [ip("198.18.10.100")]);
    }

    #[test]
    fn requests_are_granted_unless_another_holds_the_address() {
        let mut holder = claim("holder", Some("2024-05-01T00:00:00Z"));
        holder.records = vec![ip("198.18.10.101")];
        let mut asker = claim("asker", Some("2024-01-01T00:00:00Z"));
        asker.requested = vec![ip("198.18.10.101")];
        let mut outside = claim("outside", None);
        outside.requested = vec![ip("198.18.10.11")];
        let (got, events) = run(&[holder, asker, outside], &Allocations::default());
        assert_eq!(got.addresses(&svc("holder")), [ip("198.18.10.101")]);
        assert_eq!(
            got.addresses(&svc("asker")),
            [] as [IpAddr; 0],
            "no pool address instead"
        );
        assert_eq!(
            got.addresses(&svc("outside")),
            [ip("198.18.10.11")],
            "outside the pools is fine"
        );
        assert_eq!(
            events,
            ["Warning Service default/asker AddressInUse: 198.18.10.101 (edgelb.io/ip) is held by Service default/holder"]
        );
    }

    #[test]
    fn a_new_request_replaces_what_the_owner_held() {
        let mut previous = Allocations::default();
        previous.insert(&svc("a"), ip("198.18.10.100"));
        let mut a = claim("a", None);
        a.requested = vec![ip("198.18.10.102")];
        let b = claim("b", None);
        let (got, events) = run(&[a, b], &previous);
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(got.addresses(&svc("a")), [ip("198.18.10.102")]);
        assert_eq!(
            got.addresses(&svc("b")),
            [ip("198.18.10.100")],
            "freed and reused"
        );
    }

    #[test]
    fn dual_stack_and_bad_requests() {
        let mut a = claim("a", None);
        a.families = vec![IpFamily::IPv4, IpFamily::IPv6];
        a.requested = vec![ip("2001:2:0:10::12"), ip("2001:2:0:10::13")];
        let mut b = claim("b", None);
        b.requested = vec![ip("2001:2:0:10::14")];
        let (got, events) = run(&[a, b], &Allocations::default());
        assert_eq!(
            got.addresses(&svc("a")),
            [ip("198.18.10.100"), ip("2001:2:0:10::12")]
        );
        assert_eq!(got.addresses(&svc("b")), [ip("198.18.10.101")]);
        assert_eq!(
            events,
            [
                "Warning Service default/a InvalidAddressRequest: edgelb.io/ip asks for a second IPv6 address, \
                 2001:2:0:10::13: only the first is used",
                "Warning Service default/b InvalidAddressRequest: edgelb.io/ip asks for 2001:2:0:10::14, an IPv6 \
                 address, but the families served are [\"IPv4\"]",
            ]
        );
    }

    #[test]
    fn exhaustion_and_missing_pools_are_events() {
        let mut claims: Vec<Claim> = ["a", "b", "c", "d"]
            .iter()
            .map(|n| claim(n, None))
            .collect();
        claims[0].families = vec![IpFamily::IPv4, IpFamily::IPv6];
        let mut events = Vec::new();
        let v4_only: Vec<VipRange> = vec!["198.18.10.100-198.18.10.102".parse().unwrap()];
        let got = allocate(
            &claims,
            &v4_only,
            &Allocations::default(),
            true,
            &mut events,
        );
        assert_eq!(got.all_addresses().len(), 3);
        let texts: Vec<String> = events.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "Warning Service default/a NoAddressAvailable: no VIP pool has IPv6 addresses (--vip-pool)",
                "Warning Service default/d NoAddressAvailable: every address of the IPv4 VIP pools is taken",
            ]
        );
        assert!(events.iter().all(|e| e.event_type == EventType::Warning));
    }

    #[test]
    fn nothing_new_before_a_full_list() {
        let mut a = claim("a", None);
        a.records = vec![ip("198.18.10.102")];
        let mut b = claim("b", None);
        b.requested = vec![ip("198.18.10.50")];
        let c = claim("c", None);
        let mut events = Vec::new();
        let got = allocate(
            &[a, b, c],
            &pools(),
            &Allocations::default(),
            false,
            &mut events,
        );
        assert!(events.is_empty());
        assert_eq!(got.addresses(&svc("a")), [ip("198.18.10.102")]);
        assert_eq!(got.addresses(&svc("b")), [ip("198.18.10.50")]);
        assert!(got.addresses(&svc("c")).is_empty());
    }

    #[test]
    fn previous_allocations_of_vanished_owners_are_released() {
        let mut previous = Allocations::default();
        previous.insert(&svc("gone"), ip("198.18.10.100"));
        let (got, _) = run(&[claim("new", None)], &previous);
        assert_eq!(got.addresses(&svc("new")), [ip("198.18.10.100")]);
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn annotations_parse() {
        assert_eq!(
            parse_requested(" 198.18.10.11 , 2001:2:0:10::11,").unwrap(),
            [ip("198.18.10.11"), ip("2001:2:0:10::11")]
        );
        assert_eq!(
            parse_requested("198.18.10.300").unwrap_err(),
            "edgelb.io/ip: \"198.18.10.300\" is not an IP address"
        );
    }
}
