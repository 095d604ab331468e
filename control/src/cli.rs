//! The command line of `edgelb-control`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::planner::{
    BackendMode, PlannerSettings, VipRange, DEFAULT_INGRESS_CONTROLLER, DEFAULT_LOAD_BALANCER_CLASS,
};
use crate::writeback::{LeaseSettings, WriteBackSettings};

/// edgelb-control: turns Kubernetes Services (type LoadBalancer) and Ingresses into the edgelb dataplane's
/// desired state: VIPs, L4 listeners and pools, L7 listeners, routes and certificates.
#[derive(Debug, Parser)]
#[command(name = "edgelb-control", version)]
pub struct Cli {
    /// Where the objects come from: `kube`, the API server (KUBECONFIG, else ~/.kube/config, else the
    /// in-cluster service account), watched; the Lease holder writes status, Events and the finalizer back.
    /// Or manifests:DIR[,DIR...], directories of Kubernetes YAML files (multi-document), watched for changes;
    /// nothing is written back.
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

    /// kube: the namespace of the Lease that elects the replica that writes back.
    #[arg(long, value_name = "NAMESPACE", default_value = "edgelb-system")]
    pub lease_namespace: String,

    /// kube: the name of that Lease.
    #[arg(long, value_name = "NAME", default_value = "edgelb-control")]
    pub lease_name: String,

    /// kube: this replica's name in the Lease and in Events [default: $POD_NAME, else the host name].
    #[arg(long, value_name = "NAME")]
    pub identity: Option<String>,

    /// kube: how long the Lease holder keeps it without renewing it, in seconds.
    #[arg(long, value_name = "S", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    pub lease_duration_s: u64,

    /// kube: how often the holder renews the Lease (and the others look at it), in seconds.
    #[arg(long, value_name = "S", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub lease_renew_s: u64,

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
    /// The API server.
    Kube,
    /// Directories of manifests (`manifests:DIR[,DIR...]`).
    Manifests(Vec<PathBuf>),
}

impl SourceSpec {
    fn parse(text: &str) -> Result<Self, String> {
        match text.split_once(':') {
            None if text == "kube" => Ok(Self::Kube),
            Some(("manifests", dirs)) if !dirs.split(',').any(str::is_empty) => Ok(Self::Manifests(
                dirs.split(',').map(PathBuf::from).collect(),
            )),
            Some(("manifests", _)) => {
                Err("manifests: needs directories, e.g. manifests:config/examples/k8s or manifests:DIR,DIR2".into())
            }
            Some(("kube", _)) => Err(
                "kube takes no argument: the cluster comes from KUBECONFIG, ~/.kube/config or the \
                 in-cluster service account"
                    .into(),
            ),
            _ => Err(format!(
                "{text:?} is not a source: use kube or manifests:DIR"
            )),
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

    /// The write-back's settings from the flags (kube source).
    pub fn writeback_settings(&self) -> WriteBackSettings {
        let renew = Duration::from_secs(self.lease_renew_s);
        WriteBackSettings {
            lease: LeaseSettings {
                namespace: self.lease_namespace.clone(),
                name: self.lease_name.clone(),
                identity: self
                    .identity
                    .clone()
                    .unwrap_or_else(LeaseSettings::default_identity),
                duration: Duration::from_secs(self.lease_duration_s),
                renew,
            },
            resync: renew,
            event_repeat: Duration::from_secs(30 * 60),
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
            SourceSpec::Manifests(vec!["config/examples/k8s".into()])
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
    fn the_kube_source_and_its_lease_flags() {
        let cli = Cli::try_parse_from([
            "edgelb-control",
            "--source=kube",
            "--identity",
            "replica-a",
            "--lease-name",
            "lb",
            "--lease-duration-s",
            "9",
        ])
        .unwrap();
        assert_eq!(cli.source, SourceSpec::Kube);
        let settings = cli.writeback_settings();
        assert_eq!(
            settings.lease,
            LeaseSettings {
                namespace: "edgelb-system".into(),
                name: "lb".into(),
                identity: "replica-a".into(),
                duration: Duration::from_secs(9),
                renew: Duration::from_secs(5),
            }
        );
        assert_eq!(settings.resync, Duration::from_secs(5));
    }

    #[test]
    fn bad_sources_and_ranges_are_refused_with_the_reason() {
        let err = Cli::try_parse_from(["edgelb-control", "--source", "kube:prod"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("kube takes no argument"), "{err}");
        let err = Cli::try_parse_from(["edgelb-control", "--source", "dir"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"dir\" is not a source: use kube or manifests:DIR"),
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
