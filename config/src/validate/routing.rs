//! Checks of `routes` and `vips`: routes go to network prefixes through a gateway on a connected prefix of
//! their port; VIPs are unique usable addresses that no port has.

use std::net::IpAddr;

use super::ports::{is_link_local, is_port_address, unusable_v4, unusable_v6};
use super::Checker;
use crate::cidr::IpCidr;
use crate::field_path::FieldPath;
use crate::model::{PortConfig, Route};
use crate::schema::FileRoute;

/// `prefixes_known`: every port address passed its checks, so a gateway outside them is an error.
pub(super) fn routes(
    checker: &mut Checker,
    path: &FieldPath,
    file: &[FileRoute],
    ports: &[PortConfig],
    prefixes_known: bool,
) -> Vec<Route> {
    let mut routes: Vec<(usize, Route)> = Vec::with_capacity(file.len());
    for (i, entry) in file.iter().enumerate() {
        let route_path = path.index(i);
        let Some(route) = route(checker, &route_path, entry, ports, prefixes_known) else {
            continue;
        };
        if let Some((j, _)) = routes.iter().find(|(_, earlier)| earlier.to == route.to) {
            checker.report(
                &route_path.key("to"),
                format!("{} is also the destination of an earlier route (routes[{j}]): destinations must be unique", route.to),
            );
        }
        routes.push((i, route));
    }
    routes.into_iter().map(|(_, route)| route).collect()
}

fn route(
    checker: &mut Checker,
    path: &FieldPath,
    file: &FileRoute,
    ports: &[PortConfig],
    prefixes_known: bool,
) -> Option<Route> {
    let to = match file.to.parse::<IpCidr>() {
        Ok(to) if to.is_network() => Some(to),
        Ok(to) => {
            let message = format!(
                "{:?} is not a network address: the host bits must be zero (did you mean {}?)",
                file.to,
                to.network()
            );
            checker.report(&path.key("to"), message);
            None
        }
        Err(e) => {
            checker.report(
                &path.key("to"),
                format!("{:?} is not an IP prefix: {e}", file.to),
            );
            None
        }
    };
    let via = match file.via.parse::<IpAddr>() {
        Ok(via) => Some(via),
        Err(_) => {
            checker.report(
                &path.key("via"),
                format!("{:?} is not an IPv4 or IPv6 address", file.via),
            );
            None
        }
    };
    let (to, via) = (to?, via?);
    if to.is_ipv4() != via.is_ipv4() {
        checker.report(
            &path.key("via"),
            format!(
                "{via} is not of the family of {to}: a gateway must be of the destination's family"
            ),
        );
        return None;
    }
    let mut quiet = Checker::default();
    let gateway_checker = if prefixes_known { checker } else { &mut quiet };
    let port = gateway_port(gateway_checker, path, file.port.as_deref(), via, ports)?;
    Some(Route { to, via, port })
}

