//! The router against the Kubernetes Ingress documentation's path-matching table, host rules, and a slow
//! obviously-correct reference on random hosts and paths.
#![allow(clippy::unwrap_used, clippy::panic)]

use edgelb_engine::l7::router::{PathType, PoolId, Route, RouteMatch, Router, VirtualHost};
use proptest::prelude::*;

use PathType::{Exact, ImplementationSpecific, Prefix};

const DEFAULT: PoolId = PoolId(999);

/// One host with these routes; route i goes to pool i.
fn router(routes: &[(&str, PathType)]) -> Router {
    let routes = routes.iter().enumerate().map(|(i, (p, t))| Route {
        path: (*p).into(),
        path_type: *t,
        pool: PoolId(i as u32),
    });
    Router::build(
        &[VirtualHost {
            host: String::new(),
            routes: routes.collect(),
        }],
        Some(DEFAULT),
    )
    .unwrap()
}

/// The matching table of https://kubernetes.io/docs/concepts/services-networking/ingress/#examples:
/// (routes, request path, the path of the route that must match or None for the default backend).
#[test]
fn kubernetes_ingress_path_matching_table() {
    type Row = (
        &'static [(&'static str, PathType)],
        &'static str,
        Option<&'static str>,
    );
    let table: &[Row] = &[
        (&[("/", Prefix)], "/", Some("/")),
        (&[("/", Prefix)], "/anything/at/all", Some("/")),
        (&[("/", Prefix)], "/foo/", Some("/")),
        (&[("/foo", Exact)], "/foo", Some("/foo")),
        (&[("/foo", Exact)], "/bar", None),
        (&[("/foo", Exact)], "/foo/", None),
        (&[("/foo/", Exact)], "/foo", None),
        (&[("/foo", Prefix)], "/foo", Some("/foo")),
        (&[("/foo", Prefix)], "/foo/", Some("/foo")),
        (&[("/foo/", Prefix)], "/foo", Some("/foo/")),
        (&[("/foo/", Prefix)], "/foo/", Some("/foo/")),
        (&[("/aaa/bb", Prefix)], "/aaa/bbb", None),
        (&[("/aaa/bbb", Prefix)], "/aaa/bbb", Some("/aaa/bbb")),
        (&[("/aaa/bbb/", Prefix)], "/aaa/bbb", Some("/aaa/bbb/")),
        (&[("/aaa/bbb", Prefix)], "/aaa/bbb/", Some("/aaa/bbb")),
        (&[("/aaa/bbb", Prefix)], "/aaa/bbb/ccc", Some("/aaa/bbb")),
        (&[("/aaa/bbb", Prefix)], "/aaa/bbbxyz", None),
        (&[("/", Prefix), ("/aaa", Prefix)], "/aaa/ccc", Some("/aaa")),
        (
            &[("/", Prefix), ("/aaa", Prefix), ("/aaa/bbb", Prefix)],
            "/aaa/bbb",
            Some("/aaa/bbb"),
        ),
        (
            &[("/", Prefix), ("/aaa", Prefix), ("/aaa/bbb", Prefix)],
            "/ccc",
            Some("/"),
        ),
        (&[("/aaa", Prefix)], "/ccc", None),
        (
            &[("/foo", Prefix), ("/foo", Exact)],
            "/foo",
            Some("/foo#exact"),
        ),
        (
            &[("/foo", Exact), ("/foo", Prefix)],
            "/foo",
            Some("/foo#exact"),
        ),
        (&[("/foo", ImplementationSpecific)], "/foo/x", Some("/foo")),
    ];
    for (routes, request, expect) in table {
        let got = match router(routes).route(b"any.example", request.as_bytes()) {
            RouteMatch::Route { route, .. } => {
                let (path, t) = routes[route];
                Some(
                    if t == Exact && routes.iter().any(|(p, t2)| *p == path && *t2 != Exact) {
                        "/foo#exact"
                    } else {
                        path
                    },
                )
            }
            RouteMatch::Default(pool) => {
                assert_eq!(pool, DEFAULT);
                None
            }
            RouteMatch::NotFound => panic!("a default pool is set"),
        };
        assert_eq!(got, *expect, "routes {routes:?}, request {request}");
    }
}

#[test]
fn hosts_exact_wildcard_and_any() {
    let vhost = |host: &str, pool| VirtualHost {
        host: host.into(),
        routes: vec![Route {
            path: "/".into(),
            path_type: Prefix,
            pool: PoolId(pool),
        }],
    };
    let r = Router::build(
        &[vhost("foo.bar.com", 1), vhost("*.bar.com", 2), vhost("", 3)],
        None,
    )
    .unwrap();
    let cases: &[(&str, u32)] = &[
        ("foo.bar.com", 1),
        ("FOO.Bar.COM", 1),
        ("foo.bar.com:8080", 1),
        ("foo.bar.com.", 1),
        ("foo.bar.com.:443", 1),
        ("baz.bar.com", 2),
        ("x-1.bar.com:80", 2),
        ("bar.com", 3),
        ("baz.foo.bar.com", 3),
        (".bar.com", 3),
        ("[2001:db8::1]:443", 3),
        ("10.0.0.1", 3),
        ("", 3),
    ];
    for (host, pool) in cases {
        assert_eq!(
            r.route(host.as_bytes(), b"/x").pool(),
            Some(PoolId(*pool)),
            "{host}"
        );
    }
    let no_any = Router::build(&[vhost("foo.bar.com", 1)], None).unwrap();
    assert_eq!(no_any.route(b"other.com", b"/"), RouteMatch::NotFound);
}

