//! One reconciliation: the writes an [`Outcome`] calls for, in a fixed order. Finalizers are added first (a
//! Service is protected before its status shows a VIP), then statuses are written, then finalizers of released
//! Services removed, then Events sent. A failed write is logged and tried again at the next reconciliation; a
//! write already made from the same version of an object is not made again while the outcome still shows that
//! version (the watch has not brought our own write back yet).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::PatchParams;
use kube::Client;

use super::events::{self, Announcer, Reporter};
use super::finalizer::{self, Releases};
use super::status;
use super::Outcome;
use crate::model::{ClusterState, ObjectKey, ObjectRef};

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "edgelb-control";
/// The Events' `reportingController`.
pub const REPORTING_CONTROLLER: &str = "edgelb.io/control";

/// A write made: what kind of write, to which object.
type WriteKey = (ObjectRef, &'static str);

/// Writes outcomes to the cluster; holds what it remembers between them.
pub struct Writer {
    client: Client,
    params: PatchParams,
    releases: Releases,
    announcer: Announcer,
    /// The object's version each write was computed from, and what it wrote.
    written: BTreeMap<WriteKey, (Option<String>, String)>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("releases", &self.releases)
            .field("announcer", &self.announcer)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// `identity` names this replica in Events; an Event that lasts is sent again every `event_repeat`.
    pub fn new(client: Client, identity: &str, event_repeat: SignedDuration) -> Self {
        let reporter = Reporter {
            controller: REPORTING_CONTROLLER.into(),
            instance: identity.into(),
        };
        Self {
            announcer: Announcer::new(client.clone(), reporter, event_repeat),
            client,
            params: PatchParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PatchParams::default()
            },
            releases: Releases::default(),
            written: BTreeMap::new(),
        }
    }

    /// Forgets what was written and sent: after leadership was lost, another replica may have written since.
    pub fn forget(&mut self) {
        self.written.clear();
        self.announcer.forget();
    }

    /// Makes the writes `outcome` calls for; `lease` is what Events about the control process refer to.
    /// Returns how many writes failed.
    pub async fn reconcile(
        &mut self,
        outcome: &Outcome,
        lease: Option<&ObjectReference>,
        now: Timestamp,
    ) -> usize {
        let state = &outcome.state;
        self.written
            .retain(|(object, _), (version, _)| current_version(state, object) == Some(version));
        let mut failed = 0;
        let finalizers = self.releases.changes(outcome);
        for change in finalizers.iter().filter(|c| c.add) {
            failed += self.finalizer(change).await;
        }
        for change in status::changes(state, &outcome.plan) {
            let payload = status::patch_body(&change).to_string();
            if !self.due(&change.object, "status", &change.resource_version, &payload) {
                continue;
            }
            match status::write(&self.client, &change, &self.params).await {
                Ok(()) => {
                    let shown: Vec<String> =
                        change.addresses.iter().map(ToString::to_string).collect();
                    tracing::info!(object = %change.object, "status.loadBalancer: [{}]", shown.join(", "));
                    self.remember(change.object, "status", change.resource_version, payload);
                }
                Err(e) => {
                    failed += 1;
                    tracing::warn!(object = %change.object, "cannot write the status: {e}");
                }
            }
        }
        for change in finalizers.iter().filter(|c| !c.add) {
            failed += self.finalizer(change).await;
        }
        let notices = events::notices(outcome, lease);
        failed + self.announcer.announce(&notices, now).await
    }

    async fn finalizer(&mut self, change: &finalizer::FinalizerChange) -> usize {
        let object = ObjectRef::new("Service", change.service.clone());
        let payload = finalizer::patch_body(change).to_string();
        if !self.due(&object, "finalizer", &change.resource_version, &payload) {
            return 0;
        }
        match finalizer::write(&self.client, change, &self.params).await {
            Ok(()) => {
                let done = if change.add {
                    "added"
                } else {
                    "removed (its VIP is released)"
                };
                tracing::info!(object = %object, "finalizer {} {done}", finalizer::FINALIZER);
                self.remember(
                    object,
                    "finalizer",
                    change.resource_version.clone(),
                    payload,
                );
                0
            }
            Err(e) => {
                tracing::warn!(object = %object, "cannot update the finalizers: {e}");
                1
            }
        }
    }

    fn due(
        &self,
        object: &ObjectRef,
        what: &'static str,
        version: &Option<String>,
        payload: &str,
    ) -> bool {
        let made = self.written.get(&(object.clone(), what));
        made.is_none_or(|(v, p)| v != version || p != payload)
    }

    fn remember(
        &mut self,
        object: ObjectRef,
        what: &'static str,
        version: Option<String>,
        payload: String,
    ) {
        self.written.insert((object, what), (version, payload));
    }
}

