//! The dataplane's admin API takes whole desired states (what edgelb-control pushes): applied atomically on top of
//! the config file, or refused whole with the reason while the running state stays.

use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use edgelb_e2e::{repo_root, text, wait_for, Lab};

const STATE: &str = r#"{"version":1,"generation":41,"source":"e2e",
  "pools":[{"name":"svc-default-demo-80-tcp","backends":[
    {"address":"198.19.0.12","port":30081},{"address":"198.19.0.13","port":30081}]}],
  "listeners":[{"name":"svc-default-demo-80-tcp","vip":"198.18.10.11","port":80,"protocol":"tcp",
    "pool":"svc-default-demo-80-tcp"}]}"#;

fn apply(lab: &Lab, json: &str) -> Result<std::process::Output> {
    let file = lab.root().join(".lab/desired-e2e.json");
    std::fs::write(&file, json)?;
    Command::new(repo_root().join("target/release/edgelb-dataplane"))
        .arg("apply")
        .arg(&file)
        .arg("--admin-socket")
        .arg(lab.root().join(".lab/dataplane.sock"))
        .output()
        .context("running edgelb-dataplane apply")
}

#[test]
#[ignore = "needs root and the namespace lab: run scripts/test"]
fn a_pushed_desired_state_serves_and_a_bad_one_is_refused() -> Result<()> {
    // Without the lab's control process, which would push its own desired state over ours.
    let lab = Lab::up(&["--no-control"])?;
    let out = apply(&lab, STATE)?;
    ensure!(out.status.success(), "apply failed: {}", text(&out.stderr));
    ensure!(
        text(&out.stdout).contains("desired state generation 41"),
        "{}",
        text(&out.stdout)
    );

    // The new VIP answers ARP and serves from node2/node3 on 30081; the file's own listener goes on.
    let answers = wait_for(Duration::from_secs(5), || {
        let out = lab.exec(
            "client",
            &["curl", "-sS", "--max-time", "2", "http://198.18.10.11/x"],
        )?;
        Ok(out.status.success().then(|| text(&out.stdout)))
    })?;
    ensure!(
        answers.contains("port=30081") && !answers.contains("node1"),
        "unexpected answer {answers:?}"
    );
    let file_listener = lab.run(
        "client",
        &["curl", "-sS", "--max-time", "2", "http://198.18.10.10/"],
    )?;
    ensure!(
        file_listener.contains("port=80"),
        "the file's listener broke: {file_listener:?}"
    );
    let status = lab.status()?;
    ensure!(
        status["desired_generation"] == 41,
        "status: {}",
        status["desired_generation"]
    );

    // A state whose listener sits on a port address is refused whole; the running one stays.
    let bad = STATE
        .replace("198.18.10.11", "198.18.0.1")
        .replace("\"generation\":41", "\"generation\":42");
    let out = apply(&lab, &bad)?;
    ensure!(!out.status.success(), "a bad desired state was applied");
    let err = text(&out.stderr);
    ensure!(
        err.contains("desired state generation 42 (from e2e)") && err.contains("is a port address"),
        "the refusal does not say what and where: {err}"
    );
    ensure!(
        lab.status()?["desired_generation"] == 41,
        "the running state changed"
    );
    let still = lab.run(
        "client",
        &["curl", "-sS", "--max-time", "2", "http://198.18.10.11/x"],
    )?;
    ensure!(
        still.contains("port=30081"),
        "the running desired state stopped serving: {still:?}"
    );
    Ok(())
}
