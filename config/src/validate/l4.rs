//! Checks of the `l4` section: a prime Maglev size, flow table sizes, timeouts, MSS clamp, and FullNAT's
//! source addresses and ports.

use std::fmt::Display;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use super::ports::{unusable_v4, unusable_v6};
use super::Checker;
use crate::balancing::{FlowTimeouts, L4Config, PortRange, SnatConfig};
use crate::field_path::FieldPath;
use crate::model::PortConfig;
use crate::schema::{FileL4, FileSnat, FileTimeouts};

/// Maglev table sizes: big enough to spread a few backends evenly, small enough to build in milliseconds.
const MAGLEV_SIZES: RangeInclusive<u64> = 251..=1_000_003;

/// What the SNAT checks need to know about the rest of the config.
pub(super) struct SnatContext<'a> {
    pub ports: &'a [PortConfig],
    /// Every port address passed its checks, so an address off every prefix is an error.
    pub prefixes_known: bool,
    /// The validated `vips`.
    pub vips: &'a [IpAddr],
    /// Worker cores that share the port range.
    pub workers: usize,
}

pub(super) fn l4(
    checker: &mut Checker,
    path: &FieldPath,
    file: &FileL4,
    context: &SnatContext<'_>,
) -> L4Config {
    L4Config {
        maglev_size: maglev_size(checker, &path.key("maglev_size"), file.maglev_size),
        maglev_seed: file.maglev_seed,
        flows_per_core: checker.int(
            &path.key("flows_per_core"),
            file.flows_per_core,
            1024..=16_777_216,
        ),
        max_new_flows_per_core_per_sec: checker.int(
            &path.key("max_new_flows_per_core_per_sec"),
            file.max_new_flows_per_core_per_sec,
            0..=u64::from(u32::MAX),
        ),
        timeouts: timeouts(checker, &path.key("timeouts"), &file.timeouts),
        on_backend_removed: file.on_backend_removed,
        mss_clamp: file
            .mss_clamp
            .map(|mss| checker.int(&path.key("mss_clamp"), mss, 536..=9000)),
        snat: snat(checker, &path.key("snat"), &file.snat, context),
    }
}

fn maglev_size(checker: &mut Checker, path: &FieldPath, value: u64) -> u32 {
    let (lo, hi) = (MAGLEV_SIZES.start(), MAGLEV_SIZES.end());
    if !MAGLEV_SIZES.contains(&value) {
        checker.report(
            path,
            format!("{value} is out of range: it must be a prime in {lo}..={hi}"),
        );
        return 0;
    }
    if is_prime(value) {
        return u32::try_from(value).unwrap_or(0);
    }
    // Both ends of the range are primes, so there is one on each side.
    let below = (*lo..value).rev().find(|&n| is_prime(n)).unwrap_or(*lo);
    let above = (value..=*hi).find(|&n| is_prime(n)).unwrap_or(*hi);
    checker.report(
        path,
        format!(
            "{value} is not prime: Maglev needs a prime table size; the nearest primes are {below} and {above}"
        ),
    );
    0
}

/// Trial division: table sizes are at most about a million, so this takes microseconds.
fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

fn timeouts(checker: &mut Checker, path: &FieldPath, file: &FileTimeouts) -> FlowTimeouts {
    let mut seconds = |key: &str, value: u64, max: u64| {
        Duration::from_secs(checker.int(&path.key(key), value, 1..=max))
    };
    FlowTimeouts {
        tcp_syn: seconds("tcp_syn", file.tcp_syn, 3600),
        tcp_established: seconds("tcp_established", file.tcp_established, 604_800),
        tcp_fin: seconds("tcp_fin", file.tcp_fin, 3600),
        tcp_closed: seconds("tcp_closed", file.tcp_closed, 3600),
        udp: seconds("udp", file.udp, 86_400),
    }
}

fn snat(
    checker: &mut Checker,
    path: &FieldPath,
    file: &FileSnat,
    context: &SnatContext<'_>,
) -> SnatConfig {
    let v4 = Family {
        name: "IPv4",
        unusable: unusable_v4,
        allowed: "a unicast address",
    };
    let v6 = Family {
        name: "IPv6",
        unusable: unusable_v6,
        allowed: "a global or unique-local unicast address",
    };
    SnatConfig {
        ipv4: snat_addresses(checker, &path.key("ipv4"), &file.ipv4, &v4, context),
        ipv6: snat_addresses(checker, &path.key("ipv6"), &file.ipv6, &v6, context),
        ports: port_range(checker, &path.key("ports"), &file.ports, context.workers),
    }
}

