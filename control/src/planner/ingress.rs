//! Which Ingresses are ours, and which of them share VIPs (and so one site).
//!
//! An Ingress is ours when its class (`spec.ingressClassName`, else the `kubernetes.io/ingress.class` annotation,
//! else the cluster's default IngressClass) has our `spec.controller`; one being deleted is not served.
//!
//! - An Ingress without an `edgelb.io/ip` annotation of its own shares its class's VIPs (the class's own
//!   annotation, else one per family that has a VIP pool) with the other Ingresses of that class.
//! - An Ingress with the annotation gets a site of its own on the addresses it names, like a Service does. The
//!   Ingresses that name the same addresses (in any order) share that site: several Ingresses can make up one
//!   application, and cert-manager's HTTP-01 solver Ingress can carry the same annotation. Naming other addresses
//!   that overlap is a contest that the VIP allocator settles (the oldest holder keeps them, the younger gets
//!   `AddressInUse` and no VIP); naming exactly the class's own addresses is the same as not asking.
//! - An annotation that does not parse is a Warning; the Ingress then shares its class's VIPs.
//!
//! Each site's Ingresses are merged oldest first (creation time, then namespace/name; one without a creation time
//! counts as the newest): see `site` for the conflict rules and `ingress_listeners` for what a site serves.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::ipam::{self, Claim};
use super::{names, IpFamily, PlanEvent, PlannerSettings, IP_ANNOTATION};
use crate::model::{ClusterState, ObjectKey, ObjectRef};

/// The annotation that marks the cluster's default IngressClass.
const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";
/// The annotation older Ingresses name their class with.
const LEGACY_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
/// `v2` on an IngressClass (or on the oldest Ingress of a site with its own VIPs): the site's upstream
/// connections start with a PROXY protocol v2 header naming the client.
pub const PROXY_PROTOCOL_ANNOTATION: &str = "edgelb.io/proxy-protocol";

/// Ingresses that share VIPs, oldest first: a class's, or those that ask for the same addresses.
#[derive(Debug)]
pub(crate) struct IngressSite<'a> {
    sharing: Sharing<'a>,
    /// What the site asks for: the class's annotation, or the oldest Ingress's (as written, for its messages).
    requested: Vec<IpAddr>,
    pub(crate) ingresses: Vec<(&'a ObjectKey, &'a Ingress)>,
}

/// Whose VIPs a site is on.
#[derive(Debug)]
enum Sharing<'a> {
    /// The class's: it owns them.
    Class {
        key: &'a ObjectKey,
        class: &'a IngressClass,
    },
    /// Their own: the oldest Ingress owns them on behalf of all.
    OwnVips,
}

/// An Ingress with its own VIPs: the addresses as written.
type OwnRequest<'a> = (&'a ObjectKey, &'a Ingress, Vec<IpAddr>);

/// Our Ingresses, as sites: the classes' (by class name) that have Ingresses, then those on VIPs of their own (by
/// address).
pub(crate) fn ours<'a>(
    state: &'a ClusterState,
    settings: &PlannerSettings,
    events: &mut Vec<PlanEvent>,
) -> Vec<IngressSite<'a>> {
    let mut classes = our_classes(state, settings, events);
    let default_class = default_class(state);
    let mut own: BTreeMap<Vec<IpAddr>, Vec<OwnRequest<'a>>> = BTreeMap::new();
    for (key, ingress) in &state.ingresses {
        if ingress.metadata.deletion_timestamp.is_some() {
            continue; // being deleted: served no more
        }
        let named = ingress
            .spec
            .as_ref()
            .and_then(|s| s.ingress_class_name.as_deref());
        let legacy = annotation(&ingress.metadata, LEGACY_CLASS_ANNOTATION);
        let Some(class) = named.or(legacy).or(default_class) else {
            continue;
        };
        let Some(site) = classes.get_mut(class) else {
            continue;
        };
        match own_request(key, ingress, events) {
            Some(requested) if as_set(&requested) != as_set(&site.requested) => {
                own.entry(as_set(&requested))
                    .or_default()
                    .push((key, ingress, requested));
            }
            _ => site.ingresses.push((key, ingress)),
        }
    }
    let mut sites: Vec<IngressSite<'a>> = classes
        .into_values()
        .filter(|c| !c.ingresses.is_empty())
        .collect();
    for mut members in own.into_values() {
        members.sort_by(|(ka, a, _), (kb, b, _)| age(&a.metadata, ka).cmp(&age(&b.metadata, kb)));
        let requested = members
            .first()
            .map(|(_, _, r)| r.clone())
            .unwrap_or_default();
        sites.push(IngressSite {
            sharing: Sharing::OwnVips,
            requested,
            ingresses: members.into_iter().map(|(k, i, _)| (k, i)).collect(),
        });
    }
    for site in &mut sites {
        site.ingresses
            .sort_by(|(ka, a), (kb, b)| age(&a.metadata, ka).cmp(&age(&b.metadata, kb)));
    }
    sites
}

