//! The engine's established-flow fast path, set up for measuring: a [`Worker`] with the lab's two
//! ports and the TCP listener 198.18.10.10:80 over three backends, neighbours learned, and `flows`
//! TCP flows opened (the client's SYN, the backend's SYN-ACK), so that every measured packet is an
//! ACK with data of an established flow, forward (client → VIP) or reverse (backend → SNAT).
//!
//! Clients sit behind the outside port's gateway (one neighbour for all of them), 16 flows per
//! client address; the backends are on the inside port, VLAN 100. Every input frame is built once
//! at setup (60 bytes forward, 64 reverse: minimum-size frames) and copied into the recycled buffer
//! before each packet; `now` stays fixed, so no flow or neighbour ages while measuring.

mod lab;

use core::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use edgelb_engine::flow::Direction;
use edgelb_engine::{Capacity, CoreId, Counters, NeighbourUpdate, PortId, Worker};

use crate::frame_buffer::{FrameBuffer, RecycleIo};
use lab::{
    backend_frame, client_frame, expected_output, measured_input, Ends, BACKENDS_V4, BACKEND_MACS,
    FLOW_CAPACITY, GATEWAY_MAC, GATEWAY_V4, NOW, SNAT_V4, SYN_ACK,
};
pub use lab::{client_of, snapshot, INSIDE, OUTSIDE, VIP_V4};

/// Why the setup (or a check of its output) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError(pub String);

impl core::fmt::Display for SetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

fn fail<T>(what: impl Into<String>) -> Result<T, SetupError> {
    Err(SetupError(what.into()))
}

/// One minimum-size frame per slot, cache-line aligned (as frames in mbufs are).
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Slot([u8; 64]);

/// The input frames of one direction, one per flow, all of the same length.
struct Frames {
    slots: Vec<Slot>,
    len: usize,
}

impl Frames {
    fn with_capacity(flows: u32) -> Self {
        Self {
            slots: Vec::with_capacity(flows as usize),
            len: 0,
        }
    }

    fn push(&mut self, frame: &[u8]) -> Result<(), SetupError> {
        let mut slot = Slot([0; 64]);
        let Some(room) = slot.0.get_mut(..frame.len()) else {
            return fail(format!("a {}-byte frame is over 64 bytes", frame.len()));
        };
        room.copy_from_slice(frame);
        self.len = frame.len();
        self.slots.push(slot);
        Ok(())
    }

    #[inline]
    fn get(&self, flow: u32) -> &[u8] {
        self.slots
            .get(flow as usize)
            .and_then(|s| s.0.get(..self.len))
            .unwrap_or_default()
    }
}

/// A worker with `flows` established flows and the frames to drive them.
pub struct FastPath {
    worker: Worker<FrameBuffer>,
    io: RecycleIo,
    ends: Vec<Ends>,
    /// Input frames, indexed by `Direction::index()`.
    frames: [Frames; 2],
}

impl core::fmt::Debug for FastPath {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FastPath")
            .field("flows", &self.ends.len())
            .finish()
    }
}

impl FastPath {
    /// A worker with `flows` (at least 1) flows established and their measured frames built.
    /// Allocates freely; checks that each handshake went through as expected.
    pub fn new(flows: u32) -> Result<Self, SetupError> {
        let flows = flows.max(1);
        let capacity = Capacity {
            flows: FLOW_CAPACITY,
            ..Capacity::default()
        };
        let mut worker = Worker::new(Arc::new(snapshot()?), capacity, CoreId::SOLE);
        let mut io = RecycleIo::default();
        let mut know = |port, ip: Ipv4Addr, mac| {
            let update = NeighbourUpdate {
                ip: IpAddr::V4(ip),
                mac,
                port,
                confirmed: true,
            };
            worker.apply_neighbour_update(NOW, update, &mut io);
        };
        know(OUTSIDE, GATEWAY_V4, GATEWAY_MAC);
        for (ip, mac) in BACKENDS_V4.iter().zip(BACKEND_MACS) {
            know(INSIDE, *ip, mac);
        }
        let mut fp = FastPath {
            worker,
            io,
            ends: Vec::with_capacity(flows as usize),
            frames: [Frames::with_capacity(flows), Frames::with_capacity(flows)],
        };
        for i in 0..flows {
            fp.open(i)?;
        }
        let c = fp.worker.counters();
        if c.total_drops() != 0 || c.l4_new_flows != u64::from(flows) {
            return fail(format!(
                "setup: {} new flows of {flows}, {} drops",
                c.l4_new_flows,
                c.total_drops()
            ));
        }
        Ok(fp)
    }

