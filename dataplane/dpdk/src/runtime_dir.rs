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

/// Removes the runtime directory of `prefix` when a process that used it died without cleaning up (a crash, a
/// SIGKILL): its files make the next EAL init fail ("Cannot allocate memzone list"). A live primary holds a
/// write lock on part of the directory's `config` file; if nobody does, the files are stale. Returns whether it
/// removed them (see [`RuntimeDirState`]); the directory of a running instance is left alone (EAL then says
/// another primary runs).
pub fn remove_stale_runtime_dir(prefix: Option<&str>) -> io::Result<RuntimeDirState> {
    let dir = runtime_dir(prefix);
    let config = dir.join("config");
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&config)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(RuntimeDirState::Absent),
        Err(e) => return Err(e),
    };
    if locked_by_another_process(&file)? {
        return Ok(RuntimeDirState::InUse);
    }
    remove_runtime_dir(prefix)?;
    Ok(RuntimeDirState::RemovedStale)
}

/// What [`remove_stale_runtime_dir`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeDirState {
    /// No runtime files of the prefix.
    Absent,
    /// Files of a process that is gone: removed.
    RemovedStale,
    /// A live process (or one still exiting: its threads hold the files until the last one ends) uses them.
    InUse,
}

/// Whether another process holds a write lock (fcntl, as EAL takes it) on any byte of `file`.
fn locked_by_another_process(file: &std::fs::File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: an all-zero flock is a valid value of this plain C struct.
    let mut query: libc::flock = unsafe { std::mem::zeroed() };
    query.l_type = libc::F_WRLCK as libc::c_short;
    query.l_whence = libc::SEEK_SET as libc::c_short;
    query.l_start = 0;
    query.l_len = 0; // to the end of the file, whatever its size
                     // SAFETY: the descriptor is open for the duration of the call (borrowed from `file`) and `query` is a valid,
                     // exclusively borrowed flock that F_GETLK fills in.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut query) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(query.l_type != libc::F_UNLCK as libc::c_short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_files_are_removed_and_a_held_lock_is_respected() {
        let prefix = format!("edgelb-stale-test-{}", std::process::id());
        let dir = runtime_dir(Some(&prefix));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config"), [0u8; 64]).unwrap();
        std::fs::write(dir.join("fbarray_memzone"), [0u8; 8]).unwrap();

        // A "live primary": another process holds a write lock on part of the file. (A lock of this process
        // would not show: F_GETLK ignores the caller's own locks, so use a child.)
        let python = std::process::Command::new("python3")
            .args([
                "-c",
                "import fcntl,sys,time; f=open(sys.argv[1],'r+'); fcntl.lockf(f, fcntl.LOCK_EX, 8, 16); \
                 print('locked', flush=True); time.sleep(5)",
            ])
            .arg(dir.join("config"))
            .stdout(std::process::Stdio::piped())
            .spawn();
        let mut child = python.expect("python3 (to hold a lock from another process)");
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        assert_eq!(line.trim(), "locked");
        assert_eq!(
            remove_stale_runtime_dir(Some(&prefix)).unwrap(),
            RuntimeDirState::InUse
        );
        assert!(dir.join("fbarray_memzone").exists());
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            remove_stale_runtime_dir(Some(&prefix)).unwrap(),
            RuntimeDirState::RemovedStale
        );
        assert!(!dir.exists());
        assert_eq!(
            remove_stale_runtime_dir(Some(&prefix)).unwrap(),
            RuntimeDirState::Absent
        );
    }

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
