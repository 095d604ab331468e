//! Certificate rotation: a config built from a new snapshot serves new connections, while a session opened
//! under the old config keeps its certificate and its keys and goes on exchanging data.

use edgelb_engine::l7::tls::TlsShared;

use crate::support::{default_client, leaf, listener, store, Pair};

#[test]
fn open_sessions_survive_a_new_certificate() {
    let shared = TlsShared::new(16).unwrap();
    let old_config = listener(
        &shared,
        &store(&["www"]),
        &[("www.example.test", "www")],
        &[],
        None,
    );
    let mut old = Pair::new(&default_client(), "www.example.test", &old_config);
    old.handshake();
    assert_eq!(old.server_leaf(), leaf("www"));

    // The new snapshot: the same host with a new certificate; every handle on the old config is dropped.
    let new_config = listener(
        &shared,
        &store(&["www-v2"]),
        &[("www.example.test", "www-v2")],
        &[],
        None,
    );
    drop(old_config);
    let mut new = Pair::new(&default_client(), "www.example.test", &new_config);
    new.handshake();
    assert_eq!(new.server_leaf(), leaf("www-v2"));
    assert_ne!(leaf("www"), leaf("www-v2"));

    old.client_send(b"still here?");
    assert_eq!(old.server_received, b"still here?");
    assert_eq!(old.server.write_plaintext(b"yes"), 3);
    old.run();
    assert_eq!(old.client_received, b"yes");
    assert_eq!((old.client_error.as_ref(), old.server_error), (None, None));
}