    /// Opens flow `i` (SYN, SYN-ACK) and builds its measured frames.
    fn open(&mut self, i: u32) -> Result<(), SetupError> {
        let syn = client_frame(i, 0x02, 1000, 0, &[]);
        let (port, out) = self.exchange(OUTSIDE, &syn)?;
        let backend_addr = out.get(34..38).and_then(|a| <[u8; 4]>::try_from(a).ok());
        let backend = BACKENDS_V4
            .iter()
            .position(|b| Some(b.octets()) == backend_addr);
        let snat = out
            .get(30..34)
            .and_then(|a| <[u8; 4]>::try_from(a).ok())
            .map(Ipv4Addr::from)
            .filter(|a| SNAT_V4.contains(a));
        let snat_port = out.get(38..40).map(|p| u16::from_be_bytes([p[0], p[1]]));
        let (INSIDE, Some(backend), Some(snat), Some(snat_port)) = (port, backend, snat, snat_port)
        else {
            return fail(format!("flow {i}: the SYN left as {out:02x?} on {port:?}"));
        };
        let ends = Ends {
            backend,
            snat,
            snat_port,
        };
        let syn_ack = backend_frame(ends, SYN_ACK, 5000, 1001, &[])?;
        let (port, _) = self.exchange(INSIDE, &syn_ack)?;
        if port != OUTSIDE {
            return fail(format!("flow {i}: the SYN-ACK left on {port:?}"));
        }
        let forward = measured_input(i, ends, Direction::Forward)?;
        let reverse = measured_input(i, ends, Direction::Reverse)?;
        let [forwards, reverses] = &mut self.frames;
        forwards.push(&forward)?;
        reverses.push(&reverse)?;
        self.ends.push(ends);
        Ok(())
    }

    /// Receives `frame` on `port` and returns the one frame sent.
    fn exchange(&mut self, port: PortId, frame: &[u8]) -> Result<(PortId, Vec<u8>), SetupError> {
        self.packet_frame(port, frame);
        match self.io.take_sent() {
            Some((port, buf)) => {
                let out = edgelb_engine::PacketBuffer::data(&buf).to_vec();
                self.io.keep(buf);
                Ok((port, out))
            }
            None => fail(format!(
                "nothing sent for {frame:02x?}; drops: {:?}",
                self.drops()
            )),
        }
    }

    #[inline]
    fn packet_frame(&mut self, port: PortId, frame: &[u8]) {
        let mut buf = self.io.reuse();
        if buf.load(frame).is_ok() {
            self.worker.handle_frame(NOW, port, buf, &mut self.io);
        }
    }

    #[inline]
    fn frames_of(&self, dir: Direction) -> &Frames {
        let [forward, reverse] = &self.frames;
        match dir {
            Direction::Forward => forward,
            Direction::Reverse => reverse,
        }
    }

    /// How many flows are open.
    pub fn flows(&self) -> u32 {
        self.ends.len() as u32
    }

    /// Runs the measured packet of `flow` going `dir` through the engine: the input frame is copied
    /// into the buffer the engine sent last, which is then handed to `Worker::handle_frame`.
    #[inline]
    pub fn packet(&mut self, dir: Direction, flow: u32) {
        let port = match dir {
            Direction::Forward => OUTSIDE,
            Direction::Reverse => INSIDE,
        };
        let mut buf = self.io.reuse();
        if buf.load(self.frames_of(dir).get(flow)).is_ok() {
            self.worker.handle_frame(NOW, port, buf, &mut self.io);
        }
    }

    /// The driver's own share of [`Self::packet`]: the same copy into the recycled buffer, with
    /// the buffer handed straight back instead of through the engine.
    #[inline]
    pub fn restore_only(&mut self, dir: Direction, flow: u32) {
        let mut buf = self.io.reuse();
        let _ = buf.load(self.frames_of(dir).get(flow));
        self.io.keep(core::hint::black_box(buf));
    }

