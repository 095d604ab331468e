//! The TCP endpoint's counters: plain integers, one set per core, summed when read.

macro_rules! tcp_counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// One core's TCP endpoint counters.
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
        pub struct TcpCounters {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl TcpCounters {
            /// Adds `other` into `self` (to sum the cores).
            pub fn add(&mut self, other: &TcpCounters) {
                $(self.$name = self.$name.wrapping_add(other.$name);)*
            }

            /// Every counter with its name prefixed `l7_tcp_` (how reports and metrics show them).
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> {
                [$((concat!("l7_tcp_", stringify!($name)), self.$name),)*].into_iter()
            }
        }
    };
}

tcp_counters! {
    /// Packets given to `handle_packet`.
    segments_in,
    /// IP packets handed to the output closure.
    segments_out,
    /// Of those, segments with RST set (aborts, timeouts, answers to segments for no connection).
    rst_sent,
    /// SYNs to a listener that opened a connection slot.
    syn_received,
    /// Accepted connections that completed the handshake (`Accepted` events).
    accepted,
    /// `connect` calls that sent a SYN.
    connects,
    /// Upstream connections established (`Connected` events).
    connected,
    /// Upstream connections that never got established (`ConnectFailed` events).
    connect_failed,
    /// SYNs dropped because the endpoint held `max_connections`.
    syn_dropped_limit,
    /// Accepted connections dropped before the handshake completed (`handshake_timeout`, an RST, or
    /// a SYN smoltcp refused, e.g. a bad checksum); never reported to the caller.
    half_open_dropped,
    /// Connections reset by the peer after they were reported.
    resets_received,
    /// Connections that ended in `handshake_timeout`/`connect_timeout`.
    handshake_timeouts,
    /// Connections reset at `idle_timeout`.
    idle_timeouts,
    /// Connections aborted by the caller.
    aborted,
    /// Connections reported `Closed` (any reason).
    closed,
    /// Segments that matched no connection and no listener.
    no_connection,
    /// Packets that were not well-formed unicast TCP (see `TcpDrop`).
    bad_packets,
    /// Client SYNs that replaced a connection in TIME-WAIT with the same four-tuple.
    time_wait_reused,
    /// TIME-WAIT slots freed early because the endpoint was at its connection limit.
    time_wait_recycled,
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
            time_wait_recycled: 19,
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
