//! The command line of `edgelb-control`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::planner::{
    BackendMode, PlannerSettings, VipRange, DEFAULT_INGRESS_CONTROLLER, DEFAULT_LOAD_BALANCER_CLASS,
};
use crate::source::{ManifestsSource, Source};

/// edgelb-control: turns Kubernetes Services (type LoadBalancer) and Ingresses into the edgelb dataplane's
/// desired state: VIPs, L4 listeners and pools, L7 listeners, routes and certificates.
#[derive(Debug, Parser)]
#[command(name = "edgelb-control", version)]
pub struct Cli {
    /// Where the objects come from: manifests:DIR, a directory of Kubernetes YAML files (multi-document),
    /// watched for changes.
    #[arg(long, value_name = "SOURCE", value_parser = SourceSpec::parse)]
    pub source: SourceSpec,

    /// Plan once and exit (by default, plan again whenever the source changes).
    #[arg(long)]
    pub plan_once: bool,

    /// Print each desired state as JSON (the wire format) instead of a summary.
    #[arg(long)]
    pub print: bool,

    /// The spec.loadBalancerClass of the Services to serve.
    #[arg(long, value_name = "CLASS", default_value = DEFAULT_LOAD_BALANCER_CLASS)]
    pub class: String,

    /// The spec.controller of the IngressClasses to serve.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_INGRESS_CONTROLLER)]
    pub ingress_controller: String,

    /// Addresses to allocate VIPs from: FIRST-LAST, a CIDR prefix or one address, IPv4 or IPv6; repeatable,
    /// used in the order given.
    #[arg(long = "vip-pool", value_name = "RANGE")]
    pub vip_pools: Vec<VipRange>,

    /// Backends of a Service port: the nodes and its NodePort, or the pods and its target port.
    #[arg(long, value_enum, value_name = "KIND", default_value_t = Backends::Nodes)]
    pub backends: Backends,

    /// How often to look for changes in the source, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub poll_ms: u64,

    /// How long the source must stay unchanged before planning again, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 300)]
    pub debounce_ms: u64,

    /// Push each plan to the dataplane's admin socket; push again within a second when the dataplane restarts.
    #[arg(long, value_name = "PATH")]
    pub dataplane_socket: Option<PathBuf>,

    /// How often to ask the dataplane what it runs (to notice a restart), in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub resync_ms: u64,

    /// Check each plan against this appliance config, as the dataplane will apply it, and report what it refuses.
    #[arg(long, value_name = "FILE")]
    pub dataplane_config: Option<PathBuf>,

    /// Log filter (RUST_LOG syntax) when RUST_LOG is not set.
    #[arg(long, value_name = "FILTER", default_value = "info")]
    pub log: String,
}

/// `--backends`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backends {
    Nodes,
    Pods,
}

/// `--source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Manifests(PathBuf),
}

impl SourceSpec {
    fn parse(text: &str) -> Result<Self, String> {
        match text.split_once(':') {
            Some(("manifests", dir)) if !dir.is_empty() => Ok(Self::Manifests(PathBuf::from(dir))),
            Some(("manifests", _)) => {
                Err("manifests: needs a directory, e.g. manifests:config/examples/k8s".into())
            }
            _ if text == "kube" || text.starts_with("kube:") => {
                Err("the kube source is not available yet: use manifests:DIR".into())
            }
            _ => Err(format!("{text:?} is not a source: use manifests:DIR")),
        }
    }

    /// The source it names.
    pub fn open(&self) -> Box<dyn Source> {
        match self {
            Self::Manifests(dir) => Box::new(ManifestsSource::new(dir)),
        }
    }
}

impl Cli {
    /// The planner's settings from the flags.
    pub fn settings(&self) -> PlannerSettings {
        PlannerSettings {
            load_balancer_class: self.class.clone(),
            ingress_controller: self.ingress_controller.clone(),
            vip_pools: self.vip_pools.clone(),
            backends: match self.backends {
                Backends::Nodes => BackendMode::Nodes,
                Backends::Pods => BackendMode::Pods,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_become_settings() {
        let cli = Cli::try_parse_from([
            "edgelb-control",
            "--source",
            "manifests:config/examples/k8s",
            "--plan-once",
            "--vip-pool",
            "198.18.10.100-198.18.10.199",
            "--vip-pool",
            "2001:2:0:10::/120",
            "--backends",
            "pods",
            "--class",
            "example.com/lb",
        ])
        .unwrap();
        assert_eq!(
            cli.source,
            SourceSpec::Manifests("config/examples/k8s".into())
        );
        assert!(cli.plan_once && !cli.print);
        let settings = cli.settings();
        assert_eq!(settings.backends, BackendMode::Pods);
        assert_eq!(settings.load_balancer_class, "example.com/lb");
        assert_eq!(settings.ingress_controller, DEFAULT_INGRESS_CONTROLLER);
        let pools: Vec<String> = settings.vip_pools.iter().map(ToString::to_string).collect();
        assert_eq!(
            pools,
            [
                "198.18.10.100-198.18.10.199",
                "2001:2:0:10::1-2001:2:0:10::ff"
            ]
        );
    }

    #[test]
    fn bad_sources_and_ranges_are_refused_with_the_reason() {
        let err = Cli::try_parse_from(["edgelb-control", "--source", "kube"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the kube source is not available yet"),
            "{err}"
        );
        let err = Cli::try_parse_from(["edgelb-control", "--source", "dir"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"dir\" is not a source: use manifests:DIR"),
            "{err}"
        );
        let err = Cli::try_parse_from([
            "edgelb-control",
            "--source",
            "manifests:x",
            "--vip-pool",
            "1.2.3.4-::1",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("are of different families"), "{err}");
    }
}
