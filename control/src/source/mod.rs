//! Where the cluster's objects come from. A [`Source`] hands out whole [`ClusterState`]s and says cheaply whether
//! anything changed since; the control loop polls it, waits for changes to settle, and plans again. The
//! sources are a manifests directory and the API server (kube).

pub mod kube;
pub mod manifests;

use std::path::PathBuf;

use crate::model::ClusterState;

pub use self::kube::KubeSource;
pub use manifests::ManifestsSource;

/// A provider of full cluster states.
pub trait Source {
    /// For logs and the desired state's `source` field, e.g. `manifests:config/examples/k8s`.
    fn describe(&self) -> String;

    /// The whole current state: a full list, never a delta.
    fn load(&mut self) -> Result<ClusterState, SourceError>;

    /// Whether anything changed since the last `load` or `changed` call; one cheap check, no waiting.
    fn changed(&mut self) -> Result<bool, SourceError>;
}

/// Why a source could not give a state.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: document {index}: {message}", file.display())]
    Document {
        file: PathBuf,
        /// 1-based position in the file.
        index: usize,
        message: String,
    },
    #[error("{}: document {index}: {object} is also defined in {} document {other_index}", file.display(), other_file.display())]
    Duplicate {
        file: PathBuf,
        index: usize,
        object: String,
        other_file: PathBuf,
        other_index: usize,
    },
    /// The kube source has not had a first full list of these kinds yet: nothing is planned before.
    #[error("waiting for the first full list of {0}")]
    NotListed(String),
}

impl SourceError {
    /// Whether the source is still starting (waiting helps).
    pub fn is_starting(&self) -> bool {
        matches!(self, Self::NotListed(_))
    }
}