fn current_version<'s>(state: &'s ClusterState, object: &ObjectRef) -> Option<&'s Option<String>> {
    let key: &ObjectKey = &object.key;
    match object.kind {
        "Service" => state
            .services
            .get(key)
            .map(|s| &s.metadata.resource_version),
        "Ingress" => state
            .ingresses
            .get(key)
            .map(|i| &i.metadata.resource_version),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{json, Value};

    use super::*;
    use crate::testing::{mock_client, outcome, ApiServer};
    use crate::writeback::{Delivery, Refusal};

    const NODE: &str = "
apiVersion: v1
kind: Node
metadata: { name: node1 }
status:
  addresses: [ { type: InternalIP, address: 198.19.0.11 } ]
  conditions: [ { type: Ready, status: 'True' } ]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: edgelb, annotations: { edgelb.io/ip: 198.18.10.20 } }
spec: { controller: edgelb.io/ingress-controller }
";

    /// A new Service and an Ingress: both get a VIP.
    const SITE: &str = "
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop, resourceVersion: '11', uid: uid-web }
spec: { type: LoadBalancer, loadBalancerClass: edgelb.io/slb, ports: [ { port: 80, nodePort: 30080 } ] }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: site, namespace: shop, resourceVersion: '21' }
spec: { ingressClassName: edgelb, defaultBackend: { service: { name: web, port: { number: 80 } } } }
";

    /// Two Ingresses that want the same route: the younger loses it. Statuses and the finalizer are in place.
    const CONFLICT: &str = "
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop, resourceVersion: '11', finalizers: [edgelb.io/finalizer] }
spec: { type: LoadBalancer, loadBalancerClass: edgelb.io/slb, ports: [ { port: 80, nodePort: 30080 } ] }
status: { loadBalancer: { ingress: [ { ip: 198.18.10.100, ipMode: VIP } ] } }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: old, namespace: shop, uid: uid-old, creationTimestamp: '2024-01-01T00:00:00Z' }
spec:
  ingressClassName: edgelb
  rules: [ { host: a.example.test, http: { paths: [ { path: /, pathType: Prefix,
           backend: { service: { name: web, port: { number: 80 } } } } ] } } ]
status: { loadBalancer: { ingress: [ { ip: 198.18.10.20 } ] } }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: young, namespace: shop, uid: uid-young, creationTimestamp: '2024-02-01T00:00:00Z' }
spec:
  ingressClassName: edgelb
  rules: [ { host: a.example.test, http: { paths: [ { path: /, pathType: Prefix,
           backend: { service: { name: web, port: { number: 80 } } } } ] } } ]
status: { loadBalancer: { ingress: [ { ip: 198.18.10.20 } ] } }
";

    /// A deleted Service that still holds our finalizer.
    const DELETED: &str = "
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  resourceVersion: '6'
  deletionTimestamp: '2024-01-01T00:00:00Z'
  finalizers: [edgelb.io/finalizer]
