//! L7 in the lab: the example Ingresses served by the dataplane's worker cores with real clients (curl, openssl)
//! against real backends (the nodes' nginx). TLS is terminated with the lab CA's certificates (`.lab/ca.pem`),
//! requests are routed by host and path as Kubernetes Ingress defines it, and edgelb answers what nothing matches.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use edgelb_e2e::{copy_dir, repo_root, total, wait_for, Lab};

/// The example IngressClass's VIPs (config/examples/k8s/20-ingress-class.yaml).
const VIP: &str = "198.18.10.20";
const VIP6: &str = "2001:2:0:10::20";

/// The test's own copy of config/examples/k8s, which it edits.
fn manifests() -> PathBuf {
    repo_root().join(".lab/manifests-l7")
}

fn ca() -> String {
    repo_root().join(".lab/ca.pem").display().to_string()
}

/// `curl` from the client: HTTPS to `host` at the VIP (SNI and Host = host), or plain HTTP with a Host header.
fn https(lab: &Lab, host: &str, path: &str) -> Result<String> {
    https_at(lab, VIP, host, path)
}

/// [`https`] to `vip`.
fn https_at(lab: &Lab, vip: &str, host: &str, path: &str) -> Result<String> {
    let resolve = format!("{host}:443:{vip}");
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
    http_at(lab, VIP, host, path)
}

