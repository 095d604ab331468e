//! Helpers for the end-to-end tests: bring the namespace lab up and down around a test, run commands inside its
//! namespaces, and read the dataplane's status.
//!
//! The lab's names are fixed (see the README's lab contract), so one lab runs at a time: the tests are `#[ignore]`d
//! for plain `cargo test` and run by `scripts/test` with `--ignored --test-threads=1`, as root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The repository root (the tests crate lives in `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// A running lab; dropping it runs `scripts/lab down`, also when the test fails.
#[derive(Debug)]
pub struct Lab {
    root: PathBuf,
}

impl Lab {
    /// `scripts/lab up` with the given extra arguments; returns once the appliance answers.
    pub fn up(args: &[&str]) -> Result<Lab> {
        Self::up_with_config(None, args)
    }

    /// Like [`Lab::up`], with the appliance running `config` instead of `config/examples/lab.yaml`.
    pub fn up_with_config(config: Option<&Path>, args: &[&str]) -> Result<Lab> {
        Self::up_with_env(config, None, args)
    }

    /// Like [`Lab::up`], with the appliance's config and the control process's manifests directory chosen.
    pub fn up_with_env(
        config: Option<&Path>,
        manifests: Option<&Path>,
        args: &[&str],
    ) -> Result<Lab> {
        let root = repo_root();
        let lab = Lab { root };
        let mut cmd = Command::new(lab.root.join("scripts/lab"));
        cmd.arg("up").args(args).current_dir(&lab.root);
        if let Some(config) = config {
            cmd.env("EDGELB_LAB_CONFIG", config);
        }
        if let Some(manifests) = manifests {
            cmd.env("EDGELB_LAB_MANIFESTS", manifests);
        }
        let out = cmd.output().context("running scripts/lab up")?;
        if !out.status.success() {
            bail!(
                "scripts/lab up failed:\n{}{}",
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        Ok(lab)
    }

    fn script(&self, args: &[&str]) -> Result<Output> {
        Command::new(self.root.join("scripts/lab"))
            .args(args)
            .current_dir(&self.root)
            .output()
            .context("running scripts/lab")
    }

    /// Runs `cmd` inside namespace `elb-<ns>`; returns its output whatever its exit status.
    pub fn exec(&self, ns: &str, cmd: &[&str]) -> Result<Output> {
        Command::new("ip")
            .args(["netns", "exec", &format!("elb-{ns}")])
            .args(cmd)
            .output()
            .with_context(|| format!("ip netns exec elb-{ns} {}", cmd.join(" ")))
    }

    /// Like [`Lab::exec`], but fails unless the command succeeds; returns its stdout.
    pub fn run(&self, ns: &str, cmd: &[&str]) -> Result<String> {
        let out = self.exec(ns, cmd)?;
        if !out.status.success() {
            bail!(
                "`{}` in elb-{ns} failed ({}):\n{}{}",
                cmd.join(" "),
                out.status,
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        Ok(text(&out.stdout))
    }

    /// The dataplane's status document (JSON) from its admin socket.
    pub fn status(&self) -> Result<Value> {
        let out = Command::new(self.root.join("target/release/edgelb-dataplane"))
            .args(["status", "--json", "--admin-socket"])
            .arg(self.root.join(".lab/dataplane.sock"))
            .output()
            .context("running edgelb-dataplane status")?;
        if !out.status.success() {
            bail!("edgelb-dataplane status failed: {}", text(&out.stderr));
        }
        serde_json::from_slice(&out.stdout).context("status is not JSON")
    }

    /// Sends SIGHUP to the dataplane and waits until it reports a newer snapshot generation.
    pub fn reload(&self) -> Result<u64> {
        let before = self.status()?["generation"]
            .as_u64()
            .context("status has no generation")?;
        let pid = self.dataplane_pid()?;
        let ok = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()?
            .success();
        if !ok {
            bail!("kill -HUP {pid} failed");
        }
        wait_for(Duration::from_secs(5), || {
            let now = self.status()?["generation"].as_u64().unwrap_or(0);
            Ok((now > before).then_some(now))
        })
        .with_context(|| {
            format!(
                "the dataplane did not apply the reload; log:\n{}",
                self.dataplane_log()
            )
        })
    }

    /// Asks the dataplane to reload through its admin socket (`edgelb-dataplane reload`); returns the generation.
    pub fn reload_via_admin(&self) -> Result<u64> {
        let out = Command::new(self.root.join("target/release/edgelb-dataplane"))
            .args(["reload", "--admin-socket"])
            .arg(self.root.join(".lab/dataplane.sock"))
            .output()
            .context("running edgelb-dataplane reload")?;
        if !out.status.success() {
            bail!("edgelb-dataplane reload failed: {}", text(&out.stderr));
        }
        let stdout = text(&out.stdout);
        stdout
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|g| g.parse().ok())
            .with_context(|| format!("unexpected answer {stdout:?}"))
    }

    /// The repository root this lab runs from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Kills the dataplane (SIGKILL, as a crash) and starts it again as `scripts/lab up` does; returns once its
    /// admin socket answers, with the time that took.
    pub fn crash_and_restart_dataplane(&self, config: &Path) -> Result<Duration> {
        let pid = self.dataplane_pid()?;
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()?;
        wait_for(Duration::from_secs(10), || {
            Ok((!pid_alive(pid)).then_some(()))
        })?;
        let sock = self.root.join(".lab/dataplane.sock");
        let _ = std::fs::remove_file(&sock);
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.root.join(".lab/dataplane.log"))?;
        let child = Command::new("ip")
            .args(["netns", "exec", "elb-dp", "setsid"])
            .arg(self.root.join("target/release/edgelb-dataplane"))
            .arg("--config")
            .arg(config)
            .arg("--admin-socket")
            .arg(&sock)
            .current_dir(&self.root)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("restarting the dataplane")?;
        std::fs::write(
            self.root.join(".lab/dataplane.pid"),
            format!("{}\n", child.id()),
        )?;
        let started = Instant::now();
        wait_for(Duration::from_secs(30), || {
            Ok(self.status().ok().map(|_| ()))
        })?;
        Ok(started.elapsed())
    }

    /// The dataplane's pid, from the lab's pid file.
    pub fn dataplane_pid(&self) -> Result<i32> {
        let pid = std::fs::read_to_string(self.root.join(".lab/dataplane.pid"))
            .context("reading .lab/dataplane.pid")?;
        pid.trim().parse().context("pid file")
    }

    /// The dataplane's log so far.
    pub fn dataplane_log(&self) -> String {
        std::fs::read_to_string(self.root.join(".lab/dataplane.log")).unwrap_or_default()
    }

    /// The MAC of interface `dev` in namespace `elb-<ns>`.
    pub fn mac_of(&self, ns: &str, dev: &str) -> Result<String> {
        let out = self.run(ns, &["cat", &format!("/sys/class/net/{dev}/address")])?;
        Ok(out.trim().to_string())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        match self.script(&["down"]) {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "scripts/lab down failed:\n{}{}",
                text(&out.stdout),
                text(&out.stderr)
            ),
            Err(e) => eprintln!("scripts/lab down: {e:#}"),
        }
    }
}

/// A total counter of the status document (0 when absent).
pub fn total(status: &Value, counter: &str) -> u64 {
    status["totals"][counter].as_u64().unwrap_or(0)
}

/// Polls `f` until it returns `Ok(Some(_))` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f()? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("condition not met within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Lossy UTF-8 of a command's output.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether `pid` runs (a zombie waiting for its parent counts as gone).
pub fn pid_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

/// Copies the files of directory `from` into `to` (created; files only, not recursive).
pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}
