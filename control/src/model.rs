//! The cluster objects the planner reads, as the Kubernetes API's own types (k8s-openapi), keyed by namespace and
//! name. Every source (a manifests directory now, the API server later) fills one [`ClusterState`]; the planner
//! reads nothing else.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::{Endpoints, Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

/// The namespace of a namespaced object that names none, as the API server defaults it.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Namespace and name of an object; the namespace is empty for cluster-scoped kinds (Node, IngressClass).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    /// A namespaced object's key.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// A cluster-scoped object's key.
    pub fn cluster(name: impl Into<String>) -> Self {
        Self::new("", name)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// A kind and key: what an event or a VIP allocation is about (`Service default/web`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    pub kind: &'static str,
    pub key: ObjectKey,
}

impl ObjectRef {
    pub fn new(kind: &'static str, key: ObjectKey) -> Self {
        Self { kind, key }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.key)
    }
}

/// One object of a kind the planner reads.
#[derive(Debug, Clone)]
pub enum ClusterObject {
    Service(Box<Service>),
    EndpointSlice(Box<EndpointSlice>),
    Endpoints(Box<Endpoints>),
    Node(Box<Node>),
    Ingress(Box<Ingress>),
    IngressClass(Box<IngressClass>),
    Secret(Box<Secret>),
}

impl ClusterObject {
    /// The Kubernetes kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Service(_) => "Service",
            Self::EndpointSlice(_) => "EndpointSlice",
            Self::Endpoints(_) => "Endpoints",
            Self::Node(_) => "Node",
            Self::Ingress(_) => "Ingress",
            Self::IngressClass(_) => "IngressClass",
            Self::Secret(_) => "Secret",
        }
    }

    fn metadata(&self) -> &ObjectMeta {
        match self {
            Self::Service(o) => &o.metadata,
            Self::EndpointSlice(o) => &o.metadata,
            Self::Endpoints(o) => &o.metadata,
            Self::Node(o) => &o.metadata,
            Self::Ingress(o) => &o.metadata,
            Self::IngressClass(o) => &o.metadata,
            Self::Secret(o) => &o.metadata,
        }
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Self::Service(o) => &mut o.metadata,
            Self::EndpointSlice(o) => &mut o.metadata,
            Self::Endpoints(o) => &mut o.metadata,
            Self::Node(o) => &mut o.metadata,
            Self::Ingress(o) => &mut o.metadata,
            Self::IngressClass(o) => &mut o.metadata,
            Self::Secret(o) => &mut o.metadata,
        }
    }

    fn is_namespaced(&self) -> bool {
        !matches!(self, Self::Node(_) | Self::IngressClass(_))
    }

    /// Its key, with the namespace defaulted as the API server does (`default`; empty for cluster-scoped kinds).
    pub fn key(&self) -> ObjectKey {
        let meta = self.metadata();
        let name = meta.name.clone().unwrap_or_default();
        if !self.is_namespaced() {
            return ObjectKey::cluster(name);
        }
        let namespace = meta
            .namespace
            .clone()
            .filter(|ns| !ns.is_empty())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
        ObjectKey::new(namespace, name)
    }
}

/// Everything the planner reads, keyed by namespace/name (name only for cluster-scoped kinds).
#[derive(Debug, Clone, Default)]
pub struct ClusterState {
    /// Whether this is a full list of the cluster. Until it is, the planner allocates no new VIP (it could take an
    /// address that an object not yet seen holds in its status).
    pub complete: bool,
    pub services: BTreeMap<ObjectKey, Service>,
    pub endpoint_slices: BTreeMap<ObjectKey, EndpointSlice>,
    pub endpoints: BTreeMap<ObjectKey, Endpoints>,
    pub nodes: BTreeMap<ObjectKey, Node>,
    pub ingresses: BTreeMap<ObjectKey, Ingress>,
    pub ingress_classes: BTreeMap<ObjectKey, IngressClass>,
    pub secrets: BTreeMap<ObjectKey, Secret>,
}

impl ClusterState {
    /// Adds `object` (its namespace defaulted in its metadata too), returning the one of the same kind and key it
    /// replaces.
    pub fn insert(&mut self, mut object: ClusterObject) -> Option<ClusterObject> {
        let key = object.key();
        if object.is_namespaced() {
            object.metadata_mut().namespace = Some(key.namespace.clone());
        }
        use ClusterObject as O;
        match object {
            O::Service(o) => self
                .services
                .insert(key, *o)
                .map(|o| O::Service(Box::new(o))),
            O::EndpointSlice(o) => self
                .endpoint_slices
                .insert(key, *o)
                .map(|o| O::EndpointSlice(Box::new(o))),
            O::Endpoints(o) => self
                .endpoints
                .insert(key, *o)
                .map(|o| O::Endpoints(Box::new(o))),
            O::Node(o) => self.nodes.insert(key, *o).map(|o| O::Node(Box::new(o))),
            O::Ingress(o) => self
                .ingresses
                .insert(key, *o)
                .map(|o| O::Ingress(Box::new(o))),
            O::IngressClass(o) => self
                .ingress_classes
                .insert(key, *o)
                .map(|o| O::IngressClass(Box::new(o))),
            O::Secret(o) => self.secrets.insert(key, *o).map(|o| O::Secret(Box::new(o))),
        }
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.services.len()
            + self.endpoint_slices.len()
            + self.endpoints.len()
            + self.nodes.len()
            + self.ingresses.len()
            + self.ingress_classes.len()
            + self.secrets.len()
    }

    /// Whether it holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(namespace: Option<&str>, name: &str) -> ClusterObject {
        let mut s = Service::default();
        s.metadata.name = Some(name.into());
        s.metadata.namespace = namespace.map(Into::into);
        ClusterObject::Service(Box::new(s))
    }

    #[test]
    fn namespaces_default_and_cluster_scoped_kinds_have_none() {
        let mut state = ClusterState::default();
        assert!(state.insert(service(None, "web")).is_none());
        let key = ObjectKey::new("default", "web");
        assert_eq!(
            state.services[&key].metadata.namespace.as_deref(),
            Some("default")
        );
        let mut node = Node::default();
        node.metadata.name = Some("node1".into());
        node.metadata.namespace = Some("ignored".into());
        let node = ClusterObject::Node(Box::new(node));
        assert_eq!(node.key(), ObjectKey::cluster("node1"));
        assert_eq!(node.key().to_string(), "node1");
        state.insert(node);
        assert_eq!(state.len(), 2);
    }

    #[test]
    fn a_second_object_of_the_same_key_replaces_the_first() {
        let mut state = ClusterState::default();
        state.insert(service(Some("shop"), "web"));
        let old = state.insert(service(Some("shop"), "web"));
        assert_eq!(old.map(|o| o.kind()), Some("Service"));
        assert!(state.insert(service(Some("other"), "web")).is_none());
        assert_eq!(state.services.len(), 2);
        let r = ObjectRef::new("Service", ObjectKey::new("shop", "web"));
        assert_eq!(r.to_string(), "Service shop/web");
    }
}
