//! LoadBalancer Services from manifests → L4 listeners and pools, checked value by value and against the lab
//! config's own rules.

mod common;

use common::*;
use edgelb_config::Protocol;

#[test]
fn etp_cluster_uses_every_node_that_takes_traffic_and_local_only_nodes_with_endpoints() {
    let plan = plan(&["etp.yaml"], &settings());
    assert_eq!(events(&plan), Vec::<String>::new());
    assert_eq!(
        listeners(&plan),
        [
            "svc-shop.cluster-svc-80-tcp 198.18.10.31:80/tcp svc-shop.cluster-svc-80-tcp",
            "svc-shop.local-svc-80-tcp 198.18.10.32:80/tcp svc-shop.local-svc-80-tcp",
        ]
    );
    // node4 is not ready, node5 is excluded from load balancers.
    assert_eq!(
        pool(&plan, "svc-shop.cluster-svc-80-tcp"),
        [
            "198.19.0.11:30080",
            "198.19.0.12:30080",
            "198.19.0.13:30080"
        ]
    );
    // node1 hosts two ready endpoints; node3 only a terminating one: it keeps its flows, takes no new ones.
    assert_eq!(
        pool(&plan, "svc-shop.local-svc-80-tcp"),
        ["198.19.0.11:30081 w2", "198.19.0.13:30081 draining"]
    );
    assert_accepted(&plan.desired);
}

#[test]
fn with_no_ready_endpoint_the_serving_terminating_ones_are_used() {
    let plan = plan(&["terminating.yaml"], &settings());
    assert_eq!(
        pool(&plan, "svc-default.rolling-80-tcp"),
        ["198.19.0.12:30082"]
    );
    assert_eq!(
        events(&plan),
        ["Normal Service default/rolling TerminatingEndpoints: port 80/TCP (IPv4): no endpoint is ready; using \
          the ones still serving while terminating"]
    );
    let plan = common::plan(&["terminating.yaml"], &pods());
    assert_eq!(
        pool(&plan, "svc-default.rolling-80-tcp"),
        ["10.244.2.7:8080"]
    );
}

#[test]
fn session_affinity_client_ip_carries_its_timeout() {
    let plan = plan(&["affinity.yaml"], &settings());
    let affinity = |name: &str| listener(&plan, name).client_ip_affinity_s;
    assert_eq!(affinity("svc-default.sticky-80-tcp"), Some(300));
    assert_eq!(affinity("svc-default.sticky-default-80-tcp"), Some(10_800));
    assert_eq!(affinity("svc-default.loose-80-tcp"), None);
    assert_accepted(&plan.desired);
}

#[test]
fn every_port_gets_a_listener_and_sctp_an_event() {
    let plan = plan(&["multiport.yaml"], &settings());
    assert_eq!(
        listeners(&plan),
        [
            "svc-infra.edge-443-tcp 198.18.10.50:443/tcp svc-infra.edge-443-tcp",
            "svc-infra.edge-53-udp 198.18.10.50:53/udp svc-infra.edge-53-udp",
            "svc-infra.edge-80-tcp 198.18.10.50:80/tcp svc-infra.edge-80-tcp",
        ]
    );
    assert_eq!(
        listener(&plan, "svc-infra.edge-53-udp").protocol,
        Protocol::Udp
    );
    assert_eq!(
        pool(&plan, "svc-infra.edge-53-udp"),
        [
            "198.19.0.11:30053",
            "198.19.0.12:30053",
            "198.19.0.13:30053"
        ]
    );
    assert_eq!(
        pool(&plan, "svc-infra.edge-443-tcp"),
        [
            "198.19.0.11:30081",
            "198.19.0.12:30081",
            "198.19.0.13:30081"
        ]
    );
    assert_eq!(
        events(&plan),
        ["Warning Service infra/edge UnsupportedProtocol: port 3868/SCTP is skipped: edgelb balances TCP and UDP"]
    );
    assert_accepted(&plan.desired);
}