spec: { type: LoadBalancer, loadBalancerClass: edgelb.io/slb, ports: [ { port: 80, nodePort: 30080 } ] }
status: { loadBalancer: { ingress: [ { ip: 198.18.10.100, ipMode: VIP } ] } }
";

    const MANAGER: &str = "?&fieldManager=edgelb-control";
    const MERGE: Option<&str> = Some("application/merge-patch+json");

    fn now() -> Timestamp {
        Timestamp::from_second(1_700_000_000).unwrap()
    }

    fn writer(client: Client) -> Writer {
        Writer::new(client, "replica-a", SignedDuration::from_mins(30))
    }

    async fn expect_patch(server: &mut ApiServer, path: &str, body: Value, answer: &Value) {
        let call = server.expect("PATCH", &format!("{path}{MANAGER}")).await;
        assert_eq!(call.content_type.as_deref(), MERGE);
        assert_eq!(call.body, body);
        call.respond(200, answer);
    }

    #[tokio::test]
    async fn a_service_gets_the_finalizer_then_both_statuses_are_written_once() {
        let (client, mut server) = mock_client();
        let outcome = outcome(&format!("{NODE}---{SITE}"), 1, Delivery::Unconfigured);
        assert_eq!(outcome.plan.events, []);
        let service = serde_json::to_value(outcome.state.services.values().next()).unwrap();
        let ingress = serde_json::to_value(outcome.state.ingresses.values().next()).unwrap();
        let script = tokio::spawn(async move {
            let finalizers = json!({ "metadata": { "finalizers": ["edgelb.io/finalizer"], "resourceVersion": "11" } });
            expect_patch(
                &mut server,
                "/api/v1/namespaces/shop/services/web",
                finalizers,
                &service,
            )
            .await;
            let status = json!({ "status": { "loadBalancer": { "ingress": [ { "ip": "198.18.10.20" } ] } } });
            let path = "/apis/networking.k8s.io/v1/namespaces/shop/ingresses/site/status";
            expect_patch(&mut server, path, status, &ingress).await;
            let status = json!({ "status": { "loadBalancer": { "ingress": [
                { "ip": "198.18.10.100", "ipMode": "VIP" } ] } } });
            expect_patch(
                &mut server,
                "/api/v1/namespaces/shop/services/web/status",
                status,
                &service,
            )
            .await;
            server.expect_none(Duration::from_millis(100)).await;
        });
        let mut writer = writer(client);
        assert_eq!(writer.reconcile(&outcome, None, now()).await, 0);
        // The watch has not brought our writes back yet: nothing is written twice.
        assert_eq!(writer.reconcile(&outcome, None, now()).await, 0);
        script.await.unwrap();
    }

    #[tokio::test]
    async fn warnings_and_refusals_become_events_sent_once_while_they_last() {
        let (client, server) = mock_client();
        let mut outcome = outcome(&format!("{NODE}---{CONFLICT}"), 3, Delivery::Unconfigured);
        let warnings: Vec<(String, &str)> = outcome
            .plan
            .warnings()
            .map(|e| (e.object.to_string(), e.reason))
            .collect();
        assert_eq!(
            warnings,
            [("Ingress shop/young".to_string(), "RouteConflict")]
        );
        let message = outcome.plan.warnings().next().unwrap().message.clone();
        outcome.delivery = Delivery::Dataplane {
            accepted: Some(2),
            refused: Some(Refusal {
                generation: 3,
                reason: "listener web: no such pool".into(),
            }),
        };
        let lease = ObjectReference {
            api_version: Some("coordination.k8s.io/v1".into()),
            kind: Some("Lease".into()),
            name: Some("edgelb-control".into()),
            namespace: Some("edgelb-system".into()),
            uid: Some("uid-lease".into()),
            ..ObjectReference::default()
        };
        let micro = serde_json::to_value(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(now()),
        )
        .unwrap();
        let script = move |mut server: ApiServer, round: u32| {
            let (message, micro) = (message.clone(), micro.clone());
            tokio::spawn(async move {
                let call = server
                    .expect("POST", "/apis/events.k8s.io/v1/namespaces/shop/events?")
                    .await;
                let mut body = call.body.clone();
                let name = body["metadata"]["name"].take();
                assert!(name.as_str().unwrap().starts_with("young."), "{name}");
                assert_eq!(
                    body,
                    json!({
                        "apiVersion": "events.k8s.io/v1", "kind": "Event",
                        "metadata": { "name": null, "namespace": "shop" },
                        "eventTime": micro_at(&micro, round),
                        "reportingController": "edgelb.io/control", "reportingInstance": "replica-a",
                        "action": "Plan", "reason": "RouteConflict", "type": "Warning", "note": message,
                        "regarding": { "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                                       "name": "young", "namespace": "shop", "uid": "uid-young" },
                    })
                );
                let answer = call.body.clone();
                call.respond(201, &answer);
                let call = server
                    .expect(
                        "POST",
                        "/apis/events.k8s.io/v1/namespaces/edgelb-system/events?",
                    )
                    .await;
                assert_eq!(call.body["reason"], "DesiredStateRefused");
                assert_eq!(
                    call.body["note"],
                    "the dataplane refused generation 3: listener web: no such pool"
                );
                assert_eq!(call.body["regarding"]["kind"], "Lease");
                assert_eq!(call.body["regarding"]["uid"], "uid-lease");
                let answer = call.body.clone();
                call.respond(201, &answer);
                server.expect_none(Duration::from_millis(100)).await;
                server
            })
        };
        let mut writer = writer(client);
        let first = script(server, 0);
        assert_eq!(writer.reconcile(&outcome, Some(&lease), now()).await, 0);
        assert_eq!(
            writer.reconcile(&outcome, Some(&lease), now()).await,
            0,
            "not again"
        );
        let server = first.await.unwrap();
        let second = script(server, 1);
        let later = now() + SignedDuration::from_mins(30);
        assert_eq!(
            writer.reconcile(&outcome, Some(&lease), later).await,
            0,
            "again after 30 min"
        );
        second.await.unwrap();
    }

    /// The event time of round 0 (now) or 1 (30 minutes later).
    fn micro_at(now: &Value, round: u32) -> Value {
        if round == 0 {
            return now.clone();
        }
        let later =
            now.as_str().unwrap().parse::<Timestamp>().unwrap() + SignedDuration::from_mins(30);
        serde_json::to_value(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
            later,
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn the_finalizer_goes_once_the_dataplane_applied_the_release() {
        let (client, mut server) = mock_client();
        let accepted = |generation| Delivery::Dataplane {
            accepted: Some(generation),
            refused: None,
        };
        let waiting = outcome(DELETED, 4, accepted(3));
        let applied = outcome(DELETED, 4, accepted(4));
        assert!(
            waiting.plan.status_addresses.is_empty(),
            "a deleted Service is not served"
        );
        let service = serde_json::to_value(applied.state.services.values().next()).unwrap();
        let script = tokio::spawn(async move {
            let body = json!({ "metadata": { "finalizers": null, "resourceVersion": "6" } });
            expect_patch(
                &mut server,
                "/api/v1/namespaces/shop/services/web",
                body,
                &service,
            )
            .await;
            server.expect_none(Duration::from_millis(100)).await;
        });
        let mut writer = writer(client);
        assert_eq!(writer.reconcile(&waiting, None, now()).await, 0);
        assert_eq!(writer.reconcile(&applied, None, now()).await, 0);
        script.await.unwrap();
    }
}