/// The port the gateway is reached through: the one named, or the one whose prefix holds the gateway.
fn gateway_port(
    checker: &mut Checker,
    path: &FieldPath,
    named: Option<&str>,
    via: IpAddr,
    ports: &[PortConfig],
) -> Option<String> {
    let via_path = path.key("via");
    let unusable = match via {
        IpAddr::V4(v4) => unusable_v4(v4),
        IpAddr::V6(v6) => v6.is_unspecified() || v6.is_loopback() || v6.is_multicast(),
    };
    if unusable {
        checker.report(
            &via_path,
            format!("{via} cannot be a gateway: it must be a unicast address"),
        );
        return None;
    }
    if is_port_address(ports, via) {
        checker.report(
            &via_path,
            format!("{via} is an address of this appliance: a gateway must be another host"),
        );
        return None;
    }
    // A link-local gateway is on every IPv6 link, so only a named port says which.
    let link_local = matches!(via, IpAddr::V6(v6) if is_link_local(v6));
    let connected = ports
        .iter()
        .find(|port| port.prefixes().any(|prefix| prefix.contains(via)));
    match (named, connected) {
        (Some(name), _) if !ports.iter().any(|port| port.name == name) => {
            let names: Vec<&str> = ports.iter().map(|port| port.name.as_str()).collect();
            checker.report(
                &path.key("port"),
                format!("{name:?} is not a port: the ports are {names:?}"),
            );
            None
        }
        (Some(name), _) if link_local => Some(name.to_owned()),
        (Some(name), Some(port)) if port.name == name => Some(name.to_owned()),
        (Some(name), _) => {
            checker.report(
                &via_path,
                format!("{via} is not on a connected prefix of port {name:?}"),
            );
            None
        }
        (None, Some(port)) if !link_local => Some(port.name.clone()),
        (None, _) if link_local => {
            checker.report(
                &path.key("port"),
                format!("a link-local gateway ({via}) needs the port named"),
            );
            None
        }
        (None, _) => {
            checker.report(
                &via_path,
                format!("{via} is not on a connected prefix of any port: a gateway must be directly reachable"),
            );
            None
        }
    }
}

