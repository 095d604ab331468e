//! The L4 fast path: TCP/UDP to a listener goes forward (flow table, Maglev for a new flow,
//! FullNAT to the backend); TCP/UDP to a SNAT address comes back (reverse lookup, FullNAT to the
//! client), or is handed to the core that owns it.
//!
//! An established flow costs one listener lookup, one flow lookup, an in-place rewrite with
//! incremental checksums, and the usual route and neighbour lookups. L4 checksums are not
//! verified here (see `l4/segment.rs`).

use core::net::{IpAddr, SocketAddr};

use super::output::reframe_ip;
use super::{Rx, Worker};
use crate::buffer::PacketBuffer;
use crate::flow::{Direction, FlowData, FlowKey, InsertError, PacketInfo, Proto};
use crate::io::Io;
use crate::l4::nat::{self, Rewrite};
use crate::l4::segment::Segment;
use crate::l4::snat::{self, ReturnPath};
use crate::maglev::{hash_5tuple, hash_source};
use crate::time::Instant;
use crate::wire::be16;
use crate::wire::ipv4::Ipv4Header;
use crate::wire::ipv6::{Ipv6Header, HEADER_LEN as IPV6_LEN};
use crate::DropReason;

/// What the L4 stages need of a checked IP header.
#[derive(Debug, Clone, Copy)]
pub(super) struct IpMeta {
    pub(super) src: IpAddr,
    pub(super) dst: IpAddr,
    /// Bytes before the L4 header (IPv4 options included).
    pub(super) header_len: usize,
    /// The IP packet's length, padding excluded.
    pub(super) total_len: usize,
    /// TTL or hop limit.
    pub(super) hops: u8,
}

impl IpMeta {
    pub(super) fn v4(ip: &Ipv4Header) -> Self {
        Self {
            src: IpAddr::V4(ip.src),
            dst: IpAddr::V4(ip.dst),
            header_len: ip.header_len,
            total_len: ip.total_len,
            hops: ip.ttl,
        }
    }

    pub(super) fn v6(ip: &Ipv6Header) -> Self {
        Self {
            src: IpAddr::V6(ip.src),
            dst: IpAddr::V6(ip.dst),
            header_len: IPV6_LEN,
            total_len: IPV6_LEN + ip.payload_len,
            hops: ip.hop_limit,
        }
    }
}

fn packet_info(seg: &Segment, ip: &IpMeta) -> PacketInfo {
    PacketInfo {
        flags: seg.flags,
        ack: seg.ack,
        bytes: u32::try_from(ip.total_len).unwrap_or(u32::MAX),
    }
}

fn key_of(ip: &IpMeta, seg: &Segment) -> FlowKey {
    FlowKey {
        src: ip.src,
        dst: ip.dst,
        sport: seg.sport,
        dport: seg.dport,
        proto: seg.proto,
    }
}

impl<B: PacketBuffer> Worker<B> {
    /// TCP/UDP to an owned address: a listener's, a SNAT address's return traffic, or nobody's.
    pub(super) fn receive_l4(
        &mut self,
        now: Instant,
        rx: Rx,
        ip: IpMeta,
        proto: Proto,
        buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let l4 = buf
            .data()
            .get(rx.l2_len + ip.header_len..rx.l2_len + ip.total_len)
            .ok_or(DropReason::L4Truncated)?;
        let dport = be16(l4, 2).ok_or(DropReason::L4Truncated)?;
        let snapshot = &self.local.snapshot.l4;
        if let Some((listener, _)) = snapshot.listener(ip.dst, dport, proto) {
            let seg = Segment::parse(proto, l4)?;
            return self.l4_forward(now, rx, ip, seg, listener, buf, io);
        }
        if proto == Proto::Tcp && self.l7.is_some() {
            let sport = be16(l4, 0).ok_or(DropReason::L4Truncated)?;
            let (src, dst) = (
                SocketAddr::new(ip.src, sport),
                SocketAddr::new(ip.dst, dport),
            );
            if self.is_l7_listener(dst) {
                // A client's segments all go to the core that owns its connection.
                let key = FlowKey {
                    src: ip.src,
                    dst: ip.dst,
                    sport,
                    dport,
                    proto,
                };
                let rss = self.local.snapshot.l4.rss(rx.port.index());
                let owner = snat::client_owner(self.core, rss, &key);
                if !rx.handed_off && owner.is_some_and(|o| o != self.core.index) {
                    return self.hand_off(rx, owner, buf, io, DropReason::L7NoConnection);
                }
                return self.receive_l7(now, rx, ip, buf, io);
            }
            if self.is_l7_upstream(src, dst) {
                return self.receive_l7(now, rx, ip, buf, io);
            }
        }
        let snapshot = &self.local.snapshot.l4;
        if snapshot.settings().snat_ports.contains(dport) && self.local.snat.contains(ip.dst) {
            let seg = Segment::parse(proto, l4)?;
            return self.l4_reverse(now, rx, ip, seg, buf, io);
        }
        Err(DropReason::NoListener)
    }

