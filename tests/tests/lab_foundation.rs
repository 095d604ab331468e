//! The foundation, end to end: the DPDK dataplane answers on the wire in the namespace lab.
//!
//! One lab for the whole scenario (bringing it up takes seconds); each step is a function named after what it shows.
//! Runs as root through `scripts/test` (`--ignored --test-threads=1`).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use edgelb_e2e::{pid_alive as alive, repo_root, total, wait_for, Lab};
use serde_json::Value;

#[test]
#[ignore = "needs root and the namespace lab: run scripts/test"]
fn foundation_in_the_lab() -> Result<()> {
    let lab = Lab::up(&[])?;
    let status = lab.status()?;
    let client_mac = port_mac(&status, "client")?;
    let nodes_mac = port_mac(&status, "nodes")?;

    pings_are_answered_by_the_dataplane(&lab)?;
    arp_and_nd_see_the_appliance_mac(&lab, &client_mac)?;
    nodes_are_answered_and_learned(&lab, &nodes_mac)?;
    malformed_frames_are_dropped_by_reason(&lab, &client_mac)?;
    sigterm_stops_cleanly(&lab)?;
    Ok(())
}

fn port_mac(status: &Value, name: &str) -> Result<String> {
    let ports = status["ports"].as_array().context("status has no ports")?;
    let port = ports
        .iter()
        .find(|p| p["name"] == name)
        .with_context(|| format!("no port {name}"))?;
    Ok(port["mac"].as_str().context("port mac")?.to_lowercase())
}

fn pings_are_answered_by_the_dataplane(lab: &Lab) -> Result<()> {
    let before = lab.status()?;
    for target in ["198.18.0.1", "198.18.10.10"] {
        lab.run(
            "client",
            &["ping", "-c", "3", "-i", "0.2", "-W", "2", target],
        )?;
    }
    for target in ["2001:2::1", "2001:2:0:10::10"] {
        lab.run(
            "client",
            &["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", target],
        )?;
    }
    // The dataplane republishes its counters every 250 ms.
    let after = wait_for(Duration::from_secs(3), || {
        let s = lab.status()?;
        let v4 = total(&s, "icmp_echo_replies") - total(&before, "icmp_echo_replies");
        let v6 = total(&s, "icmpv6_echo_replies") - total(&before, "icmpv6_echo_replies");
        Ok((v4 >= 6 && v6 >= 6).then_some(s))
    })
    .context("the dataplane's echo counters did not show the 6 + 6 requests")?;
    ensure!(total(&after, "icmp_echo_replies") >= 6);
    Ok(())
}

fn arp_and_nd_see_the_appliance_mac(lab: &Lab, mac: &str) -> Result<()> {
    for target in ["198.18.0.1", "198.18.10.10"] {
        let out = lab.run(
            "client",
            &["arping", "-c", "2", "-w", "5", "-I", "eth0", target],
        )?;
        ensure!(
            out.to_lowercase().contains(mac),
            "arping {target} did not see {mac}:\n{out}"
        );
    }
    for target in ["2001:2::1", "2001:2:0:10::10"] {
        let out = lab.run(
            "client",
            &["ndisc6", "-1", "-r", "3", "-w", "1000", target, "eth0"],
        )?;
        ensure!(
            out.to_lowercase().contains(mac),
            "ndisc6 {target} did not see {mac}:\n{out}"
        );
    }
    Ok(())
}

fn nodes_are_answered_and_learned(lab: &Lab, nodes_mac: &str) -> Result<()> {
    for n in 1..=3 {
        let node = format!("node{n}");
        lab.run(
            &node,
            &["ping", "-c", "2", "-i", "0.2", "-W", "2", "198.19.0.1"],
        )?;
        lab.run(
            &node,
            &[
                "ping",
                "-6",
                "-c",
                "2",
                "-i",
                "0.2",
                "-W",
                "2",
                "2001:2:0:1::1",
            ],
        )?;
        let neigh = lab.run(&node, &["ip", "neigh", "show", "198.19.0.1"])?;
        ensure!(
            neigh.to_lowercase().contains(nodes_mac),
            "{node} resolved 198.19.0.1 to something else: {neigh}"
        );
    }
    for n in 1..=3 {
        let mac = lab.mac_of(&format!("node{n}"), "eth0")?;
        for ip in [format!("198.19.0.1{n}"), format!("2001:2:0:1::1{n}")] {
            wait_for(Duration::from_secs(3), || {
                let s = lab.status()?;
                let learned = s["neighbours"].as_array().into_iter().flatten().any(|e| {
                    e["ip"] == ip.as_str()
                        && e["mac"]
                            .as_str()
                            .is_some_and(|m| m.eq_ignore_ascii_case(&mac))
                });
                Ok(learned.then_some(()))
            })
            .with_context(|| format!("the status dump does not show {ip} at {mac}"))?;
        }
    }
    Ok(())
}

