//! `config/examples/lab.yaml` is the lab's contract: it parses, and it has the lab's names and addresses.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;
use std::path::Path;

use edgelb_config::{load, Device, Ipv4Cidr, Ipv6Cidr};

fn lab() -> edgelb_config::ApplianceConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lab.yaml");
    match load(&path) {
        Ok(config) => config,
        Err(error) => panic!("{error}"),
    }
}

fn v4(text: &str) -> Ipv4Cidr {
    text.parse().unwrap()
}

fn v6(text: &str) -> Ipv6Cidr {
    text.parse().unwrap()
}

#[test]
fn ports_have_the_lab_addresses() {
    let config = lab();
    let names: Vec<&str> = config.ports.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["client", "nodes"]);
    let (index, client) = config.port("client").unwrap();
    assert_eq!(index, 0);
    assert_eq!(client.ipv4, [v4("198.18.0.1/24")]);
    assert_eq!(client.ipv6, [v6("2001:2::1/64")]);
    assert_eq!(
        client.device,
        Device::Vdev("net_af_packet0,iface=p0,qpairs=1".into())
    );
    let (index, nodes) = config.port("nodes").unwrap();
    assert_eq!(index, 1);
    assert_eq!(nodes.ipv4, [v4("198.19.0.1/24")]);
    assert_eq!(nodes.ipv6, [v6("2001:2:0:1::1/64")]);
    assert_eq!(
        nodes.device,
        Device::Vdev("net_af_packet1,iface=p1,qpairs=1".into())
    );
}

#[test]
fn vips_are_the_lab_vips() {
    let vips: Vec<IpAddr> = ["198.18.10.10", "2001:2:0:10::10"]
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(lab().vips, vips);
}

#[test]
fn runs_without_hugepages_on_one_worker() {
    let config = lab();
    assert_eq!(config.eal.file_prefix, "edgelb-lab");
    assert!(!config.eal.hugepages);
    assert_eq!(config.workers.lcores, [1]);
    assert!(config.routes.is_empty());
    assert!(config.eal_args().contains(&"--no-huge".to_owned()));
}

#[test]
fn round_trips_through_yaml() {
    let config = lab();
    let again = edgelb_config::parse(&config.to_yaml(), "lab.yaml (re-emitted)").unwrap();
    assert_eq!(again, config);
}