    /// Client → VIP: the flow's backend (a new flow for a SYN or a UDP datagram), FullNAT, send.
    #[allow(clippy::too_many_arguments)]
    fn l4_forward(
        &mut self,
        now: Instant,
        rx: Rx,
        ip: IpMeta,
        seg: Segment,
        listener: usize,
        buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        if ip.hops <= 1 {
            return Err(DropReason::TtlExceeded);
        }
        let key = key_of(&ip, &seg);
        let info = packet_info(&seg, &ip);
        let rev = match self.flows.lookup_forward(&key, now) {
            Some(flow) => self
                .flows
                .touch(flow, now, Direction::Forward, info)
                .map(|e| e.rev)
                .ok_or(DropReason::L4NoFlow)?,
            None if seg.opens_flow() => self.new_flow(now, &key, listener, info)?,
            None => return Err(DropReason::L4NoFlow),
        };
        let rw = Rewrite {
            src: rev.dst,
            dst: rev.src,
            sport: rev.dport,
            dport: rev.sport,
            mss_clamp: self.mss_clamp(&seg),
        };
        self.nat_and_send(now, rx, ip, seg, &rw, Direction::Forward, buf, io)
    }

    /// Picks the backend and the SNAT end of a new flow and inserts it; returns its reverse key.
    fn new_flow(
        &mut self,
        now: Instant,
        key: &FlowKey,
        listener: usize,
        info: PacketInfo,
    ) -> Result<FlowKey, DropReason> {
        let l4 = &self.local.snapshot.l4;
        let settings = l4.settings();
        let listener = l4.listeners().get(listener).ok_or(DropReason::NoListener)?;
        let pool = l4.pool_of(listener).ok_or(DropReason::L4NoBackend)?;
        let listener_id = listener.stable_id();
        let affinity = listener.affinity;
        let seed = settings.maglev_seed;
        let backend = match affinity {
            Some(_) => self
                .affinity
                .get(now, listener_id, key.src)
                .and_then(|id| pool.by_id(id))
                .filter(|b| b.takes_new_flows())
                .or_else(|| pool.pick(hash_source(seed, key.src))),
            None => pool.pick(hash_5tuple(seed, key)),
        }
        .copied()
        .ok_or(DropReason::L4NoBackend)?;

        let hop = self
            .routes
            .lookup(backend.addr, None)
            .ok_or(DropReason::NoRoute)?;
        let spread = hash_5tuple(settings.flows.hash_seed, key);
        let snat = self
            .local
            .snat
            .source(hop.port.index(), backend.addr.is_ipv4(), spread)
            .ok_or(DropReason::L4NoSnatAddress)?;
        let reverse = |port| FlowKey {
            src: backend.addr,
            dst: snat,
            sport: backend.port,
            dport: port,
            proto: key.proto,
        };
        let path = ReturnPath {
            backend: backend.addr,
            backend_port: backend.port,
            snat,
        };
        let flows = &self.flows;
        let l7 = self.l7.as_deref();
        let backend_addr = SocketAddr::new(backend.addr, backend.port);
        let port = snat::pick_port(
            self.core,
            l4.rss(hop.port.index()),
            settings.snat_ports,
            path,
            spread >> 16,
            |p| {
                flows.reverse_in_use(&reverse(p), now)
                    || l7
                        .is_some_and(|l7| l7.has_connection(SocketAddr::new(snat, p), backend_addr))
            },
        )
        .ok_or(DropReason::L4SnatExhausted)?;
        let rev = reverse(port);
        let data = FlowData {
            listener: listener_id,
            backend: backend.stable_id(),
        };
        self.flows
            .insert(now, *key, rev, data, info)
            .map_err(|e| match e {
                InsertError::RateLimited => DropReason::L4FlowRateLimited,
                InsertError::ReverseKeyInUse => DropReason::L4SnatExhausted,
                // Neither happens: the forward key was just looked up (expired flows removed),
                // and a full table always makes room.
                InsertError::ForwardKeyInUse | InsertError::Full => DropReason::L4NoFlow,
            })?;
        if let Some(timeout) = affinity {
            self.affinity
                .remember(now, listener_id, key.src, data.backend, timeout);
        }
        self.counters.l4_new_flows += 1;
        Ok(rev)
    }

