//! The certificates of one snapshot: PEM chains and keys parsed once, keys loaded with the ring provider and
//! checked against their leaf certificate, indexed by name, with the leaf's SAN DNS names for the SNI
//! fallback. Built on the management thread; read (never changed) by the listeners' SNI resolvers.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rustls::crypto::ring::sign::any_supported_type;
use rustls::sign::CertifiedKey;
use rustls::InconsistentKeys;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::error::TlsConfigError;
use super::host_pattern::HostPattern;
use super::key_kind::KeyKind;
use super::x509;

/// One certificate of the desired state, as PEM text. `Debug` shows the name and sizes, never the key.
#[derive(Copy, Clone)]
pub struct CertInput<'a> {
    /// The certificate's unique name (e.g. `namespace/secret`), used by listeners and in errors.
    pub name: &'a str,
    /// The leaf certificate followed by its intermediates, PEM (`CERTIFICATE` sections; others are skipped).
    pub chain_pem: &'a [u8],
    /// The leaf's private key, PEM: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` or `EC PRIVATE KEY`.
    pub key_pem: &'a [u8],
}

impl fmt::Debug for CertInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertInput")
            .field("name", &self.name)
            .field("chain_pem_len", &self.chain_pem.len())
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// A loaded certificate.
struct StoredCert {
    name: Box<str>,
    key: Arc<CertifiedKey>,
    /// The leaf's SAN DNS names that are valid host patterns, lower case (`*.` kept for wildcards).
    dns_names: Vec<Box<str>>,
}

/// The certificates of one snapshot, immutable once built.
pub struct CertStore {
    certs: Vec<StoredCert>,
    by_name: HashMap<Box<str>, usize>,
}

impl CertStore {
    /// Parses and loads every certificate; the first problem found is returned, naming its certificate.
    pub fn build(certs: &[CertInput<'_>]) -> Result<Self, TlsConfigError> {
        let mut store = Self {
            certs: Vec::with_capacity(certs.len()),
            by_name: HashMap::with_capacity(certs.len()),
        };
        for input in certs {
            if store.by_name.contains_key(input.name) {
                return Err(TlsConfigError::DuplicateCertificate {
                    name: input.name.to_owned(),
                });
            }
            let cert = load(input)?;
            store.by_name.insert(cert.name.clone(), store.certs.len());
            store.certs.push(cert);
        }
        Ok(store)
    }

    /// How many certificates the store holds.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether the store holds no certificate.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// The certificate chain and signing key named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<CertifiedKey>> {
        self.index_of(name).and_then(|i| self.key_at(i))
    }

    /// The SAN DNS names of the certificate named `name`, lower case (`*.` kept for wildcards), as the SNI
    /// fallback uses them. Names that are not valid host patterns are left out.
    pub fn dns_names(&self, name: &str) -> Option<&[Box<str>]> {
        self.index_of(name).and_then(|i| self.dns_names_at(i))
    }

    pub(super) fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub(super) fn key_at(&self, index: usize) -> Option<&Arc<CertifiedKey>> {
        self.certs.get(index).map(|c| &c.key)
    }

    pub(super) fn name_at(&self, index: usize) -> Option<&str> {
        self.certs.get(index).map(|c| &*c.name)
    }

    pub(super) fn dns_names_at(&self, index: usize) -> Option<&[Box<str>]> {
        self.certs.get(index).map(|c| c.dns_names.as_slice())
    }
}

impl fmt::Debug for CertStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for cert in &self.certs {
            list.entry(&format_args!(
                "{} {{ dns_names: {:?}, chain_len: {}, key: {:?} }}",
                cert.name,
                cert.dns_names,
                cert.key.cert.len(),
                cert.key.key.algorithm()
            ));
        }
        list.finish()
    }
}

