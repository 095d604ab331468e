//! The pool of a Service port: the backends that L4 listeners and Ingress routes send its traffic to.
//!
//! With `--backends nodes` (the default) a backend is a node and the port's NodePort: every node that takes
//! traffic for `externalTrafficPolicy: Cluster`; for `Local` only the nodes that host a selected endpoint, weighted by
//! how many (kube-proxy on a node sends only to its own endpoints there). With `--backends pods` a backend is an
//! endpoint and its target port. Each pool is built once per plan, however many listeners and routes use it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use edgelb_config::desired::{DesiredBackend, DesiredPool};
use edgelb_config::{BackendState, Protocol};
use k8s_openapi::api::core::v1::{Service, ServicePort};

use super::endpoints::{self, Endpoint, Selection};
use super::{names, nodes, BackendMode, IpFamily, PlanEvent, PlannerSettings};
use crate::model::{ClusterState, ObjectKey, ObjectRef};

/// The highest weight the appliance config takes.
const MAX_WEIGHT: usize = 65_535;

/// The pools made so far in a plan, by name.
pub(crate) struct PoolBook<'a> {
    state: &'a ClusterState,
    settings: &'a PlannerSettings,
    pools: BTreeMap<String, DesiredPool>,
}

impl<'a> PoolBook<'a> {
    pub fn new(state: &'a ClusterState, settings: &'a PlannerSettings) -> Self {
        Self {
            state,
            settings,
            pools: BTreeMap::new(),
        }
    }

    /// The name of the pool of `service`'s `port` (of `protocol`) for `family`, built on first use; what limits it
    /// is told about the Service.
    pub fn service_port(
        &mut self,
        key: &ObjectKey,
        service: &Service,
        port: &ServicePort,
        protocol: Protocol,
        family: IpFamily,
        events: &mut Vec<PlanEvent>,
    ) -> String {
        let name = names::service_pool(
            &key.namespace,
            &key.name,
            &port.port.to_string(),
            protocol,
            family,
        );
        if !self.pools.contains_key(&name) {
            let object = ObjectRef::new("Service", key.clone());
            let backends = self.backends(key, service, port, family, &object, events);
            self.pools.insert(
                name.clone(),
                DesiredPool {
                    name: name.clone(),
                    backends,
                },
            );
        }
        name
    }

    /// The name of an empty pool standing for a backend that does not exist (its traffic is dropped, or answered
    /// 503 by L7); `port` is the number or name the reference gave.
    pub fn missing(&mut self, key: &ObjectKey, port: &str, family: IpFamily) -> String {
        let name = names::service_pool(&key.namespace, &key.name, port, Protocol::Tcp, family);
        self.pools
            .entry(name.clone())
            .or_insert_with(|| DesiredPool {
                name: name.clone(),
                backends: Vec::new(),
            });
        name
    }

    /// Every pool, sorted by name.
    pub fn into_pools(self) -> Vec<DesiredPool> {
        self.pools.into_values().collect()
    }

