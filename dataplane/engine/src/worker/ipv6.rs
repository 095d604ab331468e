//! IPv6 delivery: owned unicast destinations (echo; ICMPv6 errors and TCP/UDP go to the L4
//! stages), and the multicast groups ND needs (solicited-node, all-nodes); neighbour
//! solicitations are answered in place. Extension headers are not followed: a packet whose next
//! header is one has no listener.

use core::net::IpAddr;

use super::ipv4::TTL;
use super::l4::IpMeta;
use super::output::reframe_ip;
use super::{Rx, Worker};
use crate::addresses::multicast_mac;
use crate::buffer::PacketBuffer;
use crate::io::Io;
use crate::l4::icmp_error::is_forwarded_error;
use crate::l4::segment::proto_of;
use crate::neighbour::{Key, Learn};
use crate::time::Instant;
use crate::wire::ethernet;
use crate::wire::icmp::{
    check_icmpv6, fill_icmpv6_checksum, make_icmpv6_reply, ICMPV6_ECHO_LEN, ICMPV6_ECHO_REPLY,
    ICMPV6_ECHO_REQUEST, ICMPV6_NEIGHBOUR_ADVERT, ICMPV6_NEIGHBOUR_SOLICIT,
};
use crate::wire::ipv6::{self, is_solicited_node, Ipv6Header, ALL_NODES, HEADER_LEN};
use crate::wire::nd::{Advert, Solicit, WITH_LL_OPTION_LEN};
use crate::wire::{ETHERTYPE_IPV6, PROTO_ICMPV6};
use crate::DropReason;

/// Hop limit of ND messages (RFC 4861: receivers check it to know the sender is on the link).
const ND_HOP_LIMIT: u8 = 255;

impl<B: PacketBuffer> Worker<B> {
    pub(super) fn receive_ipv6(
        &mut self,
        now: Instant,
        rx: Rx,
        buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let ip = Ipv6Header::parse(buf.data().get(rx.l2_len..).unwrap_or_default())?;
        if self.local.local_v6(rx.port, ip.src).is_some() {
            // Our own address as the source is spoofed or looped (a martian).
            return Err(DropReason::Ipv6BadSource);
        }
        let owner = if ip.dst.is_multicast() {
            if ip.dst != ALL_NODES && !is_solicited_node(ip.dst) {
                return Err(DropReason::NotOwned);
            }
            None
        } else {
            Some(
                self.local
                    .local_v6(rx.port, ip.dst)
                    .ok_or(DropReason::NotOwned)?,
            )
        };
        if ip.next_header != PROTO_ICMPV6 {
            return match (owner, proto_of(ip.next_header)) {
                (Some(_), Some(proto)) => self.receive_l4(now, rx, IpMeta::v6(&ip), proto, buf, io),
                (Some(_), None) => Err(DropReason::NoListener),
                (None, _) => Err(DropReason::NotOwned),
            };
        }
        let start = rx.l2_len + HEADER_LEN;
        let msg = buf
            .data()
            .get(start..start + ip.payload_len)
            .unwrap_or_default();
        match (check_icmpv6(msg, ip.src, ip.dst)?, owner) {
            (ICMPV6_NEIGHBOUR_SOLICIT, _) => self.receive_solicit(now, rx, ip, buf, io),
            (ICMPV6_NEIGHBOUR_ADVERT, _) => self.receive_advert(now, rx, ip, buf, io),
            (ICMPV6_ECHO_REQUEST, Some(_)) => self.receive_echo6(now, rx, ip, buf, io),
            (ICMPV6_ECHO_REQUEST, None) => Err(DropReason::NotOwned),
            (ty, Some(_)) if is_forwarded_error(true, ty) => {
                self.receive_icmp_error(now, rx, IpMeta::v6(&ip), buf, io)
            }
            _ => Err(DropReason::Icmpv6UnhandledType),
        }
    }

