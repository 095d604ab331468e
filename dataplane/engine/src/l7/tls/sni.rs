//! Per-listener certificate selection by SNI, plugged into rustls as its `ResolvesServerCert`.
//!
//! Order for a client's server name (case-insensitive):
//! 1. the listener's explicit mapping for exactly that host;
//! 2. the listener's explicit `*.parent` mapping (one label in front of `parent`);
//! 3. a SAN DNS name of one of the listener's certificates, exact, then 4. a SAN wildcard;
//! 5. the listener's default certificate (also for a client that sends no SNI).
//!
//! Among certificates whose SANs claim the same host, the first one listed (mappings in order, then the
//! SAN-only certificates, then the default) wins. With nothing found the resolver returns `None`; the
//! session then refuses the handshake with an `unrecognized_name` alert (see `session`).
//! A lookup lower-cases the name into a stack buffer and does two or three hash lookups: no allocation.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::cert_store::CertStore;
use super::error::TlsConfigError;
use super::host_pattern::{HostPattern, LowerHost};

/// One explicit host pattern -> certificate mapping of a listener.
#[derive(Copy, Clone, Debug)]
pub struct HostCert<'a> {
    /// `www.example.com` or `*.example.com` (exactly one label), any case.
    pub host: &'a str,
    /// The certificate's name in the [`CertStore`].
    pub certificate: &'a str,
}

/// A listener's certificate selection, as the desired state gives it.
#[derive(Copy, Clone, Debug)]
pub struct SniInput<'a> {
    /// The listener's name, for errors.
    pub listener: &'a str,
    /// Explicit mappings (e.g. from Ingress `spec.tls[].hosts`).
    pub hosts: &'a [HostCert<'a>],
    /// Certificates served by their own SAN names only (e.g. an Ingress TLS entry without hosts).
    pub san_certificates: &'a [&'a str],
    /// The certificate for a missing or unknown SNI; `None` refuses such clients.
    pub default: Option<&'a str>,
}

/// A listener's SNI -> certificate table, immutable once built. Share it (`Arc`) between the cores.
pub struct SniResolver {
    store: Arc<CertStore>,
    listener: Box<str>,
    exact: HashMap<Box<str>, usize>,
    wildcard: HashMap<Box<str>, usize>,
    san_exact: HashMap<Box<str>, usize>,
    san_wildcard: HashMap<Box<str>, usize>,
    default: Option<usize>,
}

impl SniResolver {
    /// Builds the listener's table over `store`. Fails on an invalid host pattern, a host mapped to two
    /// different certificates, or a certificate that the store does not hold.
    pub fn build(store: Arc<CertStore>, input: &SniInput<'_>) -> Result<Self, TlsConfigError> {
        let listener = input.listener;
        let index_of = |certificate: &str| {
            store
                .index_of(certificate)
                .ok_or_else(|| TlsConfigError::UnknownCertificate {
                    listener: listener.to_owned(),
                    certificate: certificate.to_owned(),
                })
        };
        let mut exact = HashMap::with_capacity(input.hosts.len());
        let mut wildcard = HashMap::new();
        let mut offered = Vec::with_capacity(input.hosts.len() + input.san_certificates.len() + 1);
        for mapping in input.hosts {
            let index = index_of(mapping.certificate)?;
            let pattern = HostPattern::parse(mapping.host).map_err(|reason| {
                TlsConfigError::InvalidHostPattern {
                    listener: listener.to_owned(),
                    pattern: mapping.host.to_owned(),
                    reason,
                }
            })?;
            let (map, key, shown) = match pattern {
                HostPattern::Exact(host) => (&mut exact, host.clone(), host),
                HostPattern::Wildcard(parent) => {
                    (&mut wildcard, parent.clone(), format!("*.{parent}").into())
                }
            };
            if let Some(&first) = map.get(&key) {
                if first != index {
                    return Err(conflict(&store, listener, &shown, first, index));
                }
            }
            map.insert(key, index);
            offered.push(index);
        }
        for certificate in input.san_certificates {
            offered.push(index_of(certificate)?);
        }
        let default = input.default.map(index_of).transpose()?;
        offered.extend(default);

        let (mut san_exact, mut san_wildcard) = (HashMap::new(), HashMap::new());
        for &index in &offered {
            for dns in store.dns_names_at(index).unwrap_or_default() {
                match dns.strip_prefix("*.") {
                    Some(parent) => san_wildcard.entry(parent.into()).or_insert(index),
                    None => san_exact.entry(dns.clone()).or_insert(index),
                };
            }
        }
        Ok(Self {
            store,
            listener: listener.into(),
            exact,
            wildcard,
            san_exact,
            san_wildcard,
            default,
        })
    }

    /// The certificate for a client's server name (`None`: no SNI), by the order in the module docs.
    pub fn select(&self, server_name: Option<&str>) -> Option<&Arc<CertifiedKey>> {
        self.select_index(server_name)
            .and_then(|i| self.store.key_at(i))
    }

    /// The name of the certificate that [`Self::select`] picks, for logs and tests.
    pub fn select_name(&self, server_name: Option<&str>) -> Option<&str> {
        self.select_index(server_name)
            .and_then(|i| self.store.name_at(i))
    }

    /// The store the table points into.
    pub fn store(&self) -> &Arc<CertStore> {
        &self.store
    }

