//! Certificates from the TLS Secrets that Ingresses name: only Secrets of type `kubernetes.io/tls` with a PEM
//! certificate in `tls.crt` and a PEM private key in `tls.key`; anything else is reported and left out (its hosts
//! are then served with the listener's default certificate, as ingress-nginx does).

use edgelb_config::desired::{Certificate, PemKey};
use k8s_openapi::api::core::v1::Secret;

use super::names;
use crate::model::{ClusterState, ObjectKey};

/// The Secret type that holds a TLS certificate and key.
pub(crate) const TLS_SECRET_TYPE: &str = "kubernetes.io/tls";

/// Why a Secret gives no certificate: the event's reason and message.
pub(crate) type Refusal = (&'static str, String);

/// The certificate of Secret `namespace/name`.
pub(crate) fn read(
    state: &ClusterState,
    namespace: &str,
    name: &str,
) -> Result<Certificate, Refusal> {
    let key = ObjectKey::new(namespace, name);
    let Some(secret) = state.secrets.get(&key) else {
        return Err((
            "SecretNotFound",
            format!("TLS Secret {key} does not exist: its hosts are served with the listener's default certificate"),
        ));
    };
    let invalid = |why: String| {
        Err((
            "InvalidSecret",
            format!("TLS Secret {key} {why}: its hosts are served with the listener's default certificate"),
        ))
    };
    let kind = secret.type_.as_deref().unwrap_or("Opaque");
    if kind != TLS_SECRET_TYPE {
        return invalid(format!("is of type {kind}, not {TLS_SECRET_TYPE}"));
    }
    let chain = match entry(secret, "tls.crt") {
        Some(text) if text.contains("-----BEGIN CERTIFICATE-----") => text,
        Some(_) => return invalid("has no PEM certificate in tls.crt".into()),
        None => return invalid("has no tls.crt".into()),
    };
    let key_pem = match entry(secret, "tls.key") {
        Some(text) if text.contains("PRIVATE KEY-----") => text,
        Some(_) => return invalid("has no PEM private key in tls.key".into()),
        None => return invalid("has no tls.key".into()),
    };
    Ok(Certificate {
        name: names::certificate(namespace, name),
        chain_pem: chain,
        key_pem: PemKey(key_pem),
    })
}

/// `stringData` wins over `data`, as the API server merges them.
fn entry(secret: &Secret, name: &str) -> Option<String> {
    if let Some(text) = secret.string_data.as_ref().and_then(|d| d.get(name)) {
        return Some(text.clone());
    }
    let bytes = secret.data.as_ref()?.get(name)?;
    String::from_utf8(bytes.0.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClusterObject;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

    fn with_secret(yaml: &str) -> ClusterState {
        let mut state = ClusterState::default();
        let secret: Secret = serde_yaml::from_str(yaml).unwrap();
        state.insert(ClusterObject::Secret(Box::new(secret)));
        state
    }

    fn tls_secret(kind: &str, crt: &str, key: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{ name: web-tls, namespace: shop }}\ntype: {kind}\n\
             stringData:\n  tls.crt: {crt:?}\n  tls.key: {key:?}\n"
        )
    }

    #[test]
    fn a_tls_secret_gives_its_chain_and_key() {
        let state = with_secret(&tls_secret(TLS_SECRET_TYPE, CERT, KEY));
        let cert = read(&state, "shop", "web-tls").unwrap();
        assert_eq!(cert.name, "tls-shop.web-tls");
        assert_eq!(cert.chain_pem, CERT);
        assert_eq!(cert.key_pem.0, KEY);
    }

    #[test]
    fn base64_data_is_read_too() {
        // "-----BEGIN CERTIFICATE-----\n" and "-----BEGIN PRIVATE KEY-----\n", base64.
        let yaml = "apiVersion: v1\nkind: Secret\nmetadata: { name: web-tls, namespace: shop }\n\
                    type: kubernetes.io/tls\ndata:\n  tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n  \
                    tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCg==\n";
        let cert = read(&with_secret(yaml), "shop", "web-tls").unwrap();
        assert_eq!(cert.chain_pem, "-----BEGIN CERTIFICATE-----\n");
        assert_eq!(cert.key_pem.0, "-----BEGIN PRIVATE KEY-----\n");
    }

    #[test]
    fn missing_and_unfit_secrets_are_refused_with_the_reason() {
        let state = with_secret(&tls_secret("Opaque", CERT, KEY));
        assert_eq!(
            read(&state, "shop", "other").unwrap_err(),
            (
                "SecretNotFound",
                "TLS Secret shop/other does not exist: its hosts are served with the listener's default \
                 certificate"
                    .to_string()
            )
        );
        let (reason, message) = read(&state, "shop", "web-tls").unwrap_err();
        assert_eq!(reason, "InvalidSecret");
        assert!(
            message.starts_with("TLS Secret shop/web-tls is of type Opaque, not kubernetes.io/tls"),
            "{message}"
        );
        let state = with_secret(&tls_secret(TLS_SECRET_TYPE, "not pem", KEY));
        let (_, message) = read(&state, "shop", "web-tls").unwrap_err();
        assert!(
            message.contains("has no PEM certificate in tls.crt"),
            "{message}"
        );
        let state = with_secret(&tls_secret(TLS_SECRET_TYPE, CERT, "nope"));
        let (_, message) = read(&state, "shop", "web-tls").unwrap_err();
        assert!(
            message.contains("has no PEM private key in tls.key"),
            "{message}"
        );
    }
}
