//! The command line, and the checks that need more than one flag.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use clap::Parser;

use crate::flows::FlowSet;
use crate::frame::{MAX_FRAME_SIZE, MIN_FRAME_SIZE};
use crate::spec::{in_bench_net, Ipv4Range, MacAddr, PortRange};

/// The longest run: a bench must stop by itself.
pub const MAX_DURATION_S: f64 = 60.0;

/// A DPDK UDP traffic generator: many flows at a target rate out of one port, one-way latency, loss
/// and reordering measured on another (or the same) port.
///
/// Frames carry a stamp (magic, run tag, sequence number, TSC) at the start of the UDP payload, so
/// the receiver counts them whatever a NAT rewrote. Every address must lie in 198.18.0.0/15.
///
/// Example (the L4 bench): edgelb-trafficgen --tx net_af_packet0,iface=gen0 --rx net_af_packet1,iface=eth0
/// --dst-mac 02:00:c6:12:00:01 --src-ip 198.18.1.0/24 --dst-ip 198.18.10.20 --dst-port 9 --flows 4096
/// --pps 200000 --duration 10 --json run.json
#[derive(Debug, Clone, Parser)]
#[command(name = "edgelb-trafficgen", version, verbatim_doc_comment)]
pub struct Cli {
    /// The sending port: a DPDK vdev spec (net_af_packet0,iface=eth0) or a PCI address.
    #[arg(long, value_name = "DEVICE")]
    pub tx: String,
    /// The receiving port; the same spec as --tx sends and receives on one port.
    #[arg(long, value_name = "DEVICE")]
    pub rx: String,
    /// Destination MAC of every frame (the device under test's port).
    #[arg(long, value_name = "MAC")]
    pub dst_mac: MacAddr,
    /// Source MAC (default: the sending port's own).
    #[arg(long, value_name = "MAC")]
    pub src_mac: Option<MacAddr>,
    /// Source addresses: A.B.C.D, A.B.C.D/LEN or A.B.C.D-A.B.C.E.
    #[arg(long, value_name = "RANGE", default_value = "198.18.0.2")]
    pub src_ip: Ipv4Range,
    /// Destination address (a VIP).
    #[arg(long, value_name = "ADDR")]
    pub dst_ip: Ipv4Addr,
    /// Source ports: P or LO-HI.
    #[arg(long, value_name = "RANGE", default_value = "1024-65535")]
    pub src_port: PortRange,
    /// Destination port.
    #[arg(long, value_name = "PORT", default_value_t = 9)]
    pub dst_port: u16,
    /// Distinct flows (source address, source port) to sweep, frame by frame; addresses vary first.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub flows: u32,
    /// Frame size in bytes with FCS (RFC 2544 sizes: 64, 128, ..., 1518).
    #[arg(long, value_name = "BYTES", default_value_t = 64)]
    pub frame_size: usize,
    /// Target rate in frames per second; 0 sends as fast as the port takes them.
    #[arg(long, value_name = "PPS", default_value_t = 0)]
    pub pps: u64,
    /// How long to send, in seconds (at most 60).
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    pub duration: f64,
    /// Stop after this many frames (the duration still bounds the run).
    #[arg(long, value_name = "N")]
    pub count: Option<u32>,
    /// Frames per tx burst (1..=64).
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub burst: usize,
    /// How long to keep receiving after the last frame was sent, in ms (at most 5000).
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub drain_ms: u64,
    /// EAL --lcores map. One lcore: send and receive in one loop on it. Two (e.g. 0@0,1@1 or 0@0,1@0):
    /// receive on the first (main), send on the second.
    #[arg(long, value_name = "MAP", default_value = "0@0")]
    pub lcores: String,
    /// EAL --file-prefix (its own, so it runs beside the appliance or testpmd).
    #[arg(long, value_name = "NAME", default_value = "elb-gen")]
    pub file_prefix: String,
    /// Megabytes of ordinary memory for EAL (--no-huge -m).
    #[arg(long, value_name = "MB", default_value_t = 512)]
    pub memory_mb: u32,
    /// EAL log level (--log-level).
    #[arg(long, value_name = "LEVEL", default_value = "notice")]
    pub eal_log_level: String,
    /// Run tag written into every frame (default: from the pid and the clock); frames with another
    /// tag are counted as foreign.
    #[arg(long, value_name = "N")]
    pub tag: Option<u16>,
    /// Also write the JSON summary to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

impl Cli {
    /// Every check across flags; the flow set on success.
    pub fn validate(&self) -> Result<FlowSet, String> {
        if !self.src_ip.in_bench_net() {
            return Err(format!(
                "--src-ip {}: the generator only sends from 198.18.0.0/15",
                self.src_ip
            ));
        }
        if !in_bench_net(self.dst_ip) {
            return Err(format!(
                "--dst-ip {}: the generator only sends to 198.18.0.0/15",
                self.dst_ip
            ));
        }
        if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&self.frame_size) {
            return Err(format!(
                "--frame-size {}: must be {MIN_FRAME_SIZE}..={MAX_FRAME_SIZE}",
                self.frame_size
            ));
        }
        if !(self.duration > 0.0 && self.duration <= MAX_DURATION_S) {
            return Err(format!(
                "--duration {}: must be more than 0 and at most {MAX_DURATION_S} s",
                self.duration
            ));
        }
        if !(1..=64).contains(&self.burst) {
            return Err(format!("--burst {}: must be 1..=64", self.burst));
        }
        if self.drain_ms > 5000 {
            return Err(format!("--drain-ms {}: at most 5000", self.drain_ms));
        }
        if self.count == Some(0) {
            return Err("--count 0: nothing to send".into());
        }
        if self.dst_port == 0 {
            return Err("--dst-port 0 is not a port".into());
        }
        FlowSet::new(self.src_ip, self.src_port, self.flows).map_err(|e| format!("--flows: {e}"))
    }

