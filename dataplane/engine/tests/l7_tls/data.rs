//! Application data after the handshake: both ways, in bulk with a small buffer limit, zero-copy reads,
//! close_notify both ways.

use std::io::Write as _;

use edgelb_engine::l7::tls::TlsShared;

use crate::support::{default_client, usual_listener, Pair};

fn connected() -> Pair {
    let mut pair = Pair::new(
        &default_client(),
        "www.example.test",
        &usual_listener(&TlsShared::new(16).unwrap()),
    );
    pair.handshake();
    pair
}

/// 80 KiB of bytes that differ from one offset to the next.
fn bulk() -> Vec<u8> {
    (0..80 * 1024u32).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn a_request_and_a_response() {
    let mut pair = connected();
    let request = b"GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n";
    pair.client_send(request);
    assert_eq!(pair.server_received, request);
    let response = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    assert_eq!(pair.server.write_plaintext(response), response.len());
    pair.run();
    assert_eq!(pair.client_received, response);
}

#[test]
fn eighty_kib_to_the_client_through_a_small_buffer_limit() {
    let mut pair = connected();
    pair.server.set_buffer_limit(4096);
    let data = bulk();
    let mut offset = 0;
    let mut writes = 0;
    while offset < data.len() {
        let taken = pair.server.write_plaintext(&data[offset..]);
        assert!(taken > 0 && taken <= 4096, "taken {taken}");
        assert_eq!(
            pair.server.write_plaintext(&data[offset + taken..]),
            0,
            "the buffer is full until drained"
        );
        offset += taken;
        writes += 1;
        pair.run();
    }
    assert!(writes >= 16, "back-pressure: {writes} writes");
    assert_eq!(pair.client_received.len(), data.len());
    assert!(pair.client_received == data, "bytes differ");
}

#[test]
fn eighty_kib_from_the_client_in_one_go_with_back_pressure() {
    let mut pair = connected();
    let data = bulk();
    // Everything the client writes, before the server reads any of it.
    let mut ciphertext = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        offset += pair.client.writer().write(&data[offset..]).unwrap();
        while pair.client.wants_write() {
            pair.client.write_tls(&mut ciphertext).unwrap();
        }
    }
    // The session takes ciphertext only while less than 16 KiB of plaintext waits; read without copying.
    let mut received = Vec::new();
    let mut rest = &ciphertext[..];
    while !rest.is_empty() {
        let taken = pair.server.receive(rest).unwrap();
        rest = &rest[taken..];
        assert!(
            pair.server.plaintext_len() <= 16 * 1024 + 4096 + 16 * 1024,
            "bounded"
        );
        loop {
            let chunk = pair.server.plaintext_chunk();
            if chunk.is_empty() {
                break;
            }
            let len = chunk.len().min(1000);
            received.extend_from_slice(&chunk[..len]);
            pair.server.consume_plaintext(len);
        }
        assert_eq!(pair.server.plaintext_len(), 0);
    }
    assert_eq!(received.len(), data.len());
    assert!(received == data, "bytes differ");
}

#[test]
fn receive_takes_less_while_plaintext_waits() {
    let mut pair = connected();
    let data = bulk();
    let mut ciphertext = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        offset += pair.client.writer().write(&data[offset..]).unwrap();
        while pair.client.wants_write() {
            pair.client.write_tls(&mut ciphertext).unwrap();
        }
    }
    let taken = pair.server.receive(&ciphertext).unwrap();
    assert!(
        taken < ciphertext.len(),
        "took all {taken} bytes without reading any plaintext"
    );
    let waiting = pair.server.plaintext_len();
    assert!(waiting > 16 * 1024, "{waiting}");
    assert_eq!(pair.server.receive(&ciphertext[taken..]), Ok(0));
    let mut buf = vec![0u8; waiting];
    assert_eq!(pair.server.read_plaintext(&mut buf), waiting);
    assert_eq!(buf, data[..waiting]);
    assert!(pair.server.receive(&ciphertext[taken..]).unwrap() > 0);
}

#[test]
fn close_notify_both_ways() {
    let mut pair = connected();
    pair.client.send_close_notify();
    pair.run();
    assert!(pair.server.peer_closed());
    pair.server.close();
    assert!(pair.server.pending_ciphertext());
    assert_eq!(pair.server.write_plaintext(b"late"), 0);
    pair.run();
    let state = pair.client.process_new_packets().unwrap();
    assert!(state.peer_has_closed());
}

#[test]
fn a_limit_set_before_the_handshake_applies_and_the_default_is_64_kib() {
    let config = usual_listener(&TlsShared::new(16).unwrap());
    let mut pair = Pair::new(&default_client(), "www.example.test", &config);
    pair.server.set_buffer_limit(1000);
    pair.handshake();
    assert_eq!(pair.server.write_plaintext(&[7u8; 5000]), 1000);
    let mut other = connected();
    assert_eq!(
        other.server.write_plaintext(&bulk()),
        edgelb_engine::l7::tls::DEFAULT_BUFFER_LIMIT
    );
    assert_eq!(edgelb_engine::l7::tls::DEFAULT_BUFFER_LIMIT, 64 * 1024);
}
