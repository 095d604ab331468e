//! L4 balancing end to end: Maglev FullNAT through the DPDK dataplane, with real curl, socat and nginx.
//!
//! Runs as root through `scripts/test` (`--ignored --test-threads=1`). The pool-change scenario runs the appliance
//! with its own copy of the lab config (in `.lab/`), edits it and reloads with SIGHUP, as an operator would.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use edgelb_e2e::{repo_root, text, total, wait_for, Lab};
use serde_json::Value;

const VIP: &str = "198.18.10.10";
const VIP6: &str = "2001:2:0:10::10";

/// Counts answers per node from lines like `node=node2 port=80 ...` or `node2`.
fn per_node(lines: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in lines.lines() {
        let node = line
            .trim()
            .trim_start_matches("node=")
            .split_whitespace()
            .next()
            .unwrap_or("");
        if node.starts_with("node") {
            *counts.entry(node.to_string()).or_default() += 1;
        }
    }
    counts
}

/// `n` HTTP requests, each on a new TCP connection (new source port), from the client to `url`.
fn curl_new_connections(lab: &Lab, url: &str, n: usize) -> Result<String> {
    let list = lab.root().join(".lab/curl-urls.txt");
    std::fs::write(&list, format!("url = \"{url}\"\n").repeat(n))?;
    let list = list.to_str().context("path")?.to_string();
    lab.run(
        "client",
        &[
            "curl",
            "--silent",
            "--show-error",
            "--max-time",
            "60",
            "-H",
            "Connection: close",
            "--config",
            &list,
        ],
    )
}

#[test]
#[ignore = "needs root and the namespace lab: run scripts/test"]
fn l4_balancing_in_the_lab() -> Result<()> {
    let lab = Lab::up(&[])?;
    new_connections_spread_over_the_nodes(&lab)?;
    udp_and_ipv6_vips_work(&lab)?;
    Ok(())
}

fn new_connections_spread_over_the_nodes(lab: &Lab) -> Result<()> {
    let out = curl_new_connections(lab, &format!("http://{VIP}/"), 600)?;
    let counts = per_node(&out);
    ensure!(
        counts.values().sum::<usize>() == 600,
        "not 600 answers: {counts:?}"
    );
    for node in ["node1", "node2", "node3"] {
        let share = *counts.get(node).unwrap_or(&0) as f64 / 600.0;
        ensure!(
            (share - 1.0 / 3.0).abs() <= 0.08,
            "{node} got {:.1} % of 600 connections: {counts:?}",
            share * 100.0
        );
    }
    // Workers republish their counters every 250 ms.
    let mut seen = 0;
    wait_for(Duration::from_secs(3), || {
        seen = total(&lab.status()?, "l4_new_flows");
        Ok((seen >= 600).then_some(()))
    })
    .with_context(|| {
        let status = lab
            .status()
            .map(|s| s["totals"].to_string())
            .unwrap_or_default();
        format!("the dataplane counted {seen} new flows, not 600; totals: {status}")
    })?;
    Ok(())
}

fn udp_and_ipv6_vips_work(lab: &Lab) -> Result<()> {
    let mut answers = String::new();
    for i in 0..30 {
        // A new socat each time: a new source port, a new flow.
        let out = lab.run(
            "client",
            &[
                "sh",
                "-c",
                &format!("echo ping{i} | socat -T2 - UDP4:{VIP}:53"),
            ],
        );
        let out = match out {
            Ok(o) => o,
            Err(e) => anyhow::bail!("UDP datagram {i} to {VIP}:53 got no answer: {e:#}"),
        };
        answers.push_str(&out);
    }
    let udp = per_node(&answers);
    ensure!(
        udp.values().sum::<usize>() == 30 && udp.len() >= 2,
        "UDP answers: {udp:?}\n{answers}"
    );

    let out = curl_new_connections(lab, &format!("http://[{VIP6}]/"), 60)?;
    let v6 = per_node(&out);
    ensure!(
        v6.values().sum::<usize>() == 60 && v6.len() == 3,
        "IPv6 answers: {v6:?}"
    );
    let line = lab.run(
        "client",
        &[
            "curl",
            "-sS",
            "--max-time",
            "5",
            &format!("http://[{VIP6}]/some/path"),
        ],
    )?;
    ensure!(
        line.contains("port=80") && line.contains("path=/some/path"),
        "unexpected answer {line:?}"
    );
    Ok(())
}

/// The lab config with the `nodes-http` pool's backends replaced by `backends` (YAML flow mappings).
fn lab_config_with_http_pool(backends: &[&str]) -> Result<String> {
    let text = std::fs::read_to_string(repo_root().join("config/examples/lab.yaml"))?;
    let start = text
        .find("  - name: nodes-http\n")
        .context("lab.yaml has no nodes-http pool")?;
    let body = start + "  - name: nodes-http\n".len();
    let end = text[body..]
        .find("  - name:")
        .map(|i| body + i)
        .context("nodes-http is not followed by a pool")?;
    let mut pool = String::from("    backends:\n");
    for b in backends {
        pool.push_str(&format!("      - {b}\n"));
    }
    Ok(format!("{}{}{}", &text[..body], pool, &text[end..]))
}