/// How one address family's SNAT addresses are checked.
struct Family<A> {
    name: &'static str,
    unusable: fn(A) -> bool,
    allowed: &'static str,
}

/// Usable, unique, not a VIP, and where the backends' replies reach the appliance: on a port's connected
/// prefix (a port address is on its own prefix).
fn snat_addresses<A>(
    checker: &mut Checker,
    path: &FieldPath,
    texts: &[String],
    family: &Family<A>,
    context: &SnatContext<'_>,
) -> Vec<A>
where
    A: FromStr + Copy + PartialEq + Display + Into<IpAddr>,
{
    let mut addresses: Vec<A> = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        let item = path.index(i);
        let Ok(addr) = text.parse::<A>() else {
            checker.report(&item, format!("{text:?} is not an {} address", family.name));
            continue;
        };
        let ip: IpAddr = addr.into();
        let connected = context
            .ports
            .iter()
            .any(|port| port.prefixes().any(|prefix| prefix.contains(ip)));
        let problem = if (family.unusable)(addr) {
            format!(
                "{addr} cannot be a SNAT address: it must be {}",
                family.allowed
            )
        } else if let Some(j) = addresses.iter().position(|earlier| *earlier == addr) {
            format!("{addr} is listed twice (also at index {j}): SNAT addresses must be unique")
        } else if context.vips.contains(&ip) {
            format!("{addr} is a VIP (vips): a SNAT address must not be one")
        } else if !connected && context.prefixes_known {
            format!(
                "{addr} is not on a connected prefix of any port: the backends' replies must reach the appliance"
            )
        } else {
            addresses.push(addr);
            continue;
        };
        checker.report(&item, problem);
    }
    addresses
}

/// `LO-HI` with `1 <= LO < HI <= 65535`, at least one port per worker.
fn port_range(checker: &mut Checker, path: &FieldPath, text: &str, workers: usize) -> PortRange {
    let parsed = text
        .split_once('-')
        .and_then(|(lo, hi)| Some((parse_port(lo)?, parse_port(hi)?)));
    let Some((lo, hi)) = parsed.filter(|(lo, hi)| *lo >= 1 && lo < hi) else {
        checker.report(
            path,
            format!(
                "{text:?} is not a port range: it must be \"LO-HI\" with 1 <= LO < HI <= 65535"
            ),
        );
        return PortRange { lo: 1, hi: 2 };
    };
    let range = PortRange { lo, hi };
    if usize::try_from(range.len()).is_ok_and(|len| len < workers) {
        checker.report(
            path,
            format!(
                "{range} holds {} ports: the {workers} workers need at least one each",
                range.len()
            ),
        );
    }
    range
}

