//! Per-core counters: plain integers, summed across cores when read.

use crate::drop_reason::DropReason;
use crate::flow::FlowCounters;
use crate::l7::tcp::TcpCounters;

macro_rules! event_counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// One core's counters. Sum cores with [`Counters::add`]; list them with [`Counters::iter`].
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Counters {
            $($(#[$doc])* pub $name: u64,)*
            /// Dropped frames, indexed by `DropReason as usize`.
            pub drops: [u64; DropReason::COUNT],
            /// The flow table's counters (filled in by [`crate::Worker::counters`]).
            pub flows: FlowCounters,
            /// The client-ip affinity table's counters (filled in by [`crate::Worker::counters`]).
            pub affinity: FlowCounters,
            /// The L7 TCP endpoint's counters (filled in by [`crate::Worker::counters`]).
            pub l7_tcp: TcpCounters,
        }

        impl Default for Counters {
            fn default() -> Self {
                Self {
                    $($name: 0,)*
                    drops: [0; DropReason::COUNT],
                    flows: FlowCounters::default(),
                    affinity: FlowCounters::default(),
                    l7_tcp: TcpCounters::default(),
                }
            }
        }

        impl Counters {
            /// Adds `other` into `self` (to sum the cores).
            pub fn add(&mut self, other: &Counters) {
                $(self.$name = self.$name.wrapping_add(other.$name);)*
                for (mine, theirs) in self.drops.iter_mut().zip(other.drops.iter()) {
                    *mine = mine.wrapping_add(*theirs);
                }
                self.flows.add(&other.flows);
                self.affinity.add(&other.affinity);
                self.l7_tcp.add(&other.l7_tcp);
            }

            /// Every counter with its snake_case name: the events, the flow table's as `flow_<name>`,
            /// the affinity table's as `affinity_<name>`, the drop reasons as `drop_<reason>`.
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
                let events = [$((stringify!($name), self.$name),)*];
                let drops = DropReason::ALL.iter().zip(self.drops.iter()).map(|(r, n)| (r.counter_name(), *n));
                events
                    .into_iter()
                    .chain(self.flows.iter_as_flows())
                    .chain(self.affinity.iter_as_affinity())
                    .chain(self.l7_tcp.iter())
                    .chain(drops)
            }
        }
    };
}

