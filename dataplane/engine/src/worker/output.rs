//! The way out: routing, neighbour resolution (ARP requests, neighbour solicitations), Ethernet
//! and VLAN headers, and the timers that retransmit, give up and expire.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Worker;
use crate::addresses::{multicast_mac, solicited_node};
use crate::buffer::PacketBuffer;
use crate::io::Io;
use crate::neighbour::{Key, Resolved, Solicitation, TimerAction};
use crate::time::Instant;
use crate::wire::arp::{self, Arp, OP_REQUEST};
use crate::wire::ethernet::{self, HEADER_LEN as ETH_LEN, VLAN_TAG_LEN};
use crate::wire::icmp::fill_icmpv6_checksum;
use crate::wire::ipv6::{self, HEADER_LEN as IPV6_LEN};
use crate::wire::nd::{Solicit, WITH_LL_OPTION_LEN};
use crate::wire::{
    array, byte, BROADCAST_MAC, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, PROTO_ICMPV6,
};
use crate::{DropReason, PortId};

/// Turns a received frame, rewritten in place, into what `send_ip` expects: the link header
/// (`l2_len` bytes, VLAN tag included) shrunk to the untagged Ethernet placeholder, and the frame
/// cut to `ip_len` bytes of IP packet behind it (Ethernet padding goes). Returns the IP packet.
pub(crate) fn reframe_ip<B: PacketBuffer>(
    buf: &mut B,
    l2_len: usize,
    ip_len: usize,
) -> Result<&mut [u8], DropReason> {
    buf.trim_front(l2_len.saturating_sub(ETH_LEN))
        .map_err(|_| DropReason::NoRoom)?;
    buf.set_len(ETH_LEN + ip_len)
        .map_err(|_| DropReason::NoRoom)?;
    buf.data_mut().get_mut(ETH_LEN..).ok_or(DropReason::NoRoom)
}

impl<B: PacketBuffer> Worker<B> {
    /// Send an IP packet (buf.data() starts at an Ethernet header whose contents are to be filled, followed by
    /// the IP packet) to its destination: route lookup, neighbour lookup, Ethernet (and VLAN) header written,
    /// or queued while the next hop is resolved (ARP request / neighbour solicitation sent, rate-limited).
    ///
    /// The placeholder is 14 bytes (untagged); for a port with a VLAN the tag is taken from the headroom.
    pub fn route_and_send(&mut self, now: Instant, buf: B, io: &mut impl Io<B>) {
        self.now = self.now.max(now);
        if let Err(reason) = self.send_ip(now, buf, None, io) {
            self.counters.drop(reason);
        }
    }

    /// [`Self::route_and_send`] for the pipeline: link-local destinations are reached through `scope`.
    pub(super) fn send_ip(
        &mut self,
        now: Instant,
        buf: B,
        scope: Option<PortId>,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let data = buf.data();
        let dst = match byte(data, ETH_LEN).map(|b| b >> 4) {
            Some(4) => IpAddr::V4(Ipv4Addr::from(
                array::<4>(data, ETH_LEN + 16).ok_or(DropReason::TxMalformed)?,
            )),
            Some(6) => IpAddr::V6(Ipv6Addr::from(
                array::<16>(data, ETH_LEN + 24).ok_or(DropReason::TxMalformed)?,
            )),
            _ => return Err(DropReason::TxMalformed),
        };
        let hop = self.routes.lookup(dst, scope).ok_or(DropReason::NoRoute)?;
        if self.local.port(hop.port).is_none() {
            return Err(DropReason::NoRoute);
        }
        let timers = self.local.snapshot.neighbour;
        let key = Key {
            port: hop.port,
            ip: hop.ip,
        };
        match self
            .neighbours
            .resolve(now, key, buf, &timers, &mut self.counters)?
        {
            Resolved::Send { mac, packet, probe } => {
                if let Some(probe) = probe {
                    self.solicit(probe, io);
                }
                self.send_resolved(hop.port, mac, packet, io)
            }
            Resolved::Queued { probe } => {
                if let Some(probe) = probe {
                    self.solicit(probe, io);
                }
                Ok(())
            }
            Resolved::Dropped { reason, probe } => {
                self.solicit(probe, io);
                Err(reason)
            }
        }
    }

    /// Fills in the Ethernet (and VLAN) header of an IP packet behind a 14-byte placeholder, and sends it.
    fn send_resolved(
        &mut self,
        port: PortId,
        dst: [u8; 6],
        mut buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let spec = self.local.port(port).ok_or(DropReason::NoRoute)?;
        let (src, vlan) = (spec.mac, spec.vlan);
        let ethertype = match byte(buf.data(), ETH_LEN).map(|b| b >> 4) {
            Some(4) => ETHERTYPE_IPV4,
            Some(6) => ETHERTYPE_IPV6,
            _ => return Err(DropReason::TxMalformed),
        };
        if vlan.is_some() {
            buf.prepend(VLAN_TAG_LEN).map_err(|_| DropReason::NoRoom)?;
        }
        ethernet::write(buf.data_mut(), dst, src, vlan, ethertype).ok_or(DropReason::NoRoom)?;
        self.transmit(port, buf, io);
        Ok(())
    }