pub(super) fn vips(
    checker: &mut Checker,
    path: &FieldPath,
    file: &[String],
    ports: &[PortConfig],
) -> Vec<IpAddr> {
    let mut vips: Vec<IpAddr> = Vec::with_capacity(file.len());
    // Where each address first appears: a desired state can list ten thousand VIPs.
    let mut first_index: std::collections::HashMap<IpAddr, usize> =
        std::collections::HashMap::new();
    for (i, text) in file.iter().enumerate() {
        let item = path.index(i);
        let Ok(vip) = text.parse::<IpAddr>() else {
            checker.report(&item, format!("{text:?} is not an IPv4 or IPv6 address"));
            continue;
        };
        let unusable = match vip {
            IpAddr::V4(v4) => unusable_v4(v4),
            IpAddr::V6(v6) => unusable_v6(v6),
        };
        let earlier = match first_index.entry(vip) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i);
                None
            }
        };
        let problem = if unusable {
            Some(format!(
                "{vip} cannot be a VIP: it must be a unicast, non-loopback, non-link-local address"
            ))
        } else if is_port_address(ports, vip) {
            Some(format!(
                "{vip} is a port address: a VIP must be an address of its own"
            ))
        } else {
            earlier.map(|j| format!("{vip} is also vips[{j}]: VIPs must be unique"))
        };
        match problem {
            Some(message) => checker.report(&item, message),
            None => vips.push(vip),
        }
    }
    vips
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_problem, base_config, base_with, BASE};

    const ROUTE: &str = "{ to: 10.0.0.0/8, via: 198.19.0.254 }";

    fn route(new: &str) -> crate::ConfigError {
        base_with(ROUTE, new)
    }

    #[test]
    fn port_is_inferred_from_the_connected_prefix() {
        let config = base_config(&BASE.replace(ROUTE, "{ to: 0.0.0.0/0, via: 198.18.0.254 }"));
        let route = &config.routes[0];
        assert_eq!(
            (
                route.to.to_string(),
                route.via.to_string(),
                route.port.as_str()
            ),
            ("0.0.0.0/0".into(), "198.18.0.254".into(), "client")
        );
        let config = base_config(&BASE.replace(
            ROUTE,
            "{ to: \"::/0\", via: \"2001:2:0:1::fe\", port: nodes }",
        ));
        assert_eq!(config.routes[0].port, "nodes");
    }

    #[test]
    fn destination_is_a_network_address() {
        let err = route("{ to: 10.0.0.1/8, via: 198.19.0.254 }");
        assert_problem(&err, "routes[0].to", 33, "\"10.0.0.1/8\" is not a network address: the host bits must be zero (did you mean 10.0.0.0/8?)");
        let err = route("{ to: 10.0.0.0/40, via: 198.19.0.254 }");
        assert_problem(
            &err,
            "routes[0].to",
            33,
            "\"10.0.0.0/40\" is not an IP prefix: the length must be 0..=32",
        );
    }

    #[test]
    fn gateway_family_matches_the_destination() {
        let err = route("{ to: 10.0.0.0/8, via: \"2001:2:0:1::fe\" }");
        assert_problem(
            &err,
            "routes[0].via",
            33,
            "2001:2:0:1::fe is not of the family of 10.0.0.0/8",
        );
        let err = route("{ to: 10.0.0.0/8, via: gateway }");
        assert_problem(
            &err,
            "routes[0].via",
            33,
            "\"gateway\" is not an IPv4 or IPv6 address",
        );
    }

    #[test]
    fn gateway_is_on_a_connected_prefix_of_its_port() {
        let err = route("{ to: 10.0.0.0/8, via: 192.0.2.1 }");
        assert_problem(
            &err,
            "routes[0].via",
            33,
            "192.0.2.1 is not on a connected prefix of any port",
        );
        let err = route("{ to: 10.0.0.0/8, via: 198.19.0.254, port: client }");
        assert_problem(
            &err,
            "routes[0].via",
            33,
            "198.19.0.254 is not on a connected prefix of port \"client\"",
        );
        let err = route("{ to: 10.0.0.0/8, via: 198.19.0.254, port: uplink }");
        assert_problem(
            &err,
            "routes[0].port",
            33,
            "\"uplink\" is not a port: the ports are [\"client\", \"nodes\"]",
        );
        let err = route("{ to: 10.0.0.0/8, via: 198.19.0.1 }");
        assert_problem(
            &err,
            "routes[0].via",
            33,
            "198.19.0.1 is an address of this appliance",
        );
        let err = route("{ to: 10.0.0.0/8, via: 255.255.255.255 }");
        assert_problem(
            &err,
            "routes[0].via",
            33,
            "cannot be a gateway: it must be a unicast address",
        );
    }

    #[test]
    fn link_local_gateway_needs_its_port() {
        let err = route("{ to: \"::/0\", via: \"fe80::1\" }");
        assert_problem(
            &err,
            "routes[0].port",
            33,
            "a link-local gateway (fe80::1) needs the port named",
        );
        let config =
            base_config(&BASE.replace(ROUTE, "{ to: \"::/0\", via: \"fe80::1\", port: client }"));
        assert_eq!(config.routes[0].port, "client");
    }

    #[test]
    fn destinations_are_unique() {
        let err = route(
            "{ to: 10.0.0.0/8, via: 198.19.0.254 }\n  - { to: 10.0.0.0/8, via: 198.18.0.254 }",
        );
        assert_problem(
            &err,
            "routes[1].to",
            34,
            "10.0.0.0/8 is also the destination of an earlier route (routes[0])",
        );
    }

    #[test]
    fn vips_are_unique_usable_and_not_port_addresses() {
        let err = base_with("  - 2001:2:0:10::10\n", "  - 198.18.10.10\n");
        assert_problem(
            &err,
            "vips[1]",
            36,
            "198.18.10.10 is also vips[0]: VIPs must be unique",
        );
        let err = base_with("  - 2001:2:0:10::10\n", "  - 198.19.0.1\n");
        assert_problem(
            &err,
            "vips[1]",
            36,
            "198.19.0.1 is a port address: a VIP must be an address of its own",
        );
        let err = base_with("  - 2001:2:0:10::10\n", "  - \"fe80::10\"\n");
        assert_problem(&err, "vips[1]", 36, "fe80::10 cannot be a VIP");
        let err = base_with("  - 2001:2:0:10::10\n", "  - 198.18.10.10/32\n");
        assert_problem(
            &err,
            "vips[1]",
            36,
            "\"198.18.10.10/32\" is not an IPv4 or IPv6 address",
        );
    }
}
