//! Checks of the runtime sections: `eal`, `workers` and `mbufs`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Checker;
use crate::field_path::FieldPath;
use crate::model::{EalConfig, MbufConfig, PortConfig, WorkersConfig, MAX_BURST, MAX_LCORES};
use crate::schema::{FileEal, FileMbufs, FileWorkers};

/// DPDK's `RTE_MEMPOOL_CACHE_MAX_SIZE`.
const MAX_MEMPOOL_CACHE: u64 = 512;
/// CPU ids are below glibc's `CPU_SETSIZE`.
const MAX_CPUS: u64 = 1024;

/// EAL options that this config sets itself; giving them in `extra_args` too would contradict it.
const MANAGED_EAL_OPTIONS: &[(&str, &str)] = &[
    ("-l", "workers.lcores"),
    ("--lcores", "workers.lcores"),
    ("-c", "workers.lcores"),
    ("--main-lcore", "eal.main_lcore"),
    ("--file-prefix", "eal.file_prefix"),
    ("--no-huge", "eal.hugepages"),
    ("-m", "eal.memory_mb"),
    ("--in-memory", "eal.in_memory"),
    ("--log-level", "eal.log_level"),
    ("--vdev", "ports[].device"),
    ("-a", "ports[].device"),
    ("--allow", "ports[].device"),
    ("--no-pci", "ports[].device"),
];

pub(super) fn eal(checker: &mut Checker, path: &FieldPath, file: &FileEal) -> EalConfig {
    let prefix = &file.file_prefix;
    let prefix_ok = (1..=32).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !prefix_ok {
        checker.report(
            &path.key("file_prefix"),
            format!("{prefix:?} is not a file prefix: it must be 1 to 32 of A-Z a-z 0-9 _ -"),
        );
    }
    for (i, arg) in file.extra_args.iter().enumerate() {
        check_extra_arg(checker, &path.key("extra_args").index(i), arg);
    }
    EalConfig {
        file_prefix: prefix.clone(),
        main_lcore: checker.int(
            &path.key("main_lcore"),
            file.main_lcore,
            0..=u64::from(MAX_LCORES) - 1,
        ),
        hugepages: file.hugepages,
        memory_mb: checker.int(&path.key("memory_mb"), file.memory_mb, 64..=65_536),
        in_memory: file.in_memory,
        log_level: file.log_level,
        extra_args: file.extra_args.clone(),
    }
}

fn check_extra_arg(checker: &mut Checker, path: &FieldPath, arg: &str) {
    if arg.is_empty() {
        checker.report(path, "an empty argument is not allowed");
        return;
    }
    let option = arg.split_once('=').map_or(arg, |(option, _)| option);
    if let Some((_, field)) = MANAGED_EAL_OPTIONS
        .iter()
        .find(|(managed, _)| *managed == option)
    {
        checker.report(
            path,
            format!("{arg:?} is set by {field}; set it there instead"),
        );
    }
}

pub(super) fn workers(
    checker: &mut Checker,
    path: &FieldPath,
    file: &FileWorkers,
    main: u32,
) -> WorkersConfig {
    let lcore_range = 0..=u64::from(MAX_LCORES) - 1;
    if file.lcores.is_empty() {
        checker.report(&path.key("lcores"), "at least one worker lcore is needed");
    }
    let mut lcores = Vec::with_capacity(file.lcores.len());
    for (i, &raw) in file.lcores.iter().enumerate() {
        let item = path.key("lcores").index(i);
        if raw == u64::from(main) {
            checker.report(
                &item,
                format!("lcore {raw} is eal.main_lcore: workers need lcores of their own"),
            );
        } else if file
            .lcores
            .get(..i)
            .is_some_and(|earlier| earlier.contains(&raw))
        {
            checker.report(
                &item,
                format!("lcore {raw} is listed twice: worker lcores must be unique"),
            );
        }
        lcores.push(checker.int(&item, raw, lcore_range.clone()));
    }
    let cpus = cpus(
        checker,
        &path.key("cpus"),
        file.cpus.as_ref(),
        &lcores,
        main,
    );
    WorkersConfig {
        lcores,
        cpus,
        burst: checker.int(&path.key("burst"), file.burst, 1..=u64::from(MAX_BURST)),
        idle_sleep: Duration::from_micros(checker.int(
            &path.key("idle_sleep_us"),
            file.idle_sleep_us,
            0..=100_000,
        )),
    }
}

