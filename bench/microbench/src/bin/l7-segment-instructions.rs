//! Runs N data segments over C established L7 TCP connections, for counting instructions under callgrind.
//!
//! `l7-segment-instructions --segments N [--connections C]` sets up `edgelb_microbench::l7pair` (C
//! connections between two endpoints, default 1), then makes N exchanges (64 bytes client → server, read,
//! acknowledged back) visiting the connections in a reproducible random order. Two runs that differ only in N
//! differ only in the N exchanges: (Ir(N2) - Ir(N1)) / (N2 - N1) is the cost of one exchange
//! (`bench/scripts/l7-segment-cost`). Exits with 1, saying why, when an exchange lost its data.

use std::process::ExitCode;

use edgelb_microbench::l7pair::{TcpPair, PAYLOAD};

const USAGE: &str = "usage: l7-segment-instructions --segments N [--connections C]";

fn parse(mut args: impl Iterator<Item = String>) -> Result<(u64, usize), String> {
    let (mut segments, mut connections) = (None, 1usize);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn core::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--segments" => segments = Some(value.parse().map_err(|e| bad(&e))?),
            "--connections" => connections = value.parse().map_err(|e| bad(&e))?,
            "-h" | "--help" => return Err(USAGE.into()),
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    let segments = segments.ok_or_else(|| format!("--segments is required\n{USAGE}"))?;
    if connections == 0 {
        return Err("--connections: at least 1".into());
    }
    Ok((segments, connections))
}

fn main() -> ExitCode {
    let (segments, connections) = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut pair = match TcpPair::new(connections) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("setup: {e}");
            return ExitCode::from(1);
        }
    };
    // A reproducible random walk over the connections (xorshift), so no cache is friendlier than real life.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for k in 0..segments {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let i = (x % connections as u64) as usize;
        let read = pair.exchange(i);
        if read != PAYLOAD.len() {
            eprintln!(
                "exchange {k} on connection {i}: the server read {read} bytes, not {}",
                PAYLOAD.len()
            );
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
