//! Resumption: TLS 1.3 tickets and TLS 1.2 session ids, on the same config and on another config (another
//! core, or a later snapshot) made with the same `TlsShared`.

use std::sync::Arc;

use edgelb_engine::l7::tls::TlsShared;
use rustls::client::{Resumption, Tls12Resumption};
use rustls::{ClientConfig, HandshakeKind, ProtocolVersion, ServerConfig};

use crate::support::{client_config, default_client, usual_listener, Pair};

/// Two handshakes of one client (sharing its session store): the first on `first`, the second on
/// `second`. Returns how the second went, as the server and the client saw it.
fn second_handshake(
    client: &Arc<ClientConfig>,
    first: &Arc<ServerConfig>,
    second: &Arc<ServerConfig>,
) -> (
    Option<HandshakeKind>,
    Option<HandshakeKind>,
    Option<ProtocolVersion>,
) {
    let mut pair = Pair::new(client, "www.example.test", first);
    pair.handshake();
    assert_eq!(pair.server.handshake_kind(), Some(HandshakeKind::Full));
    pair.client_send(b"ping"); // the client takes its TLS 1.3 tickets in with the server's next flight
    let mut pair = Pair::new(client, "www.example.test", second);
    pair.handshake();
    (
        pair.server.handshake_kind(),
        pair.client.handshake_kind(),
        pair.server.protocol_version(),
    )
}

#[test]
fn a_tls13_ticket_resumes_on_the_same_config() {
    let config = usual_listener(&TlsShared::new(16).unwrap());
    let resumed = second_handshake(&default_client(), &config, &config);
    assert_eq!(
        resumed,
        (
            Some(HandshakeKind::Resumed),
            Some(HandshakeKind::Resumed),
            Some(ProtocolVersion::TLSv1_3)
        )
    );
}

#[test]
fn a_tls13_ticket_resumes_on_another_config_sharing_the_ticketer() {
    let shared = TlsShared::new(16).unwrap();
    let (core0, core1) = (usual_listener(&shared), usual_listener(&shared));
    let resumed = second_handshake(&default_client(), &core0, &core1);
    assert_eq!(resumed.0, Some(HandshakeKind::Resumed));
}

#[test]
fn a_ticket_from_another_process_does_not_resume() {
    let (ours, theirs) = (
        usual_listener(&TlsShared::new(16).unwrap()),
        usual_listener(&TlsShared::new(16).unwrap()),
    );
    let resumed = second_handshake(&default_client(), &theirs, &ours);
    assert_eq!(resumed.0, Some(HandshakeKind::Full));
}

#[test]
fn a_tls12_session_id_resumes_on_another_config_sharing_the_cache() {
    let mut client = (*client_config(&[&rustls::version::TLS12], &[b"http/1.1"])).clone();
    client.resumption =
        Resumption::in_memory_sessions(8).tls12_resumption(Tls12Resumption::SessionIdOnly);
    let client = Arc::new(client);
    let shared = TlsShared::new(16).unwrap();
    let resumed = second_handshake(&client, &usual_listener(&shared), &usual_listener(&shared));
    assert_eq!(
        resumed,
        (
            Some(HandshakeKind::Resumed),
            Some(HandshakeKind::Resumed),
            Some(ProtocolVersion::TLSv1_2)
        )
    );

    let no_cache = TlsShared::new(0).unwrap();
    let resumed = second_handshake(
        &client,
        &usual_listener(&no_cache),
        &usual_listener(&no_cache),
    );
    assert_eq!(resumed.0, Some(HandshakeKind::Full));
}

#[test]
fn a_tls12_ticket_resumes_too() {
    let client = client_config(&[&rustls::version::TLS12], &[b"http/1.1"]);
    let shared = TlsShared::new(0).unwrap(); // no session-id cache: only the ticket can resume
    let resumed = second_handshake(&client, &usual_listener(&shared), &usual_listener(&shared));
    assert_eq!(resumed.0, Some(HandshakeKind::Resumed));
}
