//! `status.loadBalancer.ingress` of the Services and Ingresses edgelb serves: one entry per VIP, written through
//! the `/status` subresource as a JSON merge patch, only where it differs from what the object has.
//!
//! A Service entry says `ipMode: VIP` (the appliance delivers packets with the VIP as their destination, so
//! kube-proxy may short-circuit in-cluster traffic to it). Ingress entries have no `ipMode` field in the API.
//! A Service that carries our finalizer but is no longer ours has its entries cleared; a Service or an Ingress
//! being deleted is left alone.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::{LoadBalancerIngress, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressLoadBalancerIngress};
use kube::api::{Api, Patch, PatchParams};
use kube::Client;
use serde_json::{json, Value};

use super::finalizer;
use crate::model::{ClusterState, ObjectKey, ObjectRef};
use crate::planner::Plan;

/// The `ipMode` of the Service entries.
pub const IP_MODE: &str = "VIP";

/// A status to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// A Service or an Ingress.
    pub object: ObjectRef,
    /// What `status.loadBalancer.ingress` should list; none clears it.
    pub addresses: Vec<IpAddr>,
    /// The object's version it was computed from.
    pub resource_version: Option<String>,
}

/// The statuses that differ from what `plan` gives, in object order.
pub fn changes(state: &ClusterState, plan: &Plan) -> Vec<StatusChange> {
    let mut changes = Vec::new();
    for (object, addresses) in &plan.status_addresses {
        let differs = match object.kind {
            "Service" => state
                .services
                .get(&object.key)
                .filter(|s| s.metadata.deletion_timestamp.is_none())
                .map(|s| {
                    (
                        service_entries(s) != service_wanted(addresses),
                        s.metadata.resource_version.clone(),
                    )
                }),
            "Ingress" => state
                .ingresses
                .get(&object.key)
                .filter(|i| i.metadata.deletion_timestamp.is_none())
                .map(|i| {
                    (
                        ingress_entries(i) != ingress_wanted(addresses),
                        i.metadata.resource_version.clone(),
                    )
                }),
            _ => None,
        };
        if let Some((true, resource_version)) = differs {
            changes.push(StatusChange {
                object: object.clone(),
                addresses: addresses.clone(),
                resource_version,
            });
        }
    }
    for (key, service) in &state.services {
        let object = ObjectRef::new("Service", key.clone());
        let was_ours = finalizer::has(&service.metadata);
        if was_ours
            && service.metadata.deletion_timestamp.is_none()
            && !plan.status_addresses.contains_key(&object)
            && !service_entries(service).is_empty()
        {
            changes.push(StatusChange {
                object,
                addresses: Vec::new(),
                resource_version: service.metadata.resource_version.clone(),
            });
        }
    }
    changes
}

fn service_entries(service: &Service) -> Vec<LoadBalancerIngress> {
    let lb = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref());
    lb.and_then(|lb| lb.ingress.clone()).unwrap_or_default()
}

fn service_wanted(addresses: &[IpAddr]) -> Vec<LoadBalancerIngress> {
    let entry = |ip: &IpAddr| LoadBalancerIngress {
        ip: Some(ip.to_string()),
        ip_mode: Some(IP_MODE.into()),
        ..LoadBalancerIngress::default()
    };
    addresses.iter().map(entry).collect()
}

fn ingress_entries(ingress: &Ingress) -> Vec<IngressLoadBalancerIngress> {
    let lb = ingress
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref());
    lb.and_then(|lb| lb.ingress.clone()).unwrap_or_default()
}

fn ingress_wanted(addresses: &[IpAddr]) -> Vec<IngressLoadBalancerIngress> {
    let entry = |ip: &IpAddr| IngressLoadBalancerIngress {
        ip: Some(ip.to_string()),
        ..IngressLoadBalancerIngress::default()
    };
    addresses.iter().map(entry).collect()
}