/// [`http`] to `vip`: the status code and the body.
fn http_at(lab: &Lab, vip: &str, host: &str, path: &str) -> Result<(u16, String)> {
    let url = format!("http://{vip}{path}");
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
    copy_dir(&repo_root().join("config/examples/k8s"), &manifests())?;
    let lab = Lab::up_with_env(None, Some(&manifests()), &[])?;

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
    // Hosts that match no rule go to the default backend (demo-tls's defaultBackend: demo-web)...
    let (code, body) = http(&lab, "nobody.example.test", "/")?;
    ensure!(
        code == 200 && body.contains("port=30080"),
        "default backend: {code} {body:?}"
    );
    let (code, body) = http(&lab, "a.b.apps.example.test", "/")?;
    ensure!(
        code == 200 && body.contains("port=30080"),
        "two labels, default backend: {code} {body:?}"
    );
    // ... and without one they get edgelb's 404 (a wildcard is one label only).
    let path = manifests().join("21-ingresses.yaml");
    let text = std::fs::read_to_string(&path)?;
    let cut = "  defaultBackend:\n    service: { name: demo-web, port: { number: 80 } }\n";
    ensure!(
        text.contains(cut),
        "21-ingresses.yaml has no default backend to remove"
    );
    std::fs::write(&path, text.replacen(cut, "", 1))?;
    wait_for(Duration::from_secs(5), || {
        Ok((http(&lab, "nobody.example.test", "/")?.0 == 404).then_some(()))
    })
    .context("the default backend is still served after its removal")?;
    let (code, body) = http(&lab, "a.b.apps.example.test", "/")?;
    ensure!(code == 404 && body.contains("no route"), "{code} {body:?}");
    let (code, body) = http(&lab, "x.apps.example.test", "/")?;
    ensure!(
        code == 200 && body.contains("port=30080"),
        "wildcard: {code} {body:?}"
    );

    // An Ingress with its own VIP (23-ingress-own-vip.yaml): its rules there, HTTPS for its TLS host, and
    // plain HTTP for that host redirected (edgelb.io/ssl-redirect).
    let out = lab.run(
        "client",
        &[
            "curl",
            "-sS",
            "--max-time",
            "3",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "-H",
            "Host: secure.example.test",
            "http://198.18.10.21/cart?x=1",
        ],
    )?;
    ensure!(
        out == "308 https://secure.example.test/cart?x=1",
        "redirect: {out:?}"
    );
    let answer = https_at(&lab, "198.18.10.21", "secure.example.test", "/own")?;
    ensure!(
        answer.contains("port=30080") && answer.contains("path=/own"),
        "{answer:?}"
    );
    let (code, answer) = http_at(&lab, "198.18.10.21", "own.example.test", "/page")?;
    ensure!(
        code == 200 && answer.contains("host=own.example.test") && answer.contains("proto=http"),
        "{answer:?}"
    );

    // The path-matching table of the Kubernetes Ingress documentation, end to end.
    path_table(&lab)?;

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

/// One row of the Kubernetes Ingress documentation's path-matching table: the rules of a host (path, type, and
/// whether it is the rule the row expects to win), the request path, and whether a rule matches.
struct Row {
    rules: &'static [(&'static str, &'static str, bool)],
    request: &'static str,
    matches: bool,
}

#[rustfmt::skip]
const TABLE: &[Row] = &[
    Row { rules: &[("/", "Prefix", true)], request: "/any/path", matches: true },
    Row { rules: &[("/foo", "Exact", true)], request: "/foo", matches: true },
    Row { rules: &[("/foo", "Exact", true)], request: "/bar", matches: false },
    Row { rules: &[("/foo", "Exact", true)], request: "/foo/", matches: false },
    Row { rules: &[("/foo/", "Exact", true)], request: "/foo", matches: false },
    Row { rules: &[("/foo", "Prefix", true)], request: "/foo", matches: true },
    Row { rules: &[("/foo", "Prefix", true)], request: "/foo/", matches: true },
    Row { rules: &[("/foo/", "Prefix", true)], request: "/foo", matches: true },
    Row { rules: &[("/foo/", "Prefix", true)], request: "/foo/", matches: true },
    Row { rules: &[("/aaa/bb", "Prefix", true)], request: "/aaa/bbb", matches: false },
    Row { rules: &[("/aaa/bbb", "Prefix", true)], request: "/aaa/bbb", matches: true },
    Row { rules: &[("/aaa/bbb/", "Prefix", true)], request: "/aaa/bbb", matches: true },
    Row { rules: &[("/aaa/bbb", "Prefix", true)], request: "/aaa/bbb/", matches: true },
    Row { rules: &[("/aaa/bbb", "Prefix", true)], request: "/aaa/bbb/ccc", matches: true },
    Row { rules: &[("/aaa/bbb", "Prefix", true)], request: "/aaa/bbbxyz", matches: false },
    Row { rules: &[("/", "Prefix", false), ("/aaa", "Prefix", true)], request: "/aaa/ccc", matches: true },
    Row {
        rules: &[("/", "Prefix", false), ("/aaa", "Prefix", false), ("/aaa/bbb", "Prefix", true)],
        request: "/aaa/bbb",
        matches: true,
    },
    Row {
        rules: &[("/", "Prefix", true), ("/aaa", "Prefix", false), ("/aaa/bbb", "Prefix", false)],
        request: "/ccc",
        matches: true,
    },
    Row { rules: &[("/aaa", "Prefix", true)], request: "/ccc", matches: false },
    Row { rules: &[("/foo", "Prefix", false), ("/foo", "Exact", true)], request: "/foo", matches: true },
];

/// Writes one Ingress with a host per row (the expected rule to demo-web's port 443, NodePort 30081; the other
/// rules to demo-dual, NodePort 30082), waits for it, and checks every row: the expected rule, or edgelb's 404.
fn path_table(lab: &Lab) -> Result<()> {
    let mut yaml = String::from(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: path-table\n  namespace: default\n\
         spec:\n  ingressClassName: edgelb\n  rules:\n",
    );
    for (i, row) in TABLE.iter().enumerate() {
        yaml += &format!("    - host: row{i}.paths.example.test\n      http:\n        paths:\n");
        for (path, kind, expected) in row.rules {
            let backend = if *expected {
                "{ service: { name: demo-web, port: { number: 443 } } }"
            } else {
                "{ service: { name: demo-dual, port: { number: 80 } } }"
            };
            yaml += &format!(
                "          - {{ path: \"{path}\", pathType: {kind}, backend: {backend} }}\n"
            );
        }
    }
    std::fs::write(manifests().join("30-path-table.yaml"), yaml)?;
    let last = format!("row{}.paths.example.test", TABLE.len() - 1);
    wait_for(Duration::from_secs(5), || {
        Ok((http(lab, &last, "/foo")?.0 == 200).then_some(()))
    })
    .context("the path-table Ingress is not served")?;
    for (i, row) in TABLE.iter().enumerate() {
        let host = format!("row{i}.paths.example.test");
        let (code, body) = http(lab, &host, row.request)?;
        let rules: Vec<String> = row
            .rules
            .iter()
            .map(|(p, k, _)| format!("{k} {p}"))
            .collect();
        if row.matches {
            ensure!(
                code == 200 && body.contains("port=30081"),
                "rules {rules:?}, request {}: expected the marked rule, got {code} {body:?}",
                row.request
            );
        } else {
            ensure!(
                code == 404,
                "rules {rules:?}, request {}: expected 404, got {code} {body:?}",
                row.request
            );
        }
    }
    Ok(())
}
