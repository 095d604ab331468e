//! Writing back to the cluster what the plans decided: the VIPs in `status.loadBalancer`, Events for what could
//! not be done, the `edgelb.io/finalizer` that keeps a Service until its VIP is released, all by the one
//! replica that holds the Lease.
//!
//! The control loop stays synchronous: after each plan, and whenever the dataplane's progress changes, it hands
//! an [`Outcome`] to a [`WriteBack`]. For the manifests source that is [`NoWriteBack`]; for the kube source it is
//! [`KubeWriteBack`], which passes the latest outcome to tasks on the kube runtime (see `task`).
//!
//! - `status`: the status patches; `finalizer`: adding and removing the finalizer; `events`: Events, each sent
//!   once while it lasts; `lease`: the Lease; `writer`: one reconciliation of an outcome; `task`: the loops.

pub mod events;
pub mod finalizer;
pub mod lease;
pub mod status;
mod task;
pub mod writer;

use std::sync::Arc;

use crate::model::ClusterState;
use crate::planner::Plan;

pub use lease::{LeaseLock, LeaseSettings};
pub use task::{KubeWriteBack, WriteBackSettings};
pub use writer::{Writer, FIELD_MANAGER, REPORTING_CONTROLLER};

/// What the dataplane did with the plans, as far as this process knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// No dataplane socket is configured: a plan counts as applied once it is made.
    Unconfigured,
    /// A dataplane is pushed to.
    Dataplane {
        /// The generation it last accepted.
        accepted: Option<u64>,
        /// Its last refusal, until it accepts a later generation.
        refused: Option<Refusal>,
    },
}

/// A desired state the dataplane refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub generation: u64,
    pub reason: String,
}

impl Delivery {
    /// Whether the dataplane runs `generation` or a later one (always, without a dataplane).
    pub fn applied(&self, generation: u64) -> bool {
        match self {
            Self::Unconfigured => true,
            Self::Dataplane { accepted, .. } => accepted.is_some_and(|a| a >= generation),
        }
    }
}

/// One plan, the state it was made from, and what became of it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub state: Arc<ClusterState>,
    pub plan: Arc<Plan>,
    /// Why the plan was not pushed (it did not validate), if it was not.
    pub not_pushed: Option<String>,
    pub delivery: Delivery,
}

/// Where the control loop reports its outcomes.
pub trait WriteBack {
    /// Called after each plan, and again whenever the dataplane's progress changes. Never blocks for long.
    fn write(&mut self, outcome: &Outcome);
}

/// The write-back of sources that have nowhere to write (manifests).
#[derive(Debug, Default)]
pub struct NoWriteBack;

impl WriteBack for NoWriteBack {
    fn write(&mut self, _outcome: &Outcome) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generation_is_applied_once_the_dataplane_accepted_it_or_a_later_one() {
        assert!(Delivery::Unconfigured.applied(7));
        let accepted = |a| Delivery::Dataplane {
            accepted: a,
            refused: None,
        };
        assert!(!accepted(None).applied(1));
        assert!(!accepted(Some(6)).applied(7));
        assert!(accepted(Some(7)).applied(7));
        assert!(accepted(Some(9)).applied(7));
    }
}
