//! Merging the Ingresses that share VIPs into a site: hosts, their routes and certificates, the default backend,
//! and which hosts plain HTTP redirects to HTTPS.
//!
//! Ingresses are visited oldest first; a host+path, a host's certificate or the default backend that an older
//! Ingress holds is not taken over: the younger one gets a Warning event and a [`Conflict`] entry. Hosts are exact
//! names or `*.` wildcards as Ingress allows them; a path is Exact, or Prefix-like (`Prefix` and
//! `ImplementationSpecific` conflict with each other). A TLS Secret that is missing or unfit is reported and its
//! hosts served without a certificate of their own.
//!
//! `edgelb.io/ssl-redirect: "true"` on an Ingress with `tls` redirects the hosts it holds the TLS of: a host's TLS
//! is held by the Ingress whose certificate it has, else by the oldest Ingress that lists it under `tls`. So a
//! host whose rules come from several Ingresses redirects when the one holding its TLS asks, whoever added the
//! rules. A `tls` entry without hosts (the default certificate) redirects nothing.

use std::collections::{BTreeMap, BTreeSet};

use edgelb_config::desired::{Certificate, PathType};
use k8s_openapi::api::networking::v1::{Ingress, IngressBackend, IngressRule, IngressTLS};

use super::certificates;
use super::{Conflict, PlanEvent, SSL_REDIRECT_ANNOTATION};
use crate::model::{ClusterState, ObjectKey, ObjectRef};

/// Something an Ingress holds in the merged site, and which Ingress.
#[derive(Debug, Clone)]
pub(crate) struct Held<'a, T> {
    pub(crate) value: T,
    pub(crate) by: &'a ObjectKey,
}

/// A route's target: the Ingress's namespace and its backend.
#[derive(Debug, Clone)]
pub(crate) struct Route<'a> {
    pub(crate) path_type: PathType,
    pub(crate) namespace: &'a str,
    pub(crate) backend: &'a IngressBackend,
}

#[derive(Debug, Default)]
pub(crate) struct Host<'a> {
    pub(crate) certificate: Option<Held<'a, String>>,
    /// The oldest Ingress that lists the host under `tls` (whether or not its Secret is usable).
    pub(crate) tls_listed_by: Option<&'a ObjectKey>,
    /// By path and whether it is exact (Prefix and ImplementationSpecific are one kind).
    pub(crate) routes: BTreeMap<(String, bool), Held<'a, Route<'a>>>,
}

/// The Ingresses of one set of VIPs merged, before the backends are resolved per family.
#[derive(Debug, Default)]
pub(crate) struct Site<'a> {
    pub(crate) hosts: BTreeMap<String, Host<'a>>,
    pub(crate) default_backend: Option<Held<'a, Route<'a>>>,
    pub(crate) default_certificate: Option<Held<'a, String>>,
    pub(crate) tls: bool,
    pub(crate) certificates: BTreeMap<String, Certificate>,
    /// The Ingresses (with `tls`) that ask for `edgelb.io/ssl-redirect`.
    pub(crate) redirecting: BTreeSet<&'a ObjectKey>,
}

impl Host<'_> {
    /// Whether plain HTTP requests for this host are redirected: the Ingress holding its TLS asks for it.
    pub(crate) fn redirects(&self, site: &Site<'_>) -> bool {
        let holder = self
            .certificate
            .as_ref()
            .map(|held| held.by)
            .or(self.tls_listed_by);
        holder.is_some_and(|by| site.redirecting.contains(by))
    }
}

/// Where conflicts and events go while merging.
pub(crate) struct Report<'r> {
    pub(crate) events: &'r mut Vec<PlanEvent>,
    pub(crate) conflicts: &'r mut Vec<Conflict>,
}

impl Report<'_> {
    pub(crate) fn warn(&mut self, ingress: &ObjectKey, reason: &'static str, message: String) {
        let object = ObjectRef::new("Ingress", ingress.clone());
        self.events
            .push(PlanEvent::warning(object, reason, message));
    }

    /// Puts `value` in `slot` unless an older Ingress holds it with another value.
    fn take<'a, T: PartialEq>(
        &mut self,
        slot: &mut Option<Held<'a, T>>,
        value: T,
        by: &'a ObjectKey,
        what: String,
        reason: &'static str,
        any_second_is_a_conflict: bool,
    ) {
        match slot {
            None => *slot = Some(Held { value, by }),
            Some(held) if !any_second_is_a_conflict && held.value == value => {}
            Some(held) => {
                let winner = ObjectRef::new("Ingress", held.by.clone());
                self.warn(
                    by,
                    reason,
                    format!("{what} is already served by {winner}, which is older"),
                );
                self.conflicts.push(Conflict {
                    what,
                    winner,
                    loser: ObjectRef::new("Ingress", by.clone()),
                });
            }
        }
    }
}

impl PartialEq for Route<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.path_type == other.path_type
            && self.namespace == other.namespace
            && self.backend == other.backend
    }
}

/// The Ingresses of one set of VIPs (oldest first) merged into one site.
pub(crate) fn merge<'a>(
    ingresses: &[(&'a ObjectKey, &'a Ingress)],
    state: &ClusterState,
    report: &mut Report<'_>,
) -> Site<'a> {
    let mut site = Site::default();
    for &(key, ingress) in ingresses {
        let Some(spec) = ingress.spec.as_ref() else {
            continue;
        };
        let has_tls = spec.tls.as_ref().is_some_and(|t| !t.is_empty());
        if ssl_redirect(key, ingress, has_tls, report) {
            site.redirecting.insert(key);
        }
        for tls in spec.tls.iter().flatten() {
            site.add_tls(key, tls, state, report);
        }
        if let Some(backend) = spec.default_backend.as_ref() {
            let route = Route {
                path_type: PathType::Prefix,
                namespace: &key.namespace,
                backend,
            };
            let what = "the default backend".to_string();
            let slot = &mut site.default_backend;
            report.take(slot, route, key, what, "DefaultBackendConflict", true);
        }
        for rule in spec.rules.iter().flatten() {
            site.add_rule(key, rule, report);
        }
    }
    site
}

