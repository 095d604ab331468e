//! Kubernetes Events (events.k8s.io/v1, `reportingController: edgelb.io/control`) for what the planner could not
//! do (its Warning events: no address left, conflicts, missing Secrets...) and for desired states the dataplane
//! refused or that were not pushed because they did not validate. Those last two concern the control process
//! rather than one object, so they are reported on its Lease.
//!
//! An Event is sent when its warning first appears, and again every `repeat` while it lasts (Kubernetes drops
//! Events after an hour); a warning that went away and comes back is sent again. Nothing is re-sent per plan.
//! The Events are created here rather than through kube's `Recorder`, whose aggregation key leaves out the
//! note: a second warning with the same reason on the same object (two route conflicts of one Ingress) would
//! be folded into the first one's series and its message lost.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};
use kube::Client;

use super::Outcome;
use crate::model::{ClusterState, ObjectRef};
use crate::planner::EventType as PlanEventType;

/// The reason of the Event for a desired state that the dataplane refused.
pub const REFUSED: &str = "DesiredStateRefused";
/// The reason of the Event for a desired state that was not pushed because it does not validate.
pub const INVALID: &str = "DesiredStateInvalid";

/// One Event to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub regarding: ObjectReference,
    pub reason: String,
    pub note: String,
    /// What makes two notices the same (the note, but without a generation that changes with every plan).
    key: String,
}

/// The notices `outcome` calls for: one per planner warning whose object exists, one per refusal or invalid
/// state (on `lease`, when it is known).
pub fn notices(outcome: &Outcome, lease: Option<&ObjectReference>) -> Vec<Notice> {
    let mut notices = Vec::new();
    for event in &outcome.plan.events {
        if event.event_type != PlanEventType::Warning {
            continue;
        }
        if let Some(regarding) = reference(&outcome.state, &event.object) {
            notices.push(Notice {
                regarding,
                reason: event.reason.into(),
                note: event.message.clone(),
                key: event.message.clone(),
            });
        }
    }
    let Some(lease) = lease else {
        return notices;
    };
    if let Some(why) = &outcome.not_pushed {
        notices.push(Notice {
            regarding: lease.clone(),
            reason: INVALID.into(),
            note: format!(
                "generation {} was not pushed to the dataplane: {why}",
                outcome.plan.desired.generation
            ),
            key: why.clone(),
        });
    }
    if let super::Delivery::Dataplane {
        refused: Some(refusal),
        ..
    } = &outcome.delivery
    {
        notices.push(Notice {
            regarding: lease.clone(),
            reason: REFUSED.into(),
            note: format!(
                "the dataplane refused generation {}: {}",
                refusal.generation, refusal.reason
            ),
            key: REFUSED.into(),
        });
    }
    notices
}

/// A reference to a Service, Ingress or IngressClass of `state` (with its uid, which `kubectl describe` matches).
pub fn reference(state: &ClusterState, object: &ObjectRef) -> Option<ObjectReference> {
    let key = &object.key;
    let (api_version, meta) = match object.kind {
        "Service" => ("v1", &state.services.get(key)?.metadata),
        "Ingress" => ("networking.k8s.io/v1", &state.ingresses.get(key)?.metadata),
        "IngressClass" => (
            "networking.k8s.io/v1",
            &state.ingress_classes.get(key)?.metadata,
        ),
        _ => return None,
    };
    Some(ObjectReference {
        api_version: Some(api_version.into()),
        kind: Some(object.kind.into()),
        name: Some(key.name.clone()),
        namespace: Some(key.namespace.clone()).filter(|ns| !ns.is_empty()),
        uid: meta.uid.clone(),
        ..ObjectReference::default()
    })
}

/// The namespace of Events about cluster-scoped objects.
const CLUSTER_EVENTS_NAMESPACE: &str = "default";

/// The Event that reports `notice`; `seq` tells apart the Events sent at the same `now`.
pub fn event(notice: &Notice, reporter: &Reporter, now: Timestamp, seq: u64) -> Event {
    let regarding = &notice.regarding;
    let name = regarding.name.as_deref().unwrap_or("edgelb");
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{:x}-{seq}", now.as_nanosecond())),
            namespace: Some(events_namespace(regarding).into()),
            ..ObjectMeta::default()
        },
        event_time: Some(MicroTime(now)),
        reporting_controller: Some(reporter.controller.clone()),
        reporting_instance: Some(reporter.instance.clone()),
        action: Some("Plan".into()),
        reason: Some(notice.reason.clone()),
        note: Some(notice.note.clone()),
        type_: Some("Warning".into()),
        regarding: Some(regarding.clone()),
        ..Event::default()
    }
}

fn events_namespace(regarding: &ObjectReference) -> &str {
    regarding
        .namespace
        .as_deref()
        .unwrap_or(CLUSTER_EVENTS_NAMESPACE)
}

/// Who reports the Events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reporter {
    /// `edgelb.io/control`.
    pub controller: String,
    /// This replica (its Lease identity).
    pub instance: String,
}

type NoticeKey = (
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
);

/// Sends notices, remembering when each was last sent.
pub struct Announcer {
    client: Client,
    reporter: Reporter,
    repeat: SignedDuration,
    sent: BTreeMap<NoticeKey, Timestamp>,
    seq: u64,
}

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcer")
            .field("reporter", &self.reporter)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl Announcer {
    pub fn new(client: Client, reporter: Reporter, repeat: SignedDuration) -> Self {
        Self {
            client,
            reporter,
            repeat,
            sent: BTreeMap::new(),
            seq: 0,
        }
    }

    /// Forgets what was sent (another replica may send it meanwhile).
    pub fn forget(&mut self) {
        self.sent.clear();
    }

    /// Sends the notices not sent lately; forgets those that are gone. Returns how many sends failed.
    pub async fn announce(&mut self, notices: &[Notice], now: Timestamp) -> usize {
        let keys: Vec<NoticeKey> = notices.iter().map(key).collect();
        self.sent.retain(|k, _| keys.contains(k));
        let mut failed = 0;
        for (notice, key) in notices.iter().zip(keys) {
            let due = self
                .sent
                .get(&key)
                .is_none_or(|at| *at + self.repeat <= now);
            if !due {
                continue;
            }
            self.seq += 1;
            let event = event(notice, &self.reporter, now, self.seq);
            let api: Api<Event> =
                Api::namespaced(self.client.clone(), events_namespace(&notice.regarding));
            match api.create(&PostParams::default(), &event).await {
                Ok(_) => {
                    self.sent.insert(key, now);
                }
                Err(e) => {
                    failed += 1;
                    tracing::warn!(reason = notice.reason, "cannot send an Event: {e}");
                }
            }
        }
        failed
    }
}

fn key(notice: &Notice) -> NoticeKey {
    let r = &notice.regarding;
    (
        r.kind.clone(),
        r.namespace.clone(),
        r.name.clone(),
        notice.reason.clone(),
        notice.key.clone(),
    )
}