// ---- the reference: slow and obvious ----

fn ref_host(host: &str) -> Option<String> {
    let h = if host.starts_with('[') {
        &host[..host.find(']')? + 1]
    } else {
        host.split(':').next().unwrap_or("")
    };
    let h = h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase();
    (!h.is_empty()).then_some(h)
}

fn elements(path: &str) -> Vec<&str> {
    path.strip_suffix('/').unwrap_or(path).split('/').collect()
}

/// (length, exact) of a route's match of `path`, if it matches.
fn ref_match(route: &Route, path: &str) -> Option<(usize, bool)> {
    match route.path_type {
        Exact => (route.path == path).then_some((path.len(), true)),
        _ => {
            let (rule, req) = (elements(&route.path), elements(path));
            (req.len() >= rule.len() && req[..rule.len()] == rule[..]).then_some((
                route.path.strip_suffix('/').unwrap_or(&route.path).len(),
                false,
            ))
        }
    }
}

fn reference(hosts: &[VirtualHost], host: &str, path: &str) -> Option<(usize, usize)> {
    let name = ref_host(host);
    let pattern = |p: &str| hosts.iter().position(|v| v.host == p);
    let chosen = name
        .as_deref()
        .and_then(|n| {
            pattern(n).or_else(|| {
                let (label, rest) = n.split_once('.')?;
                (!label.is_empty() && !rest.is_empty()).then(|| pattern(&format!("*.{rest}")))?
            })
        })
        .or_else(|| pattern(""))?;
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = if path.is_empty() { "/" } else { path };
    let mut best: Option<(usize, (usize, bool))> = None;
    for (i, route) in hosts[chosen].routes.iter().enumerate() {
        if let Some(score) = ref_match(route, path) {
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((i, score));
            }
        }
    }
    best.map(|(i, _)| (chosen, i))
}

fn segment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["a", "b", "aa", "ab"])
}

fn rule_path() -> impl Strategy<Value = String> {
    (prop::collection::vec(segment(), 0..4), any::<bool>()).prop_map(|(segs, slash)| {
        format!(
            "/{}{}",
            segs.join("/"),
            if slash && !segs.is_empty() { "/" } else { "" }
        )
    })
}

fn request_path() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            prop::sample::select(vec!["a", "b", "aa", "ab", "", "A"]),
            0..5,
        ),
        any::<bool>(),
        0..3u8,
    )
        .prop_map(|(segs, slash, tail)| {
            let tail = ["", "?x=/a", "#a"][tail as usize];
            format!("/{}{}{tail}", segs.join("/"), if slash { "/" } else { "" })
        })
}

fn label() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["x", "y", "xy"])
}

fn host_pattern() -> impl Strategy<Value = String> {
    (0..3u8, prop::collection::vec(label(), 1..3)).prop_map(|(kind, labels)| match kind {
        0 => String::new(),
        1 => format!("*.{}", labels.join(".")),
        _ => labels.join("."),
    })
}

fn request_host() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(label(), 0..4),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(labels, upper, dot, port)| {
            let mut h = labels.join(".");
            if upper {
                h = h.to_ascii_uppercase();
            }
            if dot && !h.is_empty() {
                h.push('.');
            }
            if port {
                h.push_str(":8080");
            }
            h
        })
}

fn path_type() -> impl Strategy<Value = PathType> {
    prop::sample::select(vec![Exact, Prefix, ImplementationSpecific])
}

fn vhosts() -> impl Strategy<Value = Vec<VirtualHost>> {
    let route = (rule_path(), path_type(), 0..8u32).prop_map(|(path, path_type, pool)| Route {
        path,
        path_type,
        pool: PoolId(pool),
    });
    let vhost = (host_pattern(), prop::collection::vec(route, 0..6))
        .prop_map(|(host, routes)| VirtualHost { host, routes });
    prop::collection::vec(vhost, 0..6).prop_map(|mut v| {
        let mut seen = std::collections::HashSet::new();
        v.retain(|h| seen.insert(h.host.clone()));
        v
    })
}

proptest! {
    #[test]
    fn router_agrees_with_the_reference(
        hosts in vhosts(),
        requests in prop::collection::vec((request_host(), request_path()), 1..20),
        default in prop::option::of(100..101u32),
    ) {
        let router = Router::build(&hosts, default.map(PoolId)).unwrap();
        for (host, path) in &requests {
            let expect = match reference(&hosts, host, path) {
                Some((h, r)) => RouteMatch::Route { pool: hosts[h].routes[r].pool, host: h, route: r },
                None => default.map_or(RouteMatch::NotFound, |p| RouteMatch::Default(PoolId(p))),
            };
            prop_assert_eq!(router.route(host.as_bytes(), path.as_bytes()), expect, "{} {}", host, path);
        }
    }
}
