//! Checks of `ports`: names, devices, addresses and their prefixes, link settings; and across ports:
//! unique names, unique devices, no shared address, no overlapping prefixes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Checker;
use crate::cidr::{CidrError, IpCidr, Ipv4Cidr, Ipv6Cidr};
use crate::field_path::FieldPath;
use crate::model::{Device, PortConfig, MAX_PORTS};
use crate::pci::PciAddress;
use crate::schema::{FileDevice, FilePort};

/// Smallest MTU IPv6 allows (RFC 8200).
const MIN_IPV6_MTU: u16 = 1280;

/// An address that passed its own checks, for the checks across ports.
struct Placed {
    port: usize,
    path: FieldPath,
    cidr: IpCidr,
}

pub(super) fn ports(checker: &mut Checker, path: &FieldPath, file: &[FilePort]) -> Vec<PortConfig> {
    if file.is_empty() || file.len() > MAX_PORTS {
        checker.report(
            path,
            format!("{} ports given: there must be 1..={MAX_PORTS}", file.len()),
        );
    }
    let mut placed = Vec::new();
    let mut ports = Vec::with_capacity(file.len());
    for (i, port) in file.iter().enumerate() {
        let port_path = path.index(i);
        let checked = port_config(checker, &port_path, port, |cidr, path| {
            placed.push(Placed {
                port: i,
                path,
                cidr,
            });
        });
        for (j, earlier) in ports.iter().enumerate() {
            check_distinct(checker, &port_path, &checked, j, earlier);
        }
        ports.push(checked);
    }
    check_addresses_apart(checker, &placed, &ports);
    ports
}

fn port_config(
    checker: &mut Checker,
    path: &FieldPath,
    file: &FilePort,
    mut place: impl FnMut(IpCidr, FieldPath),
) -> PortConfig {
    let name = &file.name;
    let name_ok = (1..=15).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        checker.report(
            &path.key("name"),
            format!("{name:?} is not a port name: it must be 1 to 15 of a-z 0-9 -"),
        );
    }
    let mut ipv4 = Vec::new();
    for (i, text) in file.ipv4.iter().enumerate() {
        let item = path.key("ipv4").index(i);
        if let Some(cidr) = port_ipv4(checker, &item, text) {
            place(IpCidr::V4(cidr), item);
            ipv4.push(cidr);
        }
    }
    let mut ipv6 = Vec::new();
    for (i, text) in file.ipv6.iter().enumerate() {
        let item = path.key("ipv6").index(i);
        if let Some(cidr) = port_ipv6(checker, &item, text) {
            place(IpCidr::V6(cidr), item);
            ipv6.push(cidr);
        }
    }
    if file.ipv4.is_empty() && file.ipv6.is_empty() {
        checker.report(path, "a port needs at least one address in ipv4 or ipv6");
    }
    let mtu = checker.int(&path.key("mtu"), file.mtu, 68..=9216);
    if !file.ipv6.is_empty() && mtu != 0 && mtu < MIN_IPV6_MTU {
        checker.report(
            &path.key("mtu"),
            format!("{mtu} is too small for IPv6: with ipv6 addresses it must be 1280..=9216"),
        );
    }
    PortConfig {
        name: name.clone(),
        device: device(checker, &path.key("device"), &file.device),
        ipv4,
        ipv6,
        vlan: file
            .vlan
            .map(|vlan| checker.int(&path.key("vlan"), vlan, 1..=4094)),
        mtu,
        rx_desc: descriptors(checker, &path.key("rx_desc"), file.rx_desc),
        tx_desc: descriptors(checker, &path.key("tx_desc"), file.tx_desc),
        promiscuous: file.promiscuous,
    }
}

fn descriptors(checker: &mut Checker, path: &FieldPath, value: u64) -> u16 {
    let ok = value.is_power_of_two() && (64..=4096).contains(&value);
    if !ok {
        checker.report(
            path,
            format!("{value} is not allowed: it must be a power of two in 64..=4096"),
        );
    }
    u16::try_from(value).ok().filter(|_| ok).unwrap_or(0)
}

