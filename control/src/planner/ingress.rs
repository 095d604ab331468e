//! Ingresses of our IngressClasses → L7 listeners, virtual hosts, routes and certificates.
//!
//! An Ingress is ours when its class (`spec.ingressClassName`, else the `kubernetes.io/ingress.class` annotation,
//! else the cluster's default IngressClass) has our `spec.controller` (one being deleted is not served). All Ingresses of one class share its VIPs
//! (requested by the class's `edgelb.io/ip` annotation, or allocated: one per family that has a VIP pool) and
//! are merged into one site: HTTP on port 80, and HTTPS on 443 when any of them has `tls`. Host names are exact or
//! `*.` wildcards; `ImplementationSpecific` paths behave as `Prefix`.
//!
//! The Ingresses are merged oldest first (creation time, then namespace/name; one without a creation time counts
//! as the newest): see `site` for the conflict rules. A route's backend is the pool of its Service port for
//! the Service's first IP family; one that cannot be served is an empty pool, with a Warning.

use std::collections::BTreeMap;
use std::net::IpAddr;

use edgelb_config::desired::{Certificate, HttpRoute, L7Listener, VirtualHost};
use edgelb_config::Protocol;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};

use super::ipam::{self, Claim};
use super::pools::PoolBook;
use super::site::{self, Report, Route, Site};
use super::{names, Conflict, IpFamily, PlanEvent, PlannerSettings, IP_ANNOTATION};
use crate::model::{ClusterState, ObjectKey, ObjectRef};

/// The annotation that marks the cluster's default IngressClass.
const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";
/// The annotation older Ingresses name their class with.
const LEGACY_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
const HTTP_PORT: u16 = 80;
const HTTPS_PORT: u16 = 443;

/// One of our IngressClasses and its Ingresses, oldest first.
#[derive(Debug)]
pub(crate) struct OurClass<'a> {
    key: &'a ObjectKey,
    class: &'a IngressClass,
    requested: Vec<IpAddr>,
    ingresses: Vec<(&'a ObjectKey, &'a Ingress)>,
}

/// What a class's Ingresses make.
#[derive(Debug, Default)]
pub(crate) struct Built {
    pub listeners: Vec<L7Listener>,
    pub certificates: Vec<Certificate>,
}

/// Our IngressClasses that have Ingresses.
pub(crate) fn ours<'a>(
    state: &'a ClusterState,
    settings: &PlannerSettings,
    events: &mut Vec<PlanEvent>,
) -> Vec<OurClass<'a>> {
    let default_class = state
        .ingress_classes
        .iter()
        .filter(|(_, c)| {
            annotation(&c.metadata.annotations, DEFAULT_CLASS_ANNOTATION) == Some("true")
        })
        .min_by(|(ka, a), (kb, b)| age(&a.metadata, ka).cmp(&age(&b.metadata, kb)))
        .map(|(key, _)| key.name.as_str());
    let mut classes: BTreeMap<&str, OurClass<'a>> = BTreeMap::new();
    for (key, class) in &state.ingress_classes {
        let controller = class.spec.as_ref().and_then(|s| s.controller.as_deref());
        if controller == Some(settings.ingress_controller.as_str()) {
            let object = ObjectRef::new("IngressClass", key.clone());
            let requested = match annotation(&class.metadata.annotations, IP_ANNOTATION) {
                Some(text) => ipam::parse_requested(text).unwrap_or_else(|message| {
                    events.push(PlanEvent::warning(object, "InvalidAddressRequest", message));
                    Vec::new()
                }),
                None => Vec::new(),
            };
            classes.insert(
                key.name.as_str(),
                OurClass {
                    key,
                    class,
                    requested,
                    ingresses: Vec::new(),
                },
            );
        }
    }
    for (key, ingress) in &state.ingresses {
        if ingress.metadata.deletion_timestamp.is_some() {
            continue; // being deleted: served no more
        }
        let named = ingress
            .spec
            .as_ref()
            .and_then(|s| s.ingress_class_name.as_deref());
        let legacy = annotation(&ingress.metadata.annotations, LEGACY_CLASS_ANNOTATION);
        let Some(class) = named.or(legacy).or(default_class) else {
            continue;
        };
        if let Some(ours) = classes.get_mut(class) {
            ours.ingresses.push((key, ingress));
        }
    }
    let mut found: Vec<OurClass<'a>> = classes
        .into_values()
        .filter(|c| !c.ingresses.is_empty())
        .collect();
    for class in &mut found {
        class
            .ingresses
            .sort_by(|(ka, a), (kb, b)| age(&a.metadata, ka).cmp(&age(&b.metadata, kb)));
    }
    found
}

