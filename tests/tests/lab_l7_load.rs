//! L7 under load in the lab, with real clients against the nodes' nginx: 200 keep-alive HTTPS connections for
//! 10 s (wrk), 5,000 TLS connections held open at once on one worker (tests/tools/tls_hold.py), and a backend
//! killed in the middle of a wrk run. Each test is bounded (wrk runs under `timeout`, the Python client has its
//! own deadline) and the lab goes down with the `Lab` value, also when an assertion fails.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use edgelb_e2e::{pid_alive, repo_root, text, total, wait_for, Lab};
use serde_json::Value;

/// The example IngressClass's IPv4 VIP (config/examples/k8s/20-ingress-class.yaml).
const VIP: &str = "198.18.10.20";
/// The host of the example TLS Ingress: the SNI, the Host header, and what nginx echoes back as `host=`.
const HOST: &str = "secure.example.test";
/// Every answer of demo-web through that Ingress contains this (nginx echoes the Host header).
const EXPECT: &str = "host=secure.example.test";

/// This file's scratch directory under .lab/ (configs and the client's ready/go files).
fn scratch() -> Result<PathBuf> {
    let dir = repo_root().join(".lab/l7-load");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn tool(name: &str) -> String {
    repo_root()
        .join("tests/tools")
        .join(name)
        .display()
        .to_string()
}

/// The dataplane's status once its counters have settled: workers publish them every 250 ms, so this waits
/// until two reads 300 ms apart show the same L7 segment and response counts (at most 5 s).
fn quiet_status(lab: &Lab) -> Result<Value> {
    let key = |v: &Value| (total(v, "l7_tcp_segments_in"), total(v, "l7_responses"));
    let mut last = lab.status()?;
    wait_for(Duration::from_secs(5), || {
        std::thread::sleep(Duration::from_millis(300));
        let now = lab.status()?;
        let same = key(&now) == key(&last);
        last = now.clone();
        Ok(same.then_some(now))
    })
    .context("the dataplane's counters did not settle")
}

/// The counters a test compares before and after.
fn counter_delta(before: &Value, after: &Value, name: &str) -> u64 {
    total(after, name).saturating_sub(total(before, name))
}

/// What wrk-report.lua prints at the end of a run (checked mode).
#[derive(Debug)]
struct WrkRun {
    requests: u64,
    socket_errors: u64,
    status_errors: u64,
    ok: u64,
    non_200: u64,
    wrong_body: u64,
    per_node: [u64; 3],
    p50_us: u64,
    p99_us: u64,
    duration_us: u64,
    raw: String,
}

impl WrkRun {
    fn parse(stdout: &str) -> Result<WrkRun> {
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .with_context(|| format!("wrk printed no JSON line:\n{stdout}"))?;
        let v: Value = serde_json::from_str(line).context("wrk-report.lua's JSON")?;
        let n = |path: &[&str]| -> Result<u64> {
            let mut cur = &v;
            for key in path {
                cur = &cur[*key];
            }
            cur.as_u64()
                .with_context(|| format!("{path:?} missing in {line}"))
        };
        let socket_errors = ["connect", "read", "write", "timeout"]
            .iter()
            .map(|k| n(&["errors", k]))
            .sum::<Result<u64>>()?;
        let checked = |k: &str| n(&["checked", k]);
        Ok(WrkRun {
            requests: n(&["requests"])?,
            socket_errors,
            status_errors: n(&["errors", "status"])?,
            ok: checked("ok")?,
            non_200: checked("status_4xx")? + checked("status_5xx")? + checked("status_other")?,
            wrong_body: checked("wrong_body")?,
            per_node: [checked("node1")?, checked("node2")?, checked("node3")?],
            p50_us: n(&["latency_us", "p50"])?,
            p99_us: n(&["latency_us", "p99"])?,
            duration_us: n(&["duration_us"])?,
            raw: line.to_string(),
        })
    }

    fn per_second(&self) -> u64 {
        self.requests * 1_000_000 / self.duration_us.max(1)
    }
}

/// wrk in the client namespace against https://secure.example.test/ at the VIP (SNI and Host = HOST), every
/// answer checked by wrk-report.lua; `extra` goes before the URL. Bounded by `timeout`.
fn wrk_command(connections: u32, seconds: u32, extra: &[&str]) -> Command {
    let mut cmd = Command::new("ip");
    let (c, d) = (format!("-c{connections}"), format!("-d{seconds}s"));
    let limit = (seconds + 20).to_string();
    let script = tool("wrk-report.lua");
    cmd.args(["netns", "exec", "elb-client", "env"])
        .arg(format!("WRK_CONNECT={VIP}"))
        .arg(format!("WRK_EXPECT={EXPECT}"))
        .args([
            "timeout", "-k", "5", &limit, "wrk", "-t2", &c, &d, "-s", &script,
        ])
        .args(extra)
        .arg(format!("https://{HOST}/"));
    cmd
}

fn finish_wrk(out: std::process::Output) -> Result<WrkRun> {
    let stdout = text(&out.stdout);
    ensure!(
        out.status.success(),
        "wrk failed ({}):\n{stdout}{}",
        out.status,
        text(&out.stderr)
    );
    WrkRun::parse(&stdout)
}

/// 200 concurrent keep-alive HTTPS connections for 10 s: no socket error, every answer a 200 from demo-web,
/// and the dataplane counted the connections, handshakes and responses.
#[test]
#[ignore = "needs root and the namespace lab: run scripts/test"]
fn keepalive_https_200_connections_10s() -> Result<()> {
    let lab = Lab::up(&[])?;
    let before = quiet_status(&lab)?;
    let run = finish_wrk(wrk_command(200, 10, &[]).output().context("running wrk")?)?;
    let after = quiet_status(&lab)?;
    eprintln!(
        "keep-alive HTTPS, 200 connections, 10 s: {} requests ({} req/s), p50 {} us, p99 {} us, per node {:?}",
        run.requests,
        run.per_second(),
        run.p50_us,
        run.p99_us,
        run.per_node
    );

    ensure!(run.requests > 0, "wrk completed no request: {}", run.raw);
    ensure!(
        run.socket_errors == 0 && run.status_errors == 0,
        "socket or status errors: {}",
        run.raw
    );
    ensure!(
        run.ok == run.requests && run.non_200 == 0 && run.wrong_body == 0,
        "answers other than demo-web's 200: {}",
        run.raw
    );
    ensure!(
        run.per_node.iter().all(|&n| n > 0),
        "a node answered nothing: {:?}",
        run.per_node
    );
    // The dataplane answered every request wrk completed, and at most one more per connection (the requests in
    // flight when wrk stopped); it accepted exactly wrk's 200 connections, one full handshake each.
    let responses = counter_delta(&before, &after, "l7_responses");
    ensure!(
        (run.requests..=run.requests + 200).contains(&responses),
        "wrk completed {} requests, the dataplane counted {responses} responses",
        run.requests
    );
    ensure!(
        counter_delta(&before, &after, "l7_tcp_accepted") == 200,
        "{after}"
    );
    ensure!(
        counter_delta(&before, &after, "l7_tls_handshakes") == 200,
        "{after}"
    );
    ensure!(
        counter_delta(&before, &after, "l7_answered_5xx") == 0,
        "{after}"
    );
    ensure!(
        counter_delta(&before, &after, "l7_tcp_rst_sent") == 0,
        "{after}"
    );
    Ok(())
}

/// The lab config with one worker lcore (CPU 1) and one queue pair per port, written under .lab/.
fn one_worker_config() -> Result<PathBuf> {
    let base = std::fs::read_to_string(repo_root().join("config/examples/lab.yaml"))?;
    let edits = [
        ("lcores: [1, 2]", "lcores: [1]"),
        ("cpus: {1: 1, 2: 1}", "cpus: {1: 1}"),
        ("qpairs=2", "qpairs=1"),
    ];
    let mut config = base;
    for (from, to) in edits {
        ensure!(
            config.contains(from),
            "config/examples/lab.yaml has no `{from}` to change"
        );
        config = config.replace(from, to);
    }
    let path = scratch()?.join("one-worker.yaml");
    std::fs::write(&path, config)?;
    Ok(path)
}

/// 5,000 TLS connections held open at once on one worker core, then one request on each: all established at
/// the peak (the dataplane counts them), every answer a 200.
#[test]
#[ignore = "needs root and the namespace lab: run scripts/test"]
fn five_thousand_tls_connections_on_one_worker() -> Result<()> {
    const CONNECTIONS: u64 = 5_000;
    let config = one_worker_config()?;
    let lab = Lab::up_with_config(Some(&config), &[])?;
    let workers = lab.status()?["workers"].as_array().map_or(0, Vec::len);
    ensure!(workers == 1, "the dataplane runs {workers} workers, not 1");

    let dir = scratch()?;
    let (ready, go) = (dir.join("hold.ready"), dir.join("hold.go"));
    let _ = std::fs::remove_file(&ready);
    let _ = std::fs::remove_file(&go);
    let before = quiet_status(&lab)?;
    let started = Instant::now();
    let child = Command::new("ip")
        .args(["netns", "exec", "elb-client", "/usr/bin/python3"])
        .arg(tool("tls_hold.py"))
        .args([
            "--vip",
            VIP,
            "--sni",
            HOST,
            "--expect",
            EXPECT,
            "--timeout",
            "90",
        ])
        .args(["--connections", &CONNECTIONS.to_string()])
        .arg("--cafile")
        .arg(repo_root().join(".lab/ca.pem"))
        .arg("--ready-file")
        .arg(&ready)
        .arg("--go-file")
        .arg(&go)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting tests/tools/tls_hold.py")?;
    let child_pid = i32::try_from(child.id())?;

    // The peak: every connection open, no request sent yet.
    let peak = wait_for(Duration::from_secs(60), || {
        if std::fs::metadata(&ready).is_ok() {
            return Ok(Some(()));
        }
        if !pid_alive(child_pid) {
            bail!("tls_hold.py ended before it had its connections open");
        }
        Ok(None)
    })
    .and_then(|()| quiet_status(&lab));
    let held = started.elapsed();
    let _ = std::fs::write(&go, "go\n");
    let out = child
        .wait_with_output()
        .context("waiting for tls_hold.py")?;
    let stdout = text(&out.stdout);
    let peak = peak.with_context(|| format!("tls_hold.py: {stdout}{}", text(&out.stderr)))?;
    let after = quiet_status(&lab)?;
    ensure!(
        out.status.success(),
        "tls_hold.py failed ({}): {stdout}{}",
        out.status,
        text(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).context("tls_hold.py's JSON")?;
    eprintln!("{CONNECTIONS} TLS connections on one worker, all open after {held:?}: {report}");

    let n = |k: &str| report[k].as_u64().unwrap_or(u64::MAX);
    ensure!(
        n("opened") == CONNECTIONS && n("connect_failures") == 0,
        "not every connection opened: {report}"
    );
    // At the peak the dataplane held every one of them: accepted, handshake done, none closed.
    let accepted = counter_delta(&before, &peak, "l7_tcp_accepted");
    let handshakes = counter_delta(&before, &peak, "l7_tls_handshakes");
    let closed = counter_delta(&before, &peak, "l7_tcp_closed");
    ensure!(
        accepted == CONNECTIONS && handshakes == CONNECTIONS && closed == 0,
        "at the peak: accepted {accepted}, handshakes {handshakes}, closed {closed} (want {CONNECTIONS}, {CONNECTIONS}, 0)"
    );
    let open = total(&peak, "l7_tcp_accepted") + total(&peak, "l7_tcp_connected")
        - total(&peak, "l7_tcp_closed");
    ensure!(
        open >= CONNECTIONS,
        "{open} L7 connections open at the peak"
    );
    ensure!(
        total(&peak, "drop_l7_connection_limit") == 0
            && total(&peak, "l7_tcp_syn_dropped_limit") == 0,
        "{peak}"
    );

    // Then one request on each: every answer a 200 from demo-web, counted by the dataplane.
    ensure!(
        n("ok") == CONNECTIONS && n("request_error_count") == 0 && n("bad_answer_count") == 0,
        "requests on the held connections: {report}"
    );
    ensure!(
        counter_delta(&before, &after, "l7_responses") == CONNECTIONS,
        "{after}"
    );
    ensure!(
        counter_delta(&before, &after, "l7_answered_5xx") == 0,
        "{after}"
    );
    Ok(())
}

/// The pids of the nginx processes (master and workers) in namespace `elb-<node>`.
fn nginx_pids(node: &str) -> Result<Vec<i32>> {
    let out = Command::new("ip")
        .args(["netns", "pids", &format!("elb-{node}")])
        .output()?;
    Ok(text(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "nginx")
        })
        .collect())
}