impl<'a> Site<'a> {
    /// A `tls` entry: its Secret's certificate for its hosts, or for the listener when it names none.
    fn add_tls(
        &mut self,
        key: &'a ObjectKey,
        tls: &IngressTLS,
        state: &ClusterState,
        report: &mut Report<'_>,
    ) {
        self.tls = true;
        let certificate = tls.secret_name.as_deref().and_then(|secret| {
            match certificates::read(state, &key.namespace, secret) {
                Ok(cert) => {
                    let name = cert.name.clone();
                    self.certificates.insert(name.clone(), cert);
                    Some(name)
                }
                Err((reason, message)) => {
                    report.warn(key, reason, message);
                    None
                }
            }
        });
        let hosts = tls.hosts.as_deref().unwrap_or_default();
        if hosts.is_empty() {
            if let Some(name) = certificate {
                let what = "the default certificate".to_string();
                let slot = &mut self.default_certificate;
                report.take(slot, name, key, what, "CertificateConflict", false);
            }
            return;
        }
        for host in hosts {
            if let Err(message) = check_host(host) {
                report.warn(key, "InvalidHost", message);
                continue;
            }
            let entry = self.hosts.entry(host.clone()).or_default();
            entry.tls_listed_by.get_or_insert(key);
            if let Some(name) = certificate.clone() {
                let what = format!("the certificate of host {host}");
                report.take(
                    &mut entry.certificate,
                    name,
                    key,
                    what,
                    "CertificateConflict",
                    false,
                );
            }
        }
    }

    /// A rule: its host's paths.
    fn add_rule(&mut self, key: &'a ObjectKey, rule: &'a IngressRule, report: &mut Report<'_>) {
        let host = rule.host.as_deref().unwrap_or("");
        if let Err(message) = check_host(host) {
            report.warn(key, "InvalidHost", message);
            return;
        }
        for path in rule.http.iter().flat_map(|http| &http.paths) {
            let Some(path_type) = path_type(&path.path_type) else {
                let message = format!(
                    "pathType {:?} is not Exact, Prefix or ImplementationSpecific",
                    path.path_type
                );
                report.warn(key, "InvalidPath", message);
                continue;
            };
            let text = path
                .path
                .as_deref()
                .filter(|p| !p.is_empty())
                .unwrap_or("/");
            if !text.starts_with('/') {
                let message = format!("path {text:?} does not start with '/'");
                report.warn(key, "InvalidPath", message);
                continue;
            }
            let route = Route {
                path_type,
                namespace: &key.namespace,
                backend: &path.backend,
            };
            let shown = if host.is_empty() {
                "any host".to_string()
            } else {
                format!("host {host}")
            };
            let what = format!("{shown} path {text} ({path_type:?})");
            let routes = &mut self.hosts.entry(host.to_string()).or_default().routes;
            let at = (text.to_string(), path_type == PathType::Exact);
            let mut slot = routes.remove(&at);
            report.take(&mut slot, route, key, what, "RouteConflict", true);
            if let Some(held) = slot {
                routes.insert(at, held);
            }
        }
    }
}

/// Whether `ingress` asks for (and can have) `edgelb.io/ssl-redirect`; a value other than `true`/`false`, or the
/// annotation on an Ingress without `tls`, is a Warning and no redirect.
fn ssl_redirect(
    key: &ObjectKey,
    ingress: &Ingress,
    has_tls: bool,
    report: &mut Report<'_>,
) -> bool {
    let value = ingress
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SSL_REDIRECT_ANNOTATION));
    match value.map(String::as_str) {
        None | Some("false") => false,
        Some("true") if has_tls => true,
        Some("true") => {
            let message = format!(
                "{SSL_REDIRECT_ANNOTATION} is \"true\" but the Ingress has no tls: nothing is redirected"
            );
            report.warn(key, "InvalidAnnotation", message);
            false
        }
        Some(other) => {
            let message = format!(
                "{SSL_REDIRECT_ANNOTATION}: {other:?} is not \"true\" or \"false\": nothing is redirected"
            );
            report.warn(key, "InvalidAnnotation", message);
            false
        }
    }
}

fn path_type(text: &str) -> Option<PathType> {
    match text {
        "Exact" => Some(PathType::Exact),
        "Prefix" => Some(PathType::Prefix),
        "ImplementationSpecific" => Some(PathType::ImplementationSpecific),
        _ => None,
    }
}

/// A host as Ingress allows it (the desired state's own rule); the error says the host is skipped and why.
fn check_host(host: &str) -> Result<(), String> {
    edgelb_config::desired::check_host(host)
        .map_err(|why| format!("host {host:?} is skipped: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_checked_as_ingress_does() {
        for good in ["", "demo.example.test", "*.apps.example.test", "a-1.b"] {
            assert_eq!(check_host(good), Ok(()), "{good}");
        }
        for bad in [
            "Demo.example.test",
            "*",
            "a..b",
            "-a.b",
            "*.*.b",
            "a_b.c",
            "foo.*.b",
        ] {
            assert!(check_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn path_types_are_the_three_kubernetes_names() {
        assert_eq!(path_type("Exact"), Some(PathType::Exact));
        assert_eq!(
            path_type("ImplementationSpecific"),
            Some(PathType::ImplementationSpecific)
        );
        assert_eq!(path_type("prefix"), None);
    }
}
