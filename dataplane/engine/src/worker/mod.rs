//! One worker core's engine: all of a core's mutable state, and the receive pipeline's entry.
//!
//! [`Worker::handle_frame`] checks the Ethernet/802.1Q header against the port and hands the frame
//! to the ARP, IPv4 or IPv6 stage. Each stage returns `Result<(), DropReason>`; the one place that
//! counts a drop is `handle_frame` (or `route_and_send` for packets the caller builds), so every
//! frame ends sent, queued, absorbed, or dropped with exactly one reason.

mod arp;
mod ipv4;
mod ipv6;
mod l4;
mod l4_icmp;
mod l4_reload;
mod l7;
mod output;

use std::collections::VecDeque;
use std::sync::Arc;

use crate::addresses::Local;
use crate::buffer::PacketBuffer;
use crate::counters::Counters;
use crate::flow::{AffinityTable, FlowTable};
use crate::io::Io;
use crate::l4::CoreId;
use crate::l7::proxy::{L7Proxy, ProxyConfig};
use crate::neighbour::{Key, Learn, NeighbourTable, NeighbourUpdate, NeighbourView};
use crate::route::RouteTable;
use crate::snapshot::Snapshot;
use crate::time::Instant;
use crate::wire::ethernet::EthernetHeader;
use crate::wire::{is_group_mac, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use crate::{DropReason, PortId};

/// Sizes fixed when a worker is built (nothing on the fast path allocates afterwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Neighbour table entries.
    pub neighbours: usize,
    /// Packets that can wait for neighbour resolution, all neighbours together (the snapshot's
    /// `queue_total` is capped by this).
    pub pending_packets: usize,
    /// Neighbour updates kept for the other cores until polled.
    pub neighbour_updates: usize,
    /// L4 flows per core (about 250 bytes each, indexes included).
    pub flows: usize,
    /// Clients remembered for `affinity: client-ip` listeners.
    pub affinity: usize,
    /// The L7 proxy's settings (connection limit, buffers, timeouts); it is made with the first snapshot
    /// that has L7 listeners.
    pub l7: ProxyConfig,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            neighbours: 1024,
            pending_packets: 256,
            neighbour_updates: 64,
            flows: 65_536,
            affinity: 16_384,
            l7: ProxyConfig::default(),
        }
    }
}

/// What the receive stages know about the frame's link.
#[derive(Debug, Clone, Copy)]
struct Rx {
    port: PortId,
    /// The port's MAC.
    mac: [u8; 6],
    /// The port's VLAN (the frame carries the same one).
    vlan: Option<u16>,
    /// The frame's source MAC.
    peer: [u8; 6],
    /// Length of the frame's Ethernet header.
    l2_len: usize,
    /// Handed over by another core: never handed on.
    handed_off: bool,
}

/// One worker core's engine: all mutable state of a core.
#[derive(Debug)]
pub struct Worker<B: PacketBuffer> {
    local: Local,
    routes: RouteTable,
    neighbours: NeighbourTable<B>,
    updates: VecDeque<NeighbourUpdate>,
    updates_capacity: usize,
    counters: Counters,
    /// The latest `now` seen, for views that are not given one.
    now: Instant,
    /// Which core this is: decides the SNAT ports it takes and who owns return traffic.
    core: CoreId,
    flows: FlowTable,
    affinity: AffinityTable,
    /// Expiry and removed-backend sweeps of the flow table.
    l4_timers: l4_reload::L4Timers,
    /// The L7 proxy, once a snapshot has L7 listeners.
    l7: Option<Box<L7Proxy>>,
    l7_config: ProxyConfig,
    /// Varies the SNAT port candidates of upstream connections.
    l7_spread: u64,
}

impl<B: PacketBuffer> Worker<B> {
    /// A worker for `snapshot` with tables of `capacity`, running as `core`. The flow index seed is
    /// taken from this first snapshot (`l4.settings().flows.hash_seed`).
    pub fn new(snapshot: Arc<Snapshot>, capacity: Capacity, core: CoreId) -> Self {
        let flow_config = snapshot.l4.settings().flows;
        let mut worker = Self {
            routes: RouteTable::new(&snapshot),
            local: Local::new(snapshot),
            neighbours: NeighbourTable::new(capacity.neighbours, capacity.pending_packets),
            updates: VecDeque::with_capacity(capacity.neighbour_updates),
            updates_capacity: capacity.neighbour_updates,
            counters: Counters::default(),
            now: Instant::ZERO,
            core: CoreId::new(core.index, core.count),
            flows: FlowTable::with_capacity(capacity.flows, flow_config),
            affinity: AffinityTable::with_capacity(
                capacity.affinity,
                flow_config.hash_seed.rotate_left(32),
            ),
            l4_timers: l4_reload::L4Timers::new(flow_config.insert_rate),
            l7: None,
            l7_config: capacity.l7,
            l7_spread: u64::from(core.index),
        };
        worker.l7_snapshot_changed();
        worker
    }

    /// The core this worker runs as.
    pub fn core(&self) -> CoreId {
        self.core
    }

    /// Swap in a new snapshot between bursts (keep neighbour entries whose port still exists).
    /// Flows keep their backends; those whose backend left its pool are removed over the next
    /// [`Self::poll_timers`] calls (see `worker/l4_reload.rs`).
    pub fn set_snapshot(&mut self, snapshot: Arc<Snapshot>) {
        let ports = snapshot.ports.len();
        for slot in 0..self.neighbours.capacity() as u32 {
            if self
                .neighbours
                .port_of(slot)
                .is_some_and(|p| p.index() >= ports)
            {
                self.drop_pending(slot);
                self.neighbours.remove(slot);
            }
        }
        self.routes = RouteTable::new(&snapshot);
        self.local = Local::new(snapshot);
        self.l4_snapshot_changed();
        self.l7_snapshot_changed();
    }

