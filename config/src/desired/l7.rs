//! The L7 part of the desired state: HTTP(S) listeners, virtual hosts and routes with the semantics of Kubernetes
//! Ingress, and the certificates they use. Checked here for structure and references; served by the dataplane's L7.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::DesiredState;

/// An HTTP or HTTPS listener on a VIP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L7Listener {
    pub name: String,
    pub vip: IpAddr,
    pub port: u16,
    /// Terminate TLS on this listener (certificates chosen by SNI).
    #[serde(default)]
    pub tls: bool,
    /// The certificate for unknown or missing SNI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_certificate: Option<String>,
    /// Virtual hosts, matched by the Host header (and SNI for TLS).
    #[serde(default)]
    pub hosts: Vec<VirtualHost>,
    /// Where requests go that no host and path matches (Ingress `defaultBackend`); `None`: edgelb's 404.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_pool: Option<String>,
    /// Answer every plain HTTP request with a redirect to HTTPS (a host's own flag does it for that host only).
    #[serde(default)]
    pub redirect_to_https: bool,
    /// Start every upstream connection with a PROXY protocol v2 header naming the client (an upstream connection
    /// then carries one client's requests only: none is kept alive for others).
    #[serde(default, skip_serializing_if = "is_false")]
    pub proxy_protocol: bool,
}

/// Requests for one host name: exact (`foo.example.com`), a wildcard of one label (`*.example.com`) or any (`""`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualHost {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(default)]
    pub routes: Vec<HttpRoute>,
    /// On a plain HTTP listener: answer this host's requests with a 308 to HTTPS instead of routing them
    /// (Ingress `edgelb.io/ssl-redirect`). Left out of the JSON when false, so older readers still accept it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub redirect_to_https: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A path rule of a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRoute {
    pub path: String,
    pub path_type: PathType,
    pub pool: String,
    /// The object it came from, for status and conflicts (e.g. `ingress default/web`).
    #[serde(default)]
    pub origin: String,
}

/// Kubernetes Ingress `pathType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathType {
    Exact,
    Prefix,
    /// Treated as `Prefix`, as edgelb documents.
    ImplementationSpecific,
}

/// A certificate chain and its private key, PEM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub name: String,
    pub chain_pem: String,
    pub key_pem: PemKey,
}

/// A private key in PEM: never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PemKey(pub String);

impl std::fmt::Debug for PemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PemKey(<{} bytes, redacted>)", self.0.len())
    }
}

/// What is wrong with the L7 part: the field path and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L7Problem {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for L7Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl DesiredState {
    /// Checks the L7 listeners and certificates: unique names, references to pools and certificates that exist,
    /// host names and paths as Kubernetes Ingress allows them.
    pub fn validate_l7(&self) -> Vec<L7Problem> {
        let mut problems = Vec::new();
        let pools: BTreeSet<&str> = self.pools.iter().map(|p| p.name.as_str()).collect();
        let certs: BTreeSet<&str> = self.certificates.iter().map(|c| c.name.as_str()).collect();
        let mut bad = |field: String, message: String| problems.push(L7Problem { field, message });
        let mut seen = BTreeSet::new();
        for (i, c) in self.certificates.iter().enumerate() {
            if !seen.insert(c.name.as_str()) {
                bad(
                    format!("certificates[{i}].name"),
                    format!("{:?} is used twice", c.name),
                );
            }
            if !c.chain_pem.contains("-----BEGIN CERTIFICATE-----") {
                bad(
                    format!("certificates[{i}].chain_pem"),
                    "holds no PEM certificate".into(),
                );
            }
            if !c.key_pem.0.contains("PRIVATE KEY-----") {
                bad(
                    format!("certificates[{i}].key_pem"),
                    "holds no PEM private key".into(),
                );
            }
        }
        let mut names = BTreeSet::new();
        let mut sockets = BTreeSet::new();
        for (i, l) in self.l7.iter().enumerate() {
            let at = format!("l7[{i}]");
            if !names.insert(l.name.as_str()) {
                bad(format!("{at}.name"), format!("{:?} is used twice", l.name));
            }
            if !sockets.insert((l.vip, l.port)) {
                bad(
                    format!("{at}.port"),
                    format!("{}:{} has two L7 listeners", l.vip, l.port),
                );
            }
            let cert_ref = |c: &Option<String>| {
                c.as_deref()
                    .filter(|c| !certs.contains(c))
                    .map(str::to_string)
            };
            if let Some(c) = cert_ref(&l.default_certificate) {
                bad(
                    format!("{at}.default_certificate"),
                    format!("no certificate {c:?}"),
                );
            }
            if let Some(p) = l.default_pool.as_deref().filter(|p| !pools.contains(p)) {
                bad(format!("{at}.default_pool"), format!("no pool {p:?}"));
            }
            let mut hosts = BTreeSet::new();
            for (h, vh) in l.hosts.iter().enumerate() {
                let at = format!("{at}.hosts[{h}]");
                if let Err(why) = check_host(&vh.host) {
                    bad(format!("{at}.host"), why);
                }
                if !hosts.insert(vh.host.as_str()) {
                    bad(
                        format!("{at}.host"),
                        format!("{:?} appears twice in this listener", vh.host),
                    );
                }
                if let Some(c) = cert_ref(&vh.certificate) {
                    bad(format!("{at}.certificate"), format!("no certificate {c:?}"));
                }
                for (r, route) in vh.routes.iter().enumerate() {
                    let at = format!("{at}.routes[{r}]");
                    if !route.path.starts_with('/') {
                        bad(
                            format!("{at}.path"),
                            format!("{:?} must start with '/'", route.path),
                        );
                    }
                    if !pools.contains(route.pool.as_str()) {
                        bad(format!("{at}.pool"), format!("no pool {:?}", route.pool));
                    }
                }
            }
        }
        problems
    }
}

