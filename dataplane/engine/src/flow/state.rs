//! What a flow's packets tell the balancer: the connection state it tracks from the flags it sees.
//!
//! The balancer is not an endpoint, so it follows TCP only as far as it needs to pick a timeout
//! (and an eviction class): the same simplification as IPVS and conntrack, reduced to four states.

/// Which way a packet goes through the flow.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client to listener (the flow's forward key).
    Forward = 0,
    /// Backend to SNAT address (the flow's reverse key).
    Reverse = 1,
}

impl Direction {
    /// The other direction.
    pub const fn opposite(self) -> Direction {
        match self {
            Direction::Forward => Direction::Reverse,
            Direction::Reverse => Direction::Forward,
        }
    }

    /// 0 for forward, 1 for reverse: the index of per-direction arrays.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// TCP header flags, as in the header's flags byte.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No flag (also what a UDP packet passes).
    pub const EMPTY: TcpFlags = TcpFlags(0);
    /// FIN.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// SYN.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// RST.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// PSH.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// ACK.
    pub const ACK: TcpFlags = TcpFlags(0x10);

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets of flags.
    pub const fn union(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }
}

/// The TCP states the balancer distinguishes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TcpState {
    /// The client's SYN was seen, the backend has not answered with SYN-ACK yet.
    SynSent,
    /// The backend answered (or the flow was picked up mid-stream).
    Established,
    /// One side sent a FIN.
    FinWait {
        /// The side that sent it.
        by: Direction,
    },
    /// A RST, or FINs from both sides; kept briefly for the last ACKs and retransmissions.
    Closed,
}

/// A flow's state: picks its timeout and whether it is protected from early eviction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FlowState {
    /// A UDP flow.
    Udp,
    /// A TCP flow.
    Tcp(TcpState),
}

impl FlowState {
    /// The state of a new flow whose first (forward) packet had `flags`.
    ///
    /// A TCP flow that does not start with a bare SYN is taken as established: the balancer picks
    /// up flows it did not see start (after a restart, or from a peer appliance after an ECMP
    /// change).
    pub fn initial(tcp: bool, flags: TcpFlags) -> FlowState {
        if !tcp {
            return FlowState::Udp;
        }
        let next = if flags.contains(TcpFlags::RST) {
            TcpState::Closed
        } else if flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::ACK) {
            TcpState::SynSent
        } else if flags.contains(TcpFlags::FIN) {
            TcpState::FinWait {
                by: Direction::Forward,
            }
        } else {
            TcpState::Established
        };
        FlowState::Tcp(next)
    }

    /// The state after a packet going `dir` with `flags` (UDP has only one state).
    pub fn next(self, dir: Direction, flags: TcpFlags) -> FlowState {
        match self {
            FlowState::Udp => FlowState::Udp,
            FlowState::Tcp(tcp) => FlowState::Tcp(tcp_next(tcp, dir, flags)),
        }
    }

    /// Whether the flow is open for data both ways: UDP, or established TCP. Such a flow is
    /// *assured* (kept over others when the table must evict) once the backend has answered; see
    /// [`crate::flow::FlowEntry::is_assured`].
    pub fn is_open(self) -> bool {
        matches!(self, FlowState::Udp | FlowState::Tcp(TcpState::Established))
    }
}