/// Each kind of malformed frame `tests/tools/malformed.py` sends, and the drop counter it must land in. (A frame
/// shorter than the Ethernet header cannot leave a Linux packet socket; the engine's golden tests cover it.)
const MALFORMED: &[(&str, &str)] = &[
    ("eth_header_only", "drop_ipv4_truncated"),
    ("arp_bad_hlen", "drop_arp_bad_hardware"),
    ("arp_bad_plen", "drop_arp_bad_protocol"),
    ("arp_truncated", "drop_arp_truncated"),
    ("ipv4_ihl_4", "drop_ipv4_ihl_too_small"),
    (
        "ipv4_total_length_beyond_frame",
        "drop_ipv4_total_length_beyond_frame",
    ),
    ("ipv4_truncated_header", "drop_ipv4_truncated"),
    ("ipv4_bad_header_checksum", "drop_ipv4_bad_checksum"),
    ("icmp_short_header", "drop_icmp_truncated"),
    ("icmp_bad_checksum", "drop_icmp_bad_checksum"),
    (
        "ipv6_payload_length_beyond_frame",
        "drop_ipv6_payload_beyond_frame",
    ),
    ("icmpv6_truncated", "drop_icmpv6_truncated"),
    ("ndp_ns_hop_limit_64", "drop_nd_bad_hop_limit"),
    ("vlan_tagged_icmp", "drop_vlan_mismatch"),
    ("vlan_tagged_arp", "drop_vlan_mismatch"),
];

fn malformed_frames_are_dropped_by_reason(lab: &Lab, mac: &str) -> Result<()> {
    const COUNT: u64 = 3;
    let before = lab.status()?;
    let tool = repo_root().join("tests/tools/malformed.py");
    let tool = tool.to_str().context("path")?;
    let kinds: Vec<&str> = MALFORMED.iter().map(|(k, _)| *k).collect();
    let out = lab.run(
        "client",
        &[
            "/usr/bin/python3",
            tool,
            "--dst-mac",
            mac,
            "--count",
            &COUNT.to_string(),
            "--kinds",
            &kinds.join(","),
        ],
    )?;
    let sent: Value =
        serde_json::from_str(out.lines().last().unwrap_or("{}")).context("malformed.py summary")?;
    let mut expected: BTreeMap<&str, u64> = BTreeMap::new();
    for (kind, counter) in MALFORMED {
        ensure!(
            sent[kind].as_u64() == Some(COUNT),
            "malformed.py did not send {COUNT} × {kind}: {out}"
        );
        *expected.entry(counter).or_default() += COUNT;
    }
    let moved = |s: &Value, counter: &str| total(s, counter) - total(&before, counter);
    let settled = wait_for(Duration::from_secs(3), || {
        let s = lab.status()?;
        Ok(expected
            .iter()
            .all(|(c, n)| moved(&s, c) >= *n)
            .then_some(s))
    });
    let after = lab.status()?;
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(c, n)| moved(&after, c) != **n)
        .map(|(c, n)| format!("{c}: expected +{n}, got +{}", moved(&after, c)))
        .collect();
    ensure!(
        settled.is_ok() && wrong.is_empty(),
        "drop counters did not move as expected:\n{}",
        wrong.join("\n")
    );
    ensure!(after["pid"] == before["pid"], "the dataplane restarted");
    // And it keeps answering.
    lab.run(
        "client",
        &["ping", "-c", "2", "-i", "0.2", "-W", "2", "198.18.0.1"],
    )?;
    Ok(())
}

fn sigterm_stops_cleanly(lab: &Lab) -> Result<()> {
    let pid = lab.dataplane_pid()?;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    ensure!(status.success(), "kill -TERM {pid} failed");
    wait_for(Duration::from_secs(15), || Ok((!alive(pid)).then_some(())))
        .context("the dataplane did not exit within 15 s of SIGTERM")?;
    let log = lab.dataplane_log();
    ensure!(
        log.contains("COUNTERS"),
        "no final counters in the log:\n{log}"
    );
    ensure!(log.contains("stopped"), "no clean stop in the log:\n{log}");
    ensure!(
        !std::path::Path::new("/var/run/dpdk/edgelb-lab").exists(),
        "DPDK runtime files left behind"
    );
    Ok(())
}
