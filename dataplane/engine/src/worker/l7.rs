//! L7 on the worker: TCP segments for an L7 listener, or for one of this core's upstream connections,
//! go to the core's [`L7Proxy`]; the IP packets it produces are framed and routed like any other.
//!
//! The proxy is made when the first snapshot with L7 listeners arrives (a worker without L7 carries
//! none of its tables). Upstream connections leave from a SNAT address and a port chosen by the same
//! rules as L4 flows, so that their return traffic reaches this core (or is handed to it).

use core::net::SocketAddr;

use super::l4::IpMeta;
use super::{Rx, Worker};
use crate::buffer::PacketBuffer;
use crate::counters::Counters;
use crate::flow::{FlowKey, FlowTable, Proto};
use crate::io::Io;
use crate::l4::snat::{self, ReturnPath};
use crate::l4::CoreId;
use crate::l7::proxy::{L7Proxy, UpstreamSource};
use crate::l7::tcp::{PacketVerdict, TcpDrop};
use crate::route::RouteTable;
use crate::time::Instant;
use crate::wire::ethernet::HEADER_LEN as ETH_LEN;
use crate::DropReason;

use crate::addresses::Local;

/// Picks the SNAT address and port of an upstream connection (see `l4::snat`).
struct SnatPicker<'a> {
    routes: &'a RouteTable,
    local: &'a Local,
    flows: &'a FlowTable,
    core: CoreId,
    now: Instant,
    /// Varies the first candidate from one connection to the next.
    spread: u64,
}

impl UpstreamSource for SnatPicker<'_> {
    fn pick(
        &mut self,
        backend: SocketAddr,
        in_use: &mut dyn FnMut(SocketAddr) -> bool,
    ) -> Option<SocketAddr> {
        let hop = self.routes.lookup(backend.ip(), None)?;
        let l4 = &self.local.snapshot.l4;
        self.spread = self
            .spread
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(u64::from(backend.port()) | 1);
        let spread = crate::maglev::hash::avalanche(self.spread);
        let snat = self
            .local
            .snat
            .source(hop.port.index(), backend.is_ipv4(), spread)?;
        let path = ReturnPath {
            backend: backend.ip(),
            backend_port: backend.port(),
            snat,
        };
        let (flows, now) = (self.flows, self.now);
        let port = snat::pick_port(
            self.core,
            l4.rss(hop.port.index()),
            l4.settings().snat_ports,
            path,
            spread >> 16,
            |p| {
                let reverse = FlowKey {
                    src: backend.ip(),
                    dst: snat,
                    sport: backend.port(),
                    dport: p,
                    proto: Proto::Tcp,
                };
                in_use(SocketAddr::new(snat, p)) || flows.reverse_in_use(&reverse, now)
            },
        )?;
        Some(SocketAddr::new(snat, port))
    }
}

impl<B: PacketBuffer> Worker<B> {
    /// Makes the proxy when the snapshot has L7 listeners, and gives it the snapshot.
    pub(super) fn l7_snapshot_changed(&mut self) {
        let l7 = &self.local.snapshot.l7;
        if self.l7.is_none() && !l7.is_empty() {
            let mut config = self.l7_config;
            config.tcp.random_seed ^=
                u64::from(self.core.index).wrapping_mul(0x2545_f491_4f6c_dd1d);
            match L7Proxy::new(config) {
                Ok(proxy) => self.l7 = Some(Box::new(proxy)),
                Err(_) => self.counters.l7_setup_failures += 1,
            }
        }
        if let Some(proxy) = self.l7.as_mut() {
            proxy.set_snapshot(l7.clone());
        }
    }

    /// Whether `dst` is an L7 listener.
    pub(super) fn is_l7_listener(&self, dst: SocketAddr) -> bool {
        self.l7
            .as_deref()
            .is_some_and(|p| p.snapshot().listener_at(dst).is_some())
    }

