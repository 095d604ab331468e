//! Ingresses on VIPs of their own (`edgelb.io/ip` on the Ingress): their own site and listeners, shared by those
//! that name the same addresses, contests settled by age, the class's VIPs for the rest, and the same addresses
//! after a restart (the Ingresses' status is the record).

mod common;

use common::*;
use edgelb_control::model::{ClusterObject, ClusterState, ObjectKey};
use edgelb_control::planner::{self, Allocations, Plan};
use k8s_openapi::api::networking::v1::{
    Ingress, IngressLoadBalancerIngress, IngressLoadBalancerStatus, IngressStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

const FILES: [&str; 2] = ["ingress.yaml", "ingress-own-vip.yaml"];

fn vips(plan: &Plan) -> Vec<String> {
    plan.allocations
        .iter()
        .map(|(owner, ips)| {
            let ips: Vec<String> = ips.iter().map(ToString::to_string).collect();
            format!("{owner} {}", ips.join(" "))
        })
        .collect()
}

#[test]
fn an_ingress_naming_its_addresses_gets_a_site_of_its_own_shared_by_those_naming_the_same() {
    let plan = plan(&FILES, &settings());
    assert_eq!(
        l7_sockets(&plan),
        [
            "ing-edgelb-80 198.18.10.70:80",
            "ingress-shop.own-web-443 198.18.10.21:443",
            "ingress-shop.own-web-443-v6 [2001:2:0:10::21]:443",
            "ingress-shop.own-web-80 198.18.10.21:80",
            "ingress-shop.own-web-80-v6 [2001:2:0:10::21]:80",
        ]
    );
    // Only own-web's and own-web-acme's rules, tls and default backend; the older one wins "/".
    let https = l7(&plan, "ingress-shop.own-web-443");
    assert!(https.tls && https.default_certificate.is_none());
    assert_eq!(https.default_pool.as_deref(), Some("svc-shop.api-8080-tcp"));
    assert_eq!(
        site(https),
        [
            "plain.shop.example.test [-]",
            "  / (Prefix) -> svc-shop.api-8080-tcp <- ingress shop/own-web",
            "secure.shop.example.test [tls-shop.shop-tls]",
            "  / (Prefix) -> svc-shop.web-80-tcp <- ingress shop/own-web",
            "  /.well-known/acme-challenge/t0k3n (Exact) -> svc-shop.api-8080-tcp <- ingress shop/own-web-acme",
        ]
    );
    assert_eq!(site(l7(&plan, "ingress-shop.own-web-443-v6")), site(https));
    // The class's VIP keeps the Ingresses without an address of their own, and those naming the class's.
    let class = l7(&plan, "ing-edgelb-80");
    assert_eq!(class.default_pool, None);
    assert_eq!(
        site(class),
        [
            "bad.example.test [-]",
            "  / (Prefix) -> svc-shop.web-80-tcp <- ingress shop/bad-ip",
            "class.example.test [-]",
            "  / (Prefix) -> svc-shop.web-80-tcp <- ingress shop/class-vip",
            "shop.example.test [-]",
            "  / (Prefix) -> svc-shop.web-80-tcp <- ingress shop/shared",
        ]
    );
    assert_eq!(
        ingress_status(&plan),
        [
            "shop/bad-ip 198.18.10.70",
            "shop/class-vip 198.18.10.70",
            "shop/half",
            "shop/own-web 198.18.10.21 2001:2:0:10::21",
            "shop/own-web-acme 198.18.10.21 2001:2:0:10::21",
            "shop/shared 198.18.10.70",
        ]
    );
    assert_eq!(
        vips(&plan),
        [
            "Ingress/shop/own-web 198.18.10.21 2001:2:0:10::21",
            "IngressClass/edgelb 198.18.10.70",
        ]
    );
    let owned: Vec<String> = plan.desired.vips.iter().map(ToString::to_string).collect();
    assert_eq!(owned, ["198.18.10.21", "198.18.10.70", "2001:2:0:10::21"]);
    assert_eq!(
        events(&plan),
        [
            "Warning Ingress shop/bad-ip InvalidAddressRequest: edgelb.io/ip: \"198.18.10.300\" is not an IP \
             address: the Ingress is served on its class's VIPs",
            "Warning Ingress shop/half AddressInUse: 198.18.10.21 (edgelb.io/ip) is held by Ingress shop/own-web",
            "Warning Ingress shop/own-web-acme RouteConflict: host secure.shop.example.test path / (Prefix) is \
             already served by Ingress shop/own-web, which is older",
        ]
    );
    assert_eq!(plan.conflicts.len(), 1);
    let certs: Vec<&str> = plan
        .desired
        .certificates
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(certs, ["tls-shop.shop-tls"]);
    assert_eq!(plan.desired.validate_l7(), vec![]);
    assert_accepted(&plan.desired);
}

#[test]
fn the_allocators_word_on_a_shared_site_reaches_every_ingress_of_it() {
    // An older Service holds 198.18.10.21: the site's IPv4 address is refused, its IPv6 one granted.
    let mut state = load(&FILES);
    let yaml = "apiVersion: v1\nkind: Service\nmetadata: { name: holder, namespace: shop, creationTimestamp: \
                \"2020-01-01T00:00:00Z\", annotations: { edgelb.io/ip: 198.18.10.21 } }\nspec: { type: \
                LoadBalancer, loadBalancerClass: edgelb.io/slb, ports: [ { port: 80, nodePort: 30080 } ] }\n";
    state.insert(ClusterObject::Service(Box::new(
        serde_yaml::from_str(yaml).unwrap(),
    )));
    let plan = planner::plan(&state, &settings(), &Allocations::default());
    let refused: Vec<String> = events(&plan)
        .into_iter()
        .filter(|e| e.contains("AddressInUse"))
        .collect();
    assert_eq!(
        refused,
        [
            "Warning Ingress shop/half AddressInUse: 198.18.10.21 (edgelb.io/ip) is held by Service shop/holder",
            "Warning Ingress shop/own-web AddressInUse: 198.18.10.21 (edgelb.io/ip) is held by Service shop/holder",
            "Warning Ingress shop/own-web-acme AddressInUse: 198.18.10.21 (edgelb.io/ip) is held by Service \
             shop/holder",
        ]
    );
    assert_eq!(
        ingress_status(&plan)[3..5],
        [
            "shop/own-web 2001:2:0:10::21",
            "shop/own-web-acme 2001:2:0:10::21"
        ]
    );
    assert!(plan
        .desired
        .l7
        .iter()
        .filter(|l| l.name.starts_with("ingress-shop.own-web"))
        .all(|l| l.vip.is_ipv6()));
}

#[test]
fn a_class_without_an_address_takes_the_pools_and_ingresses_naming_one_keep_it() {
    let mut state = load(&FILES);
    for class in state.ingress_classes.values_mut() {
        if let Some(a) = class.metadata.annotations.as_mut() {
            a.remove("edgelb.io/ip");
        }
    }
    let plan = planner::plan(&state, &settings(), &Allocations::default());
    // class-vip's 198.18.10.70 is no longer its class's: a site of its own, outside the pools (as asked).
    assert_eq!(
        l7_sockets(&plan),
        [
            "ing-edgelb-80 198.18.10.100:80",
            "ing-edgelb-80-v6 [2001:2:0:10::100]:80",
            "ingress-shop.class-vip-80 198.18.10.70:80",
            "ingress-shop.own-web-443 198.18.10.21:443",
            "ingress-shop.own-web-443-v6 [2001:2:0:10::21]:443",
            "ingress-shop.own-web-80 198.18.10.21:80",
            "ingress-shop.own-web-80-v6 [2001:2:0:10::21]:80",
        ]
    );
    assert_eq!(
        ingress_status(&plan),
        [
            "shop/bad-ip 198.18.10.100 2001:2:0:10::100",
            "shop/class-vip 198.18.10.70",
            "shop/half",
            "shop/own-web 198.18.10.21 2001:2:0:10::21",
            "shop/own-web-acme 198.18.10.21 2001:2:0:10::21",
            "shop/shared 198.18.10.100 2001:2:0:10::100",
        ]
    );
    assert_eq!(plan.desired.validate_l7(), vec![]);
    assert_accepted(&plan.desired);
}

/// Writes the plan's Ingress status into `state`, as the status writer would.
fn write_status(state: &mut ClusterState, plan: &Plan) {
    for (object, ips) in &plan.status_addresses {
        if let Some(ingress) = state.ingresses.get_mut(&object.key) {
            let entries = ips
                .iter()
                .map(|ip| IngressLoadBalancerIngress {
                    ip: Some(ip.to_string()),
                    ..Default::default()
                })
                .collect();
            ingress.status = Some(IngressStatus {
                load_balancer: Some(IngressLoadBalancerStatus {
                    ingress: Some(entries),
                }),
            });
        }
    }
}

#[allow(clippy::unwrap_used)] // a test helper: failing loudly is the point
fn early_ingress() -> Ingress {
    let yaml = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: early, namespace: shop, \
                annotations: { edgelb.io/ip: 198.18.10.21 } }\nspec:\n  rules: [ { host: early.example.test } ]\n";
    let mut ingress: Ingress = serde_yaml::from_str(yaml).unwrap();
    ingress.metadata.creation_timestamp = Some(Time("2020-01-01T00:00:00Z".parse().unwrap()));
    ingress
}

