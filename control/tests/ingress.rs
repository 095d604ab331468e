//! Ingresses from manifests → L7 listeners, hosts, routes and certificates: the oldest-wins rule, TLS Secrets,
//! backends that cannot be served, and classes that are not ours.

mod common;

use common::*;
use edgelb_config::desired::PathType;

#[test]
fn the_oldest_ingress_wins_each_conflict_and_the_younger_is_told() {
    let plan = plan(&["ingress.yaml", "ingress-conflicts.yaml"], &settings());
    let names: Vec<&str> = plan.desired.l7.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["ing-edgelb-443", "ing-edgelb-80"]);
    let https = l7(&plan, "ing-edgelb-443");
    assert_eq!(https.vip.to_string(), "198.18.10.70");
    assert!(https.tls);
    assert_eq!(https.default_pool.as_deref(), Some("svc-shop.web-80-tcp"));
    assert_eq!(
        site(https),
        [
            "shop.example.test [tls-shop.shop-tls]",
            "  / (Prefix) -> svc-shop.web-80-tcp <- ingress shop/zz-old-shop",
            "  /api (Prefix) -> svc-shop.api-8080-tcp <- ingress shop/zz-old-shop",
            "  /api (Exact) -> svc-shop.api-8080-tcp <- ingress shop/young-shop",
            "  /cart (Prefix) -> svc-shop.api-8080-tcp <- ingress shop/young-shop",
        ]
    );
    let http = l7(&plan, "ing-edgelb-80");
    assert!(!http.tls && http.default_certificate.is_none());
    assert_eq!(site(http)[0], "shop.example.test [-]");
    assert_eq!(site(http)[1..], site(https)[1..]);
    let certs: Vec<&str> = plan
        .desired
        .certificates
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        certs,
        ["tls-shop.shop-tls"],
        "the losing Secret is not shipped"
    );
    assert!(plan.desired.certificates[0].chain_pem.contains("c2hvcA=="));

    let conflicts: Vec<String> = plan
        .conflicts
        .iter()
        .map(|c| format!("{}: {} over {}", c.what, c.winner, c.loser))
        .collect();
    assert_eq!(
        conflicts,
        [
            "host shop.example.test path / (ImplementationSpecific): Ingress shop/zz-old-shop over Ingress shop/young-shop",
            "the certificate of host shop.example.test: Ingress shop/zz-old-shop over Ingress shop/young-shop",
            "the default backend: Ingress shop/zz-old-shop over Ingress shop/young-shop",
        ]
    );
    assert_eq!(
        events(&plan),
        [
            "Warning Ingress shop/young-shop CertificateConflict: the certificate of host shop.example.test is \
             already served by Ingress shop/zz-old-shop, which is older",
            "Warning Ingress shop/young-shop DefaultBackendConflict: the default backend is already served by \
             Ingress shop/zz-old-shop, which is older",
            "Warning Ingress shop/young-shop RouteConflict: host shop.example.test path / (ImplementationSpecific) \
             is already served by Ingress shop/zz-old-shop, which is older",
        ]
    );
    assert_eq!(
        pool(&plan, "svc-shop.api-8080-tcp"),
        [
            "198.19.0.11:30081",
            "198.19.0.12:30081",
            "198.19.0.13:30081"
        ]
    );
    assert_eq!(plan.desired.validate_l7(), vec![]);
    assert_accepted(&plan.desired);
}

#[test]
fn without_creation_times_the_order_is_namespace_and_name() {
    let mut state = load(&["ingress.yaml", "ingress-conflicts.yaml"]);
    for ingress in state.ingresses.values_mut() {
        ingress.metadata.creation_timestamp = None;
    }
    let plan = edgelb_control::planner::plan(&state, &settings(), &Default::default());
    let winners: Vec<String> = plan
        .conflicts
        .iter()
        .map(|c| c.winner.to_string())
        .collect();
    assert_eq!(winners, ["Ingress shop/young-shop"; 3]);
}

