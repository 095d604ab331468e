//! `config/examples/lab.yaml` is the lab's contract: it parses, and it has the lab's names and addresses.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use edgelb_config::{
    load, Affinity, BackendConfig, BackendState, Device, Ipv4Cidr, Ipv6Cidr, L4Config, L7Config,
    Protocol,
};

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

fn ip(text: &str) -> IpAddr {
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
        Device::Vdev("net_af_packet0,iface=p0,qpairs=2".into())
    );
    let (index, nodes) = config.port("nodes").unwrap();
    assert_eq!(index, 1);
    assert_eq!(nodes.ipv4, [v4("198.19.0.1/24")]);
    assert_eq!(nodes.ipv6, [v6("2001:2:0:1::1/64")]);
    assert_eq!(
        nodes.device,
        Device::Vdev("net_af_packet1,iface=p1,qpairs=2".into())
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
fn runs_without_hugepages_on_two_workers_sharing_a_cpu() {
    let config = lab();
    assert_eq!(config.eal.file_prefix, "edgelb-lab");
    assert!(!config.eal.hugepages);
    assert_eq!(config.workers.lcores, [1, 2]);
    assert_eq!((config.workers.cpu_of(1), config.workers.cpu_of(2)), (1, 1));
    assert!(config.routes.is_empty());
    let args = config.eal_args();
    assert!(args.contains(&"--no-huge".to_owned()));
    let lcores = args.iter().position(|a| a == "--lcores").unwrap();
    assert_eq!(args[lcores + 1], "0,1,2@1");
}

#[test]
fn listeners_are_the_lab_services() {
    let config = lab();
    let listeners: Vec<(&str, IpAddr, u16, Protocol, &str, Affinity)> = config
        .listeners
        .iter()
        .map(|l| {
            (
                l.name.as_str(),
                l.vip,
                l.port,
                l.protocol,
                l.pool.as_str(),
                l.affinity,
            )
        })
        .collect();
    assert_eq!(
        listeners,
        [
            (
                "web",
                ip("198.18.10.10"),
                80,
                Protocol::Tcp,
                "nodes-http",
                Affinity::None
            ),
            (
                "dns",
                ip("198.18.10.10"),
                53,
                Protocol::Udp,
                "nodes-dns",
                Affinity::None
            ),
            (
                "web-v6",
                ip("2001:2:0:10::10"),
                80,
                Protocol::Tcp,
                "nodes-http-v6",
                Affinity::None
            ),
        ]
    );
    assert_eq!(
        config.owned_vips(),
        [ip("198.18.10.10"), ip("2001:2:0:10::10")]
    );
}

#[test]
fn pools_are_the_three_nodes() {
    let config = lab();
    let backends =
        |pool: &str| -> Vec<BackendConfig> { config.pool(pool).unwrap().backends.clone() };
    let nodes = |prefix: &str, port: u16| -> Vec<BackendConfig> {
        (11..=13)
            .map(|n| BackendConfig {
                address: ip(&format!("{prefix}{n}")),
                port,
                weight: 1,
                state: BackendState::Active,
            })
            .collect()
    };
    assert_eq!(backends("nodes-http"), nodes("198.19.0.", 80));
    assert_eq!(backends("nodes-dns"), nodes("198.19.0.", 30053));
    assert_eq!(backends("nodes-http-v6"), nodes("2001:2:0:1::", 80));
    assert_eq!(config.pools.len(), 3);
}

#[test]
fn l4_settings_are_the_defaults() {
    let l4 = lab().l4;
    assert_eq!(l4, L4Config::default());
    assert_eq!(
        (l4.maglev_size, l4.timeouts.udp),
        (65_537, Duration::from_secs(300))
    );
    assert!(l4.snat.ipv4.is_empty() && l4.snat.ipv6.is_empty());
}

#[test]
fn l7_settings_are_the_defaults() {
    let l7 = lab().l7;
    assert_eq!(l7, L7Config::default());
    assert_eq!(
        (l7.max_connections_per_core, l7.timeouts.idle),
        (16_384, Duration::from_secs(90))
    );
}

/// The commented-out `l7` section documents the defaults: uncommented, it changes nothing.
#[test]
fn commented_l7_section_is_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lab.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut found = 0;
    let uncommented: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with("# l7:") {
                found += 1;
                "l7:".to_owned()
            } else if let Some(rest) = line.strip_prefix("#   ") {
                found += 1;
                format!("  {rest}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert_eq!(found, 8, "the l7 block has a header and 7 fields");
    let config =
        edgelb_config::parse(&uncommented.join("\n"), "lab.yaml (l7 uncommented)").unwrap();
    assert_eq!(config.l7, L7Config::default());
    assert_eq!(config, lab());
}

#[test]
fn round_trips_through_yaml() {
    let config = lab();
    let again = edgelb_config::parse(&config.to_yaml(), "lab.yaml (re-emitted)").unwrap();
    assert_eq!(again, config);
}
