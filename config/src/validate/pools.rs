//! Checks of `pools`: unique names, and backends that are other hosts the appliance can reach, unique by
//! address and port within their pool.

use std::net::{IpAddr, SocketAddr};

use super::ports::{is_port_address, unusable_v4, unusable_v6};
use super::Checker;
use crate::balancing::{BackendConfig, PoolConfig, SnatConfig};
use crate::field_path::FieldPath;
use crate::model::{PortConfig, Route};
use crate::schema::{FileBackend, FilePool};

/// The addresses the appliance answers for; a backend must be none of them.
pub(super) struct Owned<'a> {
    pub ports: &'a [PortConfig],
    pub vips: &'a [IpAddr],
    pub listener_vips: Vec<IpAddr>,
    pub snat: &'a SnatConfig,
}

impl Owned<'_> {
    /// What `ip` is to the appliance, when it is one of its addresses.
    fn role(&self, ip: IpAddr) -> Option<&'static str> {
        let snat = match ip {
            IpAddr::V4(v4) => self.snat.ipv4.contains(&v4),
            IpAddr::V6(v6) => self.snat.ipv6.contains(&v6),
        };
        if is_port_address(self.ports, ip) {
            Some("a port address")
        } else if self.vips.contains(&ip) {
            Some("a VIP")
        } else if self.listener_vips.contains(&ip) {
            Some("a listener's VIP")
        } else if snat {
            Some("a SNAT address")
        } else {
            None
        }
    }
}

/// Where backends can be: connected prefixes and routes.
pub(super) struct Reach<'a> {
    pub ports: &'a [PortConfig],
    pub routes: &'a [Route],
    /// Every port address passed its checks, so an address off every prefix and route is an error.
    pub known: bool,
}

impl Reach<'_> {
    fn reaches(&self, ip: IpAddr) -> bool {
        let connected = self
            .ports
            .iter()
            .any(|port| port.prefixes().any(|p| p.contains(ip)));
        connected || self.routes.iter().any(|route| route.to.contains(ip))
    }
}

/// `[a-z0-9][a-z0-9.-]{0,62}`: the names of pools and listeners (DNS-label-like, fit for metrics labels).
pub(super) fn is_object_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    first_ok
        && name.len() <= 63
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// Reports a name that is not an object name, or that an earlier entry of the same list has.
pub(super) fn check_name(
    checker: &mut Checker,
    path: &FieldPath,
    what: &str,
    name: &str,
    earlier: Option<usize>,
) {
    if !is_object_name(name) {
        checker.report(
            path,
            format!(
                "{name:?} is not a {what} name: it must be 1 to 63 of a-z 0-9 . - and start with a letter or digit"
            ),
        );
    } else if let Some(j) = earlier {
        checker.report(
            path,
            format!("{name:?} is also the name of {what}s[{j}]: {what} names must be unique"),
        );
    }
}

pub(super) fn pools(
    checker: &mut Checker,
    path: &FieldPath,
    file: &[FilePool],
    owned: &Owned<'_>,
    reach: &Reach<'_>,
) -> Vec<PoolConfig> {
    let mut pools = Vec::with_capacity(file.len());
    for (i, pool) in file.iter().enumerate() {
        let pool_path = path.index(i);
        let earlier = file
            .get(..i)
            .and_then(|before| before.iter().position(|p| p.name == pool.name));
        check_name(checker, &pool_path.key("name"), "pool", &pool.name, earlier);
        let mut backends: Vec<(usize, BackendConfig)> = Vec::with_capacity(pool.backends.len());
        for (j, entry) in pool.backends.iter().enumerate() {
            let backend_path = pool_path.key("backends").index(j);
            let Some(backend) = backend(checker, &backend_path, entry, owned, reach) else {
                continue;
            };
            let same = |(_, b): &&(usize, BackendConfig)| {
                b.address == backend.address && b.port == backend.port
            };
            if let Some((k, _)) = backends.iter().find(same) {
                let socket = SocketAddr::new(backend.address, backend.port);
                checker.report(
                    &backend_path,
                    format!("{socket} is also backends[{k}]: backends of a pool must be unique by address and port"),
                );
                continue;
            }
            backends.push((j, backend));
        }
        pools.push(PoolConfig {
            name: pool.name.clone(),
            backends: backends.into_iter().map(|(_, b)| b).collect(),
        });
    }
    pools
}

