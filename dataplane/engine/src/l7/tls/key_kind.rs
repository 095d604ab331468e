//! What kind of private key a DER blob holds, read from its algorithm identifier, so that a key ring
//! refuses can be reported as "unsupported type" (with the type) or as "does not parse". Never reads or
//! prints key material: only the algorithm, the curve and the RSA modulus length.

use std::fmt;

use rustls_pki_types::PrivateKeyDer;

use super::der::{integer_bits, oid_to_string, tag, Reader};

/// rsaEncryption, 1.2.840.113549.1.1.1.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-RSASSA-PSS, 1.2.840.113549.1.1.10.
const RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
/// id-ecPublicKey, 1.2.840.10045.2.1.
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// id-Ed25519, 1.3.101.112.
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// id-Ed448, 1.3.101.113.
const ED448: &[u8] = &[0x2b, 0x65, 0x71];
/// id-dsa, 1.2.840.10040.4.1.
const DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
/// secp256r1 (P-256), 1.2.840.10045.3.1.7.
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// secp384r1 (P-384), 1.3.132.0.34.
const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// secp521r1 (P-521), 1.3.132.0.35.
const P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];

/// ring signs with RSA moduli in this range (bits).
const RSA_BITS_RING: std::ops::RangeInclusive<usize> = 2048..=4096;

/// The kind of a private key, as far as its encoding tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum KeyKind {
    /// RSA with a modulus of this many bits (`None`: not readable).
    Rsa(Option<usize>),
    /// RSA restricted to PSS: ring cannot load it.
    RsaPss,
    /// ECDSA on a named curve.
    Ec(Curve),
    /// Ed25519.
    Ed25519,
    /// Ed448: ring has no Ed448.
    Ed448,
    /// DSA.
    Dsa,
    /// Another algorithm, by OID.
    Other(String),
    /// The structure around the algorithm identifier does not parse.
    Unreadable,
}

/// An elliptic curve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Curve {
    /// NIST P-256.
    P256,
    /// NIST P-384.
    P384,
    /// NIST P-521: ring cannot sign with it.
    P521,
    /// Another curve, by OID (or "unnamed" when the key carries no curve).
    Other(String),
}

impl KeyKind {
    /// Reads the kind of `key` from its algorithm identifier.
    pub fn of(key: &PrivateKeyDer<'_>) -> Self {
        match key {
            PrivateKeyDer::Pkcs1(der) => Self::Rsa(pkcs1_modulus_bits(der.secret_pkcs1_der())),
            PrivateKeyDer::Sec1(der) => {
                sec1_curve(der.secret_sec1_der()).map_or(Self::Unreadable, Self::Ec)
            }
            PrivateKeyDer::Pkcs8(der) => {
                pkcs8_kind(der.secret_pkcs8_der()).unwrap_or(Self::Unreadable)
            }
            _ => Self::Unreadable,
        }
    }

    /// Whether ring (through rustls) can sign with keys of this kind; a key of such a kind that ring still
    /// refuses is corrupt rather than unsupported.
    pub fn ring_can_sign(&self) -> bool {
        match self {
            Self::Rsa(Some(bits)) => RSA_BITS_RING.contains(bits),
            Self::Rsa(None)
            | Self::Ec(Curve::P256 | Curve::P384)
            | Self::Ed25519
            | Self::Unreadable => true,
            _ => false,
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa(Some(bits)) => write!(
                f,
                "RSA-{bits} (RSA keys must have {} to {} bits)",
                RSA_BITS_RING.start(),
                RSA_BITS_RING.end()
            ),
            Self::Rsa(None) => f.write_str("RSA"),
            Self::RsaPss => f.write_str("RSA-PSS-only (use an rsaEncryption key)"),
            Self::Ec(curve) => write!(f, "ECDSA on {curve} (supported: P-256, P-384)"),
            Self::Ed25519 => f.write_str("Ed25519"),
            Self::Ed448 => f.write_str("Ed448"),
            Self::Dsa => f.write_str("DSA"),
            Self::Other(oid) => write!(f, "algorithm {oid}"),
            Self::Unreadable => f.write_str("unreadable key structure"),
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::P256 => f.write_str("P-256"),
            Self::P384 => f.write_str("P-384"),
            Self::P521 => f.write_str("P-521"),
            Self::Other(name) => write!(f, "curve {name}"),
        }
    }
}

/// PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier { algorithm, parameters }, privateKey, .. }
fn pkcs8_kind(der: &[u8]) -> Option<KeyKind> {
    let mut info = Reader::new(Reader::new(der).expect(tag::SEQUENCE).ok()?);
    info.expect(tag::INTEGER).ok()?;
    let mut algorithm = Reader::new(info.expect(tag::SEQUENCE).ok()?);
    let oid = algorithm.expect(tag::OID).ok()?;
    let private_key = info.expect(tag::OCTET_STRING).ok()?;
    Some(match oid {
        RSA_ENCRYPTION => KeyKind::Rsa(pkcs1_modulus_bits(private_key)),
        RSA_PSS => KeyKind::RsaPss,
        EC_PUBLIC_KEY => KeyKind::Ec(match algorithm.optional(tag::OID).ok()? {
            Some(curve) => curve_of(curve),
            None => sec1_curve(private_key)?,
        }),
        ED25519 => KeyKind::Ed25519,
        ED448 => KeyKind::Ed448,
        DSA => KeyKind::Dsa,
        other => KeyKind::Other(oid_to_string(other)),
    })
}

/// RSAPrivateKey ::= SEQUENCE { version INTEGER, modulus INTEGER, .. }
fn pkcs1_modulus_bits(der: &[u8]) -> Option<usize> {
    let mut key = Reader::new(Reader::new(der).expect(tag::SEQUENCE).ok()?);
    key.expect(tag::INTEGER).ok()?;
    Some(integer_bits(key.expect(tag::INTEGER).ok()?))
}

/// ECPrivateKey ::= SEQUENCE { version INTEGER, privateKey OCTET STRING, [0] parameters OPTIONAL, .. }.
/// Without parameters the curve is guessed from the scalar's length.
fn sec1_curve(der: &[u8]) -> Option<Curve> {
    let mut key = Reader::new(Reader::new(der).expect(tag::SEQUENCE).ok()?);
    key.expect(tag::INTEGER).ok()?;
    let scalar = key.expect(tag::OCTET_STRING).ok()?;
    if let Some(parameters) = key.optional(tag::CONTEXT_0).ok()? {
        return Some(curve_of(Reader::new(parameters).expect(tag::OID).ok()?));
    }
    Some(match scalar.len() {
        32 => Curve::P256,
        48 => Curve::P384,
        66 => Curve::P521,
        _ => Curve::Other("unnamed".to_owned()),
    })
}

fn curve_of(oid: &[u8]) -> Curve {
    match oid {
        P256 => Curve::P256,
        P384 => Curve::P384,
        P521 => Curve::P521,
        other => Curve::Other(oid_to_string(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;

    fn kind(pem: &[u8]) -> KeyKind {
        KeyKind::of(&PrivateKeyDer::from_pem_slice(pem).unwrap())
    }

    #[test]
    fn reads_every_test_key() {
        assert_eq!(
            kind(include_bytes!("testdata/www.key.pem")),
            KeyKind::Ec(Curve::P256)
        );
        assert_eq!(
            kind(include_bytes!("testdata/default.key.pem")),
            KeyKind::Ec(Curve::P256)
        ); // SEC1
        assert_eq!(
            kind(include_bytes!("testdata/p384.key.pem")),
            KeyKind::Ec(Curve::P384)
        );
        assert_eq!(
            kind(include_bytes!("testdata/p521.key.pem")),
            KeyKind::Ec(Curve::P521)
        );
        assert_eq!(
            kind(include_bytes!("testdata/rsa.key.pem")),
            KeyKind::Rsa(Some(2048))
        ); // PKCS#1
        assert_eq!(
            kind(include_bytes!("testdata/rsa1024.key.pem")),
            KeyKind::Rsa(Some(1024))
        );
        assert_eq!(
            kind(include_bytes!("testdata/ed25519.key.pem")),
            KeyKind::Ed25519
        );
    }

    #[test]
    fn ring_support_follows_the_kind() {
        assert!(KeyKind::Ec(Curve::P384).ring_can_sign());
        assert!(KeyKind::Rsa(Some(4096)).ring_can_sign());
        assert!(!KeyKind::Rsa(Some(1024)).ring_can_sign());
        assert!(!KeyKind::Ec(Curve::P521).ring_can_sign());
        assert!(!KeyKind::Ed448.ring_can_sign());
    }

    #[test]
    fn display_names_the_type_only() {
        assert_eq!(
            KeyKind::Ec(Curve::P521).to_string(),
            "ECDSA on P-521 (supported: P-256, P-384)"
        );
        assert_eq!(
            KeyKind::Rsa(Some(1024)).to_string(),
            "RSA-1024 (RSA keys must have 2048 to 4096 bits)"
        );
        assert_eq!(
            KeyKind::Other("1.2.3".to_owned()).to_string(),
            "algorithm 1.2.3"
        );
    }

    #[test]
    fn garbage_is_unreadable() {
        let der = PrivateKeyDer::Pkcs8(vec![0x30, 0x03, 0x02, 0x01].into());
        assert_eq!(KeyKind::of(&der), KeyKind::Unreadable);
    }
}
