//! ICMP and ICMPv6 errors about balanced flows (unreachable, fragmentation needed / packet too
//! big, time exceeded): matched by the packet they quote, rewritten, and sent to the flow's other
//! side; handed to the owning core when the flow lives there.
//!
//! An error about a packet sent to a backend (quoted source: a SNAT address and port) goes to the
//! client, from the VIP, quoting the client's packet. An error about a packet sent to a client
//! (quoted source: a listener) goes to the backend, from the SNAT address, quoting the backend's
//! packet. Errors do not refresh the flow.

use super::l4::IpMeta;
use super::output::reframe_ip;
use super::{Rx, Worker};
use crate::buffer::PacketBuffer;
use crate::flow::{FlowEntry, FlowKey, FlowTable};
use crate::io::Io;
use crate::l4::icmp_error::{self, Quoted, Redirect};
use crate::l4::{snat, toeplitz};
use crate::time::Instant;
use crate::DropReason;

impl<B: PacketBuffer> Worker<B> {
    /// An ICMP(v6) error (checksum verified) to an owned address.
    pub(super) fn receive_icmp_error(
        &mut self,
        now: Instant,
        rx: Rx,
        ip: IpMeta,
        mut buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let msg = buf
            .data()
            .get(rx.l2_len + ip.header_len..rx.l2_len + ip.total_len)
            .ok_or(DropReason::IcmpErrorTruncated)?;
        let q = icmp_error::parse_quoted(ip.dst.is_ipv6(), msg)?;
        // An error goes to the source of the packet it is about.
        if q.src != ip.dst {
            return Err(DropReason::IcmpErrorNoFlow);
        }
        // The flow key of the direction the quoted packet went, as its peer would send it.
        let key = FlowKey {
            src: q.dst,
            dst: q.src,
            sport: q.dport,
            dport: q.sport,
            proto: q.proto,
        };
        let l4 = &self.local.snapshot.l4;
        let rss = l4.rss(rx.port.index());
        let to_backend =
            self.local.snat.contains(q.src) && l4.settings().snat_ports.contains(q.sport);
        let redirect = if to_backend {
            let Some(e) = flow_by(&mut self.flows, &key, true, now) else {
                let owner = snat::owner(self.core, rss, &key);
                return self.hand_off(rx, owner, buf, io, DropReason::IcmpErrorNoFlow);
            };
            // To the client, from the VIP, about the client's packet.
            Redirect {
                outer_src: e.fwd.dst,
                outer_dst: e.fwd.src,
                quoted: ends(&e.fwd, q),
            }
        } else if l4.listener(q.src, q.sport, q.proto).is_some() {
            let Some(e) = flow_by(&mut self.flows, &key, false, now) else {
                // The client's packets reach the core RSS gives them; unknown without RSS.
                let owner = rss.and_then(|rss| {
                    let hash =
                        toeplitz::hash_tuple(&rss.key, key.src, key.dst, key.sport, key.dport);
                    toeplitz::queue(&rss.reta, hash).filter(|&c| c < self.core.count)
                });
                return self.hand_off(rx, owner, buf, io, DropReason::IcmpErrorNoFlow);
            };
            // To the backend, from the SNAT address, about the backend's packet.
            Redirect {
                outer_src: e.rev.dst,
                outer_dst: e.rev.src,
                quoted: ends(&e.rev, q),
            }
        } else {
            return Err(DropReason::IcmpErrorNoFlow);
        };
        let packet = reframe_ip(&mut buf, rx.l2_len, ip.total_len)?;
        icmp_error::rewrite(packet, ip.header_len, &redirect)?;
        self.counters.icmp_errors_forwarded += 1;
        self.send_ip(now, buf, None, io)
    }
}

/// The live flow whose reverse (`reverse`) or forward key is `key`, copied.
fn flow_by(flows: &mut FlowTable, key: &FlowKey, reverse: bool, now: Instant) -> Option<FlowEntry> {
    let flow = if reverse {
        flows.lookup_reverse(key, now)
    } else {
        flows.lookup_forward(key, now)
    }?;
    flows.entry(flow).copied()
}

/// The quoted packet as the peer of `key`'s sender would have sent it: `key` itself.
fn ends(key: &FlowKey, q: Quoted) -> Quoted {
    Quoted {
        proto: q.proto,
        src: key.src,
        dst: key.dst,
        sport: key.sport,
        dport: key.dport,
    }
}
