//! Clients refused before any key exchange: old protocol versions (hand-written ClientHellos) and bytes
//! that are not TLS. The tests check the exact alert bytes the session queues.

use edgelb_engine::l7::tls::{TlsError, TlsSession, TlsShared};

use crate::support::usual_listener;

/// A plaintext fatal protocol_version (70) alert record.
const PROTOCOL_VERSION_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70];

/// A ClientHello record as a TLS 1.0 or 1.1 client writes it: `version` in the record and the hello, RSA
/// and ECDHE CBC suites, null compression, optional SNI and signature_algorithms extensions.
fn legacy_client_hello(version: [u8; 2], sni: Option<&str>, signature_algorithms: bool) -> Vec<u8> {
    let mut extensions = Vec::new();
    if let Some(name) = sni {
        let len = name.len() as u16;
        extensions.extend([0x00, 0x00]);
        extensions.extend((len + 5).to_be_bytes());
        extensions.extend((len + 3).to_be_bytes());
        extensions.push(0x00);
        extensions.extend(len.to_be_bytes());
        extensions.extend(name.as_bytes());
    }
    if signature_algorithms {
        extensions.extend([0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x04, 0x01]);
    }
    let mut body = Vec::new();
    body.extend(version);
    body.extend([0x5a; 32]); // random
    body.push(0); // session id
    body.extend([0x00, 0x08, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x2f, 0x00, 0x35]);
    body.extend([0x01, 0x00]); // null compression
    if !extensions.is_empty() {
        body.extend((extensions.len() as u16).to_be_bytes());
        body.extend(extensions);
    }
    let mut handshake = vec![0x01, 0x00];
    handshake.extend((body.len() as u16).to_be_bytes());
    handshake.extend(body);
    let mut record = vec![0x16, version[0], version[1]];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

fn alert_bytes(session: &mut TlsSession) -> Vec<u8> {
    let mut out = [0u8; 64];
    let written = session.write_ciphertext(&mut out);
    out[..written].to_vec()
}

#[test]
fn tls10_and_tls11_hellos_get_protocol_version() {
    let config = usual_listener(&TlsShared::new(16).unwrap());
    let cases = [
        ([0x03, 0x01], None, false), // what an old TLS 1.0 client sends
        ([0x03, 0x02], Some("www.example.test"), false), // TLS 1.1 with SNI
        ([0x03, 0x01], Some("www.example.test"), true), // rustls' own version check
        ([0x03, 0x02], None, true),
    ];
    for (version, sni, signature_algorithms) in cases {
        let hello = legacy_client_hello(version, sni, signature_algorithms);
        let mut session = TlsSession::new(config.clone());
        assert_eq!(
            session.receive(&hello),
            Err(TlsError::ProtocolVersion),
            "{version:?} {sni:?}"
        );
        assert_eq!(
            alert_bytes(&mut session),
            PROTOCOL_VERSION_ALERT,
            "{version:?} {sni:?}"
        );
        assert_eq!(session.failure(), Some(TlsError::ProtocolVersion));
        assert!(!session.is_handshaking());
        assert_eq!(session.write_plaintext(b"x"), 0);
    }
}

#[test]
fn a_tls10_hello_fed_byte_by_byte_is_refused_the_same_way() {
    let config = usual_listener(&TlsShared::new(16).unwrap());
    let hello = legacy_client_hello([0x03, 0x01], Some("www.example.test"), false);
    let mut session = TlsSession::new(config);
    let (last, head) = hello.split_last().unwrap();
    for byte in head {
        assert_eq!(session.receive(std::slice::from_ref(byte)), Ok(1));
        assert!(!session.pending_ciphertext());
    }
    assert_eq!(session.receive(&[*last]), Err(TlsError::ProtocolVersion));
    assert_eq!(alert_bytes(&mut session), PROTOCOL_VERSION_ALERT);
}

#[test]
fn a_tls12_hello_of_the_same_shape_is_not_refused_for_its_version() {
    // The same builder with version 1.2 gets past the version check and fails later, for its suites (CBC,
    // which rustls does not offer): the version is what the tests above exercise.
    let config = usual_listener(&TlsShared::new(16).unwrap());
    let mut session = TlsSession::new(config);
    let result = session.receive(&legacy_client_hello(
        [0x03, 0x03],
        Some("www.example.test"),
        true,
    ));
    assert_eq!(result, Err(TlsError::Incompatible));
}

#[test]
fn plaintext_http_is_refused_as_misbehaviour_with_an_alert() {
    let config = usual_listener(&TlsShared::new(16).unwrap());
    let mut session = TlsSession::new(config);
    assert_eq!(
        session.receive(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        Err(TlsError::Misbehaved)
    );
    let alert = alert_bytes(&mut session);
    assert_eq!(alert[..5], [0x15, 0x03, 0x03, 0x00, 0x02]);
    assert_eq!(alert[5], 0x02, "fatal");
    assert_eq!(session.receive(b"more"), Err(TlsError::Misbehaved));
}

#[test]
fn a_corrupted_record_after_the_handshake_fails_and_the_alert_still_goes_out() {
    use crate::support::{default_client, Pair};
    use rustls::AlertDescription;
    use std::io::Write as _;

    let config = usual_listener(&TlsShared::new(16).unwrap());
    let mut pair = Pair::new(&default_client(), "www.example.test", &config);
    pair.handshake();
    pair.client
        .writer()
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .unwrap();
    let mut record = Vec::new();
    pair.client.write_tls(&mut record).unwrap();
    let last = record.len() - 1;
    record[last] ^= 0x01; // breaks the AEAD tag
    assert_eq!(pair.server.receive(&record), Err(TlsError::DecryptFailed));
    assert!(pair.server.pending_ciphertext());
    pair.run(); // delivers the (encrypted) bad_record_mac alert
    assert_eq!(
        pair.client_error,
        Some(rustls::Error::AlertReceived(AlertDescription::BadRecordMac))
    );
    assert_eq!(
        pair.server.receive(b"\x17\x03\x03\x00\x01x"),
        Err(TlsError::DecryptFailed)
    );
    assert_eq!(pair.server.read_plaintext(&mut [0u8; 16]), 0);
}
