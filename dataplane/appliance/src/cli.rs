//! Command line of `edgelb-dataplane`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use edgelb_config::DEFAULT_ADMIN_SOCKET;

/// edgelb's dataplane: DPDK ports, pinned run-to-completion worker cores, the sans-I/O engine.
///
/// Without a subcommand it runs the appliance described by --config until SIGINT or SIGTERM, then stops the workers,
/// closes the ports, prints the final counters and removes its DPDK runtime files.
#[derive(Debug, Parser)]
#[command(
    name = "edgelb-dataplane",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,
}

/// Flags of the appliance itself.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The appliance's YAML config (EAL, ports, workers, addresses, routes, VIPs); see config/README.md.
    #[arg(long, short = 'c', value_name = "FILE", env = "EDGELB_CONFIG")]
    pub config: Option<PathBuf>,

    /// Print per-port and per-core counters every SECS seconds (0: only on exit).
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub stats_interval: u64,

    /// Unix socket of the admin API (mode 0600); overrides `admin.socket` of the config.
    #[arg(long, value_name = "PATH")]
    pub admin_socket: Option<PathBuf>,

    /// Validate the config, print what would be started (EAL arguments, ports, workers) and exit.
    #[arg(long)]
    pub check: bool,

    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `edgelb=debug`; RUST_LOG also works.
    #[arg(long, value_name = "FILTER", default_value = "info")]
    pub log: String,
}

/// Subcommands that talk to a running dataplane.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the running dataplane's status: ports, link, counters per core, neighbours, drops by reason.
    Status {
        /// Admin socket of the dataplane to ask.
        #[arg(long, value_name = "PATH", default_value = DEFAULT_ADMIN_SOCKET)]
        admin_socket: PathBuf,
        /// Print the raw JSON document instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Push a desired state (JSON, as edgelb-control computes it) to the running dataplane: validated and applied
    /// atomically on top of its config file, or refused whole with the reason.
    Apply {
        /// The desired state, a JSON file (`-` for standard input).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Admin socket of the dataplane to ask.
        #[arg(long, value_name = "PATH", default_value = DEFAULT_ADMIN_SOCKET)]
        admin_socket: PathBuf,
    },
    /// Make the running dataplane re-read its config file and apply it (as SIGHUP does), keeping established flows;
    /// prints the new generation, or why the new config was refused (the old one keeps running).
    Reload {
        /// Admin socket of the dataplane to ask.
        #[arg(long, value_name = "PATH", default_value = DEFAULT_ADMIN_SOCKET)]
        admin_socket: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn status_subcommand_parses() {
        let cli = Cli::parse_from([
            "edgelb-dataplane",
            "status",
            "--admin-socket",
            "/tmp/x.sock",
            "--json",
        ]);
        match cli.command {
            Some(Command::Status { admin_socket, json }) => {
                assert_eq!(admin_socket, PathBuf::from("/tmp/x.sock"));
                assert!(json);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn run_flags_parse() {
        let cli = Cli::parse_from([
            "edgelb-dataplane",
            "--config",
            "lab.yaml",
            "--stats-interval",
            "5",
        ]);
        assert!(cli.command.is_none());
        assert_eq!(cli.run.config, Some(PathBuf::from("lab.yaml")));
        assert_eq!(cli.run.stats_interval, 5);
    }
}
