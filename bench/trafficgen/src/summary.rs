//! The result of a run: counts, rates and latency percentiles as JSON (for scripts) and one line for
//! people.
//!
//! Rates are over the send window (first to last frame sent): `rx_pps` is the distinct stamped frames
//! received per second of sending, so a device that drops shows a lower `rx_pps` than `tx_pps`.

use serde::Serialize;

use crate::latency::LatencySummary;

/// What the sender did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TxTally {
    /// Frames the port took.
    pub sent: u64,
    /// Frames built but never taken by the port (still queued at the end of the run).
    pub unsent: u64,
    /// Times the mempool had no mbufs for a burst.
    pub alloc_failures: u64,
    /// Flush frames sent after the run.
    pub flushes: u64,
    /// TSC of the first frame sent.
    pub first_tsc: u64,
    /// TSC of the last frame sent.
    pub last_tsc: u64,
}

/// What the receiver saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RxTally {
    /// Distinct stamped frames of this run.
    pub distinct: u64,
    /// Of those, arrived after a higher sequence number.
    pub reordered: u64,
    /// Extra copies.
    pub duplicates: u64,
    /// Older than the duplicate-detection window.
    pub late: u64,
    /// Frames without a stamp (ARP, anything else on the wire).
    pub foreign: u64,
    /// The sender's flush frames (an io forwarder passes them on).
    pub flushes: u64,
    /// Stamped frames of another run (another tag).
    pub other_runs: u64,
    /// Frames received before their send time (TSC out of step).
    pub negative_latency: u64,
}

/// Port counters as DPDK reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PortCounters {
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Packets the port dropped on receive (ring full: the generator was too slow).
    pub imissed: u64,
    /// Receive errors.
    pub ierrors: u64,
    /// Send errors.
    pub oerrors: u64,
    /// Receives that found no mbuf.
    pub rx_nombuf: u64,
}

/// The run as asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSetup {
    /// Run tag.
    pub tag: u16,
    /// Distinct flows.
    pub flows: u32,
    /// Frame size with FCS.
    pub frame_size: usize,
    /// Target rate (0: as fast as possible).
    pub target_pps: u64,
    /// Sending port spec.
    pub tx_device: String,
    /// Receiving port spec.
    pub rx_device: String,
}

/// The JSON summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Always "edgelb-trafficgen".
    pub tool: &'static str,
    /// The run as asked for.
    #[serde(flatten)]
    pub setup: RunSetup,
    /// Seconds from the first to the last frame sent.
    pub duration_s: f64,
    /// Frames sent.
    pub tx_frames: u64,
    /// Distinct frames of this run received.
    pub rx_frames: u64,
    /// Sent and never received.
    pub lost: u64,
    /// `lost / tx_frames` (0 when nothing was sent).
    pub loss: f64,
    /// Received after a higher sequence number.
    pub reordered: u64,
    /// Extra copies received.
    pub duplicates: u64,
    /// Reordered beyond the duplicate-detection window.
    pub late: u64,
    /// Received frames without a stamp (flush frames excepted).
    pub foreign: u64,
    /// Flush frames sent after the last stamped frame (they push af_packet's tx ring).
    pub tx_flush_frames: u64,
    /// Flush frames received.
    pub rx_flush_frames: u64,
    /// Received frames of another run.
    pub other_runs: u64,
    /// Frames sent per second.
    pub tx_pps: f64,
    /// Distinct frames received per second of sending.
    pub rx_pps: f64,
    /// Sending rate in Mbit/s of frames (FCS included, no preamble or gap).
    pub tx_mbps: f64,
    /// Receiving rate, likewise.
    pub rx_mbps: f64,
    /// One-way latency.
    pub latency_us: LatencySummary,
    /// Frames received before their send time (cores' TSCs out of step; counted as 0 µs).
    pub latency_negative: u64,
    /// Built but never taken by the port.
    pub tx_unsent: u64,
    /// Bursts that found the mempool empty.
    pub tx_alloc_failures: u64,
    /// The sending port's counters.
    pub tx_port: PortCounters,
    /// The receiving port's counters (the same port when --tx and --rx are one).
    pub rx_port: PortCounters,
}