/// Our IngressClasses by name, each an empty site on the addresses it asks for.
fn our_classes<'a>(
    state: &'a ClusterState,
    settings: &PlannerSettings,
    events: &mut Vec<PlanEvent>,
) -> BTreeMap<&'a str, IngressSite<'a>> {
    let mut classes = BTreeMap::new();
    for (key, class) in &state.ingress_classes {
        let controller = class.spec.as_ref().and_then(|s| s.controller.as_deref());
        if controller != Some(settings.ingress_controller.as_str()) {
            continue;
        }
        let object = ObjectRef::new("IngressClass", key.clone());
        let requested = match annotation(&class.metadata, IP_ANNOTATION) {
            Some(text) => ipam::parse_requested(text).unwrap_or_else(|message| {
                events.push(PlanEvent::warning(object, "InvalidAddressRequest", message));
                Vec::new()
            }),
            None => Vec::new(),
        };
        let sharing = Sharing::Class { key, class };
        classes.insert(
            key.name.as_str(),
            IngressSite {
                sharing,
                requested,
                ingresses: Vec::new(),
            },
        );
    }
    classes
}

/// The oldest IngressClass marked as the default.
fn default_class(state: &ClusterState) -> Option<&str> {
    state
        .ingress_classes
        .iter()
        .filter(|(_, c)| annotation(&c.metadata, DEFAULT_CLASS_ANNOTATION) == Some("true"))
        .min_by(|(ka, a), (kb, b)| age(&a.metadata, ka).cmp(&age(&b.metadata, kb)))
        .map(|(key, _)| key.name.as_str())
}

/// The addresses an Ingress's own `edgelb.io/ip` names; `None` when it names none or cannot be read (a Warning).
fn own_request(
    key: &ObjectKey,
    ingress: &Ingress,
    events: &mut Vec<PlanEvent>,
) -> Option<Vec<IpAddr>> {
    let text = annotation(&ingress.metadata, IP_ANNOTATION)?;
    match ipam::parse_requested(text) {
        Ok(addresses) if addresses.is_empty() => None,
        Ok(addresses) => Some(addresses),
        Err(message) => {
            let object = ObjectRef::new("Ingress", key.clone());
            let message = format!("{message}: the Ingress is served on its class's VIPs");
            events.push(PlanEvent::warning(object, "InvalidAddressRequest", message));
            None
        }
    }
}

/// Addresses as a set, whatever order and repeats they were written with.
fn as_set(addresses: &[IpAddr]) -> Vec<IpAddr> {
    let mut set = addresses.to_vec();
    set.sort_unstable();
    set.dedup();
    set
}

type Age<'a> = (bool, Option<&'a Time>, &'a ObjectKey);

/// Oldest first; objects without a creation time after all others, then by key.
fn age<'a>(meta: &'a ObjectMeta, key: &'a ObjectKey) -> Age<'a> {
    let created = meta.creation_timestamp.as_ref();
    (created.is_none(), created, key)
}

