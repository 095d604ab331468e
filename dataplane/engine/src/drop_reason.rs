//! Why a frame was dropped: one small `Copy` value per distinct reason, counted per core.
//!
//! Every path through the engine that does not send or keep a frame ends in exactly one of these.
//! The names (snake_case) are part of the metrics interface: `drop_<name>` in [`crate::Counters`].

macro_rules! drop_reasons {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// Why a frame was dropped.
        #[repr(u8)]
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum DropReason {
            $($(#[$doc])* $variant,)*
        }

        impl DropReason {
            /// How many reasons there are.
            pub const COUNT: usize = [$($name,)*].len();

            /// Every reason, in declaration order (the order of [`crate::Counters::drops`]).
            pub const ALL: [DropReason; DropReason::COUNT] = [$(DropReason::$variant,)*];

            /// The reason's snake_case name.
            pub const fn name(self) -> &'static str {
                match self {
                    $(DropReason::$variant => $name,)*
                }
            }

            /// The name of the reason's counter: `drop_<name>`.
            pub const fn counter_name(self) -> &'static str {
                match self {
                    $(DropReason::$variant => concat!("drop_", $name),)*
                }
            }
        }
    };
}

drop_reasons! {
    /// The frame arrived on a port the snapshot does not have.
    UnknownPort => "unknown_port",
    /// Shorter than an Ethernet header.
    EthernetTruncated => "ethernet_truncated",
    /// The source MAC is a group (multicast/broadcast) address.
    EthernetBadSource => "ethernet_bad_source",
    /// Unicast to a MAC that is not the port's.
    EthernetNotOurs => "ethernet_not_ours",
    /// An 802.1Q tag cut short.
    VlanTruncated => "vlan_truncated",
    /// Tagged on an untagged port, untagged on a tagged port, or the wrong VLAN id.
    VlanMismatch => "vlan_mismatch",
    /// Neither ARP, IPv4 nor IPv6.
    UnknownEthertype => "unknown_ethertype",
    /// ARP shorter than its fixed header or than the addresses it announces.
    ArpTruncated => "arp_truncated",
    /// ARP hardware type is not Ethernet or its length is not 6.
    ArpBadHardware => "arp_bad_hardware",
    /// ARP protocol type is not IPv4 or its length is not 4.
    ArpBadProtocol => "arp_bad_protocol",
    /// ARP operation neither request nor reply.
    ArpBadOperation => "arp_bad_operation",
    /// ARP sender hardware address is a group address, or its protocol address is multicast/broadcast.
    ArpBadSender => "arp_bad_sender",
    /// ARP request for an address this port does not own.
    ArpNotOwned => "arp_not_owned",
    /// Shorter than an IPv4 header.
    Ipv4Truncated => "ipv4_truncated",
    /// IP version field is not 4 in an IPv4 frame.
    Ipv4BadVersion => "ipv4_bad_version",
    /// IHL below 5.
    Ipv4IhlTooSmall => "ipv4_ihl_too_small",
    /// Total length smaller than the header.
    Ipv4TotalLengthTooSmall => "ipv4_total_length_too_small",
    /// Total length beyond the end of the frame.
    Ipv4TotalLengthBeyondFrame => "ipv4_total_length_beyond_frame",
    /// Header checksum mismatch.
    Ipv4BadChecksum => "ipv4_bad_checksum",
    /// Source is multicast, broadcast, loopback, "this network" (0/8), or one of our own addresses.
    Ipv4BadSource => "ipv4_bad_source",
    /// A fragment (reassembly is not supported yet).
    Ipv4Fragment => "ipv4_fragment",
    /// Shorter than an IPv6 header.
    Ipv6Truncated => "ipv6_truncated",
    /// IP version field is not 6 in an IPv6 frame.
    Ipv6BadVersion => "ipv6_bad_version",
    /// Payload length beyond the end of the frame.
    Ipv6PayloadBeyondFrame => "ipv6_payload_beyond_frame",
    /// Source is multicast, loopback or one of our own addresses, or unspecified where a reply is needed.
    Ipv6BadSource => "ipv6_bad_source",
    /// ICMP message shorter than its 8-byte header.
    IcmpTruncated => "icmp_truncated",
    /// ICMP checksum mismatch.
    IcmpBadChecksum => "icmp_bad_checksum",
    /// An ICMP type the engine does not handle (yet).
    IcmpUnhandledType => "icmp_unhandled_type",
    /// ICMPv6 message shorter than its header.
    Icmpv6Truncated => "icmpv6_truncated",
    /// ICMPv6 checksum (with the pseudo-header) mismatch.
    Icmpv6BadChecksum => "icmpv6_bad_checksum",
    /// An ICMPv6 type the engine does not handle (yet).
    Icmpv6UnhandledType => "icmpv6_unhandled_type",
    /// Neighbour discovery with a hop limit other than 255 (it came from off-link).
    NdBadHopLimit => "nd_bad_hop_limit",
    /// Neighbour solicitation/advertisement shorter than its fixed part.
    NdTruncated => "nd_truncated",
    /// An ND option of length zero or running past the message.
    NdBadOption => "nd_bad_option",
    /// ND that breaks RFC 4861's validity rules (code, multicast target, addressing).
    NdInvalid => "nd_invalid",
    /// Neighbour solicitation for an address this port does not own.
    NdNotOwned => "nd_not_owned",
    /// IP destination is not an address of this appliance.
    NotOwned => "not_owned",
    /// To an owned address, but nothing listens for this protocol there.
    NoListener => "no_listener",
    /// Asked to send something that is not a 14-byte Ethernet placeholder and an IP header.
    TxMalformed => "tx_malformed",
    /// No route to the destination.
    NoRoute => "no_route",
    /// The buffer had no headroom/tailroom for the headers of the frame to send.
    NoRoom => "no_room",
    /// A new neighbour was needed but every entry is being resolved.
    NeighbourTableFull => "neighbour_table_full",
    /// Too many packets already wait for this neighbour, or for all of them.
    NeighbourQueueFull => "neighbour_queue_full",
    /// Waited for a neighbour that never answered (or whose port went away).
    NeighbourUnresolved => "neighbour_unresolved",
    /// No buffer to build a frame in (the pool is empty).
    NoBuffer => "no_buffer",
    /// TCP or UDP header cut short (or a TCP data offset / UDP length that does not fit).
    L4Truncated => "l4_truncated",
    /// TCP that is not a bare SYN, with no flow; or return traffic to a SNAT port with no flow.
    L4NoFlow => "l4_no_flow",
    /// A new flow for a listener whose pool has no backend taking new flows.
    L4NoBackend => "l4_no_backend",
    /// No SNAT address of the backend's family on the port towards the backend.
    L4NoSnatAddress => "l4_no_snat_address",
    /// No free SNAT port owned by this core was found in a bounded number of tries.
    L4SnatExhausted => "l4_snat_exhausted",
    /// A new flow over the per-core insert cap.
    L4FlowRateLimited => "l4_flow_rate_limited",
    /// A packet to forward whose TTL or hop limit would reach zero.
    TtlExceeded => "ttl_exceeded",
    /// An ICMP error whose quoted packet matches no flow.
    IcmpErrorNoFlow => "icmp_error_no_flow",
    /// An ICMP error whose quoted packet is too short for its IP header and 8 bytes of L4.
    IcmpErrorTruncated => "icmp_error_truncated",
    /// A frame owned by another core could not be handed to it (no ring, or the ring is full).
    HandoffFailed => "handoff_failed",
    /// A SYN to an L7 listener while the core holds its most L7 connections (the client retries).
    L7ConnectionLimit => "l7_connection_limit",
    /// A TCP segment on an L7 address for no connection (an RST, or one answered with RST).
    L7NoConnection => "l7_no_connection",
    /// A TCP segment for L7 that the endpoint could not take (fragment, bad header, not unicast).
    L7BadSegment => "l7_bad_segment",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_each_reason_at_its_index() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }

    #[test]
    fn names_are_unique_snake_case() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        for n in &names {
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()),
                "{n}"
            );
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        assert_eq!(
            DropReason::Ipv4IhlTooSmall.counter_name(),
            "drop_ipv4_ihl_too_small"
        );
    }
}
