//! edgelb-control in the lab: the manifests directory drives what the dataplane serves, edits take effect, a
//! restarted dataplane gets its state back within a second, and traffic goes on without the control process.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use edgelb_e2e::{copy_dir, repo_root, wait_for, Lab};
use serde_json::Value;

fn manifests() -> PathBuf {
    repo_root().join(".lab/manifests-e2e")
}

fn edit(file: &str, from: &str, to: &str) -> Result<()> {
    let path = manifests().join(file);
    let text = std::fs::read_to_string(&path)?;
    ensure!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1))?;
    Ok(())
}

fn curl(lab: &Lab, url: &str) -> Result<String> {
    lab.run("client", &["curl", "-sS", "--max-time", "2", url])
}

fn listener_names(status: &Value) -> Vec<String> {
    status["listeners"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["name"].as_str().map(String::from))
        .collect()
}

#[test]
#[ignore = "needs root and the namespace lab: run scripts/test"]
fn the_manifests_drive_the_dataplane() -> Result<()> {
    copy_dir(&repo_root().join("config/examples/k8s"), &manifests())?;
    let lab = Lab::up_with_env(None, Some(&manifests()), &[])?;

    // The VIPs from the manifests serve: demo-web asks for 198.18.10.11, port 80 → the nodes' NodePort 30080.
    let answer = curl(&lab, "http://198.18.10.11/")?;
    ensure!(answer.contains("port=30080"), "{answer:?}");
    let v6 = curl(&lab, "http://[2001:2:0:10::12]/")?;
    ensure!(
        v6.contains("port=30082"),
        "the dual-stack Service's IPv6 VIP: {v6:?}"
    );

    // Editing a manifest changes what is served.
    let before = lab.status()?["desired_generation"]
        .as_u64()
        .context("no desired generation")?;
    edit("10-demo-web.yaml", "nodePort: 30080", "nodePort: 30082")?;
    wait_for(Duration::from_secs(5), || {
        let out = lab.exec(
            "client",
            &["curl", "-sS", "--max-time", "2", "http://198.18.10.11/"],
        )?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .contains("port=30082")
            .then_some(()))
    })
    .context("the edited NodePort is not served")?;
    ensure!(lab.status()?["desired_generation"].as_u64() > Some(before));

    // Deleting a Service removes its listener.
    ensure!(listener_names(&lab.status()?)
        .iter()
        .any(|n| n.contains("demo-dns")));
    std::fs::remove_file(manifests().join("12-demo-dns.yaml"))?;
    wait_for(Duration::from_secs(5), || {
        Ok((!listener_names(&lab.status()?)
            .iter()
            .any(|n| n.contains("demo-dns")))
        .then_some(()))
    })
    .context("the deleted Service's listener is still there")?;

    // A crashed and restarted dataplane gets the desired state again within a second of answering.
    let config = repo_root().join("config/examples/lab.yaml");
    lab.crash_and_restart_dataplane(&config)?;
    let up = Instant::now();
    wait_for(Duration::from_secs(5), || {
        Ok(lab.status()?["desired_generation"].as_u64().map(|_| ()))
    })?;
    let repushed = up.elapsed();
    ensure!(
        repushed <= Duration::from_secs(1),
        "re-pushed after {repushed:?}"
    );
    let answer = wait_for(Duration::from_secs(5), || {
        let out = lab.exec(
            "client",
            &["curl", "-sS", "--max-time", "1", "http://198.18.10.11/"],
        )?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned()))
    })?;
    ensure!(
        answer.contains("port=30082"),
        "after the restart: {answer:?}"
    );

    // Without the control process, traffic goes on unchanged.
    let pid: i32 = std::fs::read_to_string(repo_root().join(".lab/control.pid"))?
        .trim()
        .parse()?;
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()?;
    std::thread::sleep(Duration::from_millis(500));
    let answer = curl(&lab, "http://198.18.10.11/")?;
    ensure!(answer.contains("port=30082"), "without control: {answer:?}");
    eprintln!("re-pushed {repushed:?} after the dataplane's admin socket answered");
    Ok(())
}