    /// Runs the measured packet of `flow` going `dir` and checks the frame sent byte for byte.
    pub fn check(&mut self, dir: Direction, flow: u32) -> Result<(), SetupError> {
        let Some(&ends) = self.ends.get(flow as usize) else {
            return fail(format!("no flow {flow}"));
        };
        let want = expected_output(flow, ends, dir)?;
        let frame = self.frames_of(dir).get(flow).to_vec();
        let port = match dir {
            Direction::Forward => OUTSIDE,
            Direction::Reverse => INSIDE,
        };
        let got = self.exchange(port, &frame)?;
        if got != want {
            return fail(format!(
                "flow {flow} {dir:?}: sent {got:02x?}, expected {want:02x?}"
            ));
        }
        Ok(())
    }

    /// The worker's counters.
    pub fn counters(&self) -> Counters {
        self.worker.counters()
    }

    /// The driver's buffer bookkeeping: allocations so far (none once set up, unless the engine
    /// dropped a packet).
    pub fn io(&self) -> &RecycleIo {
        &self.io
    }

    /// Ok when nothing was dropped, and every packet since setup reused the buffer sent before it.
    pub fn verify_clean(&self) -> Result<(), SetupError> {
        let c = self.worker.counters();
        if c.total_drops() != 0 || self.io.overwritten != 0 {
            return fail(format!(
                "drops {:?}, {} frames overwritten",
                self.drops(),
                self.io.overwritten
            ));
        }
        Ok(())
    }

    /// The drop counters that are not zero, by name.
    fn drops(&self) -> Vec<(&'static str, u64)> {
        self.worker
            .counters()
            .iter()
            .filter(|(n, v)| n.starts_with("drop_") && *v > 0)
            .collect()
    }
}

/// Flow indices in a random-looking, reproducible order (an LCG reduced by multiply-shift: no
/// division per packet).
#[derive(Debug, Clone)]
pub struct FlowOrder {
    x: u32,
    flows: u32,
}

impl FlowOrder {
    /// An order over `flows` flows.
    pub fn new(flows: u32) -> Self {
        Self { x: 1, flows }
    }

    /// The next flow.
    #[inline]
    pub fn next_flow(&mut self) -> u32 {
        let r = crate::lcg(&mut self.x);
        ((u64::from(r) * u64::from(self.flows)) >> 32) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_packets_leave_rewritten_byte_for_byte() {
        let mut fp = FastPath::new(300).unwrap();
        assert_eq!(fp.flows(), 300);
        for flow in [0, 1, 150, 299] {
            fp.check(Direction::Forward, flow).unwrap();
            fp.check(Direction::Reverse, flow).unwrap();
        }
        // Maglev spread the flows over all three backends.
        let mut used = [0; 3];
        for e in &fp.ends {
            used[e.backend] += 1;
        }
        assert!(used.iter().all(|&n| n > 50), "{used:?}");
        fp.verify_clean().unwrap();
    }

    #[test]
    fn the_loop_allocates_nothing_and_drops_nothing() {
        let mut fp = FastPath::new(1000).unwrap();
        let before = fp.counters();
        let allocations = fp.io().allocations;
        let mut order = FlowOrder::new(1000);
        for _ in 0..5000 {
            let flow = order.next_flow();
            assert!(flow < 1000);
            fp.packet(Direction::Forward, flow);
            fp.packet(Direction::Reverse, flow);
        }
        let after = fp.counters();
        assert_eq!(after.l4_forward_packets - before.l4_forward_packets, 5000);
        assert_eq!(after.l4_reverse_packets - before.l4_reverse_packets, 5000);
        assert_eq!(after.l4_new_flows, 1000);
        assert_eq!(after.flows.active, 1000);
        assert_eq!(fp.io().allocations, allocations);
        fp.verify_clean().unwrap();
        // The last packet went back to its client.
        assert_eq!(fp.io.take_sent().map(|(p, _)| p), Some(OUTSIDE));
    }

    #[test]
    fn a_packet_without_a_flow_is_caught() {
        let mut fp = FastPath::new(1).unwrap();
        // A reverse frame whose SNAT port is one no flow has.
        let mut frame = fp.frames_of(Direction::Reverse).get(0).to_vec();
        frame[40] ^= 0x55;
        fp.packet_frame(INSIDE, &frame);
        assert!(fp.verify_clean().is_err());
        let mut fp = FastPath::new(1).unwrap();
        fp.ends[0].snat_port ^= 1;
        assert!(fp.check(Direction::Forward, 0).is_err());
    }

    #[test]
    fn orders_cover_the_flows() {
        let mut order = FlowOrder::new(10);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            seen[order.next_flow() as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
        let mut one = FlowOrder::new(1);
        assert!((0..100).all(|_| one.next_flow() == 0));
    }
}
