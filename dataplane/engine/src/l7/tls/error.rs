//! The two error types of the TLS module: [`TlsConfigError`] when certificates and listeners are built from a
//! snapshot (names what is wrong and where, never any key material), and [`TlsError`], the small `Copy`
//! reason a session failed, for per-core counters.

use rustls::PeerIncompatible;

/// A certificate or listener in the desired state cannot be used. Each variant names the certificate (or the
/// listener) and says what is wrong. No variant carries key bytes or PEM text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlsConfigError {
    /// Two certificates carry the same name.
    #[error("certificate {name:?} is defined twice")]
    DuplicateCertificate {
        /// The certificate's name.
        name: String,
    },
    /// `chain_pem` has no CERTIFICATE section.
    #[error("certificate {name:?}: chain_pem holds no certificate")]
    NoCertificate {
        /// The certificate's name.
        name: String,
    },
    /// A certificate in `chain_pem` is not valid PEM or the leaf is not a valid X.509 certificate.
    #[error("certificate {name:?}: {reason}")]
    CertificateDoesNotParse {
        /// The certificate's name.
        name: String,
        /// What is wrong (no certificate content).
        reason: String,
    },
    /// `key_pem` has no private key section (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY).
    #[error("certificate {name:?}: key_pem holds no private key")]
    NoPrivateKey {
        /// The certificate's name.
        name: String,
    },
    /// The private key is not valid PEM, or is of a supported type but does not decode.
    #[error("certificate {name:?}: the private key does not parse ({reason})")]
    KeyDoesNotParse {
        /// The certificate's name.
        name: String,
        /// What is wrong, without key material.
        reason: &'static str,
    },
    /// The private key is of a type that cannot sign TLS handshakes here.
    #[error("certificate {name:?}: the private key type {kind} is not supported")]
    KeyTypeUnsupported {
        /// The certificate's name.
        name: String,
        /// The key's type, e.g. "ECDSA on P-521".
        kind: String,
    },
    /// The private key is not the key of the leaf certificate (the first certificate in `chain_pem`).
    #[error(
        "certificate {name:?}: the private key does not match the leaf certificate's public key"
    )]
    KeyMismatch {
        /// The certificate's name.
        name: String,
    },
    /// A listener's host pattern is not a host name or a `*.` wildcard of one.
    #[error("listener {listener:?}: host pattern {pattern:?} is invalid: {reason}")]
    InvalidHostPattern {
        /// The listener's name.
        listener: String,
        /// The pattern as given.
        pattern: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A listener maps the same host pattern to two different certificates.
    #[error("listener {listener:?}: host {host:?} maps to both {first:?} and {second:?}")]
    HostConflict {
        /// The listener's name.
        listener: String,
        /// The host pattern (lower case).
        host: String,
        /// The first certificate named for it.
        first: String,
        /// The other certificate named for it.
        second: String,
    },
    /// A listener names a certificate that the store does not hold.
    #[error("listener {listener:?}: certificate {certificate:?} does not exist")]
    UnknownCertificate {
        /// The listener's name.
        listener: String,
        /// The missing certificate's name.
        certificate: String,
    },
    /// rustls refused the configuration or could not make the ticket key (no randomness).
    #[error("TLS configuration: {0}")]
    Rustls(String),
}

/// Why a TLS session failed: small and `Copy`, for per-core counters. The alert that tells the client has
/// been queued already; send it with `TlsSession::write_ciphertext` before closing the connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum TlsError {
    /// The client offers only TLS versions below 1.2 (alert protocol_version).
    #[error("client offers no TLS version above 1.1")]
    ProtocolVersion,
    /// No certificate for the client's SNI and no default certificate (alert unrecognized_name).
    #[error("no certificate for the requested server name")]
    NoCertificate,
    /// The client offers ALPN protocols, none of them http/1.1 (alert no_application_protocol).
    #[error("client offers no supported application protocol")]
    NoApplicationProtocol,
    /// The client shares no cipher suite, key exchange group or signature scheme with the server, or lacks
    /// a required extension.
    #[error("client has no parameters in common with the server")]
    Incompatible,
    /// The client broke the protocol: a malformed, oversized or unexpected message or record.
    #[error("client violated the TLS protocol")]
    Misbehaved,
    /// A record failed to decrypt or authenticate.
    #[error("a record failed to decrypt")]
    DecryptFailed,
    /// The client sent a fatal alert.
    #[error("client sent a fatal alert")]
    AlertReceived,
    /// Any other failure reported by rustls.
    #[error("TLS failure")]
    Other,
}

impl From<&rustls::Error> for TlsError {
    fn from(error: &rustls::Error) -> Self {
        use rustls::Error as E;
        match error {
            E::PeerIncompatible(
                PeerIncompatible::Tls12NotOffered
                | PeerIncompatible::Tls12NotOfferedOrEnabled
                | PeerIncompatible::SupportedVersionsExtensionRequired,
            ) => Self::ProtocolVersion,
            E::PeerIncompatible(_) => Self::Incompatible,
            E::NoApplicationProtocol => Self::NoApplicationProtocol,
            E::PeerMisbehaved(_)
            | E::InappropriateMessage { .. }
            | E::InappropriateHandshakeMessage { .. }
            | E::InvalidMessage(_)
            | E::PeerSentOversizedRecord => Self::Misbehaved,
            E::DecryptError => Self::DecryptFailed,
            E::AlertReceived(_) => Self::AlertReceived,
            _ => Self::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_rustls_errors() {
        let cases = [
            (
                rustls::Error::PeerIncompatible(PeerIncompatible::Tls12NotOffered),
                TlsError::ProtocolVersion,
            ),
            (
                rustls::Error::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon),
                TlsError::Incompatible,
            ),
            (
                rustls::Error::NoApplicationProtocol,
                TlsError::NoApplicationProtocol,
            ),
            (rustls::Error::DecryptError, TlsError::DecryptFailed),
            (rustls::Error::PeerSentOversizedRecord, TlsError::Misbehaved),
            (
                rustls::Error::AlertReceived(rustls::AlertDescription::BadRecordMac),
                TlsError::AlertReceived,
            ),
            (rustls::Error::General("x".to_owned()), TlsError::Other),
        ];
        for (error, expected) in cases {
            assert_eq!(TlsError::from(&error), expected, "{error:?}");
        }
    }

    #[test]
    fn config_errors_name_the_certificate() {
        let error = TlsConfigError::KeyMismatch {
            name: "www".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "certificate \"www\": the private key does not match the leaf certificate's public key"
        );
    }
}