    /// The snapshot the worker runs with.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.local.snapshot
    }

    /// Handle one received frame from `port`. Takes ownership: the frame is sent (in place rewrite), queued
    /// awaiting neighbour resolution, or dropped (dropping B frees it) with its reason counted.
    ///
    /// A frame of a flow that another core owns is passed to it with [`Io::handoff`] (counted in
    /// `l4_handed_off`, not as a drop).
    pub fn handle_frame(&mut self, now: Instant, port: PortId, buf: B, io: &mut impl Io<B>) {
        self.now = self.now.max(now);
        self.counters.rx_frames += 1;
        if let Err(reason) = self.receive(now, port, buf, false, io) {
            self.counters.drop(reason);
        }
    }

    /// [`Self::handle_frame`] for a frame another core passed here with [`Io::handoff`]: it is
    /// processed here whatever this core computes as its owner, so it never travels twice.
    pub fn handle_handed_off(&mut self, now: Instant, port: PortId, buf: B, io: &mut impl Io<B>) {
        self.now = self.now.max(now);
        self.counters.rx_frames += 1;
        if let Err(reason) = self.receive(now, port, buf, true, io) {
            self.counters.drop(reason);
        }
    }

    fn receive(
        &mut self,
        now: Instant,
        port: PortId,
        buf: B,
        handed_off: bool,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let spec = self.local.port(port).ok_or(DropReason::UnknownPort)?;
        let eth = EthernetHeader::parse(buf.data())?;
        if eth.vlan != spec.vlan {
            return Err(DropReason::VlanMismatch);
        }
        if is_group_mac(eth.src) {
            return Err(DropReason::EthernetBadSource);
        }
        if !is_group_mac(eth.dst) && eth.dst != spec.mac {
            return Err(DropReason::EthernetNotOurs);
        }
        let rx = Rx {
            port,
            mac: spec.mac,
            vlan: spec.vlan,
            peer: eth.src,
            l2_len: eth.header_len,
            handed_off,
        };
        match eth.ethertype {
            ETHERTYPE_ARP => self.receive_arp(now, rx, buf, io),
            ETHERTYPE_IPV4 => self.receive_ipv4(now, rx, buf, io),
            ETHERTYPE_IPV6 => self.receive_ipv6(now, rx, buf, io),
            _ => Err(DropReason::UnknownEthertype),
        }
    }

    /// Counters of this core, with the flow and affinity tables' counters filled in.
    pub fn counters(&self) -> Counters {
        Counters {
            flows: self.flows.counters(),
            affinity: self.affinity.counters(),
            l7_tcp: self.l7_tcp_counters().unwrap_or_default(),
            ..self.counters.clone()
        }
    }

    /// The live L4 flows of this core (for dumps; walks the whole table).
    pub fn flows(&self) -> impl Iterator<Item = &crate::flow::FlowEntry> + '_ {
        self.flows.iter()
    }

    /// The neighbour table, as of the latest `now` this worker was given.
    pub fn neighbours(&self) -> impl Iterator<Item = NeighbourView> + '_ {
        self.neighbours
            .views(self.now, self.local.snapshot.neighbour)
    }

    /// The next neighbour update to pass to the other cores.
    pub fn poll_neighbour_update(&mut self) -> Option<NeighbourUpdate> {
        self.updates.pop_front()
    }

    /// Applies what another core learned; packets waiting for that neighbour are sent.
    pub fn apply_neighbour_update(
        &mut self,
        now: Instant,
        update: NeighbourUpdate,
        io: &mut impl Io<B>,
    ) {
        self.now = self.now.max(now);
        if self.local.port(update.port).is_none() {
            return;
        }
        self.counters.neighbour_updates_applied += 1;
        let how = Learn {
            confirmed: update.confirmed,
            create: true,
            override_mac: true,
        };
        self.learn(
            now,
            Key {
                port: update.port,
                ip: update.ip,
            },
            update.mac,
            how,
            false,
            io,
        );
    }

    /// Records a neighbour's MAC, flushes what waited for it, and (when `share`) offers the news to
    /// the other cores.
    fn learn(
        &mut self,
        now: Instant,
        key: Key,
        mac: [u8; 6],
        how: Learn,
        share: bool,
        io: &mut impl Io<B>,
    ) {
        let timers = self.local.snapshot.neighbour;
        let Some(learned) = self
            .neighbours
            .learn(now, key, mac, how, &timers, &mut self.counters)
        else {
            return;
        };
        if learned.news && share {
            if key.ip.is_ipv4() {
                self.counters.arp_learned += 1;
            } else {
                self.counters.nd_learned += 1;
            }
            self.offer_update(NeighbourUpdate {
                ip: key.ip,
                mac,
                port: key.port,
                confirmed: how.confirmed,
            });
        }
        self.flush(learned.slot, io);
    }

    fn offer_update(&mut self, update: NeighbourUpdate) {
        if self.updates.len() < self.updates_capacity {
            self.updates.push_back(update);
            self.counters.neighbour_updates_sent += 1;
        } else {
            self.counters.neighbour_updates_lost += 1;
        }
    }

    /// Drops the packets waiting on `slot`, counting each as unresolved.
    fn drop_pending(&mut self, slot: u32) {
        while self.neighbours.pop_pending(slot).is_some() {
            self.counters.drop(DropReason::NeighbourUnresolved);
        }
    }
}
