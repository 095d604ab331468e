//! The small `Copy` values the TCP endpoint hands to its callers: connection and listener ids,
//! events, packet verdicts and errors.

/// A connection on one core's endpoint: a slot number plus the slot's generation, so that an id kept
/// after its connection ended is refused instead of reaching the slot's next connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub(super) slot: u32,
    pub(super) generation: u32,
}

impl ConnId {
    /// The slot number, `0..max_connections`: a dense index for the caller's per-connection tables.
    pub const fn slot(self) -> usize {
        self.slot as usize
    }

    /// The slot's generation when this connection took it.
    pub const fn generation(self) -> u32 {
        self.generation
    }
}

/// The caller's name for a listener (what [`super::TcpEndpoint::set_listeners`] was given).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(pub u32);

/// Why a connection ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// Both sides sent FIN and it was acknowledged (or this side is in TIME-WAIT).
    Normal,
    /// The peer sent RST (for `connect`: the backend refused the connection).
    Reset,
    /// The three-way handshake did not complete within `connect_timeout`.
    HandshakeTimeout,
    /// Nothing was received or sent for `idle_timeout`; the endpoint sent RST.
    IdleTimeout,
}

/// What happened to a connection; drained with [`super::TcpEndpoint::poll_event`].
///
/// Per connection the order is: `Accepted`/`Connected`, then any of `Readable`, `Writable`,
/// `PeerClosed`, then exactly one terminal `Closed` or `ConnectFailed`, after which the id is
/// refused. `Readable` and `Writable` are edge-triggered and coalesced: read until `recv` returns
/// `Ok(0)`, and expect `Writable` only after a `send` that did not take all of its data.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TcpEvent {
    /// A client completed the handshake with a listener.
    Accepted {
        /// The new connection.
        conn: ConnId,
        /// The listener it came through.
        listener: ListenerId,
    },
    /// A connection opened with `connect` is established.
    Connected(ConnId),
    /// New bytes are in the receive buffer.
    Readable(ConnId),
    /// Transmit space was freed after a `send` that was cut short.
    Writable(ConnId),
    /// The peer sent FIN: after the buffered bytes, `recv` reports the end of the stream.
    PeerClosed(ConnId),
    /// The connection ended; the id is refused from now on.
    Closed {
        /// The connection.
        conn: ConnId,
        /// Why it ended.
        reason: CloseReason,
    },
    /// A `connect` never reached ESTABLISHED; the id is refused from now on.
    ConnectFailed {
        /// The connection.
        conn: ConnId,
        /// [`CloseReason::Reset`] (refused) or [`CloseReason::HandshakeTimeout`].
        reason: CloseReason,
    },
}

/// Why a packet given to [`super::TcpEndpoint::handle_packet`] was not taken by a connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TcpDrop {
    /// Not a well-formed IPv4/IPv6 packet carrying a TCP header (or an IPv6 extension header,
    /// which the endpoint does not walk).
    Malformed,
    /// An IPv4 fragment (the worker reassembles nothing for L7).
    Fragment,
    /// A source or destination that is not unicast.
    NotUnicast,
    /// A SYN to a listener while the endpoint holds `max_connections` (no RST: the client retries).
    ConnectionLimit,
    /// An RST, or a segment smoltcp would not answer, for no connection.
    NoConnection,
}

/// What [`super::TcpEndpoint::handle_packet`] did with a packet.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PacketVerdict {
    /// Given to a connection (possibly a new one, for a SYN to a listener).
    Consumed,
    /// No connection and no listener: answered with RST.
    ResetSent,
    /// Dropped, for this reason.
    Dropped(TcpDrop),
}

/// Why an operation on a connection was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnError {
    /// The id is stale: its connection ended (its terminal event was drained, or it was aborted).
    #[error("no such connection")]
    UnknownConnection,
    /// The peer closed its side and every received byte has been read.
    #[error("the peer closed the connection")]
    Finished,
    /// Not possible in the connection's state (sending before `Connected`, after `close`, or on a
    /// connection that was reset).
    #[error("not possible in the connection's current state")]
    InvalidState,
}

/// Why [`super::TcpEndpoint::connect`] failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The endpoint holds `max_connections` connections.
    #[error("connection limit reached")]
    Limit,
    /// A connection with the same four-tuple exists (pick another source port).
    #[error("four-tuple already in use")]
    InUse,
    /// Port zero, a non-unicast address, or local and remote of different families.
    #[error("address not usable for a connection")]
    Unaddressable,
}
