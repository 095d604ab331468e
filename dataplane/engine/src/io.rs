//! The engine's only way out: buffer allocation, frame transmission, and hand-off to other cores,
//! implemented by the caller.

use crate::buffer::PacketBuffer;
use crate::PortId;

/// Where the engine sends frames. The appliance implements it over mbufs and per-port tx batches.
pub trait Io<B: PacketBuffer> {
    /// A fresh empty buffer (headroom kept), or None when the pool is empty (the engine counts a drop).
    fn alloc(&mut self) -> Option<B>;
    /// Queue `buf` (a complete Ethernet frame in buf.data()) for transmission on `port`.
    fn send(&mut self, port: PortId, buf: B);
    /// Pass a received frame, untouched, to worker core `core`, which owns its flow; it arrived on
    /// `port`. The owner gives it to [`crate::Worker::handle_handed_off`] with the same port.
    /// Gives the frame back when it cannot be passed (no ring, ring full): the engine drops it
    /// and counts `HandoffFailed`. The default has no rings.
    fn handoff(&mut self, core: u16, port: PortId, buf: B) -> Result<(), B> {
        let _ = (core, port);
        Err(buf)
    }
}
