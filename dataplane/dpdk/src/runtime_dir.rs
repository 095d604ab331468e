//! EAL's runtime directory, and removing it after a run.
//!
//! EAL (22.11) keeps its runtime files in `<base>/dpdk/<prefix>`. Measured here with `--no-huge`:
//! while running it holds `config`, `fbarray_memzone`, `fbarray_nohugemem` (`fbarray_memseg-*` with
//! hugepages), `mp_socket` and the telemetry socket `dpdk_telemetry.v2`; `rte_eal_cleanup` removes
//! only `mp_socket`. With `--no-shconf`/`--in-memory` only the telemetry socket is written (with
//! `--no-telemetry` the directory is still made, empty); it too survives cleanup. A crashed process
//! leaves everything. So the appliance removes the directory after cleanup and before start-up.

use std::io;
use std::path::PathBuf;

/// EAL's default file prefix.
pub const DEFAULT_PREFIX: &str = "rte";

/// The directory EAL uses for `prefix` (`None`: EAL's default, `rte`), computed the way EAL does:
/// `/var/run/dpdk/<prefix>` for root, else `$XDG_RUNTIME_DIR/dpdk/<prefix>` or `/tmp/dpdk/<prefix>`.
pub fn runtime_dir(prefix: Option<&str>) -> PathBuf {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let base = if uid == 0 {
        PathBuf::from("/var/run")
    } else {
        std::env::var_os("XDG_RUNTIME_DIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
    };
    base.join("dpdk").join(prefix.unwrap_or(DEFAULT_PREFIX))
}

/// Removes the runtime directory of `prefix`; absent already is fine. Call it after
/// [`crate::Eal::cleanup`] or after a crash, never while a DPDK process uses the prefix.
pub fn remove_runtime_dir(prefix: Option<&str>) -> io::Result<()> {
    let dir = runtime_dir(prefix);
    if prefix.is_some_and(|p| p.is_empty() || p.contains('/') || p == "..") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "file prefix must be a plain name",
        ));
    }
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_is_under_dpdk_and_named_after_the_prefix() {
        let d = runtime_dir(Some("edgelb-unit"));
        assert!(d.ends_with("dpdk/edgelb-unit"), "{}", d.display());
        assert!(runtime_dir(None).ends_with("dpdk/rte"));
        // SAFETY: getuid has no preconditions.
        if unsafe { libc::getuid() } == 0 {
            assert_eq!(d, PathBuf::from("/var/run/dpdk/edgelb-unit"));
        }
    }

    #[test]
    fn remove_is_idempotent_and_refuses_paths() {
        let d = runtime_dir(Some("edgelb-unit-rm"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("config"), b"x").unwrap();
        remove_runtime_dir(Some("edgelb-unit-rm")).unwrap();
        assert!(!d.exists());
        remove_runtime_dir(Some("edgelb-unit-rm")).unwrap();
        assert_eq!(
            remove_runtime_dir(Some("../etc")).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
