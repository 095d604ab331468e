//! The engine's only way out: buffer allocation and frame transmission, implemented by the caller.

use crate::buffer::PacketBuffer;
use crate::PortId;

/// Where the engine sends frames. The appliance implements it over mbufs and per-port tx batches.
pub trait Io<B: PacketBuffer> {
    /// A fresh empty buffer (headroom kept), or None when the pool is empty (the engine counts a drop).
    fn alloc(&mut self) -> Option<B>;
    /// Queue `buf` (a complete Ethernet frame in buf.data()) for transmission on `port`.
    fn send(&mut self, port: PortId, buf: B);
}
