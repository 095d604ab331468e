//! `edgelb-trafficgen`: a DPDK UDP traffic generator for edgelb's L4 benches.
//!
//! It sends stamped frames over many flows at a target rate out of one port and receives them on
//! another, matching them by the stamp in the payload (so NAT may rewrite every header), and reports
//! rates, loss, reordering and one-way latency percentiles (hdrhistogram) as JSON and as one line.
//! See bench/README.md.

mod checksum;
mod cli;
mod flows;
mod frame;
mod latency;
mod pacing;
mod ports;
mod run;
mod rx;
mod sequence;
mod spec;
mod stamp;
mod summary;
mod tx;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let summary = match run::run(&cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("edgelb-trafficgen: error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let json = match serde_json::to_string_pretty(&summary) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("edgelb-trafficgen: error: encoding the summary: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &cli.json {
        if let Err(e) = std::fs::write(path, format!("{json}\n")) {
            eprintln!("edgelb-trafficgen: error: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    println!("{json}");
    eprintln!("{}", summary.human());
    ExitCode::SUCCESS
}
