//! Flow table settings: timeouts per state, the insert cap, the index hash seed.

use core::time::Duration;

use super::state::{FlowState, TcpState};

/// How long a flow lives after its last packet, per state.
///
/// Defaults follow IPVS (`ipvsadm --set 900 120 300`, close 10 s) except for half-open TCP: IPVS
/// keeps SYN_RECV for 60 s and conntrack SYN_SENT for 120 s; 30 s here, because half-open entries
/// are what a SYN flood fills the table with, and a client whose SYN goes unanswered for 30 s
/// retries with a fresh SYN that simply makes a new entry (on the same backend, unless the pool
/// changed).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FlowTimeouts {
    /// TCP, client SYN seen, no SYN-ACK yet; also an established flow picked up mid-stream until
    /// the backend answers (so that a flood of stray ACKs does not fill the table for 15 minutes).
    /// Default 30 s.
    pub syn_sent: Duration,
    /// TCP, established. Default 900 s (15 min, as IPVS).
    pub established: Duration,
    /// TCP, a FIN seen from one side. Default 120 s (IPVS FIN_WAIT).
    pub fin_wait: Duration,
    /// TCP, RST or both FINs seen. Default 10 s (IPVS CLOSE).
    pub closed: Duration,
    /// UDP, either way. Default 300 s (IPVS UDP).
    pub udp: Duration,
}

impl Default for FlowTimeouts {
    fn default() -> Self {
        FlowTimeouts {
            syn_sent: Duration::from_secs(30),
            established: Duration::from_secs(900),
            fin_wait: Duration::from_secs(120),
            closed: Duration::from_secs(10),
            udp: Duration::from_secs(300),
        }
    }
}

impl FlowTimeouts {
    /// The timeout for `state`.
    pub fn for_state(&self, state: FlowState) -> Duration {
        match state {
            FlowState::Udp => self.udp,
            FlowState::Tcp(TcpState::SynSent) => self.syn_sent,
            FlowState::Tcp(TcpState::Established) => self.established,
            FlowState::Tcp(TcpState::FinWait { .. }) => self.fin_wait,
            FlowState::Tcp(TcpState::Closed) => self.closed,
        }
    }
}

/// The cap on new flows per second on one core (a token bucket on the caller's clock).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InsertRate {
    /// Sustained inserts per second.
    pub per_sec: u32,
    /// Inserts allowed at once after a quiet period (at least 1).
    pub burst: u32,
}

/// Settings of one core's flow table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FlowConfig {
    /// Timeouts per state.
    pub timeouts: FlowTimeouts,
    /// The insert cap; None inserts without limit.
    pub insert_rate: Option<InsertRate>,
    /// Seed of the index hash. Not the Maglev seed: this one should be random per process, so that
    /// nobody can aim colliding keys at one bucket.
    pub hash_seed: u64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            timeouts: FlowTimeouts::default(),
            insert_rate: None,
            hash_seed: 0x243f_6a88_85a3_08d3,
        }
    }
}