fn cpus(
    checker: &mut Checker,
    path: &FieldPath,
    file: Option<&BTreeMap<u64, u64>>,
    lcores: &[u32],
    main: u32,
) -> BTreeMap<u32, u32> {
    let mut cpus = BTreeMap::new();
    for (&lcore, &cpu) in file.into_iter().flatten() {
        let entry = path.key(&lcore.to_string());
        let known = u32::try_from(lcore)
            .ok()
            .filter(|l| *l == main || lcores.contains(l));
        let Some(lcore) = known else {
            checker.report(
                &entry,
                format!("lcore {lcore} is neither eal.main_lcore nor in workers.lcores"),
            );
            continue;
        };
        cpus.insert(lcore, checker.int(&entry, cpu, 0..=MAX_CPUS - 1));
    }
    cpus
}

pub(super) fn mbufs(
    checker: &mut Checker,
    path: &FieldPath,
    file: &FileMbufs,
    workers: &WorkersConfig,
    ports: &[PortConfig],
) -> MbufConfig {
    let per_port: u32 = checker.int(&path.key("per_port"), file.per_port, 1023..=1_048_575);
    // DPDK also wants the cache at most the pool's size / 1.5, which the smallest pool already allows.
    let cache: u32 = checker.int(&path.key("cache"), file.cache, 0..=MAX_MEMPOOL_CACHE);
    check_pool_covers_rings(
        checker,
        &path.key("per_port"),
        per_port,
        cache,
        workers,
        ports,
    );
    MbufConfig { per_port, cache }
}