#[test]
fn dual_stack_services_get_a_vip_and_pools_per_family() {
    let plan = plan(&["dualstack.yaml"], &settings());
    assert_eq!(events(&plan), Vec::<String>::new());
    assert_eq!(
        listeners(&plan),
        [
            "svc-default.api-80-tcp 198.18.10.100:80/tcp svc-default.api-80-tcp",
            "svc-default.api-80-tcp-v6 [2001:2:0:10::100]:80/tcp svc-default.api-80-tcp-v6",
        ]
    );
    assert_eq!(
        pool(&plan, "svc-default.api-80-tcp-v6"),
        [
            "[2001:2:0:1::11]:30080",
            "[2001:2:0:1::12]:30080",
            "[2001:2:0:1::13]:30080"
        ]
    );
    assert_accepted(&plan.desired);

    let plan = common::plan(&["dualstack.yaml"], &pods());
    assert_eq!(pool(&plan, "svc-default.api-80-tcp"), ["10.244.1.9:8080"]);
    assert_eq!(
        pool(&plan, "svc-default.api-80-tcp-v6"),
        ["[fd00:10:244:1::9]:8080", "[fd00:10:244:2::9]:8080"]
    );
}

#[test]
fn selectorless_services_use_hand_written_slices_and_endpoints() {
    let plan = plan(&["selectorless.yaml"], &pods());
    assert_eq!(events(&plan), Vec::<String>::new());
    // The named targetPort "postgres" resolves through the slice's port named like the Service port: 15432.
    assert_eq!(
        pool(&plan, "svc-data.external-db-5432-tcp"),
        ["192.0.2.50:15432"]
    );
    assert_eq!(
        pool(&plan, "svc-data.legacy-80-tcp"),
        ["192.0.2.60:9376", "192.0.2.61:9376"]
    );
}

#[test]
fn other_classes_are_ignored_and_external_name_is_skipped_with_a_reason() {
    let plan = plan(&["classes.yaml"], &settings());
    assert!(plan.desired.listeners.is_empty() && plan.desired.pools.is_empty());
    assert!(plan.desired.l7.is_empty() && plan.desired.vips.is_empty());
    assert!(plan.allocations.is_empty());
    assert_eq!(
        events(&plan),
        ["Warning Service default/db-alias ExternalNameSkipped: type ExternalName with loadBalancerClass \
          edgelb.io/slb: only LoadBalancer Services get a VIP"]
    );
    let mut other = settings();
    other.load_balancer_class = "metallb.io/metallb".into();
    let plan = common::plan(&["classes.yaml"], &other);
    assert_eq!(
        listeners(&plan),
        ["svc-default.metallb-svc-80-tcp 198.18.10.100:80/tcp svc-default.metallb-svc-80-tcp"]
    );
}

#[test]
fn services_without_backends_keep_their_listener_over_an_empty_pool() {
    let plan = plan(&["selectorless.yaml"], &settings());
    assert_eq!(
        pool(&plan, "svc-data.external-db-5432-tcp"),
        [
            "198.19.0.11:30432",
            "198.19.0.12:30432",
            "198.19.0.13:30432"
        ]
    );
    let plan = common::plan(&["terminating.yaml"], &pods());
    assert_eq!(
        pool(&plan, "svc-default.rolling-80-tcp"),
        ["10.244.2.7:8080"]
    );
    let mut state = load(&["multiport.yaml"]);
    state.nodes.clear();
    let plan = edgelb_control::planner::plan(&state, &settings(), &Default::default());
    assert_eq!(listeners(&plan).len(), 3);
    assert_eq!(pool(&plan, "svc-infra.edge-80-tcp"), Vec::<String>::new());
    assert!(
        events(&plan).contains(
            &"Warning Service infra/edge NoBackends: port 80/TCP (IPv4): no node takes traffic; its traffic is dropped"
                .to_string()
        ),
        "{:?}",
        events(&plan)
    );
    assert_accepted(&plan.desired);
}