event_counters! {
    /// Frames handed to `handle_frame`.
    rx_frames,
    /// Received frames taken in as information only (ARP replies, neighbour advertisements).
    rx_absorbed,
    /// Frames handed to `Io::send`.
    tx_frames,
    /// ARP replies sent for owned addresses.
    arp_replies_sent,
    /// ARP requests sent (broadcast resolution and unicast probes).
    arp_requests_sent,
    /// Neighbour entries created or updated from ARP.
    arp_learned,
    /// Neighbour advertisements sent for owned addresses.
    nd_adverts_sent,
    /// Neighbour solicitations sent (multicast resolution and unicast probes).
    nd_solicits_sent,
    /// Neighbour entries created or updated from ND.
    nd_learned,
    /// ICMP echo replies built.
    icmp_echo_replies,
    /// ICMPv6 echo replies built.
    icmpv6_echo_replies,
    /// Packets queued to wait for a neighbour.
    neighbour_queued,
    /// Queued packets sent once their neighbour resolved.
    neighbour_flushed,
    /// Neighbour entries created.
    neighbour_created,
    /// Entries evicted to make room for a new one.
    neighbour_evicted,
    /// Entries removed after going unused for `stale_gc`.
    neighbour_expired,
    /// Resolutions or probes that got no answer.
    neighbour_failed,
    /// Neighbour updates offered to the other cores.
    neighbour_updates_sent,
    /// Neighbour updates lost because the outbox was full.
    neighbour_updates_lost,
    /// Neighbour updates from other cores applied.
    neighbour_updates_applied,
    /// L4 flows created (a backend picked, a SNAT port taken).
    l4_new_flows,
    /// Packets from clients rewritten towards their backend.
    l4_forward_packets,
    /// Packets from backends rewritten back towards their client.
    l4_reverse_packets,
    /// Frames handed to the core that owns their flow.
    l4_handed_off,
    /// TCP MSS options lowered to the configured clamp.
    l4_mss_clamped,
    /// TCP resets sent for the flows of a backend that left its pool.
    l4_rst_sent,
    /// Flows removed because their backend (or listener) left the configuration.
    l4_flows_removed_backend_gone,
    /// ICMP/ICMPv6 errors matched to a flow and sent on, rewritten.
    icmp_errors_forwarded,
    /// L7 client connections accepted (handshake done, a session made).
    l7_accepted,
    /// HTTP requests whose head was parsed.
    l7_requests,
    /// Responses relayed to the end from an upstream.
    l7_responses,
    /// Requests refused as malformed, ambiguous or too large (400, 413, 431, 501, 505).
    l7_bad_requests,
    /// Redirects to HTTPS sent.
    l7_redirects,
    /// Requests whose pool had no backend taking requests (503).
    l7_no_backend,
    /// 404 answers (no host and path matched, no default backend).
    l7_answered_404,
    /// Other 4xx answers of edgelb's own.
    l7_answered_4xx,
    /// 5xx answers of edgelb's own (502, 503, 504).
    l7_answered_5xx,
    /// TLS handshakes completed.
    l7_tls_handshakes,
    /// TLS sessions that failed (handshake refused, bad record, alert).
    l7_tls_failures,
    /// Client connections that ended with a request in flight.
    l7_client_aborts,
    /// New upstream connections opened.
    l7_upstream_connects,
    /// Upstream connections that could not be opened or established.
    l7_upstream_connect_failures,
    /// Requests sent on a kept-alive upstream connection.
    l7_upstream_reused,
    /// Upstream responses that were malformed or ambiguous (502).
    l7_upstream_bad_responses,
    /// Responses cut short by their upstream after they had started (the client connection is reset).
    l7_upstream_truncated,
    /// Requests sent to another backend after their connection failed.
    l7_retries,
    /// IP packets the L7 proxy sent (segments to clients and upstreams).
    l7_packets_out,
    /// Client connections closed (408 if a request had started) for not completing a request head in time.
    l7_header_timeouts,
    /// Client connections closed after sitting idle between requests too long.
    l7_keepalive_timeouts,
    /// Times the L7 proxy could not be made (its settings were refused); L7 is not served.
    l7_setup_failures,
}

impl Counters {
    /// Counts one drop for `reason`.
    #[inline]
    pub fn drop(&mut self, reason: DropReason) {
        if let Some(n) = self.drops.get_mut(reason as usize) {
            *n += 1;
        }
    }

    /// Drops counted for `reason`.
    pub fn drops_for(&self, reason: DropReason) -> u64 {
        self.drops.get(reason as usize).copied().unwrap_or(0)
    }

    /// All drops together.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_sums_every_counter() {
        let mut a = Counters {
            rx_frames: 2,
            ..Counters::default()
        };
        a.drop(DropReason::NoRoute);
        let mut b = Counters {
            rx_frames: 3,
            tx_frames: 7,
            ..Counters::default()
        };
        b.drop(DropReason::NoRoute);
        b.drop(DropReason::NoBuffer);
        a.add(&b);
        assert_eq!((a.rx_frames, a.tx_frames), (5, 7));
        assert_eq!(a.drops_for(DropReason::NoRoute), 2);
        assert_eq!(a.drops_for(DropReason::NoBuffer), 1);
        assert_eq!(a.total_drops(), 3);
    }

    #[test]
    fn iter_names_every_counter_once() {
        let mut c = Counters {
            arp_learned: 4,
            ..Counters::default()
        };
        c.drop(DropReason::Ipv4Fragment);
        let all: Vec<_> = c.iter().collect();
        assert_eq!(all.len(), 50 + 2 * 9 + 19 + DropReason::COUNT);
        assert!(all.contains(&("arp_learned", 4)));
        assert!(all.contains(&("drop_ipv4_fragment", 1)));
        assert!(all.contains(&("drop_no_route", 0)));
        let mut names: Vec<_> = all.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }
}