impl Summary {
    /// The summary of a run whose TSC runs at `tsc_hz`.
    pub fn new(
        setup: RunSetup,
        tsc_hz: u64,
        tx: TxTally,
        rx: RxTally,
        latency: LatencySummary,
        ports: (PortCounters, PortCounters),
    ) -> Self {
        let cycles = tx.last_tsc.saturating_sub(tx.first_tsc);
        let duration_s = if tsc_hz == 0 {
            0.0
        } else {
            cycles as f64 / tsc_hz as f64
        };
        let per_s = |n: u64| {
            if duration_s > 0.0 {
                n as f64 / duration_s
            } else {
                0.0
            }
        };
        let mbps = |pps: f64| pps * setup.frame_size as f64 * 8.0 / 1e6;
        let lost = tx.sent.saturating_sub(rx.distinct);
        let tx_pps = per_s(tx.sent);
        let rx_pps = per_s(rx.distinct);
        Summary {
            tool: "edgelb-trafficgen",
            duration_s,
            tx_frames: tx.sent,
            rx_frames: rx.distinct,
            lost,
            loss: if tx.sent == 0 {
                0.0
            } else {
                lost as f64 / tx.sent as f64
            },
            reordered: rx.reordered,
            duplicates: rx.duplicates,
            late: rx.late,
            foreign: rx.foreign,
            tx_flush_frames: tx.flushes,
            rx_flush_frames: rx.flushes,
            other_runs: rx.other_runs,
            tx_pps,
            rx_pps,
            tx_mbps: mbps(tx_pps),
            rx_mbps: mbps(rx_pps),
            latency_us: latency,
            latency_negative: rx.negative_latency,
            tx_unsent: tx.unsent,
            tx_alloc_failures: tx.alloc_failures,
            tx_port: ports.0,
            rx_port: ports.1,
            setup,
        }
    }

    /// One line for people.
    pub fn human(&self) -> String {
        let l = &self.latency_us;
        format!(
            "tx {} frames in {:.3} s ({:.0} pps) | rx {} ({:.0} pps, {:.1} Mbit/s) lost {} ({:.3}%) reordered {} dup {} \
             | one-way latency us p50 {:.1} p99 {:.1} p99.9 {:.1} max {:.1} | {} flows, {} B frames",
            self.tx_frames,
            self.duration_s,
            self.tx_pps,
            self.rx_frames,
            self.rx_pps,
            self.rx_mbps,
            self.lost,
            self.loss * 100.0,
            self.reordered,
            self.duplicates,
            l.p50,
            l.p99,
            l.p999,
            l.max,
            self.setup.flows,
            self.setup.frame_size,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency() -> LatencySummary {
        LatencySummary {
            samples: 900,
            min: 1.0,
            mean: 2.0,
            p50: 2.0,
            p90: 3.0,
            p99: 4.5,
            p999: 7.25,
            max: 9.0,
        }
    }

    fn setup() -> RunSetup {
        RunSetup {
            tag: 7,
            flows: 256,
            frame_size: 64,
            target_pps: 500,
            tx_device: "net_af_packet0,iface=gen0".into(),
            rx_device: "net_af_packet1,iface=eth0".into(),
        }
    }

    fn summary() -> Summary {
        let tx = TxTally {
            sent: 1000,
            unsent: 3,
            alloc_failures: 1,
            first_tsc: 1_000,
            last_tsc: 2_000_001_000,
            flushes: 6,
        };
        let rx = RxTally {
            distinct: 900,
            reordered: 5,
            duplicates: 2,
            late: 0,
            foreign: 4,
            flushes: 5,
            other_runs: 1,
            negative_latency: 0,
        };
        let ports = (
            PortCounters {
                opackets: 1000,
                ..Default::default()
            },
            PortCounters {
                ipackets: 907,
                ..Default::default()
            },
        );
        Summary::new(setup(), 1_000_000_000, tx, rx, latency(), ports)
    }

    #[test]
    fn rates_are_over_the_send_window() {
        let s = summary();
        assert_eq!(s.duration_s, 2.0);
        assert_eq!((s.tx_frames, s.rx_frames, s.lost), (1000, 900, 100));
        assert_eq!(s.loss, 0.1);
        assert_eq!((s.tx_pps, s.rx_pps), (500.0, 450.0));
        assert_eq!(s.rx_mbps, 450.0 * 64.0 * 8.0 / 1e6);
    }

    #[test]
    fn json_has_the_fields_scripts_read() {
        let v = serde_json::to_value(summary()).unwrap();
        assert_eq!(v["tool"], "edgelb-trafficgen");
        assert_eq!(v["flows"], 256);
        assert_eq!(v["frame_size"], 64);
        assert_eq!(v["rx_pps"], 450.0);
        assert_eq!(v["lost"], 100);
        assert_eq!(v["latency_us"]["p999"], 7.25);
        assert_eq!(v["rx_port"]["ipackets"], 907);
        assert_eq!(v["tx_device"], "net_af_packet0,iface=gen0");
        assert_eq!(
            (v["tx_flush_frames"].as_u64(), v["rx_flush_frames"].as_u64()),
            (Some(6), Some(5))
        );
    }

    #[test]
    fn human_line() {
        assert_eq!(
            summary().human(),
            "tx 1000 frames in 2.000 s (500 pps) | rx 900 (450 pps, 0.2 Mbit/s) lost 100 (10.000%) reordered 5 dup 2 \
             | one-way latency us p50 2.0 p99 4.5 p99.9 7.2 max 9.0 | 256 flows, 64 B frames"
        );
    }

    #[test]
    fn nothing_sent_is_zero_not_nan() {
        let s = Summary::new(
            setup(),
            1_000_000_000,
            TxTally::default(),
            RxTally::default(),
            latency(),
            Default::default(),
        );
        assert_eq!(
            (s.loss, s.tx_pps, s.rx_pps, s.duration_s),
            (0.0, 0.0, 0.0, 0.0)
        );
    }
}
