//! ARP: answer requests for owned addresses in place, learn senders (RFC 826 merge rule).

use core::net::IpAddr;

use super::{Rx, Worker};
use crate::buffer::PacketBuffer;
use crate::io::Io;
use crate::neighbour::{Key, Learn};
use crate::time::Instant;
use crate::wire::arp::{Arp, OP_REPLY, PACKET_LEN};
use crate::wire::{ethernet, is_group_mac, ETHERTYPE_ARP};
use crate::DropReason;

impl<B: PacketBuffer> Worker<B> {
    pub(super) fn receive_arp(
        &mut self,
        now: Instant,
        rx: Rx,
        mut buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let arp = Arp::parse(buf.data().get(rx.l2_len..).unwrap_or_default())?;
        if is_group_mac(arp.sha) || arp.spa.is_multicast() || arp.spa.is_broadcast() {
            return Err(DropReason::ArpBadSender);
        }
        let for_us = self.local.arp_owned(rx.port, arp.tpa);
        let gratuitous = arp.spa == arp.tpa;
        // Merge: update an entry we have; create one when the packet is addressed to us. Never
        // learn 0.0.0.0 (address probes) nor our own addresses (a conflict is not a neighbour).
        if !arp.spa.is_unspecified() && !self.local.arp_owned(rx.port, arp.spa) {
            let confirmed = arp.op == OP_REPLY && for_us && !gratuitous;
            let how = Learn {
                confirmed,
                create: for_us && !gratuitous,
                override_mac: true,
            };
            self.learn(
                now,
                Key {
                    port: rx.port,
                    ip: IpAddr::V4(arp.spa),
                },
                arp.sha,
                how,
                true,
                io,
            );
        }
        if arp.op == OP_REPLY || gratuitous {
            self.counters.rx_absorbed += 1;
            return Ok(());
        }
        if !for_us {
            return Err(DropReason::ArpNotOwned);
        }
        let reply = Arp {
            op: OP_REPLY,
            sha: rx.mac,
            spa: arp.tpa,
            tha: arp.sha,
            tpa: arp.spa,
        };
        // Trailing Ethernet padding goes; the NIC pads again if it must.
        buf.set_len(rx.l2_len + PACKET_LEN)
            .map_err(|_| DropReason::NoRoom)?;
        let frame = buf.data_mut();
        ethernet::write(frame, arp.sha, rx.mac, rx.vlan, ETHERTYPE_ARP)
            .ok_or(DropReason::NoRoom)?;
        reply
            .emit(frame.get_mut(rx.l2_len..).unwrap_or_default())
            .ok_or(DropReason::NoRoom)?;
        self.counters.arp_replies_sent += 1;
        self.transmit(rx.port, buf, io);
        Ok(())
    }
}