fn annotation<'a>(meta: &'a ObjectMeta, name: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(name).map(String::as_str)
}

impl<'a> IngressSite<'a> {
    /// Who holds the site's VIPs: its class, or its oldest Ingress.
    pub fn owner(&self) -> ObjectRef {
        match &self.sharing {
            Sharing::Class { key, .. } => ObjectRef::new("IngressClass", (*key).clone()),
            Sharing::OwnVips => {
                let oldest = self.ingresses.first().map(|(key, _)| (*key).clone());
                ObjectRef::new("Ingress", oldest.unwrap_or_else(|| ObjectKey::new("", "")))
            }
        }
    }

    /// Whether the site's listeners send a PROXY protocol v2 header to the backends: the class's
    /// `edgelb.io/proxy-protocol: v2` annotation, or the oldest Ingress's on a site of its own.
    pub fn proxy_protocol(&self) -> bool {
        let meta = match &self.sharing {
            Sharing::Class { class, .. } => Some(&class.metadata),
            Sharing::OwnVips => self.ingresses.first().map(|(_, i)| &i.metadata),
        };
        meta.and_then(|m| annotation(m, PROXY_PROTOCOL_ANNOTATION)) == Some("v2")
    }

    /// The site's Ingresses, oldest first.
    pub fn ingress_keys(&self) -> impl Iterator<Item = &'a ObjectKey> + '_ {
        self.ingresses.iter().map(|(key, _)| *key)
    }

    /// The name of the site's listener on `port` for `family`.
    pub fn listener_name(&self, port: u16, family: IpFamily) -> String {
        match &self.sharing {
            Sharing::Class { key, .. } => names::ingress_listener(&key.name, port, family),
            Sharing::OwnVips => {
                let (namespace, name) = self
                    .ingresses
                    .first()
                    .map_or(("", ""), |(k, _)| (k.namespace.as_str(), k.name.as_str()));
                names::own_vip_listener(namespace, name, port, family)
            }
        }
    }

    /// The site's VIPs: what it asks for, else (a class) one per family that has a VIP pool (IPv4 when none has).
    /// What the Ingresses' status shows is the record that keeps them where they are across restarts.
    pub fn claim(&self, settings: &PlannerSettings) -> Claim {
        let mut families: Vec<IpFamily> = if self.requested.is_empty() {
            settings.vip_pools.iter().map(|p| p.family()).collect()
        } else {
            self.requested.iter().map(|ip| IpFamily::of(*ip)).collect()
        };
        families.sort();
        families.dedup();
        if families.is_empty() {
            families.push(IpFamily::IPv4);
        }
        let records = self
            .ingresses
            .iter()
            .filter_map(|(_, i)| i.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref())
            .flatten()
            .filter_map(|i| i.ip.as_deref()?.trim().parse().ok())
            .collect();
        let created = match &self.sharing {
            Sharing::Class { class, .. } => class.metadata.creation_timestamp.clone(),
            Sharing::OwnVips => self
                .ingresses
                .first()
                .and_then(|(_, i)| i.metadata.creation_timestamp.clone()),
        };
        Claim {
            owner: self.owner(),
            created,
            families,
            requested: self.requested.clone(),
            records,
        }
    }

    /// The same events for every Ingress of a shared own-VIP site: what the allocator says about the owner (its
    /// oldest Ingress) concerns them all.
    pub fn tell_members(&self, told: &[PlanEvent]) -> Vec<PlanEvent> {
        if matches!(self.sharing, Sharing::Class { .. }) {
            return Vec::new();
        }
        let owner = self.owner();
        let mut copies = Vec::new();
        for event in told.iter().filter(|e| e.object == owner) {
            for key in self.ingress_keys().skip(1) {
                let mut copy = event.clone();
                copy.object = ObjectRef::new("Ingress", key.clone());
                copies.push(copy);
            }
        }
        copies
    }
}