#[test]
fn secrets_backends_and_classes_that_cannot_be_served_are_reported() {
    let plan = plan(&["ingress.yaml", "ingress-problems.yaml"], &settings());
    let https = l7(&plan, "ing-edgelb-443");
    assert_eq!(
        site(https),
        [
            "*.apps.example.test [-]",
            "  / (Prefix) -> svc-shop.web-80-tcp <- ingress shop/apps",
            "legacy.example.test [-]",
            "  /db (Prefix) -> svc-shop.db-alias-5432-tcp <- ingress shop/legacy",
            "  /gone (Prefix) -> svc-shop.gone-80-tcp <- ingress shop/legacy",
            "  /noport (Prefix) -> svc-shop.web-81-tcp <- ingress shop/legacy",
        ]
    );
    assert!(plan.desired.certificates.is_empty());
    for empty in [
        "svc-shop.db-alias-5432-tcp",
        "svc-shop.gone-80-tcp",
        "svc-shop.web-81-tcp",
    ] {
        assert_eq!(pool(&plan, empty), Vec::<String>::new(), "{empty}");
    }
    assert_eq!(
        events(&plan),
        [
            "Warning Ingress shop/apps SecretNotFound: TLS Secret shop/missing-tls does not exist: its hosts are \
             served with the listener's default certificate",
            "Warning Ingress shop/legacy ExternalNameSkipped: backend Service shop/db-alias is of type \
             ExternalName, which edgelb does not serve: requests routed to it are answered 503",
            "Warning Ingress shop/legacy InvalidSecret: TLS Secret shop/not-tls is of type Opaque, not \
             kubernetes.io/tls: its hosts are served with the listener's default certificate",
            "Warning Ingress shop/legacy ServiceNotFound: backend Service shop/gone does not exist: requests \
             routed to it are answered 503",
            "Warning Ingress shop/legacy ServicePortNotFound: backend Service shop/web has no port 81: requests \
             routed to it are answered 503",
        ]
    );
    assert_eq!(plan.desired.validate_l7(), vec![]);
    assert_accepted(&plan.desired);
}

#[test]
fn ingresses_of_other_controllers_are_ignored() {
    let mut settings = settings();
    settings.ingress_controller = "example.com/other".into();
    let plan = plan(&["ingress.yaml", "ingress-problems.yaml"], &settings);
    assert!(
        plan.desired.l7.is_empty() && plan.desired.pools.is_empty() && plan.allocations.is_empty()
    );
    assert_eq!(events(&plan), Vec::<String>::new());
}

#[test]
fn a_class_without_a_requested_address_takes_one_per_family_from_the_pools() {
    let mut state = load(&["ingress.yaml", "ingress-problems.yaml"]);
    for class in state.ingress_classes.values_mut() {
        if let Some(a) = class.metadata.annotations.as_mut() {
            a.remove("edgelb.io/ip");
        }
    }
    let plan = edgelb_control::planner::plan(&state, &settings(), &Default::default());
    let sockets: Vec<String> = plan
        .desired
        .l7
        .iter()
        .map(|l| format!("{} {}", l.name, std::net::SocketAddr::new(l.vip, l.port)))
        .collect();
    assert_eq!(
        sockets,
        [
            "ing-edgelb-443 198.18.10.100:443",
            "ing-edgelb-443-v6 [2001:2:0:10::100]:443",
            "ing-edgelb-80 198.18.10.100:80",
            "ing-edgelb-80-v6 [2001:2:0:10::100]:80",
        ]
    );
    // The backends stay those of the Service's family: the IPv4 NodePorts.
    let v6 = l7(&plan, "ing-edgelb-80-v6");
    assert_eq!(v6.hosts[0].routes[0].pool, "svc-shop.web-80-tcp");
    assert_eq!(v6.hosts[0].routes[0].path_type, PathType::Prefix);
}