fn backend(
    checker: &mut Checker,
    path: &FieldPath,
    file: &FileBackend,
    owned: &Owned<'_>,
    reach: &Reach<'_>,
) -> Option<BackendConfig> {
    let port = checker.int(&path.key("port"), file.port, 1..=65_535);
    let weight = checker.int(&path.key("weight"), file.weight, 0..=65_535);
    let address_path = path.key("address");
    let Ok(address) = file.address.parse::<IpAddr>() else {
        checker.report(
            &address_path,
            format!("{:?} is not an IPv4 or IPv6 address", file.address),
        );
        return None;
    };
    let unusable = match address {
        IpAddr::V4(v4) => unusable_v4(v4),
        IpAddr::V6(v6) => unusable_v6(v6),
    };
    let problem = if unusable {
        format!("{address} cannot be a backend: it must be a unicast, non-loopback, non-link-local address")
    } else if let Some(role) = owned.role(address) {
        format!("{address} is {role} of this appliance: a backend must be another host")
    } else if reach.known && !reach.reaches(address) {
        format!("{address} is not reachable: no port's connected prefix and no route holds it")
    } else {
        return Some(BackendConfig {
            address,
            port,
            weight,
            state: file.state,
        });
    };
    checker.report(&address_path, problem);
    None
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::super::test_support::{assert_problem, base_config, base_with, BASE};
    use super::is_object_name;
    use crate::balancing::{BackendConfig, BackendState};

    const BACKEND: &str = "{ address: 198.19.0.11, port: 80, weight: 1, state: active }";

    fn backend(new: &str) -> crate::ConfigError {
        base_with(BACKEND, new)
    }

    #[test]
    fn backends_with_defaults() {
        let config = base_config(BASE);
        let names: Vec<&str> = config.pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["pool-http", "pool-dns", "pool-http6"]);
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(
            config.pools[0].backends,
            [
                BackendConfig {
                    address: ip("198.19.0.11"),
                    port: 80,
                    weight: 1,
                    state: BackendState::Active
                },
                BackendConfig {
                    address: ip("198.19.0.12"),
                    port: 80,
                    weight: 2,
                    state: BackendState::Draining
                },
            ]
        );
        assert_eq!(
            config.pools[2].backends,
            [BackendConfig {
                address: ip("2001:2:0:1::11"),
                port: 80,
                weight: 1,
                state: BackendState::Active
            }]
        );
    }

    #[test]
    fn names() {
        for good in ["a", "0", "nodes-http.v6", &"x".repeat(63)] {
            assert!(is_object_name(good), "{good}");
        }
        for bad in ["", "-a", ".a", "Nodes", "a_b", "a b", &"x".repeat(64)] {
            assert!(!is_object_name(bad), "{bad}");
        }
        let err = base_with("name: pool-dns", "name: Pool_dns");
        assert_problem(
            &err,
            "pools[1].name",
            68,
            "\"Pool_dns\" is not a pool name: it must be 1 to 63 of a-z 0-9 . - and start with a letter or digit",
        );
        let err = base_with("name: pool-http6", "name: pool-http");
        assert_problem(
            &err,
            "pools[2].name",
            71,
            "\"pool-http\" is also the name of pools[0]: pool names must be unique",
        );
    }

    #[test]
    fn backend_fields() {
        let err = backend("{ address: 198.19.0.11, port: 0, weight: 65536, state: up }");
        assert_problem(
            &err,
            "pools[0].backends[0].state",
            66,
            "unknown variant `up`, expected `active` or `draining`",
        );
        let err = backend("{ address: 198.19.0.11, port: 0, weight: 65536 }");
        assert_problem(
            &err,
            "pools[0].backends[0].port",
            66,
            "0 is out of range: it must be 1..=65535",
        );
        assert_problem(
            &err,
            "pools[0].backends[0].weight",
            66,
            "65536 is out of range: it must be 0..=65535",
        );
        let err = backend("{ address: 198.19.0.11 }");
        assert_problem(&err, "pools[0].backends[0]", 66, "missing field `port`");
        let err = backend("{ address: 198.19.0.11, port: 80, wieght: 1 }");
        assert_problem(
            &err,
            "pools[0].backends[0].wieght",
            66,
            "unknown field `wieght`, expected one of",
        );
        let ok = backend("{ address: 198.19.0.11, port: 80, weight: 0 }");
        assert!(ok.problems().is_empty(), "{ok}");
    }

    #[test]
    fn backend_addresses_are_other_reachable_hosts() {
        let cases = [
            (
                "198.19.0.1",
                "198.19.0.1 is a port address of this appliance: a backend must be another host",
            ),
            ("198.18.10.10", "198.18.10.10 is a VIP of this appliance"),
            (
                "198.18.10.11",
                "198.18.10.11 is a listener's VIP of this appliance",
            ),
            (
                "198.19.0.2",
                "198.19.0.2 is a SNAT address of this appliance",
            ),
            (
                "127.0.0.1",
                "127.0.0.1 cannot be a backend: it must be a unicast, non-loopback, non-link-local",
            ),
            (
                "192.0.2.1",
                "192.0.2.1 is not reachable: no port's connected prefix and no route holds it",
            ),
            ("node1", "\"node1\" is not an IPv4 or IPv6 address"),
        ];
        for (address, message) in cases {
            let err = backend(&format!("{{ address: {address}, port: 80 }}"));
            assert_problem(&err, "pools[0].backends[0].address", 66, message);
        }
        // Routed backends are reachable.
        let ok = backend("{ address: 10.1.2.3, port: 80 }");
        assert!(ok.problems().is_empty(), "{ok}");
    }

    #[test]
    fn backends_are_unique_by_address_and_port() {
        let err = base_with(
            "{ address: 198.19.0.12, port: 80, weight: 2, state: draining }",
            "{ address: 198.19.0.11, port: 80, weight: 2 }",
        );
        assert_problem(
            &err,
            "pools[0].backends[1]",
            67,
            "198.19.0.11:80 is also backends[0]: backends of a pool must be unique by address and port",
        );
        let err = base_with(
            "{ address: \"2001:2:0:1::11\", port: 80 }",
            "{ address: \"2001:2:0:1::11\", port: 80 }\n      - { address: \"2001:2:0:1:0::11\", port: 80 }",
        );
        assert_problem(
            &err,
            "pools[2].backends[1]",
            74,
            "[2001:2:0:1::11]:80 is also backends[0]",
        );
        let ok = base_with(
            "{ address: 198.19.0.12, port: 80, weight: 2, state: draining }",
            "{ address: 198.19.0.11, port: 81 }",
        );
        assert!(ok.problems().is_empty(), "{ok}");
    }

    #[test]
    fn empty_pools_are_allowed() {
        let text = BASE.replace(
            "    backends:\n      - { address: 198.19.0.11, port: 30053 }\n",
            "    backends: []\n",
        );
        assert!(base_config(&text).pools[1].backends.is_empty());
    }
}
