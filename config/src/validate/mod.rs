//! Validation: the file's schema ([`crate::schema`]) into the typed [`ApplianceConfig`], collecting every
//! problem with the path of its field, so that one run of the appliance reports all of them.
//!
//! A check that fails records a problem and hands back a stand-in value so that the later checks still run;
//! no stand-in ever escapes, because any problem fails the whole validation.

mod l4;
mod l7;
mod listeners;
mod pools;
mod ports;
mod routing;
mod runtime;

use std::fmt::Display;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use crate::balancing::{L4Config, ListenerConfig, PoolConfig};
use crate::field_path::FieldPath;
use crate::model::{
    AdminConfig, ApplianceConfig, NeighbourConfig, PortConfig, Route, WorkersConfig,
};
use crate::schema::{FileAdmin, FileConfig, FileNeighbours};

/// Longest path a Unix socket address holds (`sun_path` is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Collects the problems found so far.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    problems: Vec<(FieldPath, String)>,
}

impl Checker {
    /// Records a problem with the field at `path`.
    pub fn report(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.problems.push((path.clone(), message.into()));
    }

    /// `value` as a `T` when it lies in `range`; otherwise a problem and `T::default()`.
    pub fn int<T: TryFrom<u64> + Default>(
        &mut self,
        path: &FieldPath,
        value: u64,
        range: RangeInclusive<u64>,
    ) -> T {
        match T::try_from(value) {
            Ok(converted) if range.contains(&value) => converted,
            _ => {
                self.report(path, out_of_range(value, &range));
                T::default()
            }
        }
    }
}

/// The message for a number outside its range.
pub(crate) fn out_of_range(value: impl Display, range: &RangeInclusive<u64>) -> String {
    format!(
        "{value} is out of range: it must be {}..={}",
        range.start(),
        range.end()
    )
}

/// Checks the whole file; every problem with its field's path when there is any.
pub(crate) fn validate(file: &FileConfig) -> Result<ApplianceConfig, Vec<(FieldPath, String)>> {
    let mut checker = Checker::default();
    let root = FieldPath::root();
    let eal = runtime::eal(&mut checker, &root.key("eal"), &file.eal);
    let workers = runtime::workers(
        &mut checker,
        &root.key("workers"),
        &file.workers,
        eal.main_lcore,
    );
    let before_ports = checker.problems.len();
    let ports = ports::ports(&mut checker, &root.key("ports"), &file.ports);
    // Gateways are checked against the connected prefixes only when those are all known, lest one bad
    // address also fail every route through it.
    let prefixes_known = checker.problems.len() == before_ports;
    let mbufs = runtime::mbufs(
        &mut checker,
        &root.key("mbufs"),
        &file.mbufs,
        &workers,
        &ports,
    );
    let routes = routing::routes(
        &mut checker,
        &root.key("routes"),
        &file.routes,
        &ports,
        prefixes_known,
    );
    let vips = routing::vips(&mut checker, &root.key("vips"), &file.vips, &ports);
    let (l4, pools, listeners) = balancing(
        &mut checker,
        file,
        &workers,
        &ports,
        &routes,
        &vips,
        prefixes_known,
    );
    let neighbours = neighbours(&mut checker, &root.key("neighbours"), &file.neighbours);
    let admin = admin(&mut checker, &root.key("admin"), &file.admin);
    let l7 = l7::l7(&mut checker, &root.key("l7"), &file.l7);
    if !checker.problems.is_empty() {
        return Err(checker.problems);
    }
    Ok(ApplianceConfig {
        eal,
        workers,
        mbufs,
        ports,
        routes,
        vips,
        neighbours,
        admin,
        l4,
        l7,
        pools,
        listeners,
    })
}

/// The `l4`, `pools` and `listeners` sections, which check each other: backends are none of the
/// listeners' VIPs, listeners name pools of their VIP's family.
fn balancing(
    checker: &mut Checker,
    file: &FileConfig,
    workers: &WorkersConfig,
    ports: &[PortConfig],
    routes: &[Route],
    vips: &[IpAddr],
    prefixes_known: bool,
) -> (L4Config, Vec<PoolConfig>, Vec<ListenerConfig>) {
    let root = FieldPath::root();
    let context = l4::SnatContext {
        ports,
        prefixes_known,
        vips,
        workers: workers.lcores.len(),
    };
    let l4 = l4::l4(checker, &root.key("l4"), &file.l4, &context);
    let listeners_path = root.key("listeners");
    let listeners =
        listeners::listeners(checker, &listeners_path, &file.listeners, ports, &l4.snat);
    let owned = pools::Owned {
        ports,
        vips,
        listener_vips: listeners.iter().map(|(_, l)| l.vip).collect(),
        snat: &l4.snat,
    };
    let reach = pools::Reach {
        ports,
        routes,
        known: prefixes_known,
    };
    let pools = pools::pools(checker, &root.key("pools"), &file.pools, &owned, &reach);
    listeners::check_pools(checker, &listeners_path, &listeners, &pools, l4.maglev_size);
    let listeners = listeners.into_iter().map(|(_, l)| l).collect();
    (l4, pools, listeners)
}

