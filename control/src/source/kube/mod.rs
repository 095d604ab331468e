//! The kube source: the API server's objects, kept current by watches (kube-runtime reflectors) on a tokio
//! runtime in the background, and handed to the synchronous control loop as full [`ClusterState`]s.
//!
//! Services, EndpointSlices, Endpoints, Nodes, Ingresses, IngressClasses and Secrets of type
//! `kubernetes.io/tls` (a field selector: other Secrets are never read) are watched in every namespace. `load`
//! refuses until every kind has had its first full list, so that nothing is allocated on a partial view;
//! `changed` is one atomic flag that every watch event raises.

mod reflectors;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Endpoints, Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::Api;
use kube::runtime::watcher;
use kube::Client;
use tokio::runtime::Handle;

use super::{Source, SourceError};
use crate::model::{ClusterObject, ClusterState};
use reflectors::Reflected;

/// The only Secrets read: TLS certificates and keys for Ingresses.
pub const TLS_SECRETS: &str = "type=kubernetes.io/tls";

/// The cluster's objects as the API server has them.
#[derive(Debug)]
pub struct KubeSource {
    services: Reflected<Service>,
    endpoint_slices: Reflected<EndpointSlice>,
    endpoints: Reflected<Endpoints>,
    nodes: Reflected<Node>,
    ingresses: Reflected<Ingress>,
    ingress_classes: Reflected<IngressClass>,
    secrets: Reflected<Secret>,
    changed: Arc<AtomicBool>,
}

impl KubeSource {
    /// Starts the watches on `runtime` (the client must belong to it).
    pub fn start(client: &Client, runtime: &Handle) -> Self {
        let changed = Arc::new(AtomicBool::new(false));
        let all = watcher::Config::default;
        let flag = || Arc::clone(&changed);
        Self {
            services: Reflected::start(
                "services",
                Api::all(client.clone()),
                all(),
                flag(),
                runtime,
            ),
            endpoint_slices: Reflected::start(
                "endpointslices",
                Api::all(client.clone()),
                all(),
                flag(),
                runtime,
            ),
            endpoints: Reflected::start(
                "endpoints",
                Api::all(client.clone()),
                all(),
                flag(),
                runtime,
            ),
            nodes: Reflected::start("nodes", Api::all(client.clone()), all(), flag(), runtime),
            ingresses: Reflected::start(
                "ingresses",
                Api::all(client.clone()),
                all(),
                flag(),
                runtime,
            ),
            ingress_classes: Reflected::start(
                "ingressclasses",
                Api::all(client.clone()),
                all(),
                flag(),
                runtime,
            ),
            secrets: Reflected::start(
                "secrets",
                Api::all(client.clone()),
                all().fields(TLS_SECRETS),
                flag(),
                runtime,
            ),
            changed,
        }
    }

    /// The kinds whose first full list has not arrived yet.
    pub fn waiting_for(&self) -> Vec<&'static str> {
        let kinds = [
            (self.services.kind, self.services.listed()),
            (self.endpoint_slices.kind, self.endpoint_slices.listed()),
            (self.endpoints.kind, self.endpoints.listed()),
            (self.nodes.kind, self.nodes.listed()),
            (self.ingresses.kind, self.ingresses.listed()),
            (self.ingress_classes.kind, self.ingress_classes.listed()),
            (self.secrets.kind, self.secrets.listed()),
        ];
        kinds
            .into_iter()
            .filter(|(_, listed)| !listed)
            .map(|(kind, _)| kind)
            .collect()
    }
}

impl Source for KubeSource {
    fn describe(&self) -> String {
        "kube".into()
    }

    fn load(&mut self) -> Result<ClusterState, SourceError> {
        let waiting = self.waiting_for();
        if !waiting.is_empty() {
            return Err(SourceError::NotListed(waiting.join(", ")));
        }
        // Cleared first: a change made while copying shows in the next `changed`.
        self.changed.store(false, Ordering::SeqCst);
        let mut state = ClusterState {
            complete: true,
            ..ClusterState::default()
        };
        let objects = self
            .services
            .objects()
            .map(|o| ClusterObject::Service(Box::new(o)))
            .chain(
                self.endpoint_slices
                    .objects()
                    .map(|o| ClusterObject::EndpointSlice(Box::new(o))),
            )
            .chain(
                self.endpoints
                    .objects()
                    .map(|o| ClusterObject::Endpoints(Box::new(o))),
            )
            .chain(
                self.nodes
                    .objects()
                    .map(|o| ClusterObject::Node(Box::new(o))),
            )
            .chain(
                self.ingresses
                    .objects()
                    .map(|o| ClusterObject::Ingress(Box::new(o))),
            )
            .chain(
                self.ingress_classes
                    .objects()
                    .map(|o| ClusterObject::IngressClass(Box::new(o))),
            )
            .chain(
                self.secrets
                    .objects()
                    .map(|o| ClusterObject::Secret(Box::new(o))),
            );
        for object in objects {
            state.insert(object);
        }
        Ok(state)
    }