    /// Hands a complete frame to the caller.
    pub(super) fn transmit(&mut self, port: PortId, buf: B, io: &mut impl Io<B>) {
        self.counters.tx_frames += 1;
        io.send(port, buf);
    }

    /// Sends, in arrival order, the packets that waited for the neighbour in `slot`.
    pub(super) fn flush(&mut self, slot: u32, io: &mut impl Io<B>) {
        let Some((mac, port)) = self.neighbours.resolved(slot) else {
            return;
        };
        while let Some(packet) = self.neighbours.pop_pending(slot) {
            self.counters.neighbour_flushed += 1;
            if let Err(reason) = self.send_resolved(port, mac, packet, io) {
                self.counters.drop(reason);
            }
        }
    }

    /// Sends an ARP request or a neighbour solicitation. A failure drops only the request.
    fn solicit(&mut self, s: Solicitation, io: &mut impl Io<B>) {
        let Some(mut buf) = io.alloc() else {
            self.counters.drop(DropReason::NoBuffer);
            return;
        };
        let built = match s.ip {
            IpAddr::V4(ip) => self.build_arp_request(&mut buf, s.port, ip, s.unicast),
            IpAddr::V6(ip) => self.build_solicit(&mut buf, s.port, ip, s.unicast),
        };
        match built {
            Some(()) => {
                if s.ip.is_ipv4() {
                    self.counters.arp_requests_sent += 1;
                } else {
                    self.counters.nd_solicits_sent += 1;
                }
                self.transmit(s.port, buf, io);
            }
            None => self.counters.drop(DropReason::NoRoom),
        }
    }

    fn build_arp_request(
        &self,
        buf: &mut B,
        port: PortId,
        target: Ipv4Addr,
        unicast: Option<[u8; 6]>,
    ) -> Option<()> {
        let spec = self.local.port(port)?;
        let l2 = ethernet::header_len(spec.vlan);
        buf.set_len(l2 + arp::PACKET_LEN).ok()?;
        let frame = buf.data_mut();
        ethernet::write(
            frame,
            unicast.unwrap_or(BROADCAST_MAC),
            spec.mac,
            spec.vlan,
            ETHERTYPE_ARP,
        )?;
        let spa = self.local.arp_source(port, target);
        let request = Arp {
            op: OP_REQUEST,
            sha: spec.mac,
            spa,
            tha: [0; 6],
            tpa: target,
        };
        request.emit(frame.get_mut(l2..)?)
    }

    fn build_solicit(
        &self,
        buf: &mut B,
        port: PortId,
        target: Ipv6Addr,
        unicast: Option<[u8; 6]>,
    ) -> Option<()> {
        let spec = self.local.port(port)?;
        let l2 = ethernet::header_len(spec.vlan);
        buf.set_len(l2 + IPV6_LEN + WITH_LL_OPTION_LEN).ok()?;
        let (dst, dst_mac) = match unicast {
            Some(mac) => (target, mac),
            None => (
                solicited_node(target),
                multicast_mac(solicited_node(target)),
            ),
        };
        let src = self.local.nd_source(port, target);
        let frame = buf.data_mut();
        ethernet::write(frame, dst_mac, spec.mac, spec.vlan, ETHERTYPE_IPV6)?;
        let packet = frame.get_mut(l2..)?;
        ipv6::emit(packet, src, dst, PROTO_ICMPV6, 255, WITH_LL_OPTION_LEN)?;
        let msg = packet.get_mut(IPV6_LEN..)?;
        Solicit::emit(msg, target, spec.mac)?;
        fill_icmpv6_checksum(msg, src, dst)
    }

    /// Timers: neighbour retransmits/expiry/refresh, queued packets timing out, flow expiry, and
    /// the flows of removed backends after a snapshot change.
    pub fn poll_timers(&mut self, now: Instant, io: &mut impl Io<B>) {
        self.now = self.now.max(now);
        self.poll_l4_timers(now, io);
        self.poll_l7_timers(now, io);
        if self.neighbours.next_deadline().is_none_or(|d| d > now) {
            return;
        }
        let timers = self.local.snapshot.neighbour;
        for slot in 0..self.neighbours.capacity() as u32 {
            match self.neighbours.poll_slot(slot, now, &timers) {
                TimerAction::None => {}
                TimerAction::Retransmit(s) => self.solicit(s, io),
                TimerAction::Failed => {
                    self.drop_pending(slot);
                    self.neighbours.remove(slot);
                    self.counters.neighbour_failed += 1;
                }
                TimerAction::Expired => {
                    self.neighbours.remove(slot);
                    self.counters.neighbour_expired += 1;
                }
            }
        }
        self.neighbours.reschedule(&timers);
    }

    /// When [`Self::poll_timers`] next has work (it may find none then: the deadline is a lower bound).
    pub fn next_timer(&self) -> Option<Instant> {
        [
            self.neighbours.next_deadline(),
            self.next_l4_timer(),
            self.next_l7_timer(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
