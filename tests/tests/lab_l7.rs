//! L7 in the lab: the example Ingresses served by the dataplane's worker cores with real clients (curl, openssl)
//! against real backends (the nodes' nginx). TLS is terminated with the lab CA's certificates (`.lab/ca.pem`),
//! requests are routed by host and path as Kubernetes Ingress defines it, and edgelb answers what nothing matches.

use anyhow::{ensure, Context, Result};
use edgelb_e2e::{repo_root, total, Lab};

/// The example IngressClass's VIPs (config/examples/k8s/20-ingress-class.yaml).
const VIP: &str = "198.18.10.20";
const VIP6: &str = "2001:2:0:10::20";

fn ca() -> String {
    repo_root().join(".lab/ca.pem").display().to_string()
}

/// `curl` from the client: HTTPS to `host` at the VIP (SNI and Host = host), or plain HTTP with a Host header.
fn https(lab: &Lab, host: &str, path: &str) -> Result<String> {
    let resolve = format!("{host}:443:{VIP}");
    let url = format!("https://{host}{path}");
    lab.run(
        "client",
        &[
            "curl",
            "-sS",
            "--max-time",
            "3",
            "--cacert",
            &ca(),
            "--resolve",
            &resolve,
            &url,
        ],
    )
}

fn http(lab: &Lab, host: &str, path: &str) -> Result<(u16, String)> {
    let url = format!("http://{VIP}{path}");
    let header = format!("Host: {host}");
    let out = lab.run(
        "client",
        &[
            "curl",
            "-sS",
            "--max-time",
            "3",
            "-H",
            &header,
            "-w",
            "\n%{http_code}",
            &url,
        ],
    )?;
    let (body, code) = out.trim_end().rsplit_once('\n').unwrap_or(("", out.trim()));
    Ok((
        code.parse().context("curl's status code")?,
        body.to_string(),
    ))
}

/// The subject and the negotiated protocol of a handshake with `openssl s_client`, SNI `sni` (None: no SNI).
fn handshake(lab: &Lab, sni: Option<&str>, version: &str) -> Result<(bool, String)> {
    let connect = format!("{VIP}:443");
    let ca = ca();
    let mut cmd = vec![
        "timeout", "5", "openssl", "s_client", "-connect", &connect, "-CAfile", &ca, version,
        "-brief",
    ];
    match sni {
        Some(name) => cmd.extend(["-servername", name]),
        None => cmd.push("-noservername"),
    }
    let out = lab.exec("client", &cmd)?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((text.contains("CONNECTION ESTABLISHED"), text))
}

#[test]
#[ignore = "needs root and the namespace lab: run scripts/test"]
fn ingress_hosts_paths_and_certificates() -> Result<()> {
    let lab = Lab::up(&[])?;

    // HTTPS with the host's own certificate (curl verifies it against the lab CA and the name), routed by host.
    let answer = https(&lab, "secure.example.test", "/some/page?q=1")?;
    ensure!(
        answer.contains("port=30080")
            && answer.contains("host=secure.example.test")
            && answer.contains("path=/some/page")
            && answer.contains("xff=198.18.0.2")
            && answer.contains("proto=https"),
        "{answer:?}"
    );

    // openssl: TLS 1.3 by default, TLS 1.2 when asked, TLS 1.1 and 1.0 refused.
    let (ok, text) = handshake(&lab, Some("secure.example.test"), "-tls1_3")?;
    ensure!(ok && text.contains("TLSv1.3"), "TLS 1.3: {text}");
    ensure!(
        text.contains("CN = secure.example.test") || text.contains("CN=secure.example.test"),
        "{text}"
    );
    let (ok, text) = handshake(&lab, Some("secure.example.test"), "-tls1_2")?;
    ensure!(ok && text.contains("TLSv1.2"), "TLS 1.2: {text}");
    for old in ["-tls1_1", "-tls1"] {
        let (ok, text) = handshake(&lab, Some("secure.example.test"), old)?;
        ensure!(!ok, "{old} was accepted: {text}");
    }
    // An unknown SNI, and none at all, get the default certificate.
    for sni in [Some("unknown.example.test"), None] {
        let (ok, text) = handshake(&lab, sni, "-tls1_3")?;
        ensure!(
            ok && text.contains("default.example.test"),
            "SNI {sni:?}: {text}"
        );
    }

    // Plain HTTP on port 80 routes the same way: path fan-out, Exact, wildcard hosts.
    let (code, body) = http(&lab, "demo.example.test", "/dual/x")?;
    ensure!(
        code == 200 && body.contains("port=30082") && body.contains("proto=http"),
        "{body:?}"
    );
    let (code, body) = http(&lab, "demo.example.test", "/whoami")?;
    ensure!(code == 200 && body.starts_with("node"), "{body:?}");
    let (code, body) = http(&lab, "DEMO.example.test:80", "/elsewhere")?;
    ensure!(code == 200 && body.contains("port=30080"), "{body:?}");
    let (code, body) = http(&lab, "x.apps.example.test", "/")?;
    ensure!(
        code == 200 && body.contains("port=30080"),
        "wildcard: {body:?}"
    );
    let (code, body) = http(&lab, "dual.example.test", "/")?;
    ensure!(code == 200 && body.contains("port=30082"), "{body:?}");
    // A wildcard is one label only; an unknown host is edgelb's 404.
    let (code, body) = http(&lab, "a.b.apps.example.test", "/")?;
    ensure!(code == 404 && body.contains("edgelb"), "{code} {body:?}");
    let (code, _) = http(&lab, "nobody.example.test", "/")?;
    ensure!(code == 404, "unknown host: {code}");

    // The IPv6 VIP serves the same site.
    let url = format!("http://[{VIP6}]/dual/");
    let body = lab.run(
        "client",
        &[
            "curl",
            "-sS",
            "--max-time",
            "3",
            "-H",
            "Host: demo.example.test",
            &url,
        ],
    )?;
    ensure!(body.contains("port=30082"), "IPv6: {body:?}");

    let status = lab.status()?;
    ensure!(total(&status, "l7_requests") >= 8, "{status}");
    ensure!(total(&status, "l7_tls_handshakes") >= 4, "{status}");
    Ok(())
}
