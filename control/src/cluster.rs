//! Opening what `--source` names: a manifests directory with nothing to write back, or the API server. The kube
//! source and write-back run on a small tokio runtime of their own (two worker threads); the control loop stays
//! synchronous and only reads atomics and caches, and hands outcomes over without waiting.

use anyhow::Context;
use kube::{Client, Config};
use tokio::runtime::Runtime;

use crate::cli::{Cli, SourceSpec};
use crate::source::{KubeSource, ManifestsSource, Source};
use crate::writeback::{KubeWriteBack, NoWriteBack, WriteBack};

/// A source and its write-back, with the runtime they need. Dropped in this order: tasks first, runtime last.
#[allow(missing_debug_implementations)] // the trait objects have no Debug
pub struct Opened {
    pub source: Box<dyn Source>,
    pub writeback: Box<dyn WriteBack>,
    _runtime: Option<Runtime>,
}

/// Opens the source `cli` names.
pub fn open(cli: &Cli) -> anyhow::Result<Opened> {
    match &cli.source {
        SourceSpec::Manifests(dirs) => Ok(Opened {
            source: Box::new(ManifestsSource::new(dirs.clone())),
            writeback: Box::new(NoWriteBack),
            _runtime: None,
        }),
        SourceSpec::Kube => {
            anyhow::ensure!(
                cli.lease_renew_s < cli.lease_duration_s,
                "--lease-renew-s ({}) must be shorter than --lease-duration-s ({})",
                cli.lease_renew_s,
                cli.lease_duration_s
            );
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("edgelb-kube")
                .enable_all()
                .build()
                .context("starting the kube runtime")?;
            let client = runtime.block_on(connect())?;
            let handle = runtime.handle();
            let source = KubeSource::start(&client, handle);
            let writeback = KubeWriteBack::start(client, cli.writeback_settings(), handle);
            Ok(Opened {
                source: Box::new(source),
                writeback: Box::new(writeback),
                _runtime: Some(runtime),
            })
        }
    }
}

/// A client of the cluster that KUBECONFIG, ~/.kube/config or the in-cluster service account names.
async fn connect() -> anyhow::Result<Client> {
    let config = Config::infer()
        .await
        .context("finding the cluster (KUBECONFIG, ~/.kube/config, or in-cluster)")?;
    tracing::info!(cluster = %config.cluster_url, namespace = %config.default_namespace, "kube source");
    Client::try_from(config).context("making the API server's client")
}