    /// Backend → SNAT address: the flow's client, FullNAT back, send; or the owning core's.
    fn l4_reverse(
        &mut self,
        now: Instant,
        rx: Rx,
        ip: IpMeta,
        seg: Segment,
        buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let key = key_of(&ip, &seg);
        let Some(flow) = self.flows.lookup_reverse(&key, now) else {
            let rss = self.local.snapshot.l4.rss(rx.port.index());
            let owner = snat::owner(self.core, rss, &key);
            return self.hand_off(rx, owner, buf, io, DropReason::L4NoFlow);
        };
        if ip.hops <= 1 {
            return Err(DropReason::TtlExceeded);
        }
        let fwd = self
            .flows
            .touch(flow, now, Direction::Reverse, packet_info(&seg, &ip))
            .map(|e| e.fwd)
            .ok_or(DropReason::L4NoFlow)?;
        let rw = Rewrite {
            src: fwd.dst,
            dst: fwd.src,
            sport: fwd.dport,
            dport: fwd.sport,
            mss_clamp: self.mss_clamp(&seg),
        };
        self.nat_and_send(now, rx, ip, seg, &rw, Direction::Reverse, buf, io)
    }

    /// Passes a frame with no flow here to `owner`, unless that is this core, the owner is
    /// unknown, or the frame was handed here already: then it is dropped for `otherwise`.
    pub(super) fn hand_off(
        &mut self,
        rx: Rx,
        owner: Option<u16>,
        buf: B,
        io: &mut impl Io<B>,
        otherwise: DropReason,
    ) -> Result<(), DropReason> {
        match owner {
            Some(core) if !rx.handed_off && core != self.core.index => {
                match io.handoff(core, rx.port, buf) {
                    Ok(()) => {
                        self.counters.l4_handed_off += 1;
                        Ok(())
                    }
                    Err(_frame) => Err(DropReason::HandoffFailed),
                }
            }
            _ => Err(otherwise),
        }
    }

    /// The MSS clamp for this segment: SYNs only, when configured.
    fn mss_clamp(&self, seg: &Segment) -> Option<u16> {
        if seg.is_syn() {
            self.local.snapshot.l4.settings().mss_clamp
        } else {
            None
        }
    }

    /// Rewrites the frame in place behind the 14-byte placeholder `send_ip` expects (tag and
    /// padding dropped), and routes it by its new destination.
    #[allow(clippy::too_many_arguments)]
    fn nat_and_send(
        &mut self,
        now: Instant,
        rx: Rx,
        ip: IpMeta,
        seg: Segment,
        rw: &Rewrite,
        dir: Direction,
        mut buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let packet = reframe_ip(&mut buf, rx.l2_len, ip.total_len)?;
        let done = nat::rewrite(packet, ip.header_len, seg.proto, seg.header_len, rw)?;
        if done.mss_clamped {
            self.counters.l4_mss_clamped += 1;
        }
        match dir {
            Direction::Forward => self.counters.l4_forward_packets += 1,
            Direction::Reverse => self.counters.l4_reverse_packets += 1,
        }
        self.send_ip(now, buf, None, io)
    }
}
