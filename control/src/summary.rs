//! A plan in words, for people: VIPs, listeners, pools, routes, certificates and events.

use std::fmt::Write;
use std::net::SocketAddr;

use edgelb_config::desired::{DesiredBackend, L7Listener};
use edgelb_config::BackendState;

use crate::planner::Plan;

/// The summary of `plan`, one item a line.
pub fn summary(plan: &Plan) -> String {
    let d = &plan.desired;
    let mut out = String::new();
    let _ = writeln!(out, "{}", d.origin());
    let vips: Vec<String> = d.vips.iter().map(ToString::to_string).collect();
    let _ = writeln!(
        out,
        "VIPs: {}",
        if vips.is_empty() {
            "none".into()
        } else {
            vips.join(" ")
        }
    );
    let _ = writeln!(out, "L4 listeners: {}", d.listeners.len());
    for l in &d.listeners {
        let affinity = l
            .client_ip_affinity_s
            .map(|s| format!(", client-IP affinity {s}s"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}/{} {} -> pool {}{affinity}",
            SocketAddr::new(l.vip, l.port),
            l.protocol.as_str(),
            l.name,
            l.pool
        );
    }
    let _ = writeln!(out, "pools: {}", d.pools.len());
    for p in &d.pools {
        let backends: Vec<String> = p.backends.iter().map(backend).collect();
        let list = if backends.is_empty() {
            "(empty)".into()
        } else {
            backends.join(", ")
        };
        let _ = writeln!(out, "  {}: {list}", p.name);
    }
    let _ = writeln!(out, "L7 listeners: {}", d.l7.len());
    for l in &d.l7 {
        l7(&mut out, l);
    }
    let certs: Vec<&str> = d.certificates.iter().map(|c| c.name.as_str()).collect();
    let _ = writeln!(
        out,
        "certificates: {}",
        if certs.is_empty() {
            "none".into()
        } else {
            certs.join(" ")
        }
    );
    let _ = writeln!(out, "events: {}", plan.events.len());
    for e in &plan.events {
        let _ = writeln!(out, "  {e}");
    }
    out
}

fn backend(b: &DesiredBackend) -> String {
    let mut text = SocketAddr::new(b.address, b.port).to_string();
    if b.weight != 1 {
        let _ = write!(text, " weight {}", b.weight);
    }
    if b.state == BackendState::Draining {
        text.push_str(" draining");
    }
    text
}

fn l7(out: &mut String, l: &L7Listener) {
    let scheme = if l.tls { "https" } else { "http" };
    let _ = write!(
        out,
        "  {} {scheme} {}",
        SocketAddr::new(l.vip, l.port),
        l.name
    );
    if let Some(cert) = &l.default_certificate {
        let _ = write!(out, ", default certificate {cert}");
    }
    if let Some(pool) = &l.default_pool {
        let _ = write!(out, ", default backend {pool}");
    }
    if l.redirect_to_https {
        out.push_str(", every request redirected to https");
    }
    out.push('\n');
    for h in &l.hosts {
        let host = if h.host.is_empty() {
            "*"
        } else {
            h.host.as_str()
        };
        let cert = h
            .certificate
            .as_ref()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default();
        let redirect = if h.redirect_to_https {
            " (redirected to https)"
        } else {
            ""
        };
        let _ = writeln!(out, "    {host}{cert}{redirect}");
        for r in &h.routes {
            let _ = writeln!(
                out,
                "      {} ({:?}) -> {}  ({})",
                r.path, r.path_type, r.pool, r.origin
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ObjectKey, ObjectRef};
    use crate::planner::{Allocations, PlanEvent};
    use edgelb_config::desired::{
        DesiredListener, DesiredPool, DesiredState, HttpRoute, PathType, VirtualHost,
    };
    use edgelb_config::Protocol;

    #[test]
    fn every_part_is_shown() {
        let mut desired = DesiredState::new(3, "manifests:k8s");
        desired.vips = vec![
            "198.18.10.11".parse().unwrap(),
            "2001:2:0:10::11".parse().unwrap(),
        ];
        desired.pools.push(DesiredPool {
            name: "svc-default.web-80-tcp".into(),
            backends: vec![
                DesiredBackend {
                    address: "198.19.0.11".parse().unwrap(),
                    port: 30080,
                    weight: 2,
                    state: BackendState::Active,
                },
                DesiredBackend {
                    address: "198.19.0.12".parse().unwrap(),
                    port: 30080,
                    weight: 1,
                    state: BackendState::Draining,
                },
            ],
        });
        desired.listeners.push(DesiredListener {
            name: "svc-default.web-80-tcp".into(),
            vip: "2001:2:0:10::11".parse().unwrap(),
            port: 80,
            protocol: Protocol::Tcp,
            pool: "svc-default.web-80-tcp".into(),
            client_ip_affinity_s: Some(600),
        });
        desired.l7.push(L7Listener {
            name: "ing-edgelb-80".into(),
            vip: "198.18.10.11".parse().unwrap(),
            port: 80,
            tls: false,
            default_certificate: None,
            hosts: vec![VirtualHost {
                host: "demo.example.test".into(),
                certificate: None,
                routes: vec![HttpRoute {
                    path: "/web".into(),
                    path_type: PathType::Prefix,
                    pool: "svc-default.web-80-tcp".into(),
                    origin: "ingress default/demo".into(),
                }],
                redirect_to_https: true,
            }],
            default_pool: Some("svc-default.web-80-tcp".into()),
            redirect_to_https: false,
            proxy_protocol: false,
        });
        let plan = Plan {
            desired,
            allocations: Allocations::default(),
            events: vec![PlanEvent::warning(
                ObjectRef::new("Service", ObjectKey::new("default", "x")),
                "NoBackends",
                "port 80/TCP (IPv4): no node takes traffic; its traffic is dropped".into(),
            )],
            conflicts: vec![],
            status_addresses: Default::default(),
        };
        assert_eq!(
            summary(&plan),
            "desired state generation 3 (from manifests:k8s)\n\
             VIPs: 198.18.10.11 2001:2:0:10::11\n\
             L4 listeners: 1\n  \
             [2001:2:0:10::11]:80/tcp svc-default.web-80-tcp -> pool svc-default.web-80-tcp, client-IP affinity 600s\n\
             pools: 1\n  \
             svc-default.web-80-tcp: 198.19.0.11:30080 weight 2, 198.19.0.12:30080 draining\n\
             L7 listeners: 1\n  \
             198.18.10.11:80 http ing-edgelb-80, default backend svc-default.web-80-tcp\n    \
             demo.example.test (redirected to https)\n      \
             /web (Prefix) -> svc-default.web-80-tcp  (ingress default/demo)\n\
             certificates: none\n\
             events: 1\n  \
             Warning Service default/x NoBackends: port 80/TCP (IPv4): no node takes traffic; its traffic is dropped\n"
        );
    }
}
