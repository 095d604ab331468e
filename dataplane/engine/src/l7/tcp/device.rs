//! The smoltcp `Device` the endpoint polls with: it yields the one packet being handled (or none,
//! for egress and timers) and hands every packet smoltcp builds to the caller's closure, built in
//! one preallocated scratch buffer.

use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant as SmolInstant;

use super::counters::TcpCounters;
use super::segment;

/// The device's capabilities: IP packets in and out (the worker owns Ethernet), the configured MTU,
/// checksums computed and checked in software.
pub(super) fn capabilities(mtu: usize) -> DeviceCapabilities {
    let mut caps = DeviceCapabilities::default();
    caps.medium = Medium::Ip;
    caps.max_transmission_unit = mtu;
    caps
}

/// Where built packets go: the scratch buffer they are written into, the caller's closure, and
/// the counters of what was sent.
pub(super) struct Sink<'a> {
    pub scratch: &'a mut Vec<u8>,
    pub out: &'a mut dyn FnMut(&[u8]),
    pub counters: &'a mut TcpCounters,
}

impl Sink<'_> {
    fn emit<R>(&mut self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        // smoltcp never asks for more than the MTU for TCP; growing is a fallback, not a path.
        if self.scratch.len() < len {
            self.scratch.resize(len, 0);
        }
        let buf = &mut self.scratch[..len];
        buf.fill(0);
        let result = f(buf);
        let packet = &self.scratch[..len];
        self.counters.segments_out += 1;
        if segment::is_rst(packet) {
            self.counters.rst_sent += 1;
        }
        (self.out)(packet);
        result
    }
}

/// A device holding at most one received packet.
pub(super) struct OnePacket<'a> {
    pub rx: Option<&'a [u8]>,
    pub sink: Sink<'a>,
    pub caps: &'a DeviceCapabilities,
}

impl<'a> Device for OnePacket<'a> {
    type RxToken<'b>
        = Rx<'b>
    where
        Self: 'b;
    type TxToken<'b>
        = Tx<'b, 'a>
    where
        Self: 'b;

    fn receive(&mut self, _now: SmolInstant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let packet = self.rx.take()?;
        Some((Rx(packet), Tx(&mut self.sink)))
    }

    fn transmit(&mut self, _now: SmolInstant) -> Option<Self::TxToken<'_>> {
        Some(Tx(&mut self.sink))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.caps.clone()
    }
}

/// The received packet.
pub(super) struct Rx<'b>(&'b [u8]);

impl RxToken for Rx<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.0)
    }
}

/// Permission to build one packet into the sink.
pub(super) struct Tx<'b, 'a>(&'b mut Sink<'a>);

impl TxToken for Tx<'_, '_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        self.0.emit(len, f)
    }
}
