//! `edgelb-dataplane`: the DPDK process of the edgelb appliance.
//!
//! The main lcore runs the management loop (admin socket, counters, reload); every worker lcore runs the
//! sans-I/O engine over its own rx/tx queue of each port. See DESIGN.md for the architecture.

mod admin;
mod cli;
mod clock;
mod manage;
mod ports;
mod report;
mod run;
mod shared;
mod snapshot;
mod snapshot_l7;
mod status;
mod tx_batches;
mod worker;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cli.run.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let result = match &cli.command {
        Some(cli::Command::Status { admin_socket, json }) => print_status(admin_socket, *json),
        Some(cli::Command::Reload { admin_socket }) => reload(admin_socket),
        Some(cli::Command::Apply { file, admin_socket }) => apply(file, admin_socket),
        None => run::run(&cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgelb-dataplane: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn reload(socket: &std::path::Path) -> anyhow::Result<()> {
    let value = admin::request(socket, &admin::Request::Reload)?;
    println!("applied: generation {}", value["generation"]);
    Ok(())
}

fn apply(file: &std::path::Path, socket: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    let state = edgelb_config::desired::DesiredState::from_json(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let value = admin::request(socket, &admin::Request::Put { state })?;
    println!(
        "applied desired state generation {} as snapshot generation {}",
        value["desired_generation"], value["generation"]
    );
    Ok(())
}

fn print_status(socket: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let value = admin::request(socket, &admin::Request::Status)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let doc: status::StatusDoc = serde_json::from_value(value)?;
        print!("{}", status::render(&doc));
    }
    Ok(())
}
