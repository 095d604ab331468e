//! VIP allocation from manifests: status records, requests, pools, exhaustion, and stability from one plan to the
//! next.

mod common;

use common::*;
use edgelb_control::planner::{self, PlannerSettings};

fn vips(plan: &edgelb_control::planner::Plan) -> Vec<String> {
    plan.allocations
        .iter()
        .map(|(owner, ips)| {
            let ips: Vec<String> = ips.iter().map(ToString::to_string).collect();
            format!("{owner} {}", ips.join(" "))
        })
        .collect()
}

#[test]
fn records_are_kept_requests_of_held_addresses_refused_and_the_rest_allocated() {
    let plan = plan(&["ipam.yaml"], &settings());
    assert_eq!(
        vips(&plan),
        [
            "Service/default/dual 198.18.10.102 2001:2:0:10::100",
            "Service/default/fresh 198.18.10.100",
            "Service/default/keeps 198.18.10.101",
        ]
    );
    assert_eq!(
        events(&plan),
        ["Warning Service default/asks AddressInUse: 198.18.10.101 (edgelb.io/ip) is held by Service default/keeps"]
    );
    assert!(
        plan.desired
            .listeners
            .iter()
            .all(|l| !l.name.contains("asks")),
        "no listener without a VIP"
    );
    assert_eq!(
        listeners(&plan),
        [
            "svc-default.dual-80-tcp 198.18.10.102:80/tcp svc-default.dual-80-tcp",
            "svc-default.dual-80-tcp-v6 [2001:2:0:10::100]:80/tcp svc-default.dual-80-tcp-v6",
            "svc-default.fresh-80-tcp 198.18.10.100:80/tcp svc-default.fresh-80-tcp",
            "svc-default.keeps-80-tcp 198.18.10.101:80/tcp svc-default.keeps-80-tcp",
        ]
    );
    assert_accepted(&plan.desired);
}

#[test]
fn an_exhausted_pool_is_an_event_and_the_other_family_still_served() {
    let tiny = PlannerSettings {
        vip_pools: vec![
            "198.18.10.100-198.18.10.101".parse().unwrap(),
            "2001:2:0:10::100/127".parse().unwrap(),
        ],
        ..PlannerSettings::default()
    };
    let plan = plan(&["ipam.yaml"], &tiny);
    assert_eq!(
        vips(&plan),
        [
            "Service/default/dual 2001:2:0:10::101",
            "Service/default/fresh 198.18.10.100",
            "Service/default/keeps 198.18.10.101",
        ]
    );
    assert_eq!(
        events(&plan),
        [
            "Warning Service default/asks AddressInUse: 198.18.10.101 (edgelb.io/ip) is held by Service default/keeps",
            "Warning Service default/dual NoAddressAvailable: every address of the IPv4 VIP pools is taken",
        ]
    );
    assert_eq!(
        listeners(&plan)[0],
        "svc-default.dual-80-tcp-v6 [2001:2:0:10::101]:80/tcp svc-default.dual-80-tcp-v6"
    );
}

#[test]
fn allocations_stay_put_when_an_older_service_appears() {
    let first = plan(&["ipam.yaml"], &settings());
    let mut state = load(&["ipam.yaml"]);
    let mut early =
        state.services[&edgelb_control::model::ObjectKey::new("default", "fresh")].clone();
    early.metadata.name = Some("early".into());
    early.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        "2020-01-01T00:00:00Z".parse().unwrap(),
    ));
    state.insert(edgelb_control::model::ClusterObject::Service(Box::new(
        early,
    )));
    let second = planner::plan(&state, &settings(), &first.allocations);
    assert_eq!(
        vips(&second),
        [
            "Service/default/dual 198.18.10.102 2001:2:0:10::100",
            "Service/default/early 198.18.10.103",
            "Service/default/fresh 198.18.10.100",
            "Service/default/keeps 198.18.10.101",
        ]
    );
    // Without the previous allocations (a restart with no status written yet) the oldest would come first.
    let cold = planner::plan(&state, &settings(), &Default::default());
    assert_eq!(
        cold.allocations.addresses(&owner("early")),
        ["198.18.10.100".parse::<std::net::IpAddr>().unwrap()]
    );
}

#[test]
fn nothing_is_allocated_before_a_full_list() {
    let mut state = load(&["ipam.yaml"]);
    state.complete = false;
    let plan = planner::plan(&state, &settings(), &Default::default());
    assert_eq!(vips(&plan), ["Service/default/keeps 198.18.10.101"]);
}

fn owner(name: &str) -> edgelb_control::model::ObjectRef {
    edgelb_control::model::ObjectRef::new(
        "Service",
        edgelb_control::model::ObjectKey::new("default", name),
    )
}