/// Parses one certificate and its key and checks that they belong together.
fn load(input: &CertInput<'_>) -> Result<StoredCert, TlsConfigError> {
    let name = || input.name.to_owned();
    let chain = CertificateDer::pem_slice_iter(input.chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsConfigError::CertificateDoesNotParse {
            name: name(),
            reason: format!("chain_pem is not valid PEM: {}", pem_reason(&e)),
        })?;
    let leaf = chain
        .first()
        .ok_or_else(|| TlsConfigError::NoCertificate { name: name() })?;
    let sans = x509::san_dns_names(leaf).map_err(|_| TlsConfigError::CertificateDoesNotParse {
        name: name(),
        reason: "the leaf certificate is not valid X.509 DER".to_owned(),
    })?;
    let dns_names = sans
        .into_iter()
        .filter_map(|san| match HostPattern::parse(san).ok()? {
            HostPattern::Exact(host) => Some(host),
            HostPattern::Wildcard(parent) => Some(format!("*.{parent}").into()),
        })
        .collect();

    let key_der =
        PrivateKeyDer::from_pem_slice(input.key_pem).map_err(|e| key_pem_error(input, &e))?;
    let signing_key = any_supported_type(&key_der).map_err(|_| {
        let kind = KeyKind::of(&key_der);
        if kind.ring_can_sign() {
            TlsConfigError::KeyDoesNotParse {
                name: name(),
                reason: "the key's DER encoding is invalid",
            }
        } else {
            TlsConfigError::KeyTypeUnsupported {
                name: name(),
                kind: kind.to_string(),
            }
        }
    })?;
    drop(key_der); // the signing key holds its own copy

    let key = CertifiedKey::new(chain, signing_key);
    match key.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(_)) => {
            return Err(TlsConfigError::KeyMismatch { name: name() })
        }
        Err(other) => {
            return Err(TlsConfigError::CertificateDoesNotParse {
                name: name(),
                reason: format!("the leaf certificate is not valid: {other}"),
            })
        }
    }
    Ok(StoredCert {
        name: input.name.into(),
        key: Arc::new(key),
        dns_names,
    })
}