/// A host as Ingress allows it: lowercase RFC 1123 labels, optionally `*.` in front; `""` matches any host.
/// The error says what is wrong with it.
pub fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Ok(());
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.len() > 253 || !name.split('.').all(label_ok) {
        return Err(format!(
            "{host:?} is not a host name: lowercase letters, digits and '-' in dot-separated labels, optionally '*.' first"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{DesiredBackend, DesiredPool};
    use crate::BackendState;

    fn state() -> DesiredState {
        let mut s = DesiredState::new(1, "test");
        s.pools.push(DesiredPool {
            name: "web".into(),
            backends: vec![DesiredBackend {
                address: "198.19.0.11".parse().unwrap(),
                port: 30080,
                weight: 1,
                state: BackendState::Active,
            }],
        });
        s.certificates.push(Certificate {
            name: "default-foo-tls".into(),
            chain_pem: "-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----\n".into(),
            key_pem: PemKey(
                "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n".into(),
            ),
        });
        s.l7.push(L7Listener {
            name: "ing-198.18.10.12-443".into(),
            vip: "198.18.10.12".parse().unwrap(),
            port: 443,
            tls: true,
            default_certificate: Some("default-foo-tls".into()),
            hosts: vec![VirtualHost {
                host: "*.foo.example".into(),
                certificate: Some("default-foo-tls".into()),
                routes: vec![HttpRoute {
                    path: "/api".into(),
                    path_type: PathType::Prefix,
                    pool: "web".into(),
                    origin: "ingress default/foo".into(),
                }],
                redirect_to_https: false,
            }],
            default_pool: None,
            redirect_to_https: false,
            proxy_protocol: false,
        });
        s
    }

    #[test]
    fn a_consistent_state_has_no_problems() {
        assert_eq!(state().validate_l7(), vec![]);
    }

    #[test]
    fn dangling_references_bad_hosts_and_paths_are_named() {
        let mut s = state();
        s.l7[0].hosts[0].host = "Foo.example".into();
        s.l7[0].hosts[0].routes[0].path = "api".into();
        s.l7[0].hosts[0].routes[0].pool = "nope".into();
        s.l7[0].default_certificate = Some("missing".into());
        let text: Vec<String> = s.validate_l7().iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "l7[0].default_certificate: no certificate \"missing\"",
                "l7[0].hosts[0].host: \"Foo.example\" is not a host name: lowercase letters, digits and '-' in \
                 dot-separated labels, optionally '*.' first",
                "l7[0].hosts[0].routes[0].path: \"api\" must start with '/'",
                "l7[0].hosts[0].routes[0].pool: no pool \"nope\"",
            ]
        );
    }

    #[test]
    fn a_host_redirect_is_optional_on_the_wire_and_written_only_when_set() {
        let mut s = state();
        let json = s.to_json();
        assert_eq!(
            json.matches("redirect_to_https").count(),
            1,
            "only the listener's: {json}"
        );
        let old = r#"{"host":"a.example","routes":[]}"#;
        let host: VirtualHost = serde_json::from_str(old).unwrap();
        assert!(!host.redirect_to_https, "absent reads as false");
        assert_eq!(
            serde_json::to_string(&host).unwrap(),
            old,
            "false is left out"
        );
        s.l7[0].hosts[0].redirect_to_https = true;
        let json = s.to_json();
        assert!(
            json.contains(r#""origin":"ingress default/foo"}],"redirect_to_https":true}"#),
            "{json}"
        );
        assert_eq!(DesiredState::from_json(&json).unwrap(), s);
    }

    #[test]
    fn the_private_key_is_never_printed() {
        let debug = format!("{:?}", state());
        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("redacted"));
    }
}