fn device(checker: &mut Checker, path: &FieldPath, file: &FileDevice) -> Device {
    match (&file.vdev, &file.pci) {
        (Some(spec), None) => {
            if !is_vdev_spec(spec) {
                checker.report(
                    &path.key("vdev"),
                    format!(
                        "{spec:?} is not a vdev spec: it must be a net_ driver instance and comma-separated \
                         key=value arguments without spaces, like net_af_packet0,iface=p0"
                    ),
                );
            }
            Device::Vdev(spec.clone())
        }
        (None, Some(text)) => match text.parse::<PciAddress>() {
            Ok(address) => Device::Pci(address),
            Err(e) => {
                checker.report(
                    &path.key("pci"),
                    format!("{text:?} is not a PCI address: {e}"),
                );
                Device::Vdev(String::new())
            }
        },
        _ => {
            checker.report(
                path,
                "give exactly one of vdev (a DPDK --vdev spec) or pci (a PCI address)",
            );
            Device::Vdev(String::new())
        }
    }
}

/// `net_<driver><instance>` then `,key=value` arguments: the shape `--vdev` takes for an ethdev.
fn is_vdev_spec(spec: &str) -> bool {
    let mut parts = spec.split(',');
    let name_ok = parts
        .next()
        .and_then(|name| name.strip_prefix("net_"))
        .is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    let args_ok = parts.all(|arg| {
        let (key, value) = arg.split_once('=').unwrap_or((arg, "x"));
        !key.is_empty() && !value.is_empty() && !arg.contains(char::is_whitespace)
    });
    name_ok && args_ok
}

/// The length message a port address gets: a port's prefix has at least one bit.
fn prefix_problem(text: &str, family: &str, max: u8, error: &CidrError) -> String {
    match error {
        CidrError::LengthOutOfRange { .. } => {
            format!("{text:?} is not an {family} prefix: the length must be 1..={max}")
        }
        other => format!("{text:?} is not an {family} prefix: {other}"),
    }
}

fn port_ipv4(checker: &mut Checker, path: &FieldPath, text: &str) -> Option<Ipv4Cidr> {
    let cidr = match text.parse::<Ipv4Cidr>() {
        Ok(cidr) if cidr.prefix_len() > 0 => cidr,
        result => {
            let error = result
                .err()
                .unwrap_or(CidrError::LengthOutOfRange { max: 32 });
            checker.report(path, prefix_problem(text, "IPv4", 32, &error));
            return None;
        }
    };
    let addr = cidr.addr();
    let problem = if unusable_v4(addr) {
        Some(
            "it must be a unicast host address (not unspecified, loopback, multicast or broadcast)",
        )
    } else if cidr.prefix_len() <= 30 && cidr.is_network() {
        Some("that is the network address of its prefix; a port needs a host address")
    } else if cidr.prefix_len() <= 30 && addr == cidr.broadcast() {
        Some("that is the broadcast address of its prefix; a port needs a host address")
    } else {
        None
    };
    match problem {
        Some(why) => {
            checker.report(path, format!("{text:?} is not allowed: {why}"));
            None
        }
        None => Some(cidr),
    }
}

fn port_ipv6(checker: &mut Checker, path: &FieldPath, text: &str) -> Option<Ipv6Cidr> {
    let cidr = match text.parse::<Ipv6Cidr>() {
        Ok(cidr) if cidr.prefix_len() > 0 => cidr,
        result => {
            let error = result
                .err()
                .unwrap_or(CidrError::LengthOutOfRange { max: 128 });
            checker.report(path, prefix_problem(text, "IPv6", 128, &error));
            return None;
        }
    };
    if unusable_v6(cidr.addr()) {
        checker.report(
            path,
            format!(
                "{text:?} is not allowed: it must be a global or unique-local unicast address \
                 (not unspecified, loopback, multicast or link-local)"
            ),
        );
        return None;
    }
    Some(cidr)
}