/// The error for a `key_pem` that gives no key.
fn key_pem_error(input: &CertInput<'_>, error: &pem::Error) -> TlsConfigError {
    let name = input.name.to_owned();
    match error {
        pem::Error::NoItemsFound
            if contains(input.key_pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----") =>
        {
            TlsConfigError::KeyTypeUnsupported {
                name,
                kind: "encrypted PKCS#8 (store the key unencrypted)".to_owned(),
            }
        }
        pem::Error::NoItemsFound => TlsConfigError::NoPrivateKey { name },
        other => TlsConfigError::KeyDoesNotParse {
            name,
            reason: pem_reason(other),
        },
    }
}

/// What is wrong with PEM text, in words that quote none of it (the text may be a key).
fn pem_reason(error: &pem::Error) -> &'static str {
    match error {
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line",
        pem::Error::IllegalSectionStart { .. } => "a PEM BEGIN line is malformed",
        pem::Error::Base64Decode(_) => "a PEM section is not valid base64",
        pem::Error::SectionTooLarge => "a PEM section is too large",
        pem::Error::NoItemsFound => "no PEM section of the expected type",
        _ => "the PEM text cannot be read",
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l7::tls::test_certs::input;

    fn build_err(inputs: &[CertInput<'_>]) -> TlsConfigError {
        match CertStore::build(inputs) {
            Ok(_) => panic!("expected an error"),
            Err(error) => error,
        }
    }

    fn leaf_der(pem: &[u8]) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem).unwrap()
    }

    #[test]
    fn loads_every_key_type_and_encoding_with_its_chain() {
        let names = ["www", "apps", "default", "multi", "p384", "rsa", "ed25519"];
        let inputs: Vec<_> = names.iter().map(|n| input(n)).collect();
        let store = CertStore::build(&inputs).unwrap();
        assert_eq!(store.len(), names.len());
        for (name, cert) in names.iter().zip(&inputs) {
            let key = store.get(name).unwrap();
            assert_eq!(key.cert.len(), 2, "{name}: leaf and CA");
            assert_eq!(key.cert[0], leaf_der(cert.chain_pem), "{name}");
        }
        assert_eq!(&*store.dns_names("multi").unwrap()[1], "b.example.test");
        assert_eq!(&*store.dns_names("apps").unwrap()[0], "*.apps.example.test");
    }

    /// A PEM section with `label` around `base64`.
    fn pem(label: &str, base64: &str) -> Vec<u8> {
        format!("-----BEGIN {label}-----\n{base64}\n-----END {label}-----\n").into_bytes()
    }

    #[test]
    fn errors_name_the_certificate_and_the_problem() {
        let www = input("www");
        let name = || "www".to_owned();
        let unsupported = |kind: &str| TlsConfigError::KeyTypeUnsupported {
            name: name(),
            kind: kind.into(),
        };
        let unparsable = |reason| TlsConfigError::KeyDoesNotParse {
            name: name(),
            reason,
        };
        // "MAMCAQA=" is SEQUENCE { INTEGER 0 }: valid DER, neither a key nor a certificate.
        let (bad_base64, empty_key) = (
            pem("PRIVATE KEY", "not*base64"),
            pem("PRIVATE KEY", "MAMCAQA="),
        );
        let encrypted = pem("ENCRYPTED PRIVATE KEY", "MAMCAQA=");
        let empty_cert = pem("CERTIFICATE", "MAMCAQA=");
        let with_key = |key_pem| CertInput { key_pem, ..www };
        let cases = [
            (
                with_key(input("default").key_pem),
                TlsConfigError::KeyMismatch { name: name() },
            ),
            (
                with_key(www.chain_pem),
                TlsConfigError::NoPrivateKey { name: name() },
            ),
            (
                with_key(input("p521").key_pem),
                unsupported("ECDSA on P-521 (supported: P-256, P-384)"),
            ),
            (
                with_key(input("rsa1024").key_pem),
                unsupported("RSA-1024 (RSA keys must have 2048 to 4096 bits)"),
            ),
            (
                with_key(&bad_base64),
                unparsable("a PEM section is not valid base64"),
            ),
            (
                with_key(&empty_key),
                unparsable("the key's DER encoding is invalid"),
            ),
            (
                with_key(&encrypted),
                unsupported("encrypted PKCS#8 (store the key unencrypted)"),
            ),
            (
                CertInput {
                    chain_pem: b"nothing here",
                    ..www
                },
                TlsConfigError::NoCertificate { name: name() },
            ),
            (
                CertInput {
                    chain_pem: &empty_cert,
                    ..www
                },
                TlsConfigError::CertificateDoesNotParse {
                    name: name(),
                    reason: "the leaf certificate is not valid X.509 DER".into(),
                },
            ),
        ];
        for (bad, expected) in cases {
            assert_eq!(build_err(&[input("apps"), bad]), expected);
        }
        assert_eq!(
            build_err(&[www, www]),
            TlsConfigError::DuplicateCertificate { name: name() }
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        let store = CertStore::build(&[input("www"), input("rsa")]).unwrap();
        let debug = format!("{store:?} {:?}", input("www"));
        assert!(
            debug.contains("www.example.test") && debug.contains("<redacted>"),
            "{debug}"
        );
        for name in ["www", "rsa"] {
            let key = PrivateKeyDer::from_pem_slice(input(name).key_pem).unwrap();
            let der = key.secret_der();
            let body_line = std::str::from_utf8(input(name).key_pem)
                .unwrap()
                .lines()
                .nth(1)
                .unwrap();
            let hex: String = der[8..24].iter().map(|b| format!("{b:02x}")).collect();
            let decimal = format!("{:?}", &der[8..16])
                .trim_matches(['[', ']'])
                .to_owned();
            for secret in [body_line, &hex, &decimal] {
                assert!(!debug.contains(secret), "{name}: debug shows {secret}");
            }
        }
    }
}