#[test]
fn after_a_restart_the_status_keeps_every_address_where_it_was() {
    let mut state = load(&FILES);
    let first = planner::plan(&state, &settings(), &Allocations::default());
    write_status(&mut state, &first);
    let cold = planner::plan(&state, &settings(), &Allocations::default());
    assert_eq!(cold, first, "planned from the status alone");

    // An older Ingress now asks for own-web's IPv4 address: own-web keeps it, from the previous plan...
    state.insert(ClusterObject::Ingress(Box::new(early_ingress())));
    let second = planner::plan(&state, &settings(), &first.allocations);
    let refusal =
        "Warning Ingress shop/early AddressInUse: 198.18.10.21 (edgelb.io/ip) is held by Ingress \
                   shop/own-web";
    assert!(
        events(&second).contains(&refusal.to_string()),
        "{:?}",
        events(&second)
    );
    assert_eq!(
        vips(&second),
        [
            "Ingress/shop/own-web 198.18.10.21 2001:2:0:10::21",
            "IngressClass/edgelb 198.18.10.70",
        ]
    );
    // ... and after a restart, from its status.
    write_status(&mut state, &second);
    let restarted = planner::plan(&state, &settings(), &Allocations::default());
    assert_eq!(restarted, second);
    // Without the status (nothing written yet) the older Ingress would have won it.
    for ingress in state.ingresses.values_mut() {
        ingress.status = None;
    }
    let blank = planner::plan(&state, &settings(), &Allocations::default());
    assert_eq!(
        blank
            .allocations
            .addresses(&edgelb_control::model::ObjectRef::new(
                "Ingress",
                ObjectKey::new("shop", "early")
            )),
        ["198.18.10.21".parse::<std::net::IpAddr>().unwrap()]
    );
}