    /// Whether a segment from `src` to `dst` belongs to one of this core's upstream connections.
    pub(super) fn is_l7_upstream(&self, src: SocketAddr, dst: SocketAddr) -> bool {
        self.l7
            .as_deref()
            .is_some_and(|p| p.has_connection(dst, src))
    }

    /// Gives the frame's IP packet to the proxy and sends what it answers.
    pub(super) fn receive_l7(
        &mut self,
        now: Instant,
        rx: Rx,
        ip: IpMeta,
        buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let packet = buf
            .data()
            .get(rx.l2_len..rx.l2_len + ip.total_len)
            .ok_or(DropReason::L4Truncated)?;
        let verdict = self
            .run_proxy(now, io, |proxy, source, counters| {
                proxy.handle_packet(now, packet, source, counters)
            })
            .ok_or(DropReason::NoListener)?;
        match verdict {
            PacketVerdict::Consumed | PacketVerdict::ResetSent => Ok(()),
            PacketVerdict::Dropped(TcpDrop::ConnectionLimit) => Err(DropReason::L7ConnectionLimit),
            PacketVerdict::Dropped(TcpDrop::NoConnection) => Err(DropReason::L7NoConnection),
            PacketVerdict::Dropped(_) => Err(DropReason::L7BadSegment),
        }
    }

    /// The proxy's timers, when due.
    pub(super) fn poll_l7_timers(&mut self, now: Instant, io: &mut impl Io<B>) {
        if self.next_l7_timer().is_none_or(|d| d > now) {
            return;
        }
        self.run_proxy(now, io, |proxy, source, counters| {
            proxy.poll_timers(now, source, counters)
        });
    }

    /// Runs `work` on the proxy with the SNAT port picker and the counters, then sends what it produced.
    /// None without a proxy.
    fn run_proxy<T>(
        &mut self,
        now: Instant,
        io: &mut impl Io<B>,
        work: impl FnOnce(&mut L7Proxy, &mut dyn UpstreamSource, &mut Counters) -> T,
    ) -> Option<T> {
        let proxy = self.l7.as_deref_mut()?;
        let mut source = SnatPicker {
            routes: &self.routes,
            local: &self.local,
            flows: &self.flows,
            core: self.core,
            now,
            spread: self.l7_spread,
        };
        let done = work(proxy, &mut source, &mut self.counters);
        self.l7_spread = source.spread;
        self.send_l7_output(now, io);
        Some(done)
    }

    /// When the proxy next has timer work.
    pub(super) fn next_l7_timer(&self) -> Option<Instant> {
        self.l7.as_deref().and_then(L7Proxy::next_deadline)
    }

    /// Frames the proxy's IP packets (a fresh buffer each) and routes them.
    fn send_l7_output(&mut self, now: Instant, io: &mut impl Io<B>) {
        let count = self.l7.as_deref_mut().map_or(0, |p| p.output().len());
        for i in 0..count {
            let Some(mut buf) = io.alloc() else {
                self.counters.drop(DropReason::NoBuffer);
                continue;
            };
            let built = self.l7.as_deref_mut().and_then(|p| {
                let packet = p.output().get(i)?;
                buf.set_len(ETH_LEN + packet.len()).ok()?;
                buf.data_mut().get_mut(ETH_LEN..)?.copy_from_slice(packet);
                Some(())
            });
            if built.is_none() {
                self.counters.drop(DropReason::NoRoom);
                continue;
            }
            self.counters.l7_packets_out += 1;
            if let Err(reason) = self.send_ip(now, buf, None, io) {
                self.counters.drop(reason);
            }
        }
        if let Some(p) = self.l7.as_deref_mut() {
            p.output().clear();
        }
    }

    /// The L7 connection count and TCP counters of this core, for reports.
    pub fn l7_tcp_counters(&self) -> Option<crate::l7::tcp::TcpCounters> {
        self.l7.as_deref().map(|p| *p.tcp_counters())
    }
}