type Age<'a> = (
    bool,
    Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
    &'a ObjectKey,
);

/// Oldest first; objects without a creation time after all others, then by key.
fn age<'a>(
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &'a ObjectKey,
) -> Age<'a> {
    let created = meta.creation_timestamp.as_ref();
    (created.is_none(), created, key)
}

fn annotation<'a>(
    annotations: &'a Option<BTreeMap<String, String>>,
    name: &str,
) -> Option<&'a str> {
    annotations.as_ref()?.get(name).map(String::as_str)
}

impl<'a> OurClass<'a> {
    pub fn owner(&self) -> ObjectRef {
        ObjectRef::new("IngressClass", self.key.clone())
    }

    /// The class's Ingresses, oldest first.
    pub fn ingress_keys(&self) -> impl Iterator<Item = &'a ObjectKey> + '_ {
        self.ingresses.iter().map(|(key, _)| *key)
    }

    /// The class's VIPs: what it asks for, else one per family that has a VIP pool (IPv4 when none has).
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
        Claim {
            owner: self.owner(),
            created: self.class.metadata.creation_timestamp.clone(),
            families,
            requested: self.requested.clone(),
            records,
        }
    }

    /// The L7 listeners on `vips` and the certificates they use.
    pub fn build(
        &self,
        state: &ClusterState,
        vips: &[IpAddr],
        book: &mut PoolBook<'_>,
        events: &mut Vec<PlanEvent>,
        conflicts: &mut Vec<Conflict>,
    ) -> Built {
        let mut report = Report { events, conflicts };
        let site = site::merge(&self.ingresses, state, &mut report);
        let mut built = Built::default();
        for &vip in vips {
            let family = IpFamily::of(vip);
            let mut resolve =
                |route: &Route<'_>, by: &ObjectKey| pool_of(state, route, by, book, &mut report);
            let default_pool = site
                .default_backend
                .as_ref()
                .map(|h| resolve(&h.value, h.by));
            let (http_hosts, https_hosts) = virtual_hosts(&site, &mut resolve);
            let listener = |port: u16, tls: bool, hosts: Vec<VirtualHost>| L7Listener {
                name: names::ingress_listener(&self.key.name, port, family),
                vip,
                port,
                tls,
                default_certificate: site
                    .default_certificate
                    .as_ref()
                    .filter(|_| tls)
                    .map(|h| h.value.clone()),
                hosts,
                default_pool: default_pool.clone(),
                redirect_to_https: false,
            };
            built.listeners.push(listener(HTTP_PORT, false, http_hosts));
            if site.tls {
                built
                    .listeners
                    .push(listener(HTTPS_PORT, true, https_hosts));
            }
        }
        if !vips.is_empty() {
            built.certificates = certificates_in_use(&site);
        }
        built
    }
}

