//! control/deploy/ holds valid Kubernetes objects, and the ClusterRole stays least-privilege: no wildcards, Secrets
//! and Nodes read-only, writes only where edgelb-control writes (status, Events, its finalizer, its Lease).

// Fixture helpers run outside #[test] functions; a broken fixture should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde::Deserialize;

fn documents() -> Vec<(String, serde_yaml::Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(file).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value = serde_yaml::Value::deserialize(doc).unwrap();
            let kind = value["kind"].as_str().unwrap().to_string();
            docs.push((kind, value));
        }
    }
    docs
}

fn parse<T: serde::de::DeserializeOwned>(value: &serde_yaml::Value) -> T {
    serde_yaml::from_value(value.clone()).unwrap_or_else(|e| panic!("{e}: {value:?}"))
}

#[test]
fn every_object_parses_as_its_kind() {
    let mut kinds = BTreeMap::new();
    for (kind, value) in documents() {
        match kind.as_str() {
            "Namespace" => drop(parse::<Namespace>(&value)),
            "ServiceAccount" => drop(parse::<ServiceAccount>(&value)),
            "ClusterRole" => drop(parse::<ClusterRole>(&value)),
            "ClusterRoleBinding" => drop(parse::<ClusterRoleBinding>(&value)),
            "Role" => drop(parse::<Role>(&value)),
            "RoleBinding" => drop(parse::<RoleBinding>(&value)),
            "IngressClass" => {
                let class = parse::<IngressClass>(&value);
                let controller = class.spec.and_then(|s| s.controller);
                assert_eq!(
                    controller.as_deref(),
                    Some(edgelb_control::planner::DEFAULT_INGRESS_CONTROLLER)
                );
            }
            "Deployment" => drop(parse::<Deployment>(&value)),
            other => panic!("unexpected kind {other} in control/deploy"),
        }
        *kinds.entry(kind).or_insert(0) += 1;
    }
    for kind in [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "IngressClass",
        "Deployment",
    ] {
        assert!(kinds.contains_key(kind), "control/deploy has no {kind}");
    }
}

#[test]
fn the_cluster_role_is_least_privilege() {
    let role: ClusterRole = documents()
        .iter()
        .find(|(k, _)| k == "ClusterRole")
        .map(|(_, v)| parse(v))
        .expect("a ClusterRole");
    let writes = ["create", "update", "patch", "delete", "deletecollection"];
    for rule in role.rules.unwrap_or_default() {
        let resources = rule.resources.clone().unwrap_or_default();
        assert!(
            !rule.verbs.iter().any(|v| v == "*"),
            "wildcard verb in {rule:?}"
        );
        assert!(
            !resources.iter().any(|r| r == "*"),
            "wildcard resource in {rule:?}"
        );
        assert!(
            !rule
                .verbs
                .iter()
                .any(|v| v == "delete" || v == "deletecollection"),
            "{rule:?}"
        );
        let writes_here = rule.verbs.iter().any(|v| writes.contains(&v.as_str()));
        for r in &resources {
            let may_write = matches!(
                r.as_str(),
                "services" | "services/status" | "ingresses/status" | "events"
            );
            assert!(!writes_here || may_write, "writes {r}: {rule:?}");
        }
    }
}