fn tcp_next(state: TcpState, dir: Direction, flags: TcpFlags) -> TcpState {
    if flags.contains(TcpFlags::RST) {
        return TcpState::Closed;
    }
    let syn_ack = TcpFlags::SYN.union(TcpFlags::ACK);
    let fin = flags.contains(TcpFlags::FIN);
    match state {
        TcpState::SynSent if dir == Direction::Reverse && flags.contains(syn_ack) => {
            TcpState::Established
        }
        TcpState::SynSent | TcpState::Established if fin => TcpState::FinWait { by: dir },
        TcpState::FinWait { by } if fin && by != dir => TcpState::Closed,
        // A bare SYN on a closed flow: the client reuses the 4-tuple for a new connection.
        TcpState::Closed
            if dir == Direction::Forward
                && flags.contains(TcpFlags::SYN)
                && !flags.contains(TcpFlags::ACK) =>
        {
            TcpState::SynSent
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Forward, Reverse};

    const SYN: TcpFlags = TcpFlags::SYN;
    const ACK: TcpFlags = TcpFlags::ACK;
    const SYN_ACK: TcpFlags = TcpFlags(0x12);
    const FIN_ACK: TcpFlags = TcpFlags(0x11);
    const RST: TcpFlags = TcpFlags::RST;

    fn run(first: TcpFlags, packets: &[(Direction, TcpFlags)]) -> Vec<FlowState> {
        let mut state = FlowState::initial(true, first);
        let mut seen = vec![state];
        for &(dir, flags) in packets {
            state = state.next(dir, flags);
            seen.push(state);
        }
        seen
    }

    #[test]
    fn handshake_data_and_orderly_close() {
        use TcpState::*;
        let states = run(
            SYN,
            &[
                (Forward, SYN), // retransmission
                (Reverse, SYN_ACK),
                (Forward, ACK),
                (Forward, FIN_ACK),
                (Forward, FIN_ACK), // retransmitted FIN
                (Reverse, FIN_ACK),
                (Forward, ACK),
            ],
        );
        let tcp: Vec<TcpState> = states
            .into_iter()
            .map(|s| match s {
                FlowState::Tcp(t) => t,
                FlowState::Udp => unreachable!(),
            })
            .collect();
        let fin_fwd = FinWait { by: Forward };
        assert_eq!(
            tcp,
            [
                SynSent,
                SynSent,
                Established,
                Established,
                fin_fwd,
                fin_fwd,
                Closed,
                Closed
            ]
        );
    }

    #[test]
    fn ack_from_the_client_alone_does_not_establish() {
        assert_eq!(
            run(SYN, &[(Forward, ACK)])[1],
            FlowState::Tcp(TcpState::SynSent)
        );
    }

    #[test]
    fn rst_closes_from_any_state_and_syn_reopens() {
        for first in [SYN, ACK, FIN_ACK] {
            assert_eq!(
                run(first, &[(Reverse, RST)])[1],
                FlowState::Tcp(TcpState::Closed)
            );
        }
        let states = run(ACK, &[(Forward, RST), (Reverse, SYN), (Forward, SYN)]);
        assert_eq!(
            states[2],
            FlowState::Tcp(TcpState::Closed),
            "a SYN from the backend does not reopen"
        );
        assert_eq!(states[3], FlowState::Tcp(TcpState::SynSent));
    }

    #[test]
    fn initial_states() {
        assert_eq!(
            FlowState::initial(true, SYN),
            FlowState::Tcp(TcpState::SynSent)
        );
        assert_eq!(
            FlowState::initial(true, ACK),
            FlowState::Tcp(TcpState::Established)
        );
        assert_eq!(
            FlowState::initial(true, SYN_ACK),
            FlowState::Tcp(TcpState::Established)
        );
        assert_eq!(
            FlowState::initial(true, FIN_ACK),
            FlowState::Tcp(TcpState::FinWait { by: Forward })
        );
        assert_eq!(
            FlowState::initial(true, RST),
            FlowState::Tcp(TcpState::Closed)
        );
        assert_eq!(FlowState::initial(false, SYN), FlowState::Udp);
    }

    #[test]
    fn udp_has_one_state() {
        assert_eq!(FlowState::Udp.next(Reverse, RST), FlowState::Udp);
        assert!(FlowState::Udp.is_open());
    }

    #[test]
    fn only_established_tcp_is_open() {
        assert!(FlowState::Tcp(TcpState::Established).is_open());
        for s in [
            TcpState::SynSent,
            TcpState::FinWait { by: Reverse },
            TcpState::Closed,
        ] {
            assert!(!FlowState::Tcp(s).is_open());
        }
    }
}
