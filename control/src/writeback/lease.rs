//! The Lease (coordination.k8s.io/v1) that elects the one replica allowed to write status, Events and
//! finalizers. Every replica still plans and pushes to its own dataplane.
//!
//! Each round reads the Lease and then: creates it when it is absent; renews it when we hold it; takes it over
//! when its holder let it expire (`renewTime + leaseDurationSeconds` is past) or it names no holder; otherwise
//! leaves it alone. Writes are replaces carrying the read `resourceVersion`, so of two replicas racing for an
//! expired Lease only one wins (the other gets 409). We count as the holder until our last successful write plus
//! the lease duration: a replica that cannot reach the API server stops writing before another may take over.
//! Expiry is judged on our clock against the holder's `renewTime`, so the replicas' clocks must roughly agree.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};
use kube::Client;

/// Where the Lease is and who we are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    pub namespace: String,
    pub name: String,
    /// This replica: the Pod's name (`POD_NAME`), else the host name.
    pub identity: String,
    /// How long a holder that stops renewing keeps it.
    pub duration: Duration,
    /// How often the holder renews it (and the others look at it).
    pub renew: Duration,
}

impl LeaseSettings {
    /// `POD_NAME` when set (the Deployment sets it), else the host's name.
    pub fn default_identity() -> String {
        std::env::var("POD_NAME")
            .ok()
            .filter(|n| !n.is_empty())
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("edgelb-control-{}", std::process::id()))
    }
}

/// Our view of the Lease.
#[derive(Debug)]
pub struct LeaseLock {
    api: Api<Lease>,
    settings: LeaseSettings,
    /// Until when we hold it, as of our last successful write.
    held_until: Option<Timestamp>,
    /// The Lease's uid (for Events about the control process).
    uid: Option<String>,
}

impl LeaseLock {
    pub fn new(client: Client, settings: LeaseSettings) -> Self {
        Self {
            api: Api::namespaced(client, &settings.namespace),
            settings,
            held_until: None,
            uid: None,
        }
    }

    pub fn settings(&self) -> &LeaseSettings {
        &self.settings
    }

    /// Until when we hold the Lease (as of our last successful write), if we do.
    pub fn held_until(&self) -> Option<Timestamp> {
        self.held_until
    }

    /// Whether we hold the Lease at `now`.
    pub fn held(&self, now: Timestamp) -> bool {
        self.held_until.is_some_and(|until| now < until)
    }

    /// The Lease as an Event's `regarding`.
    pub fn reference(&self) -> ObjectReference {
        ObjectReference {
            api_version: Some("coordination.k8s.io/v1".into()),
            kind: Some("Lease".into()),
            name: Some(self.settings.name.clone()),
            namespace: Some(self.settings.namespace.clone()),
            uid: self.uid.clone(),
            ..ObjectReference::default()
        }
    }

    /// One round: acquire, renew or stand by. Returns whether we hold the Lease afterwards.
    pub async fn step(&mut self, now: Timestamp) -> bool {
        match self.try_step(now).await {
            Ok(true) => {
                self.held_until = Some(now + self.duration());
            }
            Ok(false) => self.held_until = None,
            Err(e) if is_conflict(&e) => {
                tracing::debug!("the Lease changed while we wrote it: {e}");
                self.held_until = None;
            }
            Err(e) => tracing::warn!(
                lease = %self.settings.name, "cannot read or write the Lease: {e}"
            ),
        }
        self.held(now)
    }

    fn duration(&self) -> SignedDuration {
        SignedDuration::try_from(self.settings.duration).unwrap_or(SignedDuration::from_secs(15))
    }

    fn duration_s(&self) -> i32 {
        i32::try_from(self.settings.duration.as_secs().max(1)).unwrap_or(i32::MAX)
    }

    async fn try_step(&mut self, now: Timestamp) -> Result<bool, kube::Error> {
        let identity = self.settings.identity.clone();
        let Some(lease) = self.api.get_opt(&self.settings.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.settings.name.clone()),
                    namespace: Some(self.settings.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(now, now, 0)),
            };
            let created = self.api.create(&PostParams::default(), &lease).await?;
            self.uid = created.metadata.uid;
            return Ok(true);
        };
        self.uid.clone_from(&lease.metadata.uid);
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty());
        let ours = holder == Some(identity.as_str());
        let expires = spec.renew_time.as_ref().map(|t| {
            let seconds = spec.lease_duration_seconds.unwrap_or(self.duration_s());
            t.0 + SignedDuration::from_secs(i64::from(seconds))
        });
        let free = holder.is_none() || expires.is_none_or(|e| e <= now);
        if !ours && !free {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0);
        let new_spec = if ours {
            let acquired = spec.acquire_time.as_ref().map_or(now, |t| t.0);
            self.spec(acquired, now, transitions)
        } else {
            tracing::info!(
                previous = holder.unwrap_or("nobody"),
                "taking over the expired Lease"
            );
            self.spec(now, now, transitions.saturating_add(1))
        };
        let mut renewed = lease;
        renewed.spec = Some(new_spec);
        self.api
            .replace(&self.settings.name, &PostParams::default(), &renewed)
            .await?;
        Ok(true)
    }

    fn spec(&self, acquired: Timestamp, renewed: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.settings.identity.clone()),
            lease_duration_seconds: Some(self.duration_s()),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }
}

/// Whether `e` is the API server's 409 (the object changed, or already exists).
pub fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 409)
}