#[test]
fn the_class_proxy_protocol_annotation_reaches_its_listeners_only() {
    let mut state = edgelb_control::source::manifests::load_dir(&examples()).unwrap();
    let plain = edgelb_control::planner::plan(&state, &settings(), &Default::default());
    assert!(plain.desired.l7.iter().all(|l| !l.proxy_protocol));
    let key = edgelb_control::model::ObjectKey::cluster("edgelb");
    let class = state.ingress_classes.get_mut(&key).unwrap();
    class
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            edgelb_control::planner::PROXY_PROTOCOL_ANNOTATION.into(),
            "v2".into(),
        );
    let plan = edgelb_control::planner::plan(&state, &settings(), &Default::default());
    let flags: Vec<(&str, bool)> = plan
        .desired
        .l7
        .iter()
        .map(|l| (l.name.as_str(), l.proxy_protocol))
        .collect();
    // The class's listeners send PROXY v2; the Ingress on VIPs of its own (23-ingress-own-vip.yaml) does not ask.
    assert!(
        flags
            .iter()
            .filter(|(n, _)| n.starts_with("ing-edgelb"))
            .all(|(_, p)| *p),
        "{flags:?}"
    );
    assert!(
        flags
            .iter()
            .filter(|(n, _)| n.starts_with("ingress-"))
            .all(|(_, p)| !*p),
        "{flags:?}"
    );
    assert!(
        flags.iter().any(|(n, _)| n.starts_with("ingress-")),
        "{flags:?}"
    );
}
