//! Settings of one core's TCP endpoint, checked once at construction so that nothing later can
//! make smoltcp panic (it asserts on buffers over 1 GiB and on a zero MTU).

use core::time::Duration;

/// Receive and transmit buffer sizes of one connection, in bytes.
///
/// smoltcp advertises a window scale when `rx` exceeds 64 KiB; the buffers are the whole memory of a
/// connection, so they bound both its window and its footprint.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BufferSizes {
    /// Receive buffer (the advertised window).
    pub rx: usize,
    /// Transmit buffer (bytes accepted by `send` and not yet acknowledged).
    pub tx: usize,
}

/// Settings of a [`super::TcpEndpoint`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TcpConfig {
    /// Connections (accepted, connected, closing or in TIME-WAIT) this core holds at most. At the
    /// limit a new client SYN is dropped silently and counted, and `connect` fails.
    pub max_connections: usize,
    /// Buffers of accepted (client) connections.
    pub client_buffers: BufferSizes,
    /// Buffers of connections opened with `connect` (to backends).
    pub upstream_buffers: BufferSizes,
    /// The IP MTU (largest IP packet sent); the advertised MSS is this minus the IP and TCP
    /// headers. At least 1280 (the IPv6 minimum).
    pub mtu: usize,
    /// How long an accepted connection may stay half-open (SYN-RECEIVED) before it is dropped.
    pub handshake_timeout: Duration,
    /// How long `connect` waits for the backend's SYN-ACK before reporting `ConnectFailed`.
    pub connect_timeout: Duration,
    /// A connection with no segment received and nothing queued by `send` for this long is
    /// reset and reported `Closed` with [`super::CloseReason::IdleTimeout`].
    pub idle_timeout: Duration,
    /// Delayed-ACK time (smoltcp's default is 10 ms); `None` acknowledges every segment at once.
    pub ack_delay: Option<Duration>,
    /// Nagle's algorithm. Off by default: a proxy forwards what it has at once (TCP_NODELAY).
    pub nagle: bool,
    /// Keep-alive probe interval, `None` for no probes.
    pub keep_alive: Option<Duration>,
    /// Seed of smoltcp's generator for initial sequence numbers. Give each core and each start a
    /// different random value.
    pub random_seed: u64,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            max_connections: 16_384,
            client_buffers: BufferSizes {
                rx: 64 * 1024,
                tx: 64 * 1024,
            },
            upstream_buffers: BufferSizes {
                rx: 64 * 1024,
                tx: 64 * 1024,
            },
            mtu: 1500,
            handshake_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(300),
            ack_delay: Some(Duration::from_millis(10)),
            nagle: false,
            keep_alive: None,
            random_seed: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

/// Why a [`TcpConfig`] was refused; each names the field.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TcpConfigError {
    /// `max_connections` is zero or above [`TcpConfig::MAX_CONNECTIONS`].
    #[error("max_connections must be between 1 and {max}, got {got}")]
    MaxConnections {
        /// The value given.
        got: usize,
        /// The largest value allowed.
        max: usize,
    },
    /// A buffer size is zero or above [`TcpConfig::MAX_BUFFER`].
    #[error("{field} must be between 1 and {max} bytes, got {got}")]
    Buffer {
        /// Which buffer, e.g. `client_buffers.rx`.
        field: &'static str,
        /// The value given.
        got: usize,
        /// The largest value allowed.
        max: usize,
    },
    /// `mtu` is outside `1280..=65535`.
    #[error("mtu must be between 1280 and 65535, got {0}")]
    Mtu(usize),
    /// A timeout is zero.
    #[error("{0} must be greater than zero")]
    ZeroTimeout(&'static str),
}

impl TcpConfig {
    /// The largest `max_connections` (slot numbers are `u32`).
    pub const MAX_CONNECTIONS: usize = 1 << 24;
    /// The largest buffer smoltcp takes (window scale shift 14).
    pub const MAX_BUFFER: usize = 1 << 30;

    /// Checks every field; `Ok(())` means the endpoint can be built.
    pub fn validate(&self) -> Result<(), TcpConfigError> {
        if self.max_connections == 0 || self.max_connections > Self::MAX_CONNECTIONS {
            return Err(TcpConfigError::MaxConnections {
                got: self.max_connections,
                max: Self::MAX_CONNECTIONS,
            });
        }
        let buffers = [
            ("client_buffers.rx", self.client_buffers.rx),
            ("client_buffers.tx", self.client_buffers.tx),
            ("upstream_buffers.rx", self.upstream_buffers.rx),
            ("upstream_buffers.tx", self.upstream_buffers.tx),
        ];
        for (field, got) in buffers {
            if got == 0 || got > Self::MAX_BUFFER {
                return Err(TcpConfigError::Buffer {
                    field,
                    got,
                    max: Self::MAX_BUFFER,
                });
            }
        }
        if !(1280..=65535).contains(&self.mtu) {
            return Err(TcpConfigError::Mtu(self.mtu));
        }
        let timeouts = [
            ("handshake_timeout", self.handshake_timeout),
            ("connect_timeout", self.connect_timeout),
            ("idle_timeout", self.idle_timeout),
        ];
        for (field, timeout) in timeouts {
            if timeout.is_zero() {
                return Err(TcpConfigError::ZeroTimeout(field));
            }
        }
        if self.keep_alive.is_some_and(|k| k.is_zero()) {
            return Err(TcpConfigError::ZeroTimeout("keep_alive"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(TcpConfig::default().validate(), Ok(()));
    }

    #[test]
    fn each_bad_field_is_named() {
        let base = TcpConfig::default();
        let cases = [
            (
                TcpConfig {
                    max_connections: 0,
                    ..base
                },
                TcpConfigError::MaxConnections {
                    got: 0,
                    max: TcpConfig::MAX_CONNECTIONS,
                },
            ),
            (
                TcpConfig {
                    upstream_buffers: BufferSizes { rx: 1024, tx: 0 },
                    ..base
                },
                TcpConfigError::Buffer {
                    field: "upstream_buffers.tx",
                    got: 0,
                    max: TcpConfig::MAX_BUFFER,
                },
            ),
            (
                TcpConfig {
                    client_buffers: BufferSizes {
                        rx: (1 << 30) + 1,
                        tx: 1,
                    },
                    ..base
                },
                TcpConfigError::Buffer {
                    field: "client_buffers.rx",
                    got: (1 << 30) + 1,
                    max: TcpConfig::MAX_BUFFER,
                },
            ),
            (TcpConfig { mtu: 1279, ..base }, TcpConfigError::Mtu(1279)),
            (TcpConfig { mtu: 65536, ..base }, TcpConfigError::Mtu(65536)),
            (
                TcpConfig {
                    idle_timeout: Duration::ZERO,
                    ..base
                },
                TcpConfigError::ZeroTimeout("idle_timeout"),
            ),
            (
                TcpConfig {
                    keep_alive: Some(Duration::ZERO),
                    ..base
                },
                TcpConfigError::ZeroTimeout("keep_alive"),
            ),
        ];
        for (config, want) in cases {
            assert_eq!(config.validate(), Err(want));
        }
    }
}