/// The merge patch that sets `change`'s status (`ingress: null` removes the list).
pub fn patch_body(change: &StatusChange) -> Value {
    if change.addresses.is_empty() {
        return json!({ "status": { "loadBalancer": { "ingress": null } } });
    }
    let entries: Value = if change.object.kind == "Service" {
        serde_json::to_value(service_wanted(&change.addresses)).unwrap_or_default()
    } else {
        serde_json::to_value(ingress_wanted(&change.addresses)).unwrap_or_default()
    };
    json!({ "status": { "loadBalancer": { "ingress": entries } } })
}

/// Writes `change` through the `/status` subresource.
pub async fn write(
    client: &Client,
    change: &StatusChange,
    params: &PatchParams,
) -> Result<(), kube::Error> {
    let body = patch_body(change);
    let ObjectKey { namespace, name } = &change.object.key;
    if change.object.kind == "Service" {
        let api: Api<Service> = Api::namespaced(client.clone(), namespace);
        api.patch_status(name, params, &Patch::Merge(&body)).await?;
    } else {
        let api: Api<Ingress> = Api::namespaced(client.clone(), namespace);
        api.patch_status(name, params, &Patch::Merge(&body)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::{self, Allocations};
    use crate::testing::{settings, state};

    const SERVICES: &str = "
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop, resourceVersion: '11' }
spec: { type: LoadBalancer, loadBalancerClass: edgelb.io/slb, ports: [ { port: 80, nodePort: 30080 } ] }
---
apiVersion: v1
kind: Service
metadata: { name: done, namespace: shop, resourceVersion: '12' }
spec: { type: LoadBalancer, loadBalancerClass: edgelb.io/slb, ports: [ { port: 80, nodePort: 30081 } ] }
status: { loadBalancer: { ingress: [ { ip: 198.18.10.150, ipMode: VIP } ] } }
---
apiVersion: v1
kind: Service
metadata: { name: left, namespace: shop, resourceVersion: '13', finalizers: [edgelb.io/finalizer] }
spec: { type: LoadBalancer, loadBalancerClass: other.example/lb, ports: [ { port: 80, nodePort: 30082 } ] }
status: { loadBalancer: { ingress: [ { ip: 198.18.10.160, ipMode: VIP } ] } }
---
apiVersion: v1
kind: Service
metadata: { name: foreign, namespace: shop, resourceVersion: '14' }
spec: { type: LoadBalancer, loadBalancerClass: other.example/lb, ports: [ { port: 80, nodePort: 30083 } ] }
status: { loadBalancer: { ingress: [ { ip: 203.0.113.7 } ] } }
";

    #[test]
    fn only_differing_statuses_are_written_and_a_service_that_left_is_cleared() {
        let state = state(SERVICES);
        let plan = planner::plan(&state, &settings(), &Allocations::default());
        let got = changes(&state, &plan);
        let web = ObjectRef::new("Service", ObjectKey::new("shop", "web"));
        let left = ObjectRef::new("Service", ObjectKey::new("shop", "left"));
        assert_eq!(
            got,
            [
                StatusChange {
                    object: web,
                    addresses: vec!["198.18.10.100".parse().unwrap()],
                    resource_version: Some("11".into()),
                },
                StatusChange {
                    object: left,
                    addresses: vec![],
                    resource_version: Some("13".into()),
                },
            ],
            "done already shows its VIP; foreign is not ours and never was"
        );
        assert_eq!(
            patch_body(&got[0]).to_string(),
            r#"{"status":{"loadBalancer":{"ingress":[{"ip":"198.18.10.100","ipMode":"VIP"}]}}}"#
        );
        assert_eq!(
            patch_body(&got[1]).to_string(),
            r#"{"status":{"loadBalancer":{"ingress":null}}}"#
        );
    }

    #[test]
    fn ingress_entries_have_no_ip_mode() {
        let change = StatusChange {
            object: ObjectRef::new("Ingress", ObjectKey::new("shop", "site")),
            addresses: vec![
                "198.18.10.20".parse().unwrap(),
                "2001:2:0:10::20".parse().unwrap(),
            ],
            resource_version: None,
        };
        assert_eq!(
            patch_body(&change).to_string(),
            r#"{"status":{"loadBalancer":{"ingress":[{"ip":"198.18.10.20"},{"ip":"2001:2:0:10::20"}]}}}"#
        );
    }
}
