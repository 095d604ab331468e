//! Checks of `listeners`: unique names and (VIP, port, protocol), VIPs the appliance can own, the affinity
//! settings, and a pool that exists and whose backends are of the VIP's family.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::pools::check_name;
use super::ports::{is_port_address, unusable_v4, unusable_v6};
use super::Checker;
use crate::balancing::{
    Affinity, ListenerConfig, PoolConfig, SnatConfig, DEFAULT_AFFINITY_TIMEOUT,
};
use crate::field_path::FieldPath;
use crate::model::PortConfig;
use crate::schema::{FileAffinity, FileListener};

/// A listener that passed its own checks and the index of its entry in the file.
pub(super) type Placed = (usize, ListenerConfig);

/// Every listener's own checks, and uniqueness; the pools are checked by [`check_pools`] once known.
pub(super) fn listeners(
    checker: &mut Checker,
    path: &FieldPath,
    file: &[FileListener],
    ports: &[PortConfig],
    snat: &SnatConfig,
) -> Vec<Placed> {
    let mut listeners: Vec<Placed> = Vec::with_capacity(file.len());
    for (i, entry) in file.iter().enumerate() {
        let item = path.index(i);
        let earlier = file
            .get(..i)
            .and_then(|before| before.iter().position(|l| l.name == entry.name));
        check_name(checker, &item.key("name"), "listener", &entry.name, earlier);
        let Some(listener) = listener(checker, &item, entry, ports, snat) else {
            continue;
        };
        let same = |(_, l): &&Placed| {
            l.vip == listener.vip && l.port == listener.port && l.protocol == listener.protocol
        };
        if let Some((j, other)) = listeners.iter().find(same) {
            let socket = SocketAddr::new(listener.vip, listener.port);
            checker.report(
                &item.key("port"),
                format!(
                    "{socket}/{} is also listeners[{j}] ({:?}): a VIP, port and protocol take one listener",
                    listener.protocol, other.name
                ),
            );
            continue;
        }
        listeners.push((i, listener));
    }
    listeners
}

fn listener(
    checker: &mut Checker,
    path: &FieldPath,
    file: &FileListener,
    ports: &[PortConfig],
    snat: &SnatConfig,
) -> Option<ListenerConfig> {
    let port = checker.int(&path.key("port"), file.port, 1..=65_535);
    let affinity = affinity(checker, path, file);
    let vip = vip(checker, &path.key("vip"), &file.vip, ports, snat)?;
    Some(ListenerConfig {
        name: file.name.clone(),
        vip,
        port,
        protocol: file.protocol,
        pool: file.pool.clone(),
        affinity,
    })
}

fn vip(
    checker: &mut Checker,
    path: &FieldPath,
    text: &str,
    ports: &[PortConfig],
    snat: &SnatConfig,
) -> Option<IpAddr> {
    let Ok(vip) = text.parse::<IpAddr>() else {
        checker.report(path, format!("{text:?} is not an IPv4 or IPv6 address"));
        return None;
    };
    let (unusable, snat) = match vip {
        IpAddr::V4(v4) => (unusable_v4(v4), snat.ipv4.contains(&v4)),
        IpAddr::V6(v6) => (unusable_v6(v6), snat.ipv6.contains(&v6)),
    };
    let problem = if unusable {
        format!("{vip} cannot be a VIP: it must be a unicast, non-loopback, non-link-local address")
    } else if is_port_address(ports, vip) {
        format!("{vip} is a port address: a VIP must be an address of its own")
    } else if snat {
        format!("{vip} is a SNAT address (l4.snat): a VIP must be an address of its own")
    } else {
        return Some(vip);
    };
    checker.report(path, problem);
    None
}

fn affinity(checker: &mut Checker, path: &FieldPath, file: &FileListener) -> Affinity {
    let timeout_path = path.key("affinity_timeout");
    match (file.affinity, file.affinity_timeout) {
        (FileAffinity::None, None) => Affinity::None,
        (FileAffinity::None, Some(_)) => {
            checker.report(
                &timeout_path,
                "affinity_timeout is only allowed with affinity: client-ip",
            );
            Affinity::None
        }
        (FileAffinity::ClientIp, timeout) => {
            let seconds: u64 = match timeout {
                None => DEFAULT_AFFINITY_TIMEOUT.as_secs(),
                Some(raw) => checker.int(&timeout_path, raw, 1..=86_400),
            };
            Affinity::ClientIp {
                timeout: Duration::from_secs(seconds),
            }
        }
    }
}