    fn receive_echo6(
        &mut self,
        now: Instant,
        rx: Rx,
        ip: Ipv6Header,
        mut buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        if ip.payload_len < ICMPV6_ECHO_LEN {
            return Err(DropReason::Icmpv6Truncated);
        }
        if ip.src.is_unspecified() {
            return Err(DropReason::Ipv6BadSource);
        }
        // In place: padding goes, and the Ethernet header shrinks to the untagged placeholder.
        let data = reframe_ip(&mut buf, rx.l2_len, HEADER_LEN + ip.payload_len)?;
        ipv6::emit(data, ip.dst, ip.src, PROTO_ICMPV6, TTL, ip.payload_len)
            .ok_or(DropReason::NoRoom)?;
        let msg = data.get_mut(HEADER_LEN..).unwrap_or_default();
        make_icmpv6_reply(msg, ICMPV6_ECHO_REPLY, ip.dst, ip.src).ok_or(DropReason::NoRoom)?;
        self.counters.icmpv6_echo_replies += 1;
        self.send_ip(now, buf, Some(rx.port), io)
    }

    fn receive_solicit(
        &mut self,
        now: Instant,
        rx: Rx,
        ip: Ipv6Header,
        mut buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let start = rx.l2_len + HEADER_LEN;
        let ns = Solicit::parse(
            buf.data()
                .get(start..start + ip.payload_len)
                .unwrap_or_default(),
            &ip,
        )?;
        if !self.local.nd_owned(rx.port, ns.target) {
            return Err(DropReason::NdNotOwned);
        }
        let (dst, dst_mac, solicited) = if ip.src.is_unspecified() {
            // Duplicate address detection: the answer goes to everyone (RFC 4861 section 7.2.4).
            (ALL_NODES, multicast_mac(ALL_NODES), false)
        } else {
            if let Some(mac) = ns.source_mac {
                let how = Learn {
                    confirmed: false,
                    create: true,
                    override_mac: true,
                };
                self.learn(
                    now,
                    Key {
                        port: rx.port,
                        ip: IpAddr::V6(ip.src),
                    },
                    mac,
                    how,
                    true,
                    io,
                );
            }
            (ip.src, ns.source_mac.unwrap_or(rx.peer), true)
        };
        buf.set_len(start + WITH_LL_OPTION_LEN)
            .map_err(|_| DropReason::NoRoom)?;
        let frame = buf.data_mut();
        ethernet::write(frame, dst_mac, rx.mac, rx.vlan, ETHERTYPE_IPV6)
            .ok_or(DropReason::NoRoom)?;
        let packet = frame.get_mut(rx.l2_len..).unwrap_or_default();
        ipv6::emit(
            packet,
            ns.target,
            dst,
            PROTO_ICMPV6,
            ND_HOP_LIMIT,
            WITH_LL_OPTION_LEN,
        )
        .ok_or(DropReason::NoRoom)?;
        let msg = packet.get_mut(HEADER_LEN..).unwrap_or_default();
        Advert::emit(msg, ns.target, solicited, rx.mac).ok_or(DropReason::NoRoom)?;
        fill_icmpv6_checksum(msg, ns.target, dst).ok_or(DropReason::NoRoom)?;
        self.counters.nd_adverts_sent += 1;
        self.transmit(rx.port, buf, io);
        Ok(())
    }

    fn receive_advert(
        &mut self,
        now: Instant,
        rx: Rx,
        ip: Ipv6Header,
        buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let start = rx.l2_len + HEADER_LEN;
        let na = Advert::parse(
            buf.data()
                .get(start..start + ip.payload_len)
                .unwrap_or_default(),
            &ip,
        )?;
        drop(buf);
        // An unsolicited advert updates what we have cached; it never creates an entry (RFC 4861
        // section 7.2.5), and never one for our own address. A solicited one answers a solicitation
        // of ours, which another core may have sent (the NIC spreads frames over cores): this core
        // creates the entry and the update reaches the core that is resolving. An answer to a unicast
        // solicitation may leave out the target's link-layer address (Linux does): it then
        // confirms the MAC we have, and cannot complete an incomplete entry.
        let key = Key {
            port: rx.port,
            ip: IpAddr::V6(na.target),
        };
        let mac = na.target_mac.or_else(|| self.neighbours.cached_mac(key));
        if let Some(mac) = mac.filter(|_| !self.local.nd_owned(rx.port, na.target)) {
            let how = Learn {
                confirmed: na.solicited,
                create: na.solicited,
                override_mac: na.override_flag,
            };
            self.learn(now, key, mac, how, true, io);
        }
        self.counters.rx_absorbed += 1;
        Ok(())
    }
}
