//! Runs N established-flow packets through the engine, for counting instructions under callgrind.
//!
//! `fastpath-instructions --packets N [--flows F] [--direction forward|reverse|none]` builds the
//! setup of `edgelb_microbench::fastpath` (F flows, default 1), checks one packet each way byte for
//! byte, then runs N packets of the given direction over the flows in a random, reproducible order.
//! `none` runs only the driver's share of each packet (copying the frame into the recycled buffer).
//! Two runs that differ only in N differ only in the N packets: the difference of their instruction
//! counts divided by the difference of N is the cost of one packet (`bench/scripts/instructions-per-packet`).
//! Exits with 1, saying why, when a packet was dropped or went elsewhere than expected.

use std::process::ExitCode;

use edgelb_engine::flow::Direction;
use edgelb_microbench::fastpath::{FastPath, FlowOrder, SetupError};

const USAGE: &str =
    "usage: fastpath-instructions --packets N [--flows F] [--direction forward|reverse|none]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Args {
    packets: u64,
    flows: u32,
    /// None: the driver alone.
    direction: Option<Direction>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        packets: 0,
        flows: 1,
        direction: Some(Direction::Forward),
    };
    let mut packets = None;
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn core::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--packets" => packets = Some(value.parse().map_err(|e| bad(&e))?),
            "--flows" => {
                parsed.flows = value.parse().map_err(|e| bad(&e))?;
                if parsed.flows == 0 {
                    return Err(bad(&"at least 1"));
                }
            }
            "--direction" => {
                parsed.direction = match value.as_str() {
                    "forward" => Some(Direction::Forward),
                    "reverse" => Some(Direction::Reverse),
                    "none" => None,
                    _ => return Err(bad(&"forward, reverse or none")),
                }
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    parsed.packets = packets.ok_or("--packets is required")?;
    Ok(parsed)
}

fn run(args: Args) -> Result<(), SetupError> {
    let mut fp = FastPath::new(args.flows)?;
    fp.check(Direction::Forward, 0)?;
    fp.check(Direction::Reverse, 0)?;
    let before = fp.counters();
    let allocations = fp.io().allocations;
    let mut order = FlowOrder::new(args.flows);
    match args.direction {
        Some(dir) => (0..args.packets).for_each(|_| fp.packet(dir, order.next_flow())),
        None => {
            (0..args.packets).for_each(|_| fp.restore_only(Direction::Forward, order.next_flow()))
        }
    }
    let after = fp.counters();
    fp.verify_clean()?;
    let forwarded = after.l4_forward_packets - before.l4_forward_packets;
    let reversed = after.l4_reverse_packets - before.l4_reverse_packets;
    let want = match args.direction {
        Some(Direction::Forward) => (args.packets, 0),
        Some(Direction::Reverse) => (0, args.packets),
        None => (0, 0),
    };
    if (forwarded, reversed) != want || fp.io().allocations != allocations {
        return Err(SetupError(format!(
            "{forwarded} forward and {reversed} reverse packets, {want:?} expected; {} allocations",
            fp.io().allocations - allocations
        )));
    }
    eprintln!(
        "{} packets ({:?}) over {} flows: {forwarded} forward, {reversed} reverse, no drops",
        args.packets,
        args.direction,
        fp.flows()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fastpath-instructions: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn parses_flags() {
        assert_eq!(
            args("--packets 10000 --flows 5 --direction reverse"),
            Ok(Args {
                packets: 10_000,
                flows: 5,
                direction: Some(Direction::Reverse)
            })
        );
        assert_eq!(
            args("--direction none --packets 3").map(|a| a.direction),
            Ok(None)
        );
        assert_eq!(
            args("--packets 3").map(|a| (a.flows, a.direction)),
            Ok((1, Some(Direction::Forward)))
        );
        assert!(args("--flows 2").is_err());
        assert!(args("--packets").is_err());
        assert!(args("--packets 1 --flows 0").is_err());
        assert!(args("--packets 1 --direction sideways").is_err());
        assert!(args("--packets x").is_err());
        assert!(args("--speed 1").is_err());
    }

    #[test]
    fn runs_both_ways_and_the_driver_alone() {
        for direction in [Some(Direction::Forward), Some(Direction::Reverse), None] {
            run(Args {
                packets: 2000,
                flows: 100,
                direction,
            })
            .unwrap();
        }
    }
}