/// Addresses that no interface, VIP or gateway can have.
pub(super) fn unusable_v4(addr: Ipv4Addr) -> bool {
    addr.is_unspecified() || addr.is_loopback() || addr.is_multicast() || addr.is_broadcast()
}

/// IPv6 addresses that no interface, VIP or global gateway can have.
pub(super) fn unusable_v6(addr: Ipv6Addr) -> bool {
    addr.is_unspecified() || addr.is_loopback() || addr.is_multicast() || is_link_local(addr)
}

/// fe80::/10.
pub(super) fn is_link_local(addr: Ipv6Addr) -> bool {
    addr.segments()[0] & 0xffc0 == 0xfe80
}

/// Names and devices differ between `port` (at `path`) and the `earlier` port at index `j`.
fn check_distinct(
    checker: &mut Checker,
    path: &FieldPath,
    port: &PortConfig,
    j: usize,
    earlier: &PortConfig,
) {
    if port.name == earlier.name {
        checker.report(
            &path.key("name"),
            format!(
                "{:?} is also the name of ports[{j}]: port names must be unique",
                port.name
            ),
        );
    }
    let name = port.device.dpdk_name();
    if !name.is_empty() && name == earlier.device.dpdk_name() {
        checker.report(
            &path.key("device"),
            format!(
                "{name:?} is also the device of ports[{j}]: each port needs a device of its own"
            ),
        );
    }
}

/// No address twice anywhere, and no prefix of one port overlapping a prefix of another.
fn check_addresses_apart(checker: &mut Checker, placed: &[Placed], ports: &[PortConfig]) {
    for (i, later) in placed.iter().enumerate() {
        for earlier in placed.get(..i).into_iter().flatten() {
            let (a, b) = (later.cidr, earlier.cidr);
            let message = if a.addr() == b.addr() {
                format!(
                    "{} is also at {} ({b}): addresses must be unique",
                    a.addr(),
                    earlier.path
                )
            } else if later.port != earlier.port && a.overlaps(&b) {
                let name = ports
                    .get(earlier.port)
                    .map_or("", |port| port.name.as_str());
                format!(
                    "{a} overlaps {b} of ports[{}] ({name:?}): ports must not share a prefix",
                    earlier.port
                )
            } else {
                continue;
            };
            checker.report(&later.path, message);
        }
    }
}

