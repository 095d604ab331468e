//! The TCP endpoint's counters: plain integers, one set per core, summed when read.

/// One core's TCP endpoint counters.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpCounters {
    /// Packets given to `handle_packet`.
    pub segments_in: u64,
    /// IP packets handed to the output closure.
    pub segments_out: u64,
    /// Of those, segments with RST set (aborts, timeouts, answers to segments for no connection).
    pub rst_sent: u64,
    /// SYNs to a listener that opened a connection slot.
    pub syn_received: u64,
    /// Accepted connections that completed the handshake (`Accepted` events).
    pub accepted: u64,
    /// `connect` calls that sent a SYN.
    pub connects: u64,
    /// Upstream connections established (`Connected` events).
    pub connected: u64,
    /// Upstream connections that never got established (`ConnectFailed` events).
    pub connect_failed: u64,
    /// SYNs dropped because the endpoint held `max_connections`.
    pub syn_dropped_limit: u64,
    /// Accepted connections dropped before the handshake completed (`handshake_timeout`, an RST, or
    /// a SYN smoltcp refused, e.g. a bad checksum); never reported to the caller.
    pub half_open_dropped: u64,
    /// Connections reset by the peer after they were reported.
    pub resets_received: u64,
    /// Connections that ended in `handshake_timeout`/`connect_timeout`.
    pub handshake_timeouts: u64,
    /// Connections reset at `idle_timeout`.
    pub idle_timeouts: u64,
    /// Connections aborted by the caller.
    pub aborted: u64,
    /// Connections reported `Closed` (any reason).
    pub closed: u64,
    /// Segments that matched no connection and no listener.
    pub no_connection: u64,
    /// Packets that were not well-formed unicast TCP (see `TcpDrop`).
    pub bad_packets: u64,
    /// Client SYNs that replaced a connection in TIME-WAIT with the same four-tuple.
    pub time_wait_reused: u64,
}

impl TcpCounters {
    /// Adds `other` into `self` (to sum the cores).
    pub fn add(&mut self, other: &TcpCounters) {
        let TcpCounters {
            segments_in,
            segments_out,
            rst_sent,
            syn_received,
            accepted,
            connects,
            connected,
            connect_failed,
            syn_dropped_limit,
            half_open_dropped,
            resets_received,
            handshake_timeouts,
            idle_timeouts,
            aborted,
            closed,
            no_connection,
            bad_packets,
            time_wait_reused,
        } = *other;
        let pairs = [
            (&mut self.segments_in, segments_in),
            (&mut self.segments_out, segments_out),
            (&mut self.rst_sent, rst_sent),
            (&mut self.syn_received, syn_received),
            (&mut self.accepted, accepted),
            (&mut self.connects, connects),
            (&mut self.connected, connected),
            (&mut self.connect_failed, connect_failed),
            (&mut self.syn_dropped_limit, syn_dropped_limit),
            (&mut self.half_open_dropped, half_open_dropped),
            (&mut self.resets_received, resets_received),
            (&mut self.handshake_timeouts, handshake_timeouts),
            (&mut self.idle_timeouts, idle_timeouts),
            (&mut self.aborted, aborted),
            (&mut self.closed, closed),
            (&mut self.no_connection, no_connection),
            (&mut self.bad_packets, bad_packets),
            (&mut self.time_wait_reused, time_wait_reused),
        ];
        for (mine, theirs) in pairs {
            *mine = mine.wrapping_add(theirs);
        }
    }

    /// Every counter with its name prefixed `l7_tcp_` (how reports and metrics show them).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> {
        let TcpCounters {
            segments_in,
            segments_out,
            rst_sent,
            syn_received,
            accepted,
            connects,
            connected,
            connect_failed,
            syn_dropped_limit,
            half_open_dropped,
            resets_received,
            handshake_timeouts,
            idle_timeouts,
            aborted,
            closed,
            no_connection,
            bad_packets,
            time_wait_reused,
        } = *self;
        [
            ("l7_tcp_segments_in", segments_in),
            ("l7_tcp_segments_out", segments_out),
            ("l7_tcp_rst_sent", rst_sent),
            ("l7_tcp_syn_received", syn_received),
            ("l7_tcp_accepted", accepted),
            ("l7_tcp_connects", connects),
            ("l7_tcp_connected", connected),
            ("l7_tcp_connect_failed", connect_failed),
            ("l7_tcp_syn_dropped_limit", syn_dropped_limit),
            ("l7_tcp_half_open_dropped", half_open_dropped),
            ("l7_tcp_resets_received", resets_received),
            ("l7_tcp_handshake_timeouts", handshake_timeouts),
            ("l7_tcp_idle_timeouts", idle_timeouts),
            ("l7_tcp_aborted", aborted),
            ("l7_tcp_closed", closed),
            ("l7_tcp_no_connection", no_connection),
            ("l7_tcp_bad_packets", bad_packets),
            ("l7_tcp_time_wait_reused", time_wait_reused),
        ]
        .into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_sums_every_field() {
        let one = TcpCounters {
            segments_in: 1,
            segments_out: 2,
            rst_sent: 3,
            syn_received: 4,
            accepted: 5,
            connects: 6,
            connected: 7,
            connect_failed: 8,
            syn_dropped_limit: 9,
            half_open_dropped: 10,
            resets_received: 11,
            handshake_timeouts: 12,
            idle_timeouts: 13,
            aborted: 14,
            closed: 15,
            no_connection: 16,
            bad_packets: 17,
            time_wait_reused: 18,
        };
        let mut sum = one;
        sum.add(&one);
        assert_eq!(sum.segments_in, 2);
        assert_eq!(sum.time_wait_reused, 36);
        assert_eq!(sum.closed, 30);
        let mut zero = TcpCounters::default();
        zero.add(&one);
        assert_eq!(zero, one);
    }
}