/// Kills node `node`'s nginx with SIGKILL, as a crash: the master first (from its pid file), so that it cannot
/// start a new worker when its worker dies, then every nginx left in the node's namespace.
fn kill_nginx(lab: &Lab, node: &str) -> Result<()> {
    let path = lab.root().join(format!(".lab/{node}/nginx.pid"));
    let master = std::fs::read_to_string(&path).with_context(|| format!("reading {path:?}"))?;
    let master: i32 = master.trim().parse().context("nginx pid file")?;
    let workers = nginx_pids(node)?;
    ensure!(
        workers.contains(&master) && workers.len() >= 2,
        "{node}: nginx master {master} and its workers are not all there: {workers:?}"
    );
    let kill = |pid: i32| {
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
    };
    kill(master)?;
    wait_for(Duration::from_secs(5), || {
        Ok((!pid_alive(master)).then_some(()))
    })?;
    for pid in workers {
        kill(pid)?;
    }
    wait_for(Duration::from_secs(5), || {
        Ok(nginx_pids(node)?
            .iter()
            .all(|&p| !pid_alive(p))
            .then_some(()))
    })
    .with_context(|| format!("{node}'s nginx survived SIGKILL"))
}

/// node2's nginx killed (SIGKILL, master and workers) 2 s into a 6 s wrk run: no client socket error, only a
/// tiny fraction of answers other than 200, the dataplane saw the failures, and afterwards every request is
/// served by node1 or node3.
#[test]
#[ignore = "needs root and the namespace lab: run scripts/test"]
fn backend_killed_mid_load() -> Result<()> {
    let lab = Lab::up(&[])?;
    let before = quiet_status(&lab)?;
    let wrk = wrk_command(100, 6, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting wrk")?;
    std::thread::sleep(Duration::from_secs(2));
    let killed = kill_nginx(&lab, "node2");
    let killed_at = Instant::now();
    let output = wrk.wait_with_output().context("waiting for wrk")?;
    let load_after_kill = killed_at.elapsed();
    killed?;
    let run = finish_wrk(output)?;
    let mid = quiet_status(&lab)?;
    eprintln!(
        "node2 killed at 2 s of 6 s: {} requests ({} req/s), {} not 200, per node {:?}, p99 {} us; \
         upstream connect failures {}, retries {}, 5xx answered {}",
        run.requests,
        run.per_second(),
        run.non_200,
        run.per_node,
        run.p99_us,
        counter_delta(&before, &mid, "l7_upstream_connect_failures"),
        counter_delta(&before, &mid, "l7_retries"),
        counter_delta(&before, &mid, "l7_answered_5xx"),
    );

    ensure!(run.requests > 0, "{}", run.raw);
    ensure!(run.socket_errors == 0, "client socket errors: {}", run.raw);
    ensure!(
        run.per_node[1] > 0,
        "node2 served nothing before it was killed: {:?}",
        run.per_node
    );
    // Only the requests in flight on node2's connections may fail: a tiny fraction (at most 1 in 1,000).
    ensure!(
        run.non_200 * 1000 <= run.requests,
        "{} of {} answers were not 200: {}",
        run.non_200,
        run.requests,
        run.raw
    );
    ensure!(
        run.ok + run.non_200 == run.requests && run.wrong_body == 0,
        "{}",
        run.raw
    );
    ensure!(
        counter_delta(&before, &mid, "l7_upstream_connect_failures")
            + counter_delta(&before, &mid, "l7_retries")
            > 0,
        "the dataplane saw no failed upstream connection and retried nothing: {mid}"
    );

    ensure!(
        load_after_kill >= Duration::from_secs(2),
        "wrk ran only {load_after_kill:?} after the kill"
    );

    // After the kill, every request is answered by a live node.
    let resolve = format!("{HOST}:443:{VIP}");
    let ca = repo_root().join(".lab/ca.pem").display().to_string();
    let url = format!("https://{HOST}/after-kill");
    for i in 0..30 {
        let body = lab.run(
            "client",
            &[
                "curl",
                "-sS",
                "--fail",
                "--max-time",
                "3",
                "--cacert",
                &ca,
                "--resolve",
                &resolve,
                &url,
            ],
        )?;
        ensure!(
            (body.starts_with("node=node1 ") || body.starts_with("node=node3 "))
                && body.contains(EXPECT)
                && body.contains("path=/after-kill"),
            "request {i} after the kill: {body:?}"
        );
    }
    let after = quiet_status(&lab)?;
    let (responses, answered_5xx) = (
        counter_delta(&mid, &after, "l7_responses"),
        counter_delta(&mid, &after, "l7_answered_5xx"),
    );
    ensure!(
        responses == 30 && answered_5xx == 0,
        "after the kill: {responses} responses and {answered_5xx} 5xx counted for 30 requests"
    );
    Ok(())
}
