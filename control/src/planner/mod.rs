//! The planner: a pure function from the cluster's objects to the dataplane's desired state.
//!
//! No I/O, no clock, no randomness: the same [`ClusterState`], [`PlannerSettings`] and previous [`Allocations`]
//! always give the same [`Plan`], whatever order the objects arrived in. What it cannot honour it reports as
//! [`PlanEvent`]s (the control process logs them; against a cluster they become Kubernetes Events).
//!
//! - `services`: LoadBalancer Services of our class → VIP claims and L4 listeners;
//! - `ingress`, `site`, `ingress_listeners`, `certificates`: Ingresses of our IngressClasses → sites that share
//!   VIPs (a class's, or Ingresses on VIPs of their own), VIP claims, L7 listeners, routes and certificates;
//! - `pools`, `endpoints`, `nodes`: the backends of a Service port (nodes + NodePort or pods + target port);
//! - `ipam`, `vip_range`: VIPs from pools, requests and records; `names`: the pools' and listeners' names.

mod certificates;
mod endpoints;
mod ingress;
mod ingress_listeners;
mod ipam;
mod names;
mod nodes;
mod pools;
mod services;
mod site;
mod vip_range;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use edgelb_config::desired::DesiredState;
use serde::{Deserialize, Serialize};

use crate::model::{ClusterState, ObjectRef};

pub use ingress::PROXY_PROTOCOL_ANNOTATION;
pub use ipam::Allocations;
pub use names::object_name;
pub use vip_range::{VipRange, VipRangeError};

/// The annotation that asks for VIPs (comma-separated, at most one per family), on a Service, an IngressClass or
/// an Ingress (which then has VIPs of its own instead of its class's).
pub const IP_ANNOTATION: &str = "edgelb.io/ip";
/// The annotation (`"true"`) on an Ingress with `tls` that redirects plain HTTP requests for its TLS hosts to HTTPS.
pub const SSL_REDIRECT_ANNOTATION: &str = "edgelb.io/ssl-redirect";
/// The default `spec.loadBalancerClass` of the Services edgelb serves.
pub const DEFAULT_LOAD_BALANCER_CLASS: &str = "edgelb.io/slb";
/// The default `spec.controller` of the IngressClasses edgelb serves.
pub const DEFAULT_INGRESS_CONTROLLER: &str = "edgelb.io/ingress-controller";

/// What the planner is told besides the cluster's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannerSettings {
    /// Services of `type: LoadBalancer` with this `spec.loadBalancerClass` are ours; others are ignored.
    pub load_balancer_class: String,
    /// Ingresses whose IngressClass has this `spec.controller` are ours; others are ignored.
    pub ingress_controller: String,
    /// Where VIPs are allocated from, in order of preference within a family.
    pub vip_pools: Vec<VipRange>,
    /// What a Service port's backends are.
    pub backends: BackendMode,
}

impl Default for PlannerSettings {
    fn default() -> Self {
        Self {
            load_balancer_class: DEFAULT_LOAD_BALANCER_CLASS.into(),
            ingress_controller: DEFAULT_INGRESS_CONTROLLER.into(),
            vip_pools: Vec::new(),
            backends: BackendMode::Nodes,
        }
    }
}

/// What a Service port's backends are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendMode {
    /// The nodes' addresses and the port's NodePort, chosen by `externalTrafficPolicy` (works with any CNI).
    Nodes,
    /// The endpoints' (pods') addresses and target port (needs pod addresses routed to the appliance).
    Pods,
}

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IpFamily {
    IPv4,
    IPv6,
}

impl IpFamily {
    /// The family of `ip`.
    pub fn of(ip: IpAddr) -> Self {
        if ip.is_ipv4() {
            Self::IPv4
        } else {
            Self::IPv6
        }
    }

    /// As Kubernetes writes it in `spec.ipFamilies` and EndpointSlice `addressType`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IPv4 => "IPv4",
            Self::IPv6 => "IPv6",
        }
    }

    /// From Kubernetes' spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "IPv4" => Some(Self::IPv4),
            "IPv6" => Some(Self::IPv6),
            _ => None,
        }
    }
}

