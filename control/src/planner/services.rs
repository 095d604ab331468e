//! LoadBalancer Services of our class: which are ours, the VIPs they claim, and their L4 listeners.
//!
//! A Service is ours when `spec.loadBalancerClass` is the configured class (others, and Services without a class,
//! belong to another load balancer and are ignored without a word). It gets one VIP per family of
//! `spec.ipFamilies` (IPv4 when unset, or the families of the addresses it asks for) and one listener per VIP and
//! port, with `sessionAffinity: ClientIP` and its timeout carried over. A Service being deleted (it has a
//! `deletionTimestamp`; our finalizer holds it) is treated as gone, so that its VIP is released.

use std::net::IpAddr;

use edgelb_config::desired::DesiredListener;
use edgelb_config::Protocol;
use k8s_openapi::api::core::v1::{Service, ServiceSpec};

use super::ipam::{self, Claim};
use super::pools::PoolBook;
use super::{IpFamily, PlanEvent, PlannerSettings, IP_ANNOTATION};
use crate::model::{ClusterState, ObjectKey, ObjectRef};

/// Kubernetes' default `sessionAffinityConfig.clientIP.timeoutSeconds` (3 hours) and its maximum (1 day).
const DEFAULT_AFFINITY_S: u64 = 10_800;
const MAX_AFFINITY_S: u64 = 86_400;

/// A LoadBalancer Service of our class.
#[derive(Debug)]
pub(crate) struct LbService<'a> {
    key: &'a ObjectKey,
    service: &'a Service,
    spec: &'a ServiceSpec,
    families: Vec<IpFamily>,
    requested: Vec<IpAddr>,
    records: Vec<IpAddr>,
}

/// The Services of our class that can be served, with events for those of our class that cannot.
pub(crate) fn ours<'a>(
    state: &'a ClusterState,
    settings: &PlannerSettings,
    events: &mut Vec<PlanEvent>,
) -> Vec<LbService<'a>> {
    let mut found = Vec::new();
    for (key, service) in &state.services {
        let Some(spec) = service.spec.as_ref() else {
            continue;
        };
        if spec.load_balancer_class.as_deref() != Some(settings.load_balancer_class.as_str()) {
            continue;
        }
        if service.metadata.deletion_timestamp.is_some() {
            // Being deleted: its VIP is released, then the finalizer lets the deletion finish.
            continue;
        }
        let object = ObjectRef::new("Service", key.clone());
        let kind = spec.type_.as_deref().unwrap_or("ClusterIP");
        if kind != "LoadBalancer" {
            let reason = if kind == "ExternalName" {
                "ExternalNameSkipped"
            } else {
                "NotLoadBalancer"
            };
            events.push(PlanEvent::warning(
                object,
                reason,
                format!(
                    "type {kind} with loadBalancerClass {}: only LoadBalancer Services get a VIP",
                    settings.load_balancer_class
                ),
            ));
            continue;
        }
        let requested = requested(service, spec, &object, events);
        found.push(LbService {
            key,
            service,
            spec,
            families: families(spec, &requested),
            requested,
            records: records(service),
        });
    }
    found
}

/// The annotation's addresses, else the deprecated `spec.loadBalancerIP`.
fn requested(
    service: &Service,
    spec: &ServiceSpec,
    object: &ObjectRef,
    events: &mut Vec<PlanEvent>,
) -> Vec<IpAddr> {
    let annotation = service
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(IP_ANNOTATION));
    let text = annotation.or(spec.load_balancer_ip.as_ref());
    match text.map(|t| ipam::parse_requested(t)) {
        Some(Ok(addresses)) => addresses,
        Some(Err(message)) => {
            events.push(PlanEvent::warning(
                object.clone(),
                "InvalidAddressRequest",
                message,
            ));
            Vec::new()
        }
        None => Vec::new(),
    }
}

fn families(spec: &ServiceSpec, requested: &[IpAddr]) -> Vec<IpFamily> {
    let mut families: Vec<IpFamily> = spec
        .ip_families
        .iter()
        .flatten()
        .filter_map(|f| IpFamily::parse(f))
        .collect();
    if families.is_empty() {
        families = requested.iter().map(|ip| IpFamily::of(*ip)).collect();
        families.sort();
    }
    if families.is_empty() {
        families.push(IpFamily::IPv4);
    }
    families.dedup();
    families
}

fn records(service: &Service) -> Vec<IpAddr> {
    let ingress = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref());
    ingress
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.as_deref()?.trim().parse().ok())
        .collect()
}

impl LbService<'_> {
    pub fn owner(&self) -> ObjectRef {
        ObjectRef::new("Service", self.key.clone())
    }

    pub fn claim(&self) -> Claim {
        Claim {
            owner: self.owner(),
            created: self.service.metadata.creation_timestamp.clone(),
            families: self.families.clone(),
            requested: self.requested.clone(),
            records: self.records.clone(),
        }
    }

    /// `sessionAffinity: ClientIP` as seconds of client-IP affinity.
    fn affinity(&self) -> Option<u64> {
        if self.spec.session_affinity.as_deref() != Some("ClientIP") {
            return None;
        }
        let configured = self
            .spec
            .session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .and_then(|s| u64::try_from(s).ok())
            .filter(|s| *s > 0);
        Some(configured.unwrap_or(DEFAULT_AFFINITY_S).min(MAX_AFFINITY_S))
    }

    /// One listener per VIP and port.
    pub fn listeners(
        &self,
        vips: &[IpAddr],
        book: &mut PoolBook<'_>,
        events: &mut Vec<PlanEvent>,
    ) -> Vec<DesiredListener> {
        let ports = self.spec.ports.as_deref().unwrap_or_default();
        if ports.is_empty() {
            events.push(PlanEvent::warning(
                self.owner(),
                "NoPorts",
                "the Service has no ports".into(),
            ));
        }
        let mut listeners: Vec<DesiredListener> = Vec::new();
        for &vip in vips {
            for port in ports {
                let protocol_name = port.protocol.as_deref().unwrap_or("TCP");
                let protocol = match protocol_name {
                    "TCP" => Protocol::Tcp,
                    "UDP" => Protocol::Udp,
                    other => {
                        events.push(PlanEvent::warning(
                            self.owner(),
                            "UnsupportedProtocol",
                            format!(
                                "port {}/{other} is skipped: edgelb balances TCP and UDP",
                                port.port
                            ),
                        ));
                        continue;
                    }
                };
                let Some(number) = u16::try_from(port.port).ok().filter(|p| *p > 0) else {
                    events.push(PlanEvent::warning(
                        self.owner(),
                        "InvalidPort",
                        format!("port {} is not a port number", port.port),
                    ));
                    continue;
                };
                let family = IpFamily::of(vip);
                let pool =
                    book.service_port(self.key, self.service, port, protocol, family, events);
                if listeners.iter().any(|l| l.name == pool) {
                    continue;
                }
                listeners.push(DesiredListener {
                    name: pool.clone(),
                    vip,
                    port: number,
                    protocol,
                    pool,
                    client_ip_affinity_s: self.affinity(),
                });
            }
        }
        listeners
    }
}
