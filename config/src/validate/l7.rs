//! Checks of the `l7` section: the proxy's per-core connection limit, request limits, buffer sizes and
//! timeouts, the header and keep-alive timeouts below the idle one.

use std::time::Duration;

use super::Checker;
use crate::field_path::FieldPath;
use crate::l7::{L7Buffers, L7Config, L7Timeouts};
use crate::schema::{FileBuffers, FileL7, FileL7Timeouts};

/// Largest request body: 1 TiB. The proxy streams bodies, so this is a policy limit, not a memory one.
const MAX_REQUEST_BODY: u64 = 1 << 40;
/// Largest connection buffer: 16 MiB (the engine takes up to 1 GiB, but a core holds thousands of these).
const MAX_BUFFER: u64 = 16 * 1024 * 1024;

pub(super) fn l7(checker: &mut Checker, path: &FieldPath, file: &FileL7) -> L7Config {
    let defaults = L7Config::default();
    L7Config {
        max_connections_per_core: checker.int(
            &path.key("max_connections_per_core"),
            file.max_connections_per_core,
            16..=1_000_000,
        ),
        idle_upstreams_per_backend: checker.int(
            &path.key("idle_upstreams_per_backend"),
            file.idle_upstreams_per_backend,
            0..=4096,
        ),
        max_request_head: checker.int(
            &path.key("max_request_head"),
            file.max_request_head,
            1024..=65_536,
        ),
        max_request_body: checker.int(
            &path.key("max_request_body"),
            file.max_request_body,
            0..=MAX_REQUEST_BODY,
        ),
        client_buffers: buffers(
            checker,
            &path.key("client_buffers"),
            &file.client_buffers,
            defaults.client_buffers,
        ),
        upstream_buffers: buffers(
            checker,
            &path.key("upstream_buffers"),
            &file.upstream_buffers,
            defaults.upstream_buffers,
        ),
        timeouts: timeouts(checker, &path.key("timeouts"), &file.timeouts),
    }
}

/// Both sizes in range; a missing one is the section's default.
fn buffers(
    checker: &mut Checker,
    path: &FieldPath,
    file: &FileBuffers,
    defaults: L7Buffers,
) -> L7Buffers {
    let mut size = |key: &str, value: Option<u64>, default: u32| match value {
        Some(value) => checker.int(&path.key(key), value, 1024..=MAX_BUFFER),
        None => default,
    };
    L7Buffers {
        rx: size("rx", file.rx, defaults.rx),
        tx: size("tx", file.tx, defaults.tx),
    }
}