    /// The run's duration in nanoseconds.
    pub fn duration_ns(&self) -> u64 {
        (self.duration * 1e9) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Result<Cli, clap::Error> {
        let mut args = vec![
            "edgelb-trafficgen",
            "--tx",
            "net_af_packet0,iface=gen0",
            "--rx",
            "net_af_packet1,iface=eth0",
            "--dst-mac",
            "02:00:c6:12:00:01",
            "--dst-ip",
            "198.18.10.20",
        ];
        args.extend_from_slice(extra);
        Cli::try_parse_from(args)
    }

    #[test]
    fn defaults_are_one_flow_of_64_byte_frames() {
        let cli = parse(&[]).unwrap();
        assert_eq!(
            (cli.flows, cli.frame_size, cli.pps, cli.dst_port, cli.burst),
            (1, 64, 0, 9, 32)
        );
        assert_eq!(cli.src_ip, "198.18.0.2".parse().unwrap());
        assert_eq!(
            (cli.lcores.as_str(), cli.file_prefix.as_str(), cli.memory_mb),
            ("0@0", "elb-gen", 512)
        );
        assert_eq!(cli.duration_ns(), 10_000_000_000);
        assert_eq!(cli.validate().unwrap().count(), 1);
    }

    #[test]
    fn many_flows_from_a_prefix() {
        let cli = parse(&[
            "--src-ip",
            "198.18.1.0/24",
            "--src-port",
            "1024-1039",
            "--flows",
            "4096",
        ])
        .unwrap();
        assert_eq!(cli.validate().unwrap().count(), 4096);
        let cli = parse(&[
            "--src-ip",
            "198.18.1.0/24",
            "--src-port",
            "1024-1039",
            "--flows",
            "4097",
        ])
        .unwrap();
        assert!(cli.validate().unwrap_err().contains("4096 distinct pairs"));
    }

    #[test]
    fn addresses_outside_the_bench_range_are_refused() {
        let err = parse(&["--src-ip", "10.0.0.0/24"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.contains("only sends from 198.18.0.0/15"), "{err}");
        let err = parse(&["--src-ip", "198.19.255.0-198.20.0.5"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.contains("only sends from"), "{err}");
        let mut cli = parse(&[]).unwrap();
        cli.dst_ip = Ipv4Addr::new(192, 0, 2, 1);
        assert!(cli
            .validate()
            .unwrap_err()
            .contains("only sends to 198.18.0.0/15"));
    }

    #[test]
    fn runs_are_bounded() {
        for (flag, value, needle) in [
            ("--duration", "61", "at most 60"),
            ("--duration", "0", "more than 0"),
            ("--duration", "NaN", "more than 0"),
            ("--frame-size", "60", "64..=1518"),
            ("--frame-size", "9000", "64..=1518"),
            ("--burst", "65", "1..=64"),
            ("--drain-ms", "5001", "at most 5000"),
            ("--count", "0", "nothing to send"),
        ] {
            let err = parse(&[flag, value]).unwrap().validate().unwrap_err();
            assert!(err.contains(needle), "{flag} {value}: {err}");
        }
        let bad_mac = [
            "edgelb-trafficgen",
            "--tx",
            "a",
            "--rx",
            "a",
            "--dst-mac",
            "nonsense",
            "--dst-ip",
            "198.18.0.1",
        ];
        assert!(Cli::try_parse_from(bad_mac)
            .unwrap_err()
            .to_string()
            .contains("not a MAC address"));
        assert!(parse(&["--src-port", "0-5"]).is_err());
    }
}