fn neighbours(checker: &mut Checker, path: &FieldPath, file: &FileNeighbours) -> NeighbourConfig {
    let reachable_s: u64 = checker.int(&path.key("reachable_s"), file.reachable_s, 1..=3600);
    let stale_gc_s: u64 = checker.int(
        &path.key("stale_gc_s"),
        file.stale_gc_s,
        reachable_s.max(1)..=86_400,
    );
    let retransmit_ms: u64 =
        checker.int(&path.key("retransmit_ms"), file.retransmit_ms, 10..=60_000);
    let queue_per_neighbour = checker.int(
        &path.key("queue_per_neighbour"),
        file.queue_per_neighbour,
        0..=64,
    );
    let queue_total_range = u64::try_from(queue_per_neighbour).unwrap_or(u64::MAX)..=65_536;
    NeighbourConfig {
        reachable: Duration::from_secs(reachable_s),
        stale_gc: Duration::from_secs(stale_gc_s),
        retransmit: Duration::from_millis(retransmit_ms),
        max_probes: checker.int(&path.key("max_probes"), file.max_probes, 1..=20),
        queue_per_neighbour,
        queue_total: checker.int(
            &path.key("queue_total"),
            file.queue_total,
            queue_total_range,
        ),
    }
}

fn admin(checker: &mut Checker, path: &FieldPath, file: &FileAdmin) -> AdminConfig {
    let socket = &file.socket;
    if !socket.starts_with('/') || socket.len() > MAX_SOCKET_PATH || socket.contains('\0') {
        checker.report(
            &path.key("socket"),
            format!("{socket:?} is not a socket path: it must be absolute and at most {MAX_SOCKET_PATH} bytes"),
        );
    }
    AdminConfig {
        socket: PathBuf::from(socket),
    }
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::test_support::{assert_problem, base_config, base_with, BASE};

    #[test]
    fn neighbour_timers_become_durations() {
        let neighbours = base_config(BASE).neighbours;
        assert_eq!(neighbours.reachable, Duration::from_secs(30));
        assert_eq!(neighbours.stale_gc, Duration::from_secs(300));
        assert_eq!(neighbours.retransmit, Duration::from_millis(1000));
        assert_eq!(
            (
                neighbours.max_probes,
                neighbours.queue_per_neighbour,
                neighbours.queue_total
            ),
            (3, 8, 256)
        );
    }

    #[test]
    fn neighbour_ranges() {
        let field = |old: &str, new: &str| base_with(old, new);
        assert_problem(
            &field("reachable_s: 30", "reachable_s: 0"),
            "neighbours.reachable_s",
            38,
            "0 is out of range: it must be 1..=3600",
        );
        assert_problem(
            &field("stale_gc_s: 300", "stale_gc_s: 29"),
            "neighbours.stale_gc_s",
            39,
            "29 is out of range: it must be 30..=86400",
        );
        assert_problem(
            &field("retransmit_ms: 1000", "retransmit_ms: 9"),
            "neighbours.retransmit_ms",
            40,
            "it must be 10..=60000",
        );
        assert_problem(
            &field("max_probes: 3", "max_probes: 21"),
            "neighbours.max_probes",
            41,
            "21 is out of range: it must be 1..=20",
        );
        assert_problem(
            &field("queue_per_neighbour: 8", "queue_per_neighbour: 65"),
            "neighbours.queue_per_neighbour",
            42,
            "it must be 0..=64",
        );
        assert_problem(
            &field("queue_total: 256", "queue_total: 7"),
            "neighbours.queue_total",
            43,
            "7 is out of range: it must be 8..=65536",
        );
    }

    #[test]
    fn admin_socket_is_an_absolute_short_path() {
        let err = base_with("socket: /run/edgelb/test.sock", "socket: edgelb.sock");
        assert_problem(
            &err,
            "admin.socket",
            45,
            "\"edgelb.sock\" is not a socket path: it must be absolute and at most 107 bytes",
        );
        let err = base_with(
            "socket: /run/edgelb/test.sock",
            &format!("socket: /{}", "s".repeat(107)),
        );
        assert_problem(&err, "admin.socket", 45, "at most 107 bytes");
    }

    #[test]
    fn every_problem_is_reported_in_file_order() {
        let text = BASE
            .replace("memory_mb: 1024", "memory_mb: 1")
            .replace("198.19.0.1/24", "198.19.0.1/33")
            .replace("max_probes: 3", "max_probes: 0");
        let error = crate::parse(&text, "base.yaml").unwrap_err();
        let lines: Vec<usize> = error.problems().iter().map(|p| p.line).collect();
        assert_eq!(lines, [6, 30, 41]);
        assert_eq!(error.to_string().lines().count(), 3);
        assert_eq!(
            error.to_string().lines().nth(1),
            Some("base.yaml:30:12: ports[1].ipv4[0]: \"198.19.0.1/33\" is not an IPv4 prefix: the length must be 1..=32")
        );
    }
}