    fn backends(
        &self,
        key: &ObjectKey,
        service: &Service,
        port: &ServicePort,
        family: IpFamily,
        object: &ObjectRef,
        events: &mut Vec<PlanEvent>,
    ) -> Vec<DesiredBackend> {
        let what = format!(
            "port {}/{} ({family})",
            port.port,
            port.protocol.as_deref().unwrap_or("TCP")
        );
        let endpoints = endpoints::of_service_port(self.state, key, port, family);
        let selection = endpoints::select(&endpoints);
        let local = service
            .spec
            .as_ref()
            .and_then(|s| s.external_traffic_policy.as_deref())
            == Some("Local");
        let (backends, empty_because) = match self.settings.backends {
            BackendMode::Nodes => {
                let Some(node_port) = port
                    .node_port
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|p| *p > 0)
                else {
                    events.push(PlanEvent::warning(
                        object.clone(),
                        "NoNodePort",
                        format!("{what} has no nodePort, which --backends nodes needs: its pool is empty"),
                    ));
                    return Vec::new();
                };
                if local {
                    let backends = self.local_nodes(&selection, node_port, family);
                    let why = "no node that takes traffic hosts a ready or serving endpoint \
                               (externalTrafficPolicy: Local)";
                    (backends, why)
                } else {
                    (self.all_nodes(node_port, family), "no node takes traffic")
                }
            }
            BackendMode::Pods => {
                let unresolved = endpoints.iter().filter(|e| e.port.is_none()).count();
                if unresolved > 0 {
                    events.push(PlanEvent::warning(
                        object.clone(),
                        "UnresolvedTargetPort",
                        format!("{what}: no EndpointSlice port resolves its targetPort for {unresolved} endpoints"),
                    ));
                }
                (
                    pods(&selection),
                    "no endpoint with a known target port is ready or serving",
                )
            }
        };
        if backends.is_empty() {
            events.push(PlanEvent::warning(
                object.clone(),
                "NoBackends",
                format!("{what}: {empty_because}; its traffic is dropped"),
            ));
        } else if selection.fell_back && (local || self.settings.backends == BackendMode::Pods) {
            events.push(PlanEvent::normal(
                object.clone(),
                "TerminatingEndpoints",
                format!(
                    "{what}: no endpoint is ready; using the ones still serving while terminating"
                ),
            ));
        }
        backends
    }

    fn all_nodes(&self, node_port: u16, family: IpFamily) -> Vec<DesiredBackend> {
        let mut backends: Vec<DesiredBackend> = self
            .state
            .nodes
            .values()
            .filter(|node| nodes::takes_traffic(node))
            .filter_map(|node| nodes::address(node, family))
            .map(|address| backend(address, node_port, 1, BackendState::Active))
            .collect();
        sort(&mut backends);
        backends
    }

    fn local_nodes(
        &self,
        selection: &Selection<'_>,
        node_port: u16,
        family: IpFamily,
    ) -> Vec<DesiredBackend> {
        let active = per_node(&selection.active);
        let draining = per_node(&selection.draining);
        let draining_only = draining
            .iter()
            .filter(|(node, _)| !active.contains_key(*node));
        let wanted = active
            .iter()
            .map(|(node, n)| (*node, *n, BackendState::Active))
            .chain(draining_only.map(|(node, n)| (*node, *n, BackendState::Draining)));
        let mut backends = Vec::new();
        for (name, endpoints, state) in wanted {
            let Some(node) = self.state.nodes.get(&ObjectKey::cluster(name)) else {
                continue;
            };
            if !nodes::takes_traffic(node) {
                continue;
            }
            if let Some(address) = nodes::address(node, family) {
                backends.push(backend(address, node_port, endpoints, state));
            }
        }
        sort(&mut backends);
        backends
    }
}

/// How many of `endpoints` each node hosts.
fn per_node<'e>(endpoints: &[&'e Endpoint]) -> BTreeMap<&'e str, usize> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for node in endpoints.iter().filter_map(|e| e.node.as_deref()) {
        *counts.entry(node).or_default() += 1;
    }
    counts
}

fn pods(selection: &Selection<'_>) -> Vec<DesiredBackend> {
    let active = selection.active.iter().map(|e| (e, BackendState::Active));
    let draining = selection
        .draining
        .iter()
        .map(|e| (e, BackendState::Draining));
    let mut backends: Vec<DesiredBackend> = active
        .chain(draining)
        .filter_map(|(e, state)| Some(backend(e.address, e.port?, 1, state)))
        .collect();
    sort(&mut backends);
    backends
}

fn backend(address: IpAddr, port: u16, weight: usize, state: BackendState) -> DesiredBackend {
    DesiredBackend {
        address,
        port,
        weight: u32::try_from(weight.min(MAX_WEIGHT)).unwrap_or(1),
        state,
    }
}

fn sort(backends: &mut Vec<DesiredBackend>) {
    backends.sort_by_key(|b| (b.address, b.port));
    backends.dedup_by_key(|b| (b.address, b.port));
}