#[test]
fn a_named_target_port_that_no_slice_resolves_leaves_the_pods_out() {
    let text = r#"
apiVersion: v1
kind: Service
metadata: { name: odd, annotations: { edgelb.io/ip: 198.18.10.44 } }
spec:
  type: LoadBalancer
  loadBalancerClass: edgelb.io/slb
  ports: [ { port: 80, targetPort: web, nodePort: 30080 } ]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: odd-1, labels: { kubernetes.io/service-name: odd } }
addressType: IPv4
endpoints: [ { addresses: [10.244.1.44] } ]
"#;
    let mut loader = edgelb_control::source::manifests::Loader::default();
    let nodes = fixtures().join("nodes.yaml");
    let nodes_text = std::fs::read_to_string(&nodes).unwrap();
    loader.add_text(&nodes_text, &nodes).unwrap();
    loader
        .add_text(text, std::path::Path::new("odd.yaml"))
        .unwrap();
    let state = loader.finish();
    let plan = edgelb_control::planner::plan(&state, &pods(), &Default::default());
    assert_eq!(pool(&plan, "svc-default.odd-80-tcp"), Vec::<String>::new());
    assert_eq!(
        events(&plan),
        [
            "Warning Service default/odd NoBackends: port 80/TCP (IPv4): no endpoint with a known target port is \
             ready or serving; its traffic is dropped",
            "Warning Service default/odd UnresolvedTargetPort: port 80/TCP (IPv4): no EndpointSlice port resolves \
             its targetPort for 1 endpoints",
        ]
    );
    // With nodes as backends the NodePort is what counts.
    let plan = edgelb_control::planner::plan(&state, &settings(), &Default::default());
    assert_eq!(
        pool(&plan, "svc-default.odd-80-tcp"),
        [
            "198.19.0.11:30080",
            "198.19.0.12:30080",
            "198.19.0.13:30080"
        ]
    );
}

#[test]
fn a_service_being_deleted_is_gone_its_vip_released_and_its_status_not_planned() {
    let yaml = "
apiVersion: v1
kind: Service
metadata:
  name: leaving
  namespace: shop
  deletionTimestamp: '2024-01-01T00:00:00Z'
  finalizers: [edgelb.io/finalizer]
spec: { type: LoadBalancer, loadBalancerClass: edgelb.io/slb, ports: [ { port: 80, nodePort: 30080 } ] }
status: { loadBalancer: { ingress: [ { ip: 198.18.10.100, ipMode: VIP } ] } }
---
apiVersion: v1
kind: Service
metadata: { name: staying, namespace: shop }
spec: { type: LoadBalancer, loadBalancerClass: edgelb.io/slb, ports: [ { port: 80, nodePort: 30081 } ] }
";
    let mut state = load(&[]);
    let mut loader = edgelb_control::source::manifests::Loader::default();
    loader
        .add_text(yaml, std::path::Path::new("deleted.yaml"))
        .unwrap();
    for (key, service) in loader.finish().services {
        state.services.insert(key, service);
    }
    state.complete = true;
    let plan = edgelb_control::planner::plan(&state, &settings(), &Default::default());
    assert_eq!(
        listeners(&plan),
        ["svc-shop.staying-80-tcp 198.18.10.100:80/tcp svc-shop.staying-80-tcp"],
        "the VIP the deleted Service held is free again"
    );
    let status: Vec<(String, Vec<String>)> = plan
        .status_addresses
        .iter()
        .map(|(o, ips)| (o.to_string(), ips.iter().map(ToString::to_string).collect()))
        .collect();
    assert_eq!(
        status,
        [(
            "Service shop/staying".to_string(),
            vec!["198.18.10.100".to_string()]
        )]
    );
}