/// Whether `ip` is a port's own address.
pub(super) fn is_port_address(ports: &[PortConfig], ip: IpAddr) -> bool {
    ports.iter().any(|port| port.owns(ip))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_problem, base_with};
    use super::is_vdev_spec;

    #[test]
    fn port_names_are_short_lowercase_and_unique() {
        let err = base_with("name: client", "name: Client");
        assert_problem(
            &err,
            "ports[0].name",
            19,
            "\"Client\" is not a port name: it must be 1 to 15 of a-z 0-9 -",
        );
        let err = base_with("name: client", "name: a-very-long-name1");
        assert_problem(&err, "ports[0].name", 19, "1 to 15");
        let err = base_with("name: nodes", "name: client");
        assert_problem(
            &err,
            "ports[1].name",
            28,
            "\"client\" is also the name of ports[0]: port names must be unique",
        );
    }

    #[test]
    fn device_is_one_valid_vdev_or_pci_address_of_its_own() {
        let both = "device: { vdev: \"net_af_packet0,iface=p0,qpairs=1\", pci: \"0000:3b:00.0\" }";
        let err = base_with(
            "device: { vdev: \"net_af_packet0,iface=p0,qpairs=1\" }",
            both,
        );
        assert_problem(
            &err,
            "ports[0].device",
            20,
            "give exactly one of vdev (a DPDK --vdev spec) or pci",
        );
        let err = base_with("net_af_packet0,iface=p0,qpairs=1", "af_packet0,iface=p0");
        assert_problem(
            &err,
            "ports[0].device.vdev",
            20,
            "\"af_packet0,iface=p0\" is not a vdev spec: it must be a net_",
        );
        let err = base_with(
            "{ vdev: \"net_af_packet1,iface=p1,qpairs=1\" }",
            "{ pci: \"0000:3b:20.0\" }",
        );
        assert_problem(
            &err,
            "ports[1].device.pci",
            29,
            "\"0000:3b:20.0\" is not a PCI address: a PCI address is DDDD:BB:DD.F or BB:DD.F in hex",
        );
        let err = base_with("net_af_packet1,iface=p1", "net_af_packet0,iface=p1");
        assert_problem(
            &err,
            "ports[1].device",
            29,
            "\"net_af_packet0\" is also the device of ports[0]",
        );
    }

    #[test]
    fn vdev_spec_shape() {
        assert!(is_vdev_spec("net_tap0,iface=edge0"));
        assert!(is_vdev_spec("net_null0"));
        assert!(is_vdev_spec(
            "net_af_xdp0,iface=p0,start_queue=0,queue_count=2"
        ));
        for bad in [
            "net_",
            "eth0",
            "net_af_packet0,iface=",
            "net_af_packet0,=x",
            "net_tap0,iface=a b",
            "net_A0",
            "net_x,",
        ] {
            assert!(!is_vdev_spec(bad), "{bad}");
        }
    }

    #[test]
    fn ipv4_prefix_length_is_1_to_32() {
        let err = base_with("198.19.0.1/24", "198.19.0.1/33");
        assert_problem(
            &err,
            "ports[1].ipv4[0]",
            30,
            "\"198.19.0.1/33\" is not an IPv4 prefix: the length must be 1..=32",
        );
        let err = base_with("198.19.0.1/24", "198.19.0.1/0");
        assert_problem(&err, "ports[1].ipv4[0]", 30, "the length must be 1..=32");
        let err = base_with("198.19.0.1/24", "198.19.0.1");
        assert_problem(
            &err,
            "ports[1].ipv4[0]",
            30,
            "\"198.19.0.1\" is not an IPv4 prefix: it needs a /length",
        );
        let err = base_with("[198.19.0.1/24]", "[\"2001:2::1/64\"]");
        assert_problem(
            &err,
            "ports[1].ipv4[0]",
            30,
            "\"2001:2::1\" is not an IPv4 address",
        );
    }

    #[test]
    fn ipv4_must_be_a_unicast_host_address() {
        let err = base_with("198.19.0.1/24", "198.19.0.0/24");
        assert_problem(
            &err,
            "ports[1].ipv4[0]",
            30,
            "that is the network address of its prefix",
        );
        let err = base_with("198.19.0.1/24", "198.19.0.255/24");
        assert_problem(
            &err,
            "ports[1].ipv4[0]",
            30,
            "that is the broadcast address of its prefix",
        );
        let err = base_with("198.19.0.1/24", "224.0.0.1/24");
        assert_problem(
            &err,
            "ports[1].ipv4[0]",
            30,
            "it must be a unicast host address",
        );
        let err = base_with("198.19.0.1/24", "127.0.0.1/8");
        assert_problem(
            &err,
            "ports[1].ipv4[0]",
            30,
            "it must be a unicast host address",
        );
        // /31 and /32 have no network or broadcast address.
        assert!(base_with("198.19.0.1/24", "198.19.0.0/31")
            .problems()
            .iter()
            .all(|p| !p.field.starts_with("ports")));
    }

    #[test]
    fn ipv6_prefix_length_and_scope() {
        let err = base_with("2001:2:0:1::1/64", "2001:2:0:1::1/129");
        assert_problem(
            &err,
            "ports[1].ipv6[0]",
            31,
            "\"2001:2:0:1::1/129\" is not an IPv6 prefix: the length must be 1..=128",
        );
        let err = base_with("2001:2:0:1::1/64", "fe80::1/64");
        assert_problem(
            &err,
            "ports[1].ipv6[0]",
            31,
            "not unspecified, loopback, multicast or link-local",
        );
        let err = base_with("2001:2:0:1::1/64", "ff02::1/64");
        assert_problem(
            &err,
            "ports[1].ipv6[0]",
            31,
            "not unspecified, loopback, multicast or link-local",
        );
        let err = base_with("2001:2:0:1::1/64", "::/64");
        assert_problem(&err, "ports[1].ipv6[0]", 31, "link-local");
    }

    #[test]
    fn a_port_needs_an_address() {
        let err = base_with(
            "    ipv4: [198.19.0.1/24]\n    ipv6: [\"2001:2:0:1::1/64\"]\n",
            "    ipv4: []\n",
        );
        assert_problem(
            &err,
            "ports[1]",
            28,
            "a port needs at least one address in ipv4 or ipv6",
        );
    }

    #[test]
    fn ports_do_not_share_addresses_or_prefixes() {
        let err = base_with("198.19.0.1/24", "198.18.0.1/24");
        assert_problem(
            &err,
            "ports[1].ipv4[0]",
            30,
            "198.18.0.1 is also at ports[0].ipv4[0] (198.18.0.1/24): addresses must be unique",
        );
        let err = base_with("198.19.0.1/24", "198.18.200.1/16");
        assert_problem(
            &err,
            "ports[1].ipv4[0]",
            30,
            "198.18.200.1/16 overlaps 198.18.0.1/24 of ports[0] (\"client\"): ports must not share a prefix",
        );
        let err = base_with("2001:2:0:1::1/64", "2001:2::2/48");
        assert_problem(
            &err,
            "ports[1].ipv6[0]",
            31,
            "2001:2::2/48 overlaps 2001:2::1/64 of ports[0]",
        );
        // Secondary addresses on one port may share its prefix.
        assert!(
            base_with("[198.19.0.1/24]", "[198.19.0.1/24, 198.19.0.2/24]")
                .problems()
                .is_empty()
        );
        let err = base_with("[198.19.0.1/24]", "[198.19.0.1/24, 198.19.0.1/25]");
        assert_problem(
            &err,
            "ports[1].ipv4[1]",
            30,
            "198.19.0.1 is also at ports[1].ipv4[0]",
        );
    }

    #[test]
    fn link_settings_have_ranges() {
        assert_problem(
            &base_with("vlan: null", "vlan: 4095"),
            "ports[0].vlan",
            23,
            "4095 is out of range: it must be 1..=4094",
        );
        assert_problem(
            &base_with("vlan: null", "vlan: 0"),
            "ports[0].vlan",
            23,
            "it must be 1..=4094",
        );
        assert_problem(
            &base_with("mtu: 1500", "mtu: 9217"),
            "ports[0].mtu",
            24,
            "9217 is out of range: it must be 68..=9216",
        );
        assert_problem(
            &base_with("mtu: 1500", "mtu: 1279"),
            "ports[0].mtu",
            24,
            "1279 is too small for IPv6: with ipv6 addresses it must be 1280..=9216",
        );
        assert_problem(
            &base_with("rx_desc: 1024", "rx_desc: 1000"),
            "ports[0].rx_desc",
            25,
            "1000 is not allowed: it must be a power of two in 64..=4096",
        );
        assert_problem(
            &base_with("tx_desc: 1024", "tx_desc: 8192"),
            "ports[0].tx_desc",
            26,
            "a power of two in 64..=4096",
        );
        assert_problem(
            &base_with("tx_desc: 1024", "tx_desc: 32"),
            "ports[0].tx_desc",
            26,
            "a power of two in 64..=4096",
        );
    }

    #[test]
    fn there_is_at_least_one_port() {
        let start = super::super::test_support::BASE.find("ports:").unwrap();
        let end = super::super::test_support::BASE.find("routes:").unwrap();
        let ports = &super::super::test_support::BASE[start..end];
        let err = base_with(ports, "ports: []\n");
        assert_problem(&err, "ports", 18, "0 ports given: there must be 1..=32");
    }
}
