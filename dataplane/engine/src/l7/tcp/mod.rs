//! The per-core TCP endpoint: smoltcp's TCP state machine behind edgelb's own demux, timers, limits
//! and event queue, sans-I/O (IP packets in, IP packets out through a closure, the caller's clock).
//!
//! Use on a worker core:
//! - [`TcpEndpoint::new`] once, [`TcpEndpoint::set_listeners`] on every snapshot;
//! - [`TcpEndpoint::handle_packet`] for each TCP packet the worker classified as L7 (to a listener
//!   or to an SNAT address of an upstream connection);
//! - [`TcpEndpoint::poll_event`] until `None` after each burst, acting on the events with
//!   `recv`/`send`/`close`/`abort`/`connect`;
//! - [`TcpEndpoint::flush_all`] after acting, and [`TcpEndpoint::poll_timers`] whenever
//!   [`TcpEndpoint::next_deadline`] has passed.
//!
//! After warm-up (slots and socket buffers made up to the high-water mark of connections) nothing
//! here allocates: the demux map, timer heap, event and flush lists are sized for
//! `max_connections` at construction.

mod app;
mod config;
mod counters;
mod device;
mod endpoint;
mod events;
mod segment;
mod slot;
mod timers;
mod types;

pub use app::TcpState;
pub use config::{BufferSizes, TcpConfig, TcpConfigError};
pub use counters::TcpCounters;
pub use endpoint::TcpEndpoint;
pub use types::{
    CloseReason, ConnError, ConnId, ConnectError, ListenerId, PacketVerdict, TcpDrop, TcpEvent,
};
