//! The `edgelb.io/finalizer` on the Services edgelb gives a VIP: a deleted Service stays (Terminating) until the
//! dataplane no longer serves its VIP, so that the address is never handed to another Service while traffic for
//! the old one still arrives.
//!
//! It is added to every Service that holds a VIP. A Service that carries it and no longer holds a VIP (it is being
//! deleted, which the planner treats as gone, or it stopped being ours) is released by the first plan without
//! it; the finalizer is removed once the dataplane has applied that plan's generation (or, without a dataplane,
//! as soon as the plan is made). Both writes are JSON merge patches of `metadata.finalizers` that carry the
//! object's `resourceVersion`, so that a concurrent change of the list makes the API server refuse (409) rather
//! than lose it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams};
use kube::Client;
use serde_json::{json, Value};

use super::Outcome;
use crate::model::{ObjectKey, ObjectRef};

/// The finalizer's name.
pub const FINALIZER: &str = "edgelb.io/finalizer";

/// Whether `meta` carries our finalizer.
pub fn has(meta: &ObjectMeta) -> bool {
    meta.finalizers.iter().flatten().any(|f| f == FINALIZER)
}

/// A finalizer to add or remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizerChange {
    pub service: ObjectKey,
    pub add: bool,
    /// The finalizers the Service should have afterwards, in its order.
    pub finalizers: Vec<String>,
    pub resource_version: Option<String>,
}

/// Remembers, per Service that lost its VIP, the generation of the first plan without it.
#[derive(Debug, Default)]
pub struct Releases {
    released_in: BTreeMap<ObjectKey, u64>,
}

impl Releases {
    /// The finalizer changes `outcome` calls for, in Service order.
    pub fn changes(&mut self, outcome: &Outcome) -> Vec<FinalizerChange> {
        let state = &outcome.state;
        let generation = outcome.plan.desired.generation;
        self.released_in
            .retain(|key, _| state.services.contains_key(key));
        let mut changes = Vec::new();
        for (key, service) in &state.services {
            let meta = &service.metadata;
            let object = ObjectRef::new("Service", key.clone());
            let holds_vip = outcome
                .plan
                .status_addresses
                .get(&object)
                .is_some_and(|a| !a.is_empty());
            let listed: Vec<String> = meta.finalizers.clone().unwrap_or_default();
            if holds_vip {
                self.released_in.remove(key);
                if !has(meta) && meta.deletion_timestamp.is_none() {
                    let mut finalizers = listed;
                    finalizers.push(FINALIZER.into());
                    changes.push(change(key, true, finalizers, meta));
                }
                continue;
            }
            if !has(meta) {
                continue;
            }
            let released = *self.released_in.entry(key.clone()).or_insert(generation);
            if outcome.delivery.applied(released) {
                let finalizers = listed.into_iter().filter(|f| f != FINALIZER).collect();
                changes.push(change(key, false, finalizers, meta));
            } else {
                tracing::debug!(service = %key, released, "waiting for the dataplane to apply the release");
            }
        }
        changes
    }
}

fn change(
    key: &ObjectKey,
    add: bool,
    finalizers: Vec<String>,
    meta: &ObjectMeta,
) -> FinalizerChange {
    FinalizerChange {
        service: key.clone(),
        add,
        finalizers,
        resource_version: meta.resource_version.clone(),
    }
}

/// The merge patch that makes the change (an empty list removes the field).
pub fn patch_body(change: &FinalizerChange) -> Value {
    let finalizers = if change.finalizers.is_empty() {
        Value::Null
    } else {
        json!(change.finalizers)
    };
    json!({ "metadata": { "finalizers": finalizers, "resourceVersion": change.resource_version } })
}

/// Patches the Service's finalizers.
pub async fn write(
    client: &Client,
    change: &FinalizerChange,
    params: &PatchParams,
) -> Result<(), kube::Error> {
    let api: Api<Service> = Api::namespaced(client.clone(), &change.service.namespace);
    api.patch(
        &change.service.name,
        params,
        &Patch::Merge(&patch_body(change)),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::outcome;
    use crate::writeback::Delivery;

    const WEB: &str = "
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop, resourceVersion: '5', finalizers: [example.com/keep] }
spec: { type: LoadBalancer, loadBalancerClass: edgelb.io/slb, ports: [ { port: 80, nodePort: 30080 } ] }
";

    const WEB_DELETED: &str = "
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  resourceVersion: '6'
  deletionTimestamp: '2024-01-01T00:00:00Z'
  finalizers: [example.com/keep, edgelb.io/finalizer]
spec: { type: LoadBalancer, loadBalancerClass: edgelb.io/slb, ports: [ { port: 80, nodePort: 30080 } ] }
status: { loadBalancer: { ingress: [ { ip: 198.18.10.100, ipMode: VIP } ] } }
";

    fn accepted(generation: Option<u64>) -> Delivery {
        Delivery::Dataplane {
            accepted: generation,
            refused: None,
        }
    }

    #[test]
    fn added_to_a_service_with_a_vip_after_the_others() {
        let mut releases = Releases::default();
        let got = releases.changes(&outcome(WEB, 1, accepted(None)));
        assert_eq!(got.len(), 1);
        assert!(got[0].add);
        assert_eq!(
            patch_body(&got[0]).to_string(),
            r#"{"metadata":{"finalizers":["example.com/keep","edgelb.io/finalizer"],"resourceVersion":"5"}}"#
        );
    }

    #[test]
    fn removed_once_the_dataplane_applied_the_plan_that_released_the_vip() {
        let mut releases = Releases::default();
        let deleted = |generation, accepted_generation| {
            outcome(WEB_DELETED, generation, accepted(accepted_generation))
        };
        assert_eq!(
            releases.changes(&deleted(4, Some(3))),
            [],
            "generation 4 releases it; 3 still serves it"
        );
        assert_eq!(
            releases.changes(&deleted(5, Some(4))).len(),
            1,
            "4 is applied"
        );
        let got = releases.changes(&deleted(5, Some(5)));
        assert!(!got[0].add);
        assert_eq!(
            patch_body(&got[0]).to_string(),
            r#"{"metadata":{"finalizers":["example.com/keep"],"resourceVersion":"6"}}"#
        );
    }

    #[test]
    fn without_a_dataplane_the_plan_itself_releases() {
        let mut releases = Releases::default();
        let got = releases.changes(&outcome(WEB_DELETED, 1, Delivery::Unconfigured));
        assert_eq!(got.len(), 1);
        assert!(!got[0].add);
        let mut alone = got[0].clone();
        alone.finalizers.clear();
        assert_eq!(
            patch_body(&alone).to_string(),
            r#"{"metadata":{"finalizers":null,"resourceVersion":"6"}}"#
        );
    }
}