/// A decimal port number, digits only.
fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::{assert_problem, base_config, base_with, BASE};
    use super::is_prime;
    use crate::balancing::{L4Config, PortRange, RemovedBackendPolicy};

    #[test]
    fn base_l4_settings() {
        let l4 = base_config(BASE).l4;
        assert_eq!(
            (l4.maglev_size, l4.maglev_seed, l4.flows_per_core),
            (65_537, 0, 262_144)
        );
        assert_eq!(l4.max_new_flows_per_core_per_sec, 500_000);
        assert_eq!(l4.timeouts.tcp_established, Duration::from_secs(900));
        assert_eq!(
            (l4.timeouts.tcp_syn, l4.timeouts.udp),
            (Duration::from_secs(30), Duration::from_secs(300))
        );
        assert_eq!(l4.on_backend_removed, RemovedBackendPolicy::Reset);
        assert_eq!(l4.mss_clamp, None);
        assert_eq!(l4.snat.ipv4, [std::net::Ipv4Addr::new(198, 19, 0, 2)]);
        assert_eq!(
            l4.snat.ports,
            PortRange {
                lo: 1024,
                hi: 65_535
            }
        );
    }

    #[test]
    fn absent_section_gives_the_defaults() {
        let start = BASE.find("l4:\n").unwrap();
        let end = BASE.find("pools:\n").unwrap();
        let config = base_config(&(BASE[..start].to_owned() + &BASE[end..]));
        assert_eq!(config.l4, L4Config::default());
    }

    #[test]
    fn settings_are_read() {
        let text = BASE
            .replace("maglev_seed: 0", "maglev_seed: 18446744073709551615")
            .replace("maglev_size: 65537", "maglev_size: 251")
            .replace("on_backend_removed: reset", "on_backend_removed: drop")
            .replace("mss_clamp: null", "mss_clamp: 1400")
            .replace("tcp_fin: 120", "tcp_fin: 7")
            .replace("ports: \"1024-65535\"", "ports: 40000-40001");
        let l4 = base_config(&text).l4;
        assert_eq!((l4.maglev_size, l4.maglev_seed), (251, u64::MAX));
        assert_eq!(
            (l4.on_backend_removed, l4.mss_clamp),
            (RemovedBackendPolicy::Drop, Some(1400))
        );
        assert_eq!(l4.timeouts.tcp_fin, Duration::from_secs(7));
        assert_eq!(
            l4.snat.ports,
            PortRange {
                lo: 40_000,
                hi: 40_001
            }
        );
    }

    #[test]
    fn maglev_size_is_a_prime_in_range() {
        let err = base_with("maglev_size: 65537", "maglev_size: 65536");
        assert_problem(
            &err,
            "l4.maglev_size",
            47,
            "65536 is not prime: Maglev needs a prime table size; the nearest primes are 65521 and 65537",
        );
        let err = base_with("maglev_size: 65537", "maglev_size: 250");
        assert_problem(
            &err,
            "l4.maglev_size",
            47,
            "250 is out of range: it must be a prime in 251..=1000003",
        );
        let err = base_with("maglev_size: 65537", "maglev_size: 1000004");
        assert_problem(
            &err,
            "l4.maglev_size",
            47,
            "it must be a prime in 251..=1000003",
        );
        let err = base_with("maglev_size: 65537", "maglev_size: 1000002");
        assert_problem(
            &err,
            "l4.maglev_size",
            47,
            "the nearest primes are 999983 and 1000003",
        );
        let err = base_with("maglev_size: 65537", "maglev_size: 252");
        assert_problem(
            &err,
            "l4.maglev_size",
            47,
            "the nearest primes are 251 and 257",
        );
    }

    #[test]
    fn primes() {
        let small: Vec<u64> = (0..30).filter(|&n| is_prime(n)).collect();
        assert_eq!(small, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
        assert!(
            is_prime(65_537) && is_prime(1_000_003) && !is_prime(65_535) && !is_prime(1_000_001)
        );
    }

    #[test]
    fn flow_table_ranges() {
        let err = base_with("flows_per_core: 262144", "flows_per_core: 1023");
        assert_problem(
            &err,
            "l4.flows_per_core",
            49,
            "1023 is out of range: it must be 1024..=16777216",
        );
        let err = base_with(
            "max_new_flows_per_core_per_sec: 500000",
            "max_new_flows_per_core_per_sec: 4294967296",
        );
        assert_problem(
            &err,
            "l4.max_new_flows_per_core_per_sec",
            50,
            "4294967296 is out of range: it must be 0..=4294967295",
        );
        let ok = base_with(
            "max_new_flows_per_core_per_sec: 500000",
            "max_new_flows_per_core_per_sec: 0",
        );
        assert!(ok.problems().is_empty(), "{ok}");
    }

    #[test]
    fn timeouts_are_positive_and_bounded() {
        assert_problem(
            &base_with("tcp_syn: 30", "tcp_syn: 0"),
            "l4.timeouts.tcp_syn",
            52,
            "0 is out of range: it must be 1..=3600",
        );
        assert_problem(
            &base_with("tcp_established: 900", "tcp_established: 604801"),
            "l4.timeouts.tcp_established",
            53,
            "604801 is out of range: it must be 1..=604800",
        );
        assert_problem(
            &base_with("tcp_closed: 10", "tcp_closed: 3601"),
            "l4.timeouts.tcp_closed",
            55,
            "it must be 1..=3600",
        );
        assert_problem(
            &base_with("udp: 300", "udp: 86401"),
            "l4.timeouts.udp",
            56,
            "86401 is out of range: it must be 1..=86400",
        );
        let err = base_with("udp: 300", "udp: 1.5");
        assert_problem(
            &err,
            "l4.timeouts.udp",
            56,
            "invalid type: floating point `1.5`, expected u64",
        );
    }

    #[test]
    fn removal_policy_names_the_choices() {
        let err = base_with("on_backend_removed: reset", "on_backend_removed: rst");
        assert_problem(
            &err,
            "l4.on_backend_removed",
            57,
            "unknown variant `rst`, expected `reset` or `drop`",
        );
    }

    #[test]
    fn mss_clamp_range() {
        let err = base_with("mss_clamp: null", "mss_clamp: 535");
        assert_problem(
            &err,
            "l4.mss_clamp",
            58,
            "535 is out of range: it must be 536..=9000",
        );
        let err = base_with("mss_clamp: null", "mss_clamp: 9001");
        assert_problem(&err, "l4.mss_clamp", 58, "it must be 536..=9000");
    }

    #[test]
    fn snat_addresses_are_unique_unicast_and_connected() {
        let err = base_with("ipv4: [198.19.0.2]", "ipv4: [198.19.0.2, 198.19.0.2]");
        assert_problem(
            &err,
            "l4.snat.ipv4[1]",
            60,
            "198.19.0.2 is listed twice (also at index 0): SNAT addresses must be unique",
        );
        let err = base_with("ipv4: [198.19.0.2]", "ipv4: [192.0.2.1]");
        assert_problem(
            &err,
            "l4.snat.ipv4[0]",
            60,
            "192.0.2.1 is not on a connected prefix of any port: the backends' replies must reach the appliance",
        );
        let err = base_with("ipv4: [198.19.0.2]", "ipv4: [224.0.0.1, \"2001:2::5\"]");
        assert_problem(
            &err,
            "l4.snat.ipv4[0]",
            60,
            "224.0.0.1 cannot be a SNAT address: it must be a unicast address",
        );
        assert_problem(
            &err,
            "l4.snat.ipv4[1]",
            60,
            "\"2001:2::5\" is not an IPv4 address",
        );
        let err = base_with(
            "    ipv6: []\n",
            "    ipv6: [\"fe80::1\", \"2001:2:0:1::5\", 198.19.0.3]\n",
        );
        assert_problem(
            &err,
            "l4.snat.ipv6[0]",
            61,
            "fe80::1 cannot be a SNAT address",
        );
        assert_problem(
            &err,
            "l4.snat.ipv6[2]",
            61,
            "\"198.19.0.3\" is not an IPv6 address",
        );
        assert_eq!(err.problems().len(), 2, "{err}");
        // A port address is a SNAT address too (the default's choice, written out).
        let err = base_with("ipv4: [198.19.0.2]", "ipv4: [198.18.10.10]");
        assert_problem(
            &err,
            "l4.snat.ipv4[0]",
            60,
            "198.18.10.10 is a VIP (vips): a SNAT address must not be one",
        );
        let ok = base_with("ipv4: [198.19.0.2]", "ipv4: [198.19.0.1, 198.18.0.7]");
        assert!(ok.problems().is_empty(), "{ok}");
    }

    #[test]
    fn snat_port_range() {
        for bad in [
            "\"0-100\"",
            "\"100-100\"",
            "\"200-100\"",
            "\"1024\"",
            "\"1-65536\"",
            "\"a-b\"",
            "\"+1-5\"",
        ] {
            let err = base_with("ports: \"1024-65535\"", &format!("ports: {bad}"));
            assert_problem(
                &err,
                "l4.snat.ports",
                62,
                &format!(
                    "{bad} is not a port range: it must be \"LO-HI\" with 1 <= LO < HI <= 65535"
                ),
            );
        }
        let text = BASE
            .replace("lcores: [1]", "lcores: [1, 2, 3]")
            .replace("ports: \"1024-65535\"", "ports: 5000-5001");
        let err = crate::parse(&text, "base.yaml").unwrap_err();
        assert_problem(
            &err,
            "l4.snat.ports",
            62,
            "5000-5001 holds 2 ports: the 3 workers need at least one each",
        );
    }
}