fn timeouts(checker: &mut Checker, path: &FieldPath, file: &FileL7Timeouts) -> L7Timeouts {
    let mut seconds =
        |key: &str, value: u64, max: u64| -> u64 { checker.int(&path.key(key), value, 1..=max) };
    let header = seconds("header", file.header, 3600);
    let keepalive = seconds("keepalive", file.keepalive, 86_400);
    let connect = seconds("connect", file.connect, 300);
    let idle = seconds("idle", file.idle, 86_400);
    // The idle timeout resets a connection; the other two must fire first so that a slow client gets its
    // 408 and an idle one a graceful close. Checked only when both values passed their range.
    if idle > 0 && header >= idle {
        checker.report(
            &path.key("header"),
            format!(
                "{header} must be below timeouts.idle ({idle}): otherwise a slow client is reset instead of answered 408"
            ),
        );
    }
    if idle > 0 && keepalive >= idle {
        checker.report(
            &path.key("keepalive"),
            format!(
                "{keepalive} must be below timeouts.idle ({idle}): otherwise an idle client is reset instead of closed gracefully"
            ),
        );
    }
    L7Timeouts {
        header: Duration::from_secs(header),
        keepalive: Duration::from_secs(keepalive),
        connect: Duration::from_secs(connect),
        idle: Duration::from_secs(idle),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::{assert_problem, base_config, base_with, BASE};
    use crate::l7::{L7Buffers, L7Config};

    /// `BASE` with the `l7` section's line `old` replaced, which must be valid.
    fn l7_with(old: &str, new: &str) -> L7Config {
        assert_eq!(
            BASE.matches(old).count(),
            1,
            "{old:?} must occur once in BASE"
        );
        base_config(&BASE.replacen(old, new, 1)).l7
    }

    #[test]
    fn base_section_is_the_defaults() {
        assert_eq!(base_config(BASE).l7, L7Config::default());
    }

    #[test]
    fn absent_section_and_fields_give_the_defaults() {
        let start = BASE.find("l7:\n").unwrap();
        assert_eq!(base_config(&BASE[..start]).l7, L7Config::default());
        let only_one = BASE[..start].to_owned() + "l7:\n  timeouts: {idle: 120}\n";
        let l7 = base_config(&only_one).l7;
        assert_eq!(l7.timeouts.idle, Duration::from_secs(120));
        let mut expected = L7Config::default();
        expected.timeouts.idle = Duration::from_secs(120);
        assert_eq!(l7, expected);
    }

    #[test]
    fn settings_are_read() {
        let text = BASE
            .replace(
                "max_connections_per_core: 16384",
                "max_connections_per_core: 1000000",
            )
            .replace(
                "idle_upstreams_per_backend: 128",
                "idle_upstreams_per_backend: 0",
            )
            .replace("max_request_head: 16384", "max_request_head: 65536")
            .replace(
                "max_request_body: 67108864",
                "max_request_body: 1099511627776",
            )
            .replace("{rx: 16384, tx: 32768}", "{rx: 1024, tx: 16777216}")
            .replace("{rx: 65536, tx: 16384}", "{rx: 131072, tx: 8192}")
            .replace("header: 20", "header: 1")
            .replace("keepalive: 60", "keepalive: 86399")
            .replace("connect: 5", "connect: 300")
            .replace("idle: 90", "idle: 86400");
        let l7 = base_config(&text).l7;
        assert_eq!(
            (
                l7.max_connections_per_core,
                l7.idle_upstreams_per_backend,
                l7.max_request_head,
                l7.max_request_body
            ),
            (1_000_000, 0, 65_536, 1 << 40)
        );
        assert_eq!(
            (l7.client_buffers, l7.upstream_buffers),
            (
                L7Buffers {
                    rx: 1024,
                    tx: 16_777_216
                },
                L7Buffers {
                    rx: 131_072,
                    tx: 8192
                }
            )
        );
        let t = l7.timeouts;
        assert_eq!(
            [t.header, t.keepalive, t.connect, t.idle].map(|d| d.as_secs()),
            [1, 86_399, 300, 86_400]
        );
    }

    #[test]
    fn a_missing_buffer_size_is_its_own_sections_default() {
        let l7 = l7_with("{rx: 16384, tx: 32768}", "{rx: 4096}");
        assert_eq!(
            l7.client_buffers,
            L7Buffers {
                rx: 4096,
                tx: 32_768
            }
        );
        let l7 = l7_with("{rx: 65536, tx: 16384}", "{tx: 2048}");
        assert_eq!(
            l7.upstream_buffers,
            L7Buffers {
                rx: 65_536,
                tx: 2048
            }
        );
        let l7 = l7_with("{rx: 65536, tx: 16384}", "{}");
        assert_eq!(l7.upstream_buffers, L7Config::default().upstream_buffers);
    }

    #[test]
    fn limits_ranges() {
        assert_problem(
            &base_with(
                "max_connections_per_core: 16384",
                "max_connections_per_core: 15",
            ),
            "l7.max_connections_per_core",
            94,
            "15 is out of range: it must be 16..=1000000",
        );
        assert_problem(
            &base_with(
                "max_connections_per_core: 16384",
                "max_connections_per_core: 1000001",
            ),
            "l7.max_connections_per_core",
            94,
            "1000001 is out of range: it must be 16..=1000000",
        );
        assert_problem(
            &base_with(
                "idle_upstreams_per_backend: 128",
                "idle_upstreams_per_backend: 4097",
            ),
            "l7.idle_upstreams_per_backend",
            95,
            "4097 is out of range: it must be 0..=4096",
        );
        assert_problem(
            &base_with("max_request_head: 16384", "max_request_head: 1023"),
            "l7.max_request_head",
            96,
            "1023 is out of range: it must be 1024..=65536",
        );
        assert_problem(
            &base_with("max_request_head: 16384", "max_request_head: 65537"),
            "l7.max_request_head",
            96,
            "it must be 1024..=65536",
        );
        assert_problem(
            &base_with(
                "max_request_body: 67108864",
                "max_request_body: 1099511627777",
            ),
            "l7.max_request_body",
            97,
            "1099511627777 is out of range: it must be 0..=1099511627776",
        );
        assert_problem(
            &base_with("max_request_body: 67108864", "max_request_body: -1"),
            "l7.max_request_body",
            97,
            "invalid value: integer `-1`, expected u64",
        );
    }

    #[test]
    fn buffer_ranges_name_the_buffer() {
        let err = base_with("{rx: 16384, tx: 32768}", "{rx: 1023, tx: 16777217}");
        assert_problem(
            &err,
            "l7.client_buffers.rx",
            98,
            "1023 is out of range: it must be 1024..=16777216",
        );
        assert_problem(
            &err,
            "l7.client_buffers.tx",
            98,
            "16777217 is out of range: it must be 1024..=16777216",
        );
        assert_eq!(err.problems().len(), 2, "{err}");
        assert_problem(
            &base_with("{rx: 65536, tx: 16384}", "{rx: 0, tx: 16384}"),
            "l7.upstream_buffers.rx",
            99,
            "0 is out of range: it must be 1024..=16777216",
        );
        assert_problem(
            &base_with("{rx: 65536, tx: 16384}", "{rx: 65536, txx: 1}"),
            "l7.upstream_buffers.txx",
            99,
            "unknown field `txx`, expected `rx` or `tx`",
        );
    }

    #[test]
    fn timeout_ranges() {
        assert_problem(
            &base_with("header: 20", "header: 0"),
            "l7.timeouts.header",
            101,
            "0 is out of range: it must be 1..=3600",
        );
        assert_problem(
            &base_with("keepalive: 60", "keepalive: 86401"),
            "l7.timeouts.keepalive",
            102,
            "86401 is out of range: it must be 1..=86400",
        );
        assert_problem(
            &base_with("connect: 5", "connect: 301"),
            "l7.timeouts.connect",
            103,
            "301 is out of range: it must be 1..=300",
        );
        // An idle timeout out of range is the only problem: the order checks need a valid one.
        let err = base_with("idle: 90", "idle: 0");
        assert_problem(
            &err,
            "l7.timeouts.idle",
            104,
            "0 is out of range: it must be 1..=86400",
        );
        assert_eq!(err.problems().len(), 1, "{err}");
    }

    #[test]
    fn header_and_keepalive_are_below_idle() {
        let err = base_with("idle: 90", "idle: 60");
        assert_problem(
            &err,
            "l7.timeouts.keepalive",
            102,
            "60 must be below timeouts.idle (60): otherwise an idle client is reset instead of closed gracefully",
        );
        assert_eq!(err.problems().len(), 1, "{err}");
        let err = base_with("idle: 90", "idle: 20");
        assert_problem(
            &err,
            "l7.timeouts.header",
            101,
            "20 must be below timeouts.idle (20): otherwise a slow client is reset instead of answered 408",
        );
        assert_problem(
            &err,
            "l7.timeouts.keepalive",
            102,
            "60 must be below timeouts.idle (20)",
        );
        let l7 = l7_with("idle: 90", "idle: 61");
        assert_eq!(l7.timeouts.idle, Duration::from_secs(61));
        // The connect timeout may exceed the idle one: nothing else fires first while connecting.
        let l7 = l7_with("connect: 5", "connect: 120");
        assert_eq!(l7.timeouts.connect, Duration::from_secs(120));
    }
}
