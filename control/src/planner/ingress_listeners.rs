//! What a site serves: its L7 listeners (HTTP on port 80 and, when any of its Ingresses has `tls`, HTTPS on 443,
//! on each of its VIPs), their virtual hosts and routes, and the certificates they use.
//!
//! Host names are exact or `*.` wildcards; `ImplementationSpecific` paths behave as `Prefix`. A route's backend is
//! the pool of its Service port for the Service's first IP family; one that cannot be served is an empty pool,
//! with a Warning. On port 80 a host whose TLS holder asks for `edgelb.io/ssl-redirect` is answered with a 308 to
//! HTTPS (its routes stay listed, for the record); the others are served as they are.

use std::net::IpAddr;

use edgelb_config::desired::{Certificate, HttpRoute, L7Listener, VirtualHost};
use edgelb_config::Protocol;

use super::ingress::IngressSite;
use super::pools::PoolBook;
use super::site::{self, Report, Route, Site};
use super::{Conflict, IpFamily, PlanEvent};
use crate::model::{ClusterState, ObjectKey};

const HTTP_PORT: u16 = 80;
const HTTPS_PORT: u16 = 443;

/// What a site's Ingresses make.
#[derive(Debug, Default)]
pub(crate) struct Built {
    pub listeners: Vec<L7Listener>,
    pub certificates: Vec<Certificate>,
}

/// The L7 listeners of `ingresses` on `vips` and the certificates they use.
pub(crate) fn build(
    ingresses: &IngressSite<'_>,
    state: &ClusterState,
    vips: &[IpAddr],
    book: &mut PoolBook<'_>,
    events: &mut Vec<PlanEvent>,
    conflicts: &mut Vec<Conflict>,
) -> Built {
    let mut report = Report { events, conflicts };
    let site = site::merge(&ingresses.ingresses, state, &mut report);
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
            name: ingresses.listener_name(port, family),
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
            proxy_protocol: ingresses.proxy_protocol(),
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

/// The site's hosts for HTTP (those with routes or a redirect, no certificates) and for HTTPS (all, with their
/// certificates).
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
        let redirect = entry.redirects(site);
        if !routes.is_empty() || redirect {
            http.push(VirtualHost {
                host: host.clone(),
                certificate: None,
                routes: routes.clone(),
                redirect_to_https: redirect,
            });
        }
        https.push(VirtualHost {
            host: host.clone(),
            certificate: entry.certificate.as_ref().map(|h| h.value.clone()),
            routes,
            redirect_to_https: false,
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