/// A pool must fill every rx ring and tx ring of its port's queues (one of each per worker) and every
/// lcore's cache; otherwise queue setup fails at start, or the port starves under load.
fn check_pool_covers_rings(
    checker: &mut Checker,
    path: &FieldPath,
    per_port: u32,
    cache: u32,
    workers: &WorkersConfig,
    ports: &[PortConfig],
) {
    let queues = u64::try_from(workers.lcores.len()).unwrap_or(u64::MAX);
    let caches = (queues + 1) * u64::from(cache);
    let needs =
        |port: &PortConfig| queues * (u64::from(port.rx_desc) + u64::from(port.tx_desc)) + caches;
    let Some(port) = ports.iter().find(|port| needs(port) > u64::from(per_port)) else {
        return;
    };
    if per_port > 0 {
        checker.report(
            path,
            format!(
                "{per_port} mbufs are too few for port {:?}: {queues} worker(s) × ({} rx + {} tx descriptors) \
                 + {} lcore(s) × {cache} cache = {}; it must be at least that",
                port.name,
                port.rx_desc,
                port.tx_desc,
                queues + 1,
                needs(port)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_problem, base_with};

    #[test]
    fn eal_file_prefix_charset_and_length() {
        let err = base_with("file_prefix: edgelb-lab", "file_prefix: \"a b\"");
        assert_problem(
            &err,
            "eal.file_prefix",
            3,
            "\"a b\" is not a file prefix: it must be 1 to 32 of A-Z a-z 0-9 _ -",
        );
        let err = base_with(
            "file_prefix: edgelb-lab",
            &format!("file_prefix: {}", "x".repeat(33)),
        );
        assert_problem(&err, "eal.file_prefix", 3, "must be 1 to 32");
    }

    #[test]
    fn eal_numbers_have_ranges() {
        assert_problem(
            &base_with("main_lcore: 0", "main_lcore: 128"),
            "eal.main_lcore",
            4,
            "128 is out of range: it must be 0..=127",
        );
        assert_problem(
            &base_with("memory_mb: 1024", "memory_mb: 63"),
            "eal.memory_mb",
            6,
            "63 is out of range: it must be 64..=65536",
        );
    }

    #[test]
    fn eal_log_level_names_the_allowed_levels() {
        let err = base_with("log_level: notice", "log_level: verbose");
        assert_problem(
            &err,
            "eal.log_level",
            8,
            "unknown variant `verbose`, expected one of `emerg`, `alert`, `crit`, `error`, `warning`, `notice`, `info`, `debug`",
        );
    }

    #[test]
    fn eal_extra_args_must_not_repeat_managed_options() {
        let err = base_with(
            "extra_args: []",
            "extra_args: [\"--no-telemetry\", \"--file-prefix=x\", \"\"]",
        );
        assert_problem(
            &err,
            "eal.extra_args[1]",
            9,
            "\"--file-prefix=x\" is set by eal.file_prefix; set it there instead",
        );
        assert_problem(
            &err,
            "eal.extra_args[2]",
            9,
            "an empty argument is not allowed",
        );
        assert_eq!(err.problems().len(), 2, "{err}");
    }

    #[test]
    fn workers_lcores_unique_not_main_in_range_and_present() {
        let err = base_with("lcores: [1]", "lcores: [1, 1, 0, 128]");
        assert_problem(
            &err,
            "workers.lcores[1]",
            11,
            "lcore 1 is listed twice: worker lcores must be unique",
        );
        assert_problem(
            &err,
            "workers.lcores[2]",
            11,
            "lcore 0 is eal.main_lcore: workers need lcores of their own",
        );
        assert_problem(
            &err,
            "workers.lcores[3]",
            11,
            "128 is out of range: it must be 0..=127",
        );
        assert_problem(
            &base_with("lcores: [1]", "lcores: []"),
            "workers.lcores",
            11,
            "at least one worker lcore is needed",
        );
    }

    #[test]
    fn workers_cpus_name_known_lcores() {
        let ok = base_with("cpus: null", "cpus: {0: 0, 1: 0}");
        assert!(ok.problems().is_empty(), "{ok}");
        let err = base_with("cpus: null", "cpus: {5: 1, 1: 2000}");
        assert_problem(
            &err,
            "workers.cpus.5",
            12,
            "lcore 5 is neither eal.main_lcore nor in workers.lcores",
        );
        assert_problem(
            &err,
            "workers.cpus.1",
            12,
            "2000 is out of range: it must be 0..=1023",
        );
    }

    #[test]
    fn workers_burst_and_idle_sleep_ranges() {
        assert_problem(
            &base_with("burst: 32", "burst: 0"),
            "workers.burst",
            13,
            "0 is out of range: it must be 1..=64",
        );
        assert_problem(
            &base_with("burst: 32", "burst: 65"),
            "workers.burst",
            13,
            "it must be 1..=64",
        );
        let err = base_with("idle_sleep_us: 100", "idle_sleep_us: 100001");
        assert_problem(
            &err,
            "workers.idle_sleep_us",
            14,
            "100001 is out of range: it must be 0..=100000",
        );
    }

    #[test]
    fn mbufs_pool_and_cache_sizes() {
        let err = base_with("per_port: 8192", "per_port: 1022");
        assert_problem(
            &err,
            "mbufs.per_port",
            16,
            "1022 is out of range: it must be 1023..=1048575",
        );
        let err = base_with("cache: 256", "cache: 513");
        assert_problem(
            &err,
            "mbufs.cache",
            17,
            "513 is out of range: it must be 0..=512",
        );
    }

    #[test]
    fn mbufs_must_cover_the_rings() {
        let err = base_with("per_port: 8192", "per_port: 2559");
        assert_problem(
            &err,
            "mbufs.per_port",
            16,
            "2559 mbufs are too few for port \"client\": 1 worker(s) × (1024 rx + 1024 tx descriptors) + 2 lcore(s) × 256 cache = 2560; it must be at least that",
        );
        assert!(base_with("per_port: 8192", "per_port: 2560")
            .problems()
            .is_empty());
    }
}