impl fmt::Display for IpFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The planner's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The desired state; `generation` and `source` are left for the caller to fill in.
    pub desired: DesiredState,
    /// The VIPs now held, per owner: give them back to the next call so that they stay where they are.
    pub allocations: Allocations,
    /// What could not be done as asked, and why; sorted by object.
    pub events: Vec<PlanEvent>,
    /// Ingress rules that lost to an older Ingress (each also has a Warning event on the loser).
    pub conflicts: Vec<Conflict>,
    /// What `status.loadBalancer.ingress` of each Service and Ingress served should list: its VIPs, or none when
    /// it got none. Objects that are not ours (or are being deleted) are absent.
    pub status_addresses: BTreeMap<ObjectRef, Vec<IpAddr>>,
}

impl Plan {
    /// The Warning events.
    pub fn warnings(&self) -> impl Iterator<Item = &PlanEvent> {
        self.events
            .iter()
            .filter(|e| e.event_type == EventType::Warning)
    }
}

/// Kubernetes' event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum EventType {
    Normal,
    Warning,
}

/// Something to tell about an object: a Kubernetes Event in all but name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PlanEvent {
    pub object: ObjectRef,
    pub event_type: EventType,
    /// A CamelCase reason, as Kubernetes Events have (`NoAddressAvailable`, `RouteConflict`, ...).
    pub reason: &'static str,
    pub message: String,
}

impl PlanEvent {
    pub(crate) fn warning(object: ObjectRef, reason: &'static str, message: String) -> Self {
        Self {
            object,
            event_type: EventType::Warning,
            reason,
            message,
        }
    }

    pub(crate) fn normal(object: ObjectRef, reason: &'static str, message: String) -> Self {
        Self {
            object,
            event_type: EventType::Normal,
            reason,
            message,
        }
    }
}

impl fmt::Display for PlanEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} {} {}: {}",
            self.event_type, self.object, self.reason, self.message
        )
    }
}

/// One Ingress rule (or TLS host, or default backend) that an older Ingress already holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Conflict {
    /// What both asked for, e.g. `host demo.example.test path /api (Prefix)`.
    pub what: String,
    pub winner: ObjectRef,
    pub loser: ObjectRef,
}

/// Plans the desired state of `state`. `allocations` are the VIPs the previous plan held (empty at start: the
/// Services' and Ingresses' status then tells which addresses they hold).
pub fn plan(state: &ClusterState, settings: &PlannerSettings, allocations: &Allocations) -> Plan {
    let mut events = Vec::new();
    let mut conflicts = Vec::new();
    let services = services::ours(state, settings, &mut events);
    let sites = ingress::ours(state, settings, &mut events);
    let mut claims: Vec<ipam::Claim> = services.iter().map(services::LbService::claim).collect();
    claims.extend(sites.iter().map(|site| site.claim(settings)));
    let told_before = events.len();
    let allocations = ipam::allocate(
        &claims,
        &settings.vip_pools,
        allocations,
        state.complete,
        &mut events,
    );
    let copies: Vec<PlanEvent> = sites
        .iter()
        .flat_map(|site| site.tell_members(&events[told_before..]))
        .collect();
    events.extend(copies);

    let mut status_addresses = BTreeMap::new();
    for service in &services {
        let owner = service.owner();
        status_addresses.insert(owner.clone(), allocations.addresses(&owner).to_vec());
    }
    for site in &sites {
        let vips = allocations.addresses(&site.owner());
        for key in site.ingress_keys() {
            status_addresses.insert(ObjectRef::new("Ingress", key.clone()), vips.to_vec());
        }
    }

    let mut desired = DesiredState::new(0, "");
    let mut book = pools::PoolBook::new(state, settings);
    for service in &services {
        let vips = allocations.addresses(&service.owner());
        desired
            .listeners
            .extend(service.listeners(vips, &mut book, &mut events));
    }
    for site in &sites {
        let vips = allocations.addresses(&site.owner());
        let built =
            ingress_listeners::build(site, state, vips, &mut book, &mut events, &mut conflicts);
        desired.l7.extend(built.listeners);
        desired.certificates.extend(built.certificates);
    }
    desired.pools = book.into_pools();
    desired.vips = allocations.all_addresses();
    desired.listeners.sort_by(|a, b| a.name.cmp(&b.name));
    desired.l7.sort_by(|a, b| a.name.cmp(&b.name));
    desired.certificates.sort_by(|a, b| a.name.cmp(&b.name));
    desired.certificates.dedup_by(|a, b| a.name == b.name);
    events.sort();
    events.dedup();
    conflicts.sort();
    Plan {
        desired,
        allocations,
        events,
        conflicts,
        status_addresses,
    }
}
