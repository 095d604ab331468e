//! IPv4 delivery: owned destinations only; ICMP echo is answered, ICMP errors and TCP/UDP go to
//! the L4 stages, everything else has no listener.

use super::l4::IpMeta;
use super::output::reframe_ip;
use super::{Rx, Worker};
use crate::addresses::Owner;
use crate::buffer::PacketBuffer;
use crate::io::Io;
use crate::l4::icmp_error::is_forwarded_error;
use crate::l4::segment::proto_of;
use crate::time::Instant;
use crate::wire::icmp::{check_icmpv4, make_icmpv4_reply, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST};
use crate::wire::ipv4::{self, Ipv4Header, MIN_HEADER_LEN};
use crate::wire::PROTO_ICMP;
use crate::DropReason;

/// TTL of packets the engine originates.
pub(super) const TTL: u8 = 64;

impl<B: PacketBuffer> Worker<B> {
    pub(super) fn receive_ipv4(
        &mut self,
        now: Instant,
        rx: Rx,
        buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let ip = Ipv4Header::parse(buf.data().get(rx.l2_len..).unwrap_or_default())?;
        let _owner: Owner = self.local.local_v4(ip.dst).ok_or(DropReason::NotOwned)?;
        // Our own address as the source is spoofed or looped (a martian).
        if self.local.local_v4(ip.src).is_some() {
            return Err(DropReason::Ipv4BadSource);
        }
        match (ip.protocol, proto_of(ip.protocol)) {
            (PROTO_ICMP, _) => self.receive_icmpv4(now, rx, ip, buf, io),
            (_, Some(proto)) => self.receive_l4(now, rx, IpMeta::v4(&ip), proto, buf, io),
            _ => Err(DropReason::NoListener),
        }
    }

    fn receive_icmpv4(
        &mut self,
        now: Instant,
        rx: Rx,
        ip: Ipv4Header,
        mut buf: B,
        io: &mut impl Io<B>,
    ) -> Result<(), DropReason> {
        let packet = rx.l2_len..rx.l2_len + ip.total_len;
        let msg = buf
            .data()
            .get(packet.start + ip.header_len..packet.end)
            .unwrap_or_default();
        match check_icmpv4(msg)? {
            ICMP_ECHO_REQUEST => {}
            ty if is_forwarded_error(false, ty) => {
                return self.receive_icmp_error(now, rx, IpMeta::v4(&ip), buf, io)
            }
            _ => return Err(DropReason::IcmpUnhandledType),
        }
        let msg_len = ip.total_len - ip.header_len;
        // In place: options and padding go, the ICMP message moves up behind a 20-byte header,
        // and the Ethernet header shrinks to the untagged placeholder `send_ip` expects.
        let data = buf.data_mut().get_mut(packet).ok_or(DropReason::NoRoom)?;
        data.copy_within(ip.header_len.., MIN_HEADER_LEN);
        let data = reframe_ip(&mut buf, rx.l2_len, MIN_HEADER_LEN + msg_len)?;
        ipv4::emit(data, ip.dst, ip.src, PROTO_ICMP, TTL, msg_len).ok_or(DropReason::NoRoom)?;
        let msg = data.get_mut(MIN_HEADER_LEN..).unwrap_or_default();
        make_icmpv4_reply(msg, ICMP_ECHO_REPLY).ok_or(DropReason::NoRoom)?;
        self.counters.icmp_echo_replies += 1;
        self.send_ip(now, buf, Some(rx.port), io)
    }
}