    fn select_index(&self, server_name: Option<&str>) -> Option<usize> {
        let Some(host) = server_name.and_then(LowerHost::new) else {
            return self.default;
        };
        let parent = host.parent();
        let in_wildcards =
            |map: &HashMap<Box<str>, usize>| parent.and_then(|p| map.get(p)).copied();
        self.exact
            .get(host.as_str())
            .copied()
            .or_else(|| in_wildcards(&self.wildcard))
            .or_else(|| self.san_exact.get(host.as_str()).copied())
            .or_else(|| in_wildcards(&self.san_wildcard))
            .or(self.default)
    }
}

fn conflict(
    store: &CertStore,
    listener: &str,
    host: &str,
    first: usize,
    second: usize,
) -> TlsConfigError {
    let name = |i| store.name_at(i).unwrap_or_default().to_owned();
    TlsConfigError::HostConflict {
        listener: listener.to_owned(),
        host: host.to_owned(),
        first: name(first),
        second: name(second),
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.select(client_hello.server_name()).cloned()
    }
}

impl fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |i: &usize| self.store.name_at(*i).unwrap_or_default();
        let named = |map: &HashMap<Box<str>, usize>| -> Vec<(String, String)> {
            let mut list: Vec<_> = map
                .iter()
                .map(|(k, v)| (k.to_string(), name(v).to_owned()))
                .collect();
            list.sort();
            list
        };
        f.debug_struct("SniResolver")
            .field("listener", &self.listener)
            .field("exact", &named(&self.exact))
            .field("wildcard", &named(&self.wildcard))
            .field("san_exact", &named(&self.san_exact))
            .field("san_wildcard", &named(&self.san_wildcard))
            .field("default", &self.default.as_ref().map(name))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l7::tls::test_certs::input;

    fn store() -> Arc<CertStore> {
        let inputs = ["www", "www-v2", "apps", "default", "multi", "rsa"].map(input);
        Arc::new(CertStore::build(&inputs).unwrap())
    }

    fn resolver(hosts: &[HostCert<'_>], san: &[&str], default: Option<&str>) -> SniResolver {
        let input = SniInput {
            listener: "l",
            hosts,
            san_certificates: san,
            default,
        };
        SniResolver::build(store(), &input).unwrap()
    }

    fn map<'a>(host: &'a str, certificate: &'a str) -> HostCert<'a> {
        HostCert { host, certificate }
    }

    #[test]
    fn explicit_mappings_then_sans_then_default() {
        let hosts = [
            map("www.example.test", "www-v2"),
            map("*.Other.Test", "rsa"),
            map("x.apps.example.test", "www"),
        ];
        let r = resolver(&hosts, &["apps", "multi"], Some("default"));
        let cases = [
            (Some("WWW.example.test"), "www-v2"), // explicit beats the other cert's SAN
            (Some("a.other.test"), "rsa"),        // explicit wildcard
            (Some("x.apps.example.test"), "www"), // explicit exact beats the SAN wildcard
            (Some("y.apps.example.test"), "apps"), // SAN wildcard
            (Some("b.example.test"), "multi"),    // SAN exact, upper case in the certificate
            (Some("a.b.other.test"), "default"),  // a wildcard covers one label only
            (Some("other.test"), "default"),
            (Some("unknown.test"), "default"),
            (None, "default"),
        ];
        for (sni, expected) in cases {
            assert_eq!(r.select_name(sni), Some(expected), "{sni:?}");
        }
        assert!(Arc::ptr_eq(
            r.select(Some("b.example.test")).unwrap(),
            r.store().get("multi").unwrap()
        ));
    }

    #[test]
    fn sans_only_of_the_listeners_certificates_and_no_default_means_none() {
        let r = resolver(&[map("*.apps.example.test", "apps")], &[], None);
        assert_eq!(r.select_name(Some("www.example.test")), None); // "www" is in the store, not offered here
        assert_eq!(r.select_name(None), None);
        assert_eq!(r.select_name(Some("q.apps.example.test")), Some("apps"));
        assert_eq!(r.select_name(Some(&"a".repeat(300))), None);
    }

    #[test]
    fn the_first_certificate_claiming_a_san_wins() {
        let r = resolver(&[], &["www-v2", "www"], None);
        assert_eq!(r.select_name(Some("www.example.test")), Some("www-v2"));
        let r = resolver(&[], &["www", "www-v2"], None);
        assert_eq!(r.select_name(Some("www.example.test")), Some("www"));
    }

    #[test]
    fn build_errors_name_the_listener() {
        let build = |hosts: &[HostCert<'_>], default| {
            let input = SniInput {
                listener: "web",
                hosts,
                san_certificates: &[],
                default,
            };
            SniResolver::build(store(), &input).err()
        };
        assert_eq!(
            build(&[map("a.test", "nope")], None),
            Some(TlsConfigError::UnknownCertificate {
                listener: "web".into(),
                certificate: "nope".into()
            })
        );
        assert_eq!(
            build(&[], Some("gone")),
            Some(TlsConfigError::UnknownCertificate {
                listener: "web".into(),
                certificate: "gone".into()
            })
        );
        assert_eq!(
            build(&[map("*.a.test", "www"), map("*.A.test", "rsa")], None),
            Some(TlsConfigError::HostConflict {
                listener: "web".into(),
                host: "*.a.test".into(),
                first: "www".into(),
                second: "rsa".into()
            })
        );
        assert_eq!(
            build(&[map("a.*.test", "www")], None),
            Some(TlsConfigError::InvalidHostPattern {
                listener: "web".into(),
                pattern: "a.*.test".into(),
                reason: "'*' is allowed only as the whole first label"
            })
        );
        assert_eq!(
            build(&[map("a.test", "www"), map("A.test", "www")], None),
            None
        );
    }
}