/// The site's hosts for HTTP (those with routes, no certificates) and for HTTPS (all, with their certificates).
fn virtual_hosts(
    site: &Site<'_>,
    resolve: &mut dyn FnMut(&Route<'_>, &ObjectKey) -> String,
) -> (Vec<VirtualHost>, Vec<VirtualHost>) {
    let mut http = Vec::new();
    let mut https = Vec::new();
    for (host, entry) in &site.hosts {
        let routes: Vec<HttpRoute> = entry
            .routes
            .iter()
            .map(|((path, _), held)| HttpRoute {
                path: path.clone(),
                path_type: held.value.path_type,
                pool: resolve(&held.value, held.by),
                origin: format!("ingress {}", held.by),
            })
            .collect();
        if !routes.is_empty() {
            http.push(VirtualHost {
                host: host.clone(),
                certificate: None,
                routes: routes.clone(),
            });
        }
        https.push(VirtualHost {
            host: host.clone(),
            certificate: entry.certificate.as_ref().map(|h| h.value.clone()),
            routes,
        });
    }
    (http, https)
}

/// The certificates that won a host or the default, sorted by name.
fn certificates_in_use(site: &Site<'_>) -> Vec<Certificate> {
    let mut used: Vec<&str> = site
        .hosts
        .values()
        .filter_map(|h| h.certificate.as_ref())
        .chain(site.default_certificate.as_ref())
        .map(|h| h.value.as_str())
        .collect();
    used.sort_unstable();
    used.dedup();
    used.into_iter()
        .filter_map(|name| site.certificates.get(name).cloned())
        .collect()
}

/// The pool a route's backend resolves to; a backend that cannot be served gets an empty pool (L7 answers 503) and
/// a Warning on the Ingress. L7 opens its own upstream connections, so the pool is of the Service's first IP
/// family whatever the listener's: a NodePort of a single-stack IPv4 Service is not open on the nodes' IPv6
/// addresses.
fn pool_of(
    state: &ClusterState,
    route: &Route<'_>,
    ingress: &ObjectKey,
    book: &mut PoolBook<'_>,
    report: &mut Report<'_>,
) -> String {
    let Some(backend) = route.backend.service.as_ref() else {
        let message =
            "a resource backend is not supported: only Service backends are served".to_string();
        report.warn(ingress, "UnsupportedBackend", message);
        return book.missing(
            &ObjectKey::new(route.namespace, "resource"),
            "backend",
            IpFamily::IPv4,
        );
    };
    let key = ObjectKey::new(route.namespace, backend.name.clone());
    let wanted = backend.port.as_ref();
    let number = wanted.and_then(|p| p.number);
    let port_name = wanted
        .and_then(|p| p.name.as_deref())
        .filter(|n| !n.is_empty());
    let label = match (number, port_name) {
        (Some(n), _) => n.to_string(),
        (None, Some(name)) => name.to_string(),
        (None, None) => "port".to_string(),
    };
    let mut missing = |reason: &'static str, message: String, report: &mut Report<'_>| {
        report.warn(
            ingress,
            reason,
            format!("{message}: requests routed to it are answered 503"),
        );
        book.missing(&key, &label, IpFamily::IPv4)
    };
    let Some(service) = state.services.get(&key) else {
        return missing(
            "ServiceNotFound",
            format!("backend Service {key} does not exist"),
            report,
        );
    };
    let spec = service.spec.as_ref();
    let family = spec
        .and_then(|s| s.ip_families.as_ref())
        .and_then(|f| f.first())
        .and_then(|f| IpFamily::parse(f))
        .unwrap_or(IpFamily::IPv4);
    if spec.and_then(|s| s.type_.as_deref()) == Some("ExternalName") {
        let message =
            format!("backend Service {key} is of type ExternalName, which edgelb does not serve");
        return missing("ExternalNameSkipped", message, report);
    }
    let ports = spec.and_then(|s| s.ports.as_deref()).unwrap_or_default();
    let found = ports.iter().find(|p| match (number, port_name) {
        (Some(n), _) => p.port == n,
        (None, Some(name)) => p.name.as_deref() == Some(name),
        (None, None) => false,
    });
    let Some(port) = found else {
        return missing(
            "ServicePortNotFound",
            format!("backend Service {key} has no port {label}"),
            report,
        );
    };
    if port.protocol.as_deref().unwrap_or("TCP") != "TCP" {
        return missing(
            "UnsupportedProtocol",
            format!("backend Service {key} port {label} is not TCP"),
            report,
        );
    }
    book.service_port(&key, service, port, Protocol::Tcp, family, report.events)
}
