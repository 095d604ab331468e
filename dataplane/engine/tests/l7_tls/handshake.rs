//! Handshakes that succeed: versions, ALPN, SNI selection, key types.

use edgelb_engine::l7::tls::{TlsError, TlsShared};
use rustls::{AlertDescription, HandshakeKind, ProtocolVersion};

use crate::support::{any_cert_client, client_config, leaf, listener, store, usual_listener, Pair};

#[test]
fn tls13_with_alpn_sni_and_the_mapped_certificate() {
    let config = usual_listener(&TlsShared::new(16).unwrap());
    let client = client_config(rustls::ALL_VERSIONS, &[b"h2", b"http/1.1"]);
    let mut pair = Pair::new(&client, "WWW.Example.Test", &config);
    pair.handshake();
    assert_eq!(
        pair.server.protocol_version(),
        Some(ProtocolVersion::TLSv1_3)
    );
    assert_eq!(pair.server.alpn(), Some(&b"http/1.1"[..]));
    assert_eq!(pair.client.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(pair.server.sni(), Some("www.example.test"));
    assert_eq!(pair.server.handshake_kind(), Some(HandshakeKind::Full));
    assert_eq!(
        pair.server.cipher_suite(),
        pair.client.negotiated_cipher_suite().map(|s| s.suite())
    );
    assert_eq!(pair.server_leaf(), leaf("www"));
}

#[test]
fn tls12_when_the_client_offers_only_tls12() {
    let config = usual_listener(&TlsShared::new(16).unwrap());
    let mut pair = Pair::new(
        &client_config(&[&rustls::version::TLS12], &[b"http/1.1"]),
        "www.example.test",
        &config,
    );
    pair.handshake();
    assert_eq!(
        pair.server.protocol_version(),
        Some(ProtocolVersion::TLSv1_2)
    );
    assert_eq!(
        pair.client.protocol_version(),
        Some(ProtocolVersion::TLSv1_2)
    );
    assert_eq!(pair.server.alpn(), Some(&b"http/1.1"[..]));
    assert_eq!(pair.server_leaf(), leaf("www"));
}

#[test]
fn every_key_type_over_both_versions() {
    let config = usual_listener(&TlsShared::new(16).unwrap());
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let client = client_config(&[version], &[]);
        for name in ["p384", "rsa", "ed25519", "default"] {
            let mut pair = Pair::new(&client, &format!("{name}.example.test"), &config);
            pair.handshake();
            assert_eq!(
                pair.server_leaf(),
                leaf(name),
                "{name} over {:?}",
                version.version
            );
            assert_eq!(pair.server.protocol_version(), Some(version.version));
        }
    }
}

#[test]
fn sni_picks_mapping_then_san_then_default() {
    let config = usual_listener(&TlsShared::new(16).unwrap());
    let cases = [
        ("x.apps.example.test", "apps"),
        ("Y.APPS.example.test", "apps"),
        ("b.example.test", "multi"),
        ("a.example.test", "multi"),
        ("x.y.apps.example.test", "default"),
        ("unknown.example.test", "default"),
    ];
    for (sni, expected) in cases {
        let mut pair = Pair::new(&any_cert_client(true), sni, &config);
        pair.handshake();
        assert_eq!(pair.server_leaf(), leaf(expected), "{sni}");
        assert_eq!(pair.server.sni(), Some(sni.to_ascii_lowercase().as_str()));
    }
}

#[test]
fn no_sni_gets_the_default_certificate() {
    let config = usual_listener(&TlsShared::new(16).unwrap());
    let mut pair = Pair::new(&any_cert_client(false), "www.example.test", &config);
    pair.handshake();
    assert_eq!(pair.server.sni(), None);
    assert_eq!(pair.server_leaf(), leaf("default"));
}

#[test]
fn a_client_without_alpn_is_served_without_alpn() {
    let config = usual_listener(&TlsShared::new(16).unwrap());
    let mut pair = Pair::new(
        &client_config(rustls::ALL_VERSIONS, &[]),
        "www.example.test",
        &config,
    );
    pair.handshake();
    assert_eq!(pair.server.alpn(), None);
}

#[test]
fn a_client_offering_only_h2_is_refused_with_no_application_protocol() {
    let config = usual_listener(&TlsShared::new(16).unwrap());
    let mut pair = Pair::new(
        &client_config(rustls::ALL_VERSIONS, &[b"h2"]),
        "www.example.test",
        &config,
    );
    pair.run();
    assert_eq!(pair.server_error, Some(TlsError::NoApplicationProtocol));
    assert_eq!(
        pair.client_error,
        Some(rustls::Error::AlertReceived(
            AlertDescription::NoApplicationProtocol
        ))
    );
}

#[test]
fn no_certificate_and_no_default_is_refused_with_unrecognized_name() {
    let store = store(&["www", "apps"]);
    let config = listener(
        &TlsShared::new(16).unwrap(),
        &store,
        &[("www.example.test", "www")],
        &["apps"],
        None,
    );
    for (sni, client) in [
        ("other.example.test", any_cert_client(true)),
        ("www.example.test", any_cert_client(false)),
    ] {
        let mut pair = Pair::new(&client, sni, &config);
        pair.run();
        assert_eq!(pair.server_error, Some(TlsError::NoCertificate), "{sni}");
        assert_eq!(
            pair.client_error,
            Some(rustls::Error::AlertReceived(
                AlertDescription::UnrecognisedName
            ))
        );
    }
    // The alert on the wire: a plaintext fatal unrecognized_name (112) record.
    let mut pair = Pair::new(&any_cert_client(true), "other.example.test", &config);
    let mut hello = Vec::new();
    pair.client.write_tls(&mut hello).unwrap();
    assert_eq!(pair.server.receive(&hello), Err(TlsError::NoCertificate));
    assert!(pair.server.pending_ciphertext());
    let mut out = [0u8; 64];
    let written = pair.server.write_ciphertext(&mut out);
    assert_eq!(out[..written], [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 112]);
    assert!(!pair.server.pending_ciphertext());
    assert_eq!(pair.server.receive(&hello), Err(TlsError::NoCertificate));
}
