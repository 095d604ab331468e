//! config/examples/k8s (the lab's cluster as manifests) plans cleanly, is accepted by the dataplane's rules, and
//! plans the same whatever the order of its files and documents.

mod common;

use common::*;
use edgelb_control::planner::{self, Allocations, EventType};
use edgelb_control::run::{plan_dir, plan_dirs};
use edgelb_control::source::manifests::{manifest_files, Loader};

#[test]
fn the_examples_plan_without_warnings_and_the_lab_config_accepts_them() {
    // With the TLS Secrets the lab writes beside them.
    let secrets = examples().join("../../../control/tests/fixtures/tls-secrets");
    let plan = plan_dirs(&[examples(), secrets], &settings()).unwrap();
    let warnings: Vec<String> = plan.warnings().map(ToString::to_string).collect();
    assert_eq!(warnings, Vec::<String>::new());
    assert_eq!(plan.desired.generation, 1);
    assert!(plan.desired.source.starts_with("edgelb-control manifests:"));
    let vips: Vec<String> = plan.desired.vips.iter().map(ToString::to_string).collect();
    assert_eq!(
        vips,
        [
            "198.18.10.11",
            "198.18.10.12",
            "198.18.10.20",
            "198.18.10.21",
            "198.18.10.100",
            "2001:2:0:10::12",
            "2001:2:0:10::20",
            "2001:2:0:10::21"
        ]
    );
    assert_eq!(
        listeners(&plan),
        [
            "svc-default.demo-dns-53-udp 198.18.10.100:53/udp svc-default.demo-dns-53-udp",
            "svc-default.demo-dual-80-tcp 198.18.10.12:80/tcp svc-default.demo-dual-80-tcp",
            "svc-default.demo-dual-80-tcp-v6 [2001:2:0:10::12]:80/tcp svc-default.demo-dual-80-tcp-v6",
            "svc-default.demo-web-443-tcp 198.18.10.11:443/tcp svc-default.demo-web-443-tcp",
            "svc-default.demo-web-80-tcp 198.18.10.11:80/tcp svc-default.demo-web-80-tcp",
        ]
    );
    assert_eq!(
        pool(&plan, "svc-default.demo-dual-80-tcp-v6"),
        ["[2001:2:0:1::11]:30082 w2", "[2001:2:0:1::12]:30082"]
    );
    assert_eq!(
        listener(&plan, "svc-default.demo-dual-80-tcp").client_ip_affinity_s,
        Some(600)
    );
    let l7: Vec<(&str, usize)> = plan
        .desired
        .l7
        .iter()
        .map(|l| (l.name.as_str(), l.hosts.len()))
        .collect();
    assert_eq!(
        l7,
        [
            ("ing-edgelb-443", 5),
            ("ing-edgelb-443-v6", 5),
            ("ing-edgelb-80", 5),
            ("ing-edgelb-80-v6", 5),
            ("ingress-default.demo-own-vip-443", 2),
            ("ingress-default.demo-own-vip-443-v6", 2),
            ("ingress-default.demo-own-vip-80", 2),
            ("ingress-default.demo-own-vip-80-v6", 2),
        ]
    );
    // 23-ingress-own-vip.yaml: its own VIPs, its TLS host redirected on port 80, the other served.
    let own = plan
        .desired
        .l7
        .iter()
        .find(|l| l.name == "ingress-default.demo-own-vip-80");
    let redirects: Vec<(String, bool)> = own
        .map(|l| {
            l.hosts
                .iter()
                .map(|h| (format!("{} {}", l.vip, h.host), h.redirect_to_https))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        redirects,
        [
            ("198.18.10.21 own.example.test".to_string(), false),
            ("198.18.10.21 secure.example.test".to_string(), true)
        ]
    );
    let own_status = plan
        .status_addresses
        .iter()
        .find(|(o, _)| o.key.name == "demo-own-vip");
    let own_status: Vec<String> = own_status
        .map(|(_, ips)| ips.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    assert_eq!(own_status, ["198.18.10.21", "2001:2:0:10::21"]);
    let certs: Vec<&str> = plan
        .desired
        .certificates
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        certs,
        ["tls-default.demo-tls", "tls-default.edgelb-default-tls"]
    );
    let https = plan.desired.l7.iter().find(|l| l.name == "ing-edgelb-443");
    assert_eq!(
        https.and_then(|l| l.default_certificate.as_deref()),
        Some("tls-default.edgelb-default-tls")
    );
    assert!(plan
        .events
        .iter()
        .all(|e| e.event_type == EventType::Normal));
    assert_eq!(plan.desired.validate_l7(), vec![]);
    assert_accepted(&plan.desired);
}

/// A way to shuffle the documents.
type Reorder = Box<dyn Fn(&mut Vec<String>)>;

#[test]
fn the_same_objects_in_any_file_and_document_order_give_the_same_plan() {
    let files = manifest_files(&examples()).unwrap();
    let mut documents: Vec<String> = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        documents.extend(text.split("\n---\n").map(str::to_string));
    }
    assert!(documents.len() > 14, "{}", documents.len());
    let baseline = plan_dir(&examples(), &settings()).unwrap();

    let orders: [Reorder; 3] = [
        Box::new(|d| d.reverse()),
        Box::new(|d| d.rotate_left(7)),
        Box::new(|d| {
            let (even, odd): (Vec<_>, Vec<_>) =
                d.drain(..).enumerate().partition(|(i, _)| i % 2 == 0);
            d.extend(odd.into_iter().chain(even).map(|(_, doc)| doc));
        }),
    ];
    for reorder in orders {
        let mut docs = documents.clone();
        reorder(&mut docs);
        let mut loader = Loader::default();
        let text = docs.join("\n---\n") + "\n";
        loader
            .add_text(&text, std::path::Path::new("all.yaml"))
            .unwrap();
        let plan = planner::plan(&loader.finish(), &settings(), &Allocations::default());
        assert_eq!(plan.desired.l7, baseline.desired.l7);
        assert_eq!(plan.desired.pools, baseline.desired.pools);
        assert_eq!(plan.desired.listeners, baseline.desired.listeners);
        assert_eq!(plan.desired.vips, baseline.desired.vips);
        assert_eq!(plan.desired.certificates, baseline.desired.certificates);
        assert_eq!(plan.events, baseline.events);
        assert_eq!(plan.allocations, baseline.allocations);
    }
}

#[test]
fn planning_again_from_the_previous_allocations_changes_nothing() {
    let state = edgelb_control::source::manifests::load_dir(&examples()).unwrap();
    let first = planner::plan(&state, &settings(), &Allocations::default());
    let second = planner::plan(&state, &settings(), &first.allocations);
    assert_eq!(first, second);
    assert_eq!(first.desired.to_json(), second.desired.to_json());
}

#[test]
fn without_the_lab_secrets_the_missing_tls_secrets_are_reported() {
    let plan = plan_dir(&examples(), &settings()).unwrap();
    let warnings: Vec<String> = plan.warnings().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings.iter().all(|w| w.contains("SecretNotFound")),
        "{warnings:?}"
    );
    assert!(plan.desired.certificates.is_empty());
    assert_eq!(plan.desired.validate_l7(), vec![]);
}