/// Each listener's pool exists, holds backends of the VIP's family only, and fits the Maglev table.
pub(super) fn check_pools(
    checker: &mut Checker,
    path: &FieldPath,
    listeners: &[Placed],
    pools: &[PoolConfig],
    maglev_size: u32,
) {
    for (i, listener) in listeners {
        let pool_path = path.index(*i).key("pool");
        let Some(pool) = pools.iter().find(|pool| pool.name == listener.pool) else {
            let names: Vec<&str> = pools.iter().map(|pool| pool.name.as_str()).collect();
            checker.report(
                &pool_path,
                format!("{:?} is not a pool: the pools are {names:?}", listener.pool),
            );
            continue;
        };
        let family = |ip: IpAddr| if ip.is_ipv4() { "IPv4" } else { "IPv6" };
        if let Some(other) = pool
            .backends
            .iter()
            .find(|b| b.address.is_ipv4() != listener.vip.is_ipv4())
        {
            checker.report(
                &pool_path,
                format!(
                    "pool {:?} has the {} backend {} but the VIP {} is {}: an L4 listener's backends must be of its VIP's family",
                    pool.name,
                    family(other.address),
                    other.address,
                    listener.vip,
                    family(listener.vip)
                ),
            );
        }
        let slots = usize::try_from(maglev_size).unwrap_or(usize::MAX);
        if maglev_size > 0 && pool.backends.len() > slots {
            checker.report(
                &pool_path,
                format!(
                    "pool {:?} has {} backends, more than l4.maglev_size ({maglev_size}) slots: raise maglev_size",
                    pool.name,
                    pool.backends.len()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::time::Duration;

    use super::super::test_support::{assert_problem, base_config, base_with, BASE};
    use crate::balancing::{Affinity, ListenerConfig, Protocol};

    #[test]
    fn base_listeners() {
        let config = base_config(BASE);
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(
            config.listeners,
            [
                ListenerConfig {
                    name: "web".into(),
                    vip: ip("198.18.10.10"),
                    port: 80,
                    protocol: Protocol::Tcp,
                    pool: "pool-http".into(),
                    affinity: Affinity::None,
                },
                ListenerConfig {
                    name: "dns".into(),
                    vip: ip("198.18.10.11"),
                    port: 53,
                    protocol: Protocol::Udp,
                    pool: "pool-dns".into(),
                    affinity: Affinity::ClientIp {
                        timeout: Duration::from_secs(600)
                    },
                },
                ListenerConfig {
                    name: "web-v6".into(),
                    vip: ip("2001:2:0:10::10"),
                    port: 80,
                    protocol: Protocol::Tcp,
                    pool: "pool-http6".into(),
                    affinity: Affinity::None,
                },
            ]
        );
    }

    #[test]
    fn client_ip_affinity_defaults_to_kubernetes_timeout() {
        let config = base_config(&BASE.replace("    affinity_timeout: 600\n", ""));
        assert_eq!(
            config.listeners[1].affinity,
            Affinity::ClientIp {
                timeout: Duration::from_secs(10_800)
            }
        );
    }

    #[test]
    fn affinity_settings() {
        let err = base_with("affinity_timeout: 600", "affinity_timeout: 86401");
        assert_problem(
            &err,
            "listeners[1].affinity_timeout",
            87,
            "86401 is out of range: it must be 1..=86400",
        );
        let err = base_with("affinity_timeout: 600", "affinity_timeout: 0");
        assert_problem(
            &err,
            "listeners[1].affinity_timeout",
            87,
            "it must be 1..=86400",
        );
        let err = base_with("affinity: none", "affinity: none\n    affinity_timeout: 60");
        assert_problem(
            &err,
            "listeners[0].affinity_timeout",
            81,
            "affinity_timeout is only allowed with affinity: client-ip",
        );
        let err = base_with("affinity: client-ip", "affinity: source-ip");
        assert_problem(
            &err,
            "listeners[1].affinity",
            86,
            "unknown variant `source-ip`, expected `none` or `client-ip`",
        );
    }

    #[test]
    fn names_are_checked_and_unique() {
        let err = base_with("name: web-v6", "name: web");
        assert_problem(
            &err,
            "listeners[2].name",
            88,
            "\"web\" is also the name of listeners[0]: listener names must be unique",
        );
        let err = base_with("name: dns", "name: DNS");
        assert_problem(
            &err,
            "listeners[1].name",
            81,
            "\"DNS\" is not a listener name: it must be 1 to 63",
        );
    }

    #[test]
    fn fields_and_protocol() {
        let err = base_with("protocol: udp", "protocol: sctp");
        assert_problem(
            &err,
            "listeners[1].protocol",
            84,
            "unknown variant `sctp`, expected `tcp` or `udp`",
        );
        let err = base_with("port: 53", "port: 65536");
        assert_problem(
            &err,
            "listeners[1].port",
            83,
            "65536 is out of range: it must be 1..=65535",
        );
        let err = base_with("    pool: pool-dns\n", "");
        assert_problem(&err, "listeners[1]", 81, "missing field `pool`");
    }

    #[test]
    fn vip_port_protocol_take_one_listener() {
        let err = base_with("vip: 198.18.10.11", "vip: 198.18.10.10");
        assert!(
            err.problems().is_empty(),
            "udp and tcp on one port may share a VIP: {err}"
        );
        let text = BASE
            .replace("vip: 198.18.10.11", "vip: 198.18.10.10")
            .replace("port: 53", "port: 80")
            .replace("protocol: udp", "protocol: tcp");
        let err = crate::parse(&text, "base.yaml").unwrap_err();
        assert_problem(
            &err,
            "listeners[1].port",
            83,
            "198.18.10.10:80/tcp is also listeners[0] (\"web\"): a VIP, port and protocol take one listener",
        );
        let text = BASE
            .replace("vip: 198.18.10.11", "vip: \"2001:2:0:10::10\"")
            .replace("port: 53", "port: 80");
        let ok = base_config(&text.replace("pool: pool-dns", "pool: pool-http6"));
        assert_eq!(ok.listeners.len(), 3);
    }

    #[test]
    fn vips_are_addresses_of_their_own() {
        let cases = [
            ("198.18.0.1", "198.18.0.1 is a port address: a VIP must be an address of its own"),
            ("198.19.0.2", "198.19.0.2 is a SNAT address (l4.snat): a VIP must be an address of its own"),
            ("0.0.0.0", "0.0.0.0 cannot be a VIP: it must be a unicast, non-loopback, non-link-local address"),
            ("web.example", "\"web.example\" is not an IPv4 or IPv6 address"),
        ];
        for (vip, message) in cases {
            let err = base_with("vip: 198.18.10.11", &format!("vip: {vip}"));
            assert_problem(&err, "listeners[1].vip", 82, message);
        }
    }

    #[test]
    fn pool_exists_and_matches_the_vip_family() {
        let err = base_with("pool: pool-dns", "pool: pool-udp");
        assert_problem(
            &err,
            "listeners[1].pool",
            85,
            "\"pool-udp\" is not a pool: the pools are [\"pool-http\", \"pool-dns\", \"pool-http6\"]",
        );
        let err = base_with("pool: pool-dns", "pool: pool-http6");
        assert_problem(
            &err,
            "listeners[1].pool",
            85,
            "pool \"pool-http6\" has the IPv6 backend 2001:2:0:1::11 but the VIP 198.18.10.11 is IPv4: \
             an L4 listener's backends must be of its VIP's family",
        );
        let text = BASE.replace(
            "{ address: 198.19.0.11, port: 30053 }",
            "{ address: 198.19.0.11, port: 30053 }\n      - { address: \"2001:2:0:1::12\", port: 30053 }",
        );
        let err = crate::parse(&text, "base.yaml").unwrap_err();
        assert_problem(
            &err,
            "listeners[1].pool",
            86,
            "has the IPv6 backend 2001:2:0:1::12 but the VIP 198.18.10.11 is IPv4",
        );
        assert_eq!(err.problems().len(), 1, "{err}");
    }

    #[test]
    fn pool_fits_the_maglev_table() {
        let backends: String = (0..252)
            .map(|k| format!("\n      - {{ address: 198.19.0.11, port: {} }}", 1000 + k))
            .collect();
        let text = BASE
            .replace("maglev_size: 65537", "maglev_size: 251")
            .replace("{ address: 198.19.0.11, port: 30053 }", &backends[9..]);
        let err = crate::parse(&text, "base.yaml").unwrap_err();
        assert_problem(
            &err,
            "listeners[1].pool",
            336,
            "pool \"pool-dns\" has 252 backends, more than l4.maglev_size (251) slots: raise maglev_size",
        );
    }
}