#[cfg(test)]
mod tests {
    use std::time::Duration as StdDuration;

    use serde_json::{json, Value};

    use super::*;
    use crate::testing::{mock_client, status};

    const PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/edgelb-system/leases";

    fn settings() -> LeaseSettings {
        LeaseSettings {
            namespace: "edgelb-system".into(),
            name: "edgelb-control".into(),
            identity: "replica-a".into(),
            duration: StdDuration::from_secs(15),
            renew: StdDuration::from_secs(5),
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_700_000_000).unwrap()
    }

    fn micro(t: Timestamp) -> Value {
        serde_json::to_value(MicroTime(t)).unwrap()
    }

    fn lease(holder: &str, renewed: Timestamp, transitions: i32) -> Value {
        json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": { "name": "edgelb-control", "namespace": "edgelb-system", "resourceVersion": "7",
                          "uid": "uid-lease" },
            "spec": { "holderIdentity": holder, "leaseDurationSeconds": 15, "acquireTime": micro(renewed),
                      "renewTime": micro(renewed), "leaseTransitions": transitions },
        })
    }

    #[tokio::test]
    async fn an_absent_lease_is_created_and_held_for_its_duration() {
        let (client, mut server) = mock_client();
        let script = tokio::spawn(async move {
            let call = server
                .expect("GET", &format!("{PATH}/edgelb-control"))
                .await;
            call.respond(
                404,
                &status(404, "NotFound", "leases \"edgelb-control\" not found"),
            );
            let call = server.expect("POST", &format!("{PATH}?")).await;
            let want = json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": { "name": "edgelb-control", "namespace": "edgelb-system" },
                "spec": { "holderIdentity": "replica-a", "leaseDurationSeconds": 15, "acquireTime": micro(now()),
                          "renewTime": micro(now()), "leaseTransitions": 0 },
            });
            assert_eq!(call.body, want);
            call.respond(201, &lease("replica-a", now(), 0));
        });
        let mut lock = LeaseLock::new(client, settings());
        assert!(lock.step(now()).await);
        script.await.unwrap();
        assert!(lock.held(now() + SignedDuration::from_secs(14)));
        assert!(
            !lock.held(now() + SignedDuration::from_secs(15)),
            "not renewed: lost"
        );
        assert_eq!(lock.reference().uid.as_deref(), Some("uid-lease"));
    }

    #[tokio::test]
    async fn a_lease_another_replica_holds_is_left_alone_until_it_expires() {
        let (client, mut server) = mock_client();
        let script = tokio::spawn(async move {
            let renewed = now() - SignedDuration::from_secs(14);
            let call = server
                .expect("GET", &format!("{PATH}/edgelb-control"))
                .await;
            call.respond(200, &lease("replica-b", renewed, 2));
            server.expect_none(StdDuration::from_millis(100)).await;

            let call = server
                .expect("GET", &format!("{PATH}/edgelb-control"))
                .await;
            call.respond(200, &lease("replica-b", renewed, 2));
            let call = server
                .expect("PUT", &format!("{PATH}/edgelb-control?"))
                .await;
            let later = now() + SignedDuration::from_secs(1);
            assert_eq!(
                call.body["metadata"]["resourceVersion"], "7",
                "a conditional write"
            );
            assert_eq!(
                call.body["spec"],
                json!({ "holderIdentity": "replica-a", "leaseDurationSeconds": 15, "acquireTime": micro(later),
                        "renewTime": micro(later), "leaseTransitions": 3 })
            );
            call.respond(200, &lease("replica-a", later, 3));
        });
        let mut lock = LeaseLock::new(client, settings());
        assert!(!lock.step(now()).await, "replica-b renewed 14 s ago");
        tokio::time::sleep(StdDuration::from_millis(150)).await;
        assert!(
            lock.step(now() + SignedDuration::from_secs(1)).await,
            "expired: taken over"
        );
        script.await.unwrap();
    }

    #[tokio::test]
    async fn our_lease_is_renewed_and_a_lost_race_is_not_held() {
        let (client, mut server) = mock_client();
        let script = tokio::spawn(async move {
            let call = server
                .expect("GET", &format!("{PATH}/edgelb-control"))
                .await;
            call.respond(
                200,
                &lease("replica-a", now() - SignedDuration::from_secs(5), 1),
            );
            let call = server
                .expect("PUT", &format!("{PATH}/edgelb-control?"))
                .await;
            assert_eq!(call.body["spec"]["renewTime"], micro(now()));
            assert_eq!(
                call.body["spec"]["acquireTime"],
                micro(now() - SignedDuration::from_secs(5))
            );
            assert_eq!(call.body["spec"]["leaseTransitions"], 1);
            call.respond(200, &lease("replica-a", now(), 1));

            let call = server
                .expect("GET", &format!("{PATH}/edgelb-control"))
                .await;
            call.respond(200, &lease("replica-a", now(), 1));
            let call = server
                .expect("PUT", &format!("{PATH}/edgelb-control?"))
                .await;
            call.respond(
                409,
                &status(409, "Conflict", "the object has been modified"),
            );
        });
        let mut lock = LeaseLock::new(client, settings());
        assert!(lock.step(now()).await);
        assert!(
            !lock.step(now() + SignedDuration::from_secs(5)).await,
            "another replica wrote first"
        );
        script.await.unwrap();
    }
}
