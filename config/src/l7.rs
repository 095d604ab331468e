//! The validated `l7` section: the per-core limits, buffers and timeouts of the L7 proxy (the engine's
//! `ProxyConfig` and `TcpConfig`).
//!
//! The per-core connection tables and buffer pools are sized from these at start, so a change takes a
//! restart; a reload keeps the values the dataplane started with.

use std::time::Duration;

/// The `l7` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct L7Config {
    /// Connections one worker core holds at most, client and upstream together, 16..=1_000_000. At the
    /// limit a new client SYN is dropped and counted.
    pub max_connections_per_core: u32,
    /// Kept-alive idle upstream connections per backend per core, 0..=4096; 0 opens one per request.
    pub idle_upstreams_per_backend: u32,
    /// Longest request head in bytes, 1024..=65536; a longer one is answered 431.
    pub max_request_head: u32,
    /// Largest request body in bytes, 0..=2^40; a larger one is answered 413.
    pub max_request_body: u64,
    /// Buffers of each client connection.
    pub client_buffers: L7Buffers,
    /// Buffers of each upstream (backend) connection.
    pub upstream_buffers: L7Buffers,
    /// The proxy's timeouts.
    pub timeouts: L7Timeouts,
}

impl Default for L7Config {
    /// The defaults that an absent `l7` section gives (the engine's own defaults).
    fn default() -> Self {
        Self {
            max_connections_per_core: 16_384,
            idle_upstreams_per_backend: 128,
            max_request_head: 16_384,
            max_request_body: 64 * 1024 * 1024,
            client_buffers: L7Buffers {
                rx: 16 * 1024,
                tx: 32 * 1024,
            },
            upstream_buffers: L7Buffers {
                rx: 64 * 1024,
                tx: 16 * 1024,
            },
            timeouts: L7Timeouts::default(),
        }
    }
}

/// Receive and transmit buffer sizes of one TCP connection, in bytes, 1024..=16 MiB each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct L7Buffers {
    /// Receive buffer: also the window advertised to the peer.
    pub rx: u32,
    /// Transmit buffer: bytes sent and not yet acknowledged.
    pub tx: u32,
}

/// The proxy's timeouts, whole seconds; `header` and `keepalive` are below `idle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct L7Timeouts {
    /// From accept (TLS handshake included) or a request's first byte to its complete head; then 408.
    pub header: Duration,
    /// How long a client may sit idle between requests before it is closed.
    pub keepalive: Duration,
    /// How long an upstream connect may take; then 502/504 (idempotent requests are retried once).
    pub connect: Duration,
    /// A connection with no segment either way for this long is reset; also the deadline of an upstream's
    /// answer (504).
    pub idle: Duration,
}

impl Default for L7Timeouts {
    fn default() -> Self {
        Self {
            header: Duration::from_secs(20),
            keepalive: Duration::from_secs(60),
            connect: Duration::from_secs(5),
            idle: Duration::from_secs(90),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_values() {
        let l7 = L7Config::default();
        assert_eq!(
            (
                l7.max_connections_per_core,
                l7.idle_upstreams_per_backend,
                l7.max_request_head,
                l7.max_request_body
            ),
            (16_384, 128, 16_384, 67_108_864)
        );
        assert_eq!(
            (l7.client_buffers, l7.upstream_buffers),
            (
                L7Buffers {
                    rx: 16_384,
                    tx: 32_768
                },
                L7Buffers {
                    rx: 65_536,
                    tx: 16_384
                }
            )
        );
        let t = l7.timeouts;
        assert_eq!(
            [t.header, t.keepalive, t.connect, t.idle].map(|d| d.as_secs()),
            [20, 60, 5, 90]
        );
    }
}