fn backend(n: u8, state: &str) -> String {
    format!("{{ address: 198.19.0.1{n}, port: 80, weight: 1, state: {state} }}")
}

#[test]
#[ignore = "needs root and the namespace lab: run scripts/test"]
fn established_flows_survive_pool_changes() -> Result<()> {
    let config: PathBuf = repo_root().join(".lab/l4-pool-changes.yaml");
    std::fs::create_dir_all(repo_root().join(".lab"))?;
    let write = |backends: &[String]| -> Result<()> {
        let refs: Vec<&str> = backends.iter().map(String::as_str).collect();
        std::fs::write(&config, lab_config_with_http_pool(&refs)?)?;
        Ok(())
    };
    write(&[backend(1, "active"), backend(2, "active")])?;
    let lab = Lab::up_with_config(Some(&config), &[])?;

    // Long-lived keep-alive connections, spread over node1 and node2.
    let ready = repo_root().join(".lab/longlived.ready");
    let _ = std::fs::remove_file(&ready);
    let tool = repo_root().join("tests/tools/longlived.py");
    let child = Command::new("ip")
        .args(["netns", "exec", "elb-client", "/usr/bin/python3"])
        .arg(&tool)
        .args([
            "--vip",
            VIP,
            "--connections",
            "12",
            "--interval",
            "0.2",
            "--duration",
            "14",
            "--ready-file",
        ])
        .arg(&ready)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting tests/tools/longlived.py")?;
    wait_for(Duration::from_secs(10), || Ok(ready.exists().then_some(())))
        .context("the long-lived connections did not all get a first answer")?;

    // Add node3 (SIGHUP), then drain node1 (the admin socket's reload): nothing established moves.
    write(&[
        backend(1, "active"),
        backend(2, "active"),
        backend(3, "active"),
    ])?;
    lab.reload()?;
    std::thread::sleep(Duration::from_secs(1));
    write(&[
        backend(1, "draining"),
        backend(2, "active"),
        backend(3, "active"),
    ])?;
    lab.reload_via_admin()?;
    let out = curl_new_connections(&lab, &format!("http://{VIP}/"), 90)?;
    let fresh = per_node(&out);
    ensure!(
        fresh.values().sum::<usize>() == 90,
        "new connections failed: {fresh:?}"
    );
    ensure!(
        !fresh.contains_key("node1"),
        "a new connection reached the draining node1: {fresh:?}"
    );
    ensure!(
        fresh.contains_key("node3"),
        "the added node3 got no new connection: {fresh:?}"
    );

    // Remove node2: its connections are reset, the others go on.
    std::thread::sleep(Duration::from_secs(1));
    write(&[backend(1, "draining"), backend(3, "active")])?;
    lab.reload()?;

    let out = child.wait_with_output()?;
    ensure!(
        out.status.success(),
        "longlived.py failed: {}",
        text(&out.stderr)
    );
    let conns: Vec<Value> = serde_json::from_slice(&out.stdout).context("longlived.py output")?;
    let mut on = BTreeMap::<String, usize>::new();
    for c in &conns {
        let nodes: Vec<&str> = c["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        ensure!(nodes.len() == 1, "a connection changed node: {c}");
        *on.entry(nodes[0].to_string()).or_default() += 1;
        let reset = c["error"]
            .as_str()
            .is_some_and(|e| e.contains("Reset") || e.contains("closed"));
        match nodes[0] {
            "node2" => ensure!(
                reset,
                "a connection on the removed node2 was not reset: {c}"
            ),
            _ => ensure!(
                c["error"].is_null(),
                "a connection on {} broke: {c}",
                nodes[0]
            ),
        }
    }
    ensure!(
        on.contains_key("node1") && on.contains_key("node2"),
        "the 12 connections did not use both nodes: {on:?}"
    );
    let status = lab.status()?;
    ensure!(
        total(&status, "l4_rst_sent") >= 2 * on["node2"] as u64,
        "RSTs sent: {}",
        total(&status, "l4_rst_sent")
    );
    Ok(())
}

#[test]
#[ignore = "needs root and the namespace lab: run scripts/test"]
fn a_bad_reload_is_refused_and_the_running_config_stays() -> Result<()> {
    let config: PathBuf = repo_root().join(".lab/l4-bad-reload.yaml");
    std::fs::create_dir_all(repo_root().join(".lab"))?;
    std::fs::write(
        &config,
        lab_config_with_http_pool(&[&backend(1, "active")])?,
    )?;
    let lab = Lab::up_with_config(Some(&config), &[])?;
    // A pool whose backend is of the wrong family for its IPv4 listener.
    std::fs::write(
        &config,
        lab_config_with_http_pool(&["{ address: \"2001:2:0:1::11\", port: 80 }"])?,
    )?;
    let Err(err) = lab.reload_via_admin() else {
        anyhow::bail!("the reload of a bad config was applied");
    };
    let msg = format!("{err:#}");
    ensure!(
        msg.contains("l4-bad-reload.yaml") && msg.contains("nodes-http"),
        "the refusal does not say where: {msg}"
    );
    let out = curl_new_connections(&lab, &format!("http://{VIP}/"), 5)?;
    ensure!(
        per_node(&out).get("node1") == Some(&5),
        "the running config changed: {out}"
    );
    Ok(())
}