    fn changed(&mut self) -> Result<bool, SourceError> {
        Ok(self.changed.swap(false, Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};

    use super::*;
    use crate::testing::{mock_client, ApiServer, Call};

    /// Each kind's list path, List kind, and one object.
    fn kinds() -> Vec<(&'static str, &'static str, Value)> {
        let meta = |name: &str, ns: Option<&str>| {
            let mut m =
                json!({ "name": name, "resourceVersion": "41", "uid": format!("uid-{name}") });
            if let Some(ns) = ns {
                m["namespace"] = json!(ns);
            }
            m
        };
        vec![
            (
                "/api/v1/services",
                "ServiceList",
                json!({
                    "apiVersion": "v1", "kind": "Service", "metadata": meta("web", Some("shop")),
                    "spec": { "type": "LoadBalancer", "loadBalancerClass": "edgelb.io/slb",
                              "ports": [ { "port": 80, "protocol": "TCP", "nodePort": 30080 } ] },
                }),
            ),
            (
                "/apis/discovery.k8s.io/v1/endpointslices",
                "EndpointSliceList",
                json!({
                    "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta("web-1", Some("shop")),
                    "addressType": "IPv4", "endpoints": [ { "addresses": ["10.244.1.5"], "nodeName": "node1" } ],
                }),
            ),
            (
                "/api/v1/endpoints",
                "EndpointsList",
                json!({
                    "apiVersion": "v1", "kind": "Endpoints", "metadata": meta("web", Some("shop")),
                    "subsets": [ { "addresses": [ { "ip": "10.244.1.5" } ], "ports": [ { "port": 8080 } ] } ],
                }),
            ),
            (
                "/api/v1/nodes",
                "NodeList",
                json!({
                    "apiVersion": "v1", "kind": "Node", "metadata": meta("node1", None),
                    "status": { "addresses": [ { "type": "InternalIP", "address": "198.19.0.11" } ],
                                "conditions": [ { "type": "Ready", "status": "True" } ] },
                }),
            ),
            (
                "/apis/networking.k8s.io/v1/ingresses",
                "IngressList",
                json!({
                    "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("site", Some("shop")),
                    "spec": { "ingressClassName": "edgelb", "defaultBackend":
                              { "service": { "name": "web", "port": { "number": 80 } } } },
                }),
            ),
            (
                "/apis/networking.k8s.io/v1/ingressclasses",
                "IngressClassList",
                json!({
                    "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": meta("edgelb", None),
                    "spec": { "controller": "edgelb.io/ingress-controller" },
                }),
            ),
            (
                "/api/v1/secrets",
                "SecretList",
                json!({
                    "apiVersion": "v1", "kind": "Secret", "metadata": meta("site-tls", Some("shop")),
                    "type": "kubernetes.io/tls", "data": { "tls.crt": "Y2VydA==", "tls.key": "a2V5" },
                }),
            ),
        ]
    }

    fn list(kind: &str, item: &Value) -> Value {
        json!({ "apiVersion": "v1", "kind": kind, "metadata": { "resourceVersion": "100" }, "items": [item] })
    }

    /// The state the objects make, as the manifests loader would build it.
    fn expected(objects: &[Value]) -> ClusterState {
        let mut state = ClusterState {
            complete: true,
            ..ClusterState::default()
        };
        for o in objects {
            let object = match o["kind"].as_str().unwrap() {
                "Service" => ClusterObject::Service(serde_json::from_value(o.clone()).unwrap()),
                "EndpointSlice" => {
                    ClusterObject::EndpointSlice(serde_json::from_value(o.clone()).unwrap())
                }
                "Endpoints" => ClusterObject::Endpoints(serde_json::from_value(o.clone()).unwrap()),
                "Node" => ClusterObject::Node(serde_json::from_value(o.clone()).unwrap()),
                "Ingress" => ClusterObject::Ingress(serde_json::from_value(o.clone()).unwrap()),
                "IngressClass" => {
                    ClusterObject::IngressClass(serde_json::from_value(o.clone()).unwrap())
                }
                "Secret" => ClusterObject::Secret(serde_json::from_value(o.clone()).unwrap()),
                other => panic!("{other}"),
            };
            state.insert(object);
        }
        state
    }

    fn assert_same(got: &ClusterState, want: &ClusterState) {
        assert!(got.complete);
        assert_eq!(got.services, want.services);
        assert_eq!(got.endpoint_slices, want.endpoint_slices);
        assert_eq!(got.endpoints, want.endpoints);
        assert_eq!(got.nodes, want.nodes);
        assert_eq!(got.ingresses, want.ingresses);
        assert_eq!(got.ingress_classes, want.ingress_classes);
        assert_eq!(got.secrets, want.secrets);
    }

    /// Answers lists (holding back `hold`'s), collects watches, until every list but `hold` is answered and
    /// every answered kind is watched.
    async fn serve_lists(server: &mut ApiServer, hold: Option<&str>) -> (Vec<Call>, Option<Call>) {
        let kinds = kinds();
        let mut watches: Vec<Call> = Vec::new();
        let mut held = None;
        let mut listed = 0;
        let wanted = kinds.len() - usize::from(hold.is_some());
        while listed < wanted || watches.len() < wanted {
            let call = server.next().await;
            assert_eq!(call.method, "GET", "{call:?}");
            let (path, list_kind, item) = kinds
                .iter()
                .find(|(path, _, _)| *path == call.path())
                .unwrap_or_else(|| panic!("unexpected {call:?}"));
            let query = call
                .uri
                .split_once('?')
                .map(|(_, q)| q)
                .unwrap_or_default()
                .to_string();
            let selector = if *path == "/api/v1/secrets" {
                "&fieldSelector=type%3Dkubernetes.io%2Ftls"
            } else {
                ""
            };
            if query.contains("watch=true") {
                assert_eq!(
                    query,
                    format!(
                        "&watch=true&timeoutSeconds=290{selector}&allowWatchBookmarks=true&resourceVersion=100"
                    )
                );
                watches.push(call);
            } else if Some(*path) == hold {
                held = Some(call);
            } else {
                assert_eq!(query, format!("{selector}&limit=500"));
                call.respond(200, &list(list_kind, item));
                listed += 1;
            }
        }
        (watches, held)
    }

    async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !check() {
            assert!(
                Instant::now() < deadline,
                "{what} did not happen within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[test]
    fn nothing_loads_before_every_first_list_then_the_state_is_the_objects() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let _entered = runtime.enter();
        let (client, mut server) = mock_client();
        let mut source = KubeSource::start(&client, runtime.handle());
        let err = source.load().unwrap_err().to_string();
        assert_eq!(
            err,
            "waiting for the first full list of services, endpointslices, endpoints, nodes, ingresses, \
             ingressclasses, secrets"
        );
        runtime.block_on(async {
            let (_watches, held) = serve_lists(&mut server, Some("/api/v1/secrets")).await;
            eventually("six lists", || source.waiting_for() == ["secrets"]).await;
            let err = source.load().unwrap_err().to_string();
            assert_eq!(err, "waiting for the first full list of secrets");
            let secret = kinds().pop().unwrap();
            held.unwrap().respond(200, &list(secret.1, &secret.2));
            eventually("the last list", || source.waiting_for().is_empty()).await;
        });
        let objects: Vec<Value> = kinds().into_iter().map(|(_, _, o)| o).collect();
        assert_same(&source.load().unwrap(), &expected(&objects));
    }

    #[test]
    fn a_watch_event_raises_changed_and_shows_in_the_next_load() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let _entered = runtime.enter();
        let (client, mut server) = mock_client();
        let mut source = KubeSource::start(&client, runtime.handle());
        let mut objects: Vec<Value> = kinds().into_iter().map(|(_, _, o)| o).collect();
        runtime.block_on(async {
            let (watches, _) = serve_lists(&mut server, None).await;
            eventually("every list", || source.waiting_for().is_empty()).await;
            source.load().unwrap();
            assert!(!source.changed().unwrap(), "nothing changed since the load");

            let mut modified = objects[0].clone();
            modified["metadata"]["resourceVersion"] = json!("102");
            modified["spec"]["ports"][0]["port"] = json!(8080);
            let mut added = objects[0].clone();
            added["metadata"] = json!({ "name": "api", "namespace": "shop", "resourceVersion": "101" });
            let lines = [
                json!({ "type": "ADDED", "object": added }),
                json!({ "type": "MODIFIED", "object": modified }),
            ];
            let body: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\n").into_bytes()).collect();
            let service_watch = watches
                .into_iter()
                .find(|w| w.path() == "/api/v1/services")
                .unwrap();
            service_watch.respond_raw(200, body);
            eventually("changed()", || source.changed().unwrap()).await;
            // The watch ended: it is resumed from the last version seen.
            let resumed = server.next().await;
            assert_eq!(
                resumed.uri,
                "/api/v1/services?&watch=true&timeoutSeconds=290&allowWatchBookmarks=true&resourceVersion=102"
            );
            objects[0] = modified;
            objects.push(added);
        });
        assert_same(&source.load().unwrap(), &expected(&objects));
        assert!(!source.changed().unwrap());
    }
}
