//! The router: host tables built once per snapshot, then one lookup per request without allocation.
//!
//! Host choice: the exact host, else the wildcard one label up (`*.example.com` for `a.example.com`),
//! else the host-less rules. Path choice within that host only: an Exact path equal to the request path,
//! else the longest Prefix path that matches element-wise (an Exact match is always at least as long as
//! any Prefix match, so it wins ties as Kubernetes requires). Nothing matches: the listener's default
//! pool, else not found (404).

use std::collections::HashMap;

use super::host::{normalise, parse_pattern, wildcard_suffix, HostPattern, MAX_HOST};
use super::input::{PathType, PoolId, RouterError, VirtualHost};
use super::path;
use crate::l7::http::RequestHead;

/// The outcome of routing one request.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RouteMatch {
    /// A route matched.
    Route {
        /// Its pool.
        pool: PoolId,
        /// The index of its host in the `hosts` given to [`Router::build`].
        host: usize,
        /// The index of the route in that host's `routes`.
        route: usize,
    },
    /// No route matched; the listener's default pool.
    Default(PoolId),
    /// No route and no default pool: answer 404.
    NotFound,
}

impl RouteMatch {
    /// The pool to send the request to, if any.
    pub fn pool(self) -> Option<PoolId> {
        match self {
            RouteMatch::Route { pool, .. } | RouteMatch::Default(pool) => Some(pool),
            RouteMatch::NotFound => None,
        }
    }
}

/// A route as stored in a path table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Target {
    pool: PoolId,
    route: u32,
}

/// The paths of one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct PathTable {
    exact: HashMap<Box<[u8]>, Target>,
    prefix: HashMap<Box<[u8]>, Target>,
    /// The longest prefix key: longer candidates need no lookup.
    longest_prefix: usize,
}

impl PathTable {
    fn lookup(&self, path: &[u8]) -> Option<Target> {
        if let Some(t) = self.exact.get(path) {
            return Some(*t);
        }
        path::prefix_candidates(path)
            .filter(|key| key.len() <= self.longest_prefix)
            .find_map(|key| self.prefix.get(key).copied())
    }
}

/// A listener's Ingress rules, ready to route requests. Immutable once built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Router {
    exact_hosts: HashMap<Box<[u8]>, u32>,
    wildcard_hosts: HashMap<Box<[u8]>, u32>,
    any_host: Option<u32>,
    /// One per input host, same index.
    tables: Vec<PathTable>,
    default_pool: Option<PoolId>,
}

impl Router {
    /// Checks the hosts and paths (as Kubernetes validates an Ingress) and builds the tables. Of two
    /// routes of a host that match the same requests (same type, same path up to a trailing `/` for
    /// Prefix), the first wins.
    pub fn build(
        hosts: &[VirtualHost],
        default_pool: Option<PoolId>,
    ) -> Result<Router, RouterError> {
        let mut router = Router {
            exact_hosts: HashMap::new(),
            wildcard_hosts: HashMap::new(),
            any_host: None,
            tables: Vec::with_capacity(hosts.len()),
            default_pool,
        };
        for (index, vhost) in hosts.iter().enumerate() {
            let pattern = parse_pattern(&vhost.host).map_err(|reason| RouterError::BadHost {
                host: vhost.host.clone(),
                reason,
            })?;
            let index = u32::try_from(index).map_err(|_| RouterError::BadHost {
                host: vhost.host.clone(),
                reason: "too many hosts",
            })?;
            router.add_host(pattern, index, &vhost.host)?;
            router.tables.push(path_table(vhost)?);
        }
        Ok(router)
    }

    fn add_host(
        &mut self,
        pattern: HostPattern,
        index: u32,
        host: &str,
    ) -> Result<(), RouterError> {
        let duplicate = || RouterError::DuplicateHost {
            host: host.to_ascii_lowercase(),
        };
        let slot = match pattern {
            HostPattern::Any if self.any_host.is_some() => return Err(duplicate()),
            HostPattern::Any => {
                self.any_host = Some(index);
                return Ok(());
            }
            HostPattern::Exact(name) => self.exact_hosts.entry(name.into_boxed_slice()),
            HostPattern::Wildcard(suffix) => self.wildcard_hosts.entry(suffix.into_boxed_slice()),
        };
        match slot {
            std::collections::hash_map::Entry::Occupied(_) => Err(duplicate()),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(index);
                Ok(())
            }
        }
    }

    /// Routes a request by its host (a Host value or absolute-form authority as received: port, case
    /// and one trailing dot do not matter) and its path (the request-target's path; anything from `?`
    /// or `#` on is ignored; empty reads as `/`). No allocation.
    pub fn route(&self, host: &[u8], path: &[u8]) -> RouteMatch {
        let mut buf = [0u8; MAX_HOST];
        let chosen = self.host_table(host, &mut buf);
        let found = chosen.and_then(|i| {
            Some((
                i,
                self.tables
                    .get(i as usize)?
                    .lookup(path::request_path(path))?,
            ))
        });
        match (found, self.default_pool) {
            (Some((host, t)), _) => RouteMatch::Route {
                pool: t.pool,
                host: host as usize,
                route: t.route as usize,
            },
            (None, Some(pool)) => RouteMatch::Default(pool),
            (None, None) => RouteMatch::NotFound,
        }
    }

    /// The index (in the `hosts` given to [`Router::build`]) of the host pattern that `host` selects, whether or
    /// not one of its paths matches: what per-host settings (an HTTPS redirect) hang on. No allocation.
    pub fn host_index(&self, host: &[u8]) -> Option<usize> {
        let mut buf = [0u8; MAX_HOST];
        self.host_table(host, &mut buf).map(|i| i as usize)
    }

    /// Routes a parsed request: its absolute-form authority or Host, and its path.
    pub fn route_request(&self, head: &RequestHead, buf: &[u8]) -> RouteMatch {
        self.route(head.route_host(buf), head.path.get(buf))
    }

    /// The listener's default pool.
    pub fn default_pool(&self) -> Option<PoolId> {
        self.default_pool
    }

    fn host_table(&self, host: &[u8], buf: &mut [u8; MAX_HOST]) -> Option<u32> {
        let by_name = normalise(host, buf).and_then(|name| {
            self.exact_hosts
                .get(name)
                .or_else(|| self.wildcard_hosts.get(wildcard_suffix(name)?))
                .copied()
        });
        by_name.or(self.any_host)
    }
}

fn path_table(vhost: &VirtualHost) -> Result<PathTable, RouterError> {
    let mut table = PathTable::default();
    for (index, route) in vhost.routes.iter().enumerate() {
        let bad = |reason| RouterError::BadPath {
            host: vhost.host.clone(),
            path: route.path.clone(),
            reason,
        };
        let checked = path::check(&route.path, route.path_type).map_err(bad)?;
        let index = u32::try_from(index).map_err(|_| bad("too many routes"))?;
        let target = Target {
            pool: route.pool,
            route: index,
        };
        let (map, key) = match route.path_type {
            PathType::Exact => (&mut table.exact, checked.as_bytes()),
            PathType::Prefix | PathType::ImplementationSpecific => {
                (&mut table.prefix, path::prefix_key(checked.as_bytes()))
            }
        };
        map.entry(key.into()).or_insert(target);
    }
    table.longest_prefix = table.prefix.keys().map(|k| k.len()).max().unwrap_or(0);
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::super::input::Route;
    use super::*;

    fn vhost(host: &str, routes: &[(&str, PathType, u32)]) -> VirtualHost {
        VirtualHost {
            host: host.into(),
            routes: routes
                .iter()
                .map(|&(p, t, pool)| Route {
                    path: p.into(),
                    path_type: t,
                    pool: PoolId(pool),
                })
                .collect(),
        }
    }

    #[test]
    fn exact_host_beats_wildcard_beats_any() {
        let r = Router::build(
            &[
                vhost("", &[("/", PathType::Prefix, 0)]),
                vhost("*.foo.com", &[("/", PathType::Prefix, 1)]),
                vhost("bar.foo.com", &[("/only", PathType::Exact, 2)]),
            ],
            Some(PoolId(9)),
        )
        .unwrap();
        let pool = |host: &[u8], path: &[u8]| r.route(host, path).pool().map(|p| p.0);
        assert_eq!(pool(b"baz.foo.com", b"/x"), Some(1));
        assert_eq!(pool(b"BAZ.Foo.Com.:8080", b"/x"), Some(1));
        assert_eq!(pool(b"foo.com", b"/x"), Some(0));
        assert_eq!(pool(b"a.baz.foo.com", b"/x"), Some(0));
        assert_eq!(pool(b"", b"/x"), Some(0));
        assert_eq!(
            r.route(b"bar.foo.com", b"/only?q"),
            RouteMatch::Route {
                pool: PoolId(2),
                host: 2,
                route: 0
            }
        );
        // The chosen host has no matching path: the default pool, not the wildcard's or the host-less rules.
        assert_eq!(
            r.route(b"bar.foo.com", b"/other"),
            RouteMatch::Default(PoolId(9))
        );
    }

    #[test]
    fn no_route_and_no_default_is_not_found() {
        let r = Router::build(
            &[vhost("a.example", &[("/app", PathType::Prefix, 1)])],
            None,
        )
        .unwrap();
        assert_eq!(
            r.route(b"a.example", b"/app/x"),
            RouteMatch::Route {
                pool: PoolId(1),
                host: 0,
                route: 0
            }
        );
        assert_eq!(r.route(b"a.example", b"/other"), RouteMatch::NotFound);
        assert_eq!(r.route(b"b.example", b"/app"), RouteMatch::NotFound);
        assert_eq!(RouteMatch::NotFound.pool(), None);
        let empty = Router::build(&[], Some(PoolId(3))).unwrap();
        assert_eq!(empty.route(b"x", b"/"), RouteMatch::Default(PoolId(3)));
    }

    #[test]
    fn first_of_equivalent_routes_wins() {
        let r = Router::build(
            &[vhost(
                "",
                &[
                    ("/foo", PathType::Prefix, 1),
                    ("/foo/", PathType::Prefix, 2),
                    ("/foo", PathType::Exact, 3),
                    ("/foo", PathType::Exact, 4),
                ],
            )],
            None,
        )
        .unwrap();
        assert_eq!(r.route(b"h", b"/foo/bar").pool(), Some(PoolId(1)));
        assert_eq!(r.route(b"h", b"/foo").pool(), Some(PoolId(3)));
    }

    #[test]
    fn build_errors_name_the_culprit() {
        let err = Router::build(&[vhost("a.com", &[]), vhost("A.com", &[])], None).unwrap_err();
        assert_eq!(
            err,
            RouterError::DuplicateHost {
                host: "a.com".into()
            }
        );
        let err = Router::build(&[vhost("", &[]), vhost("", &[])], None).unwrap_err();
        assert_eq!(err, RouterError::DuplicateHost { host: "".into() });
        let err = Router::build(&[vhost("a.com:80", &[])], None).unwrap_err();
        assert!(
            matches!(err, RouterError::BadHost { ref host, .. } if host == "a.com:80"),
            "{err}"
        );
        let err = Router::build(
            &[vhost(
                "a.com",
                &[("/ok", PathType::Exact, 0), ("x", PathType::Prefix, 0)],
            )],
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "host \"a.com\", path \"x\": a path must start with '/'"
        );
        assert!(Router::build(&[vhost("*.a.com", &[]), vhost("a.com", &[])], None).is_ok());
    }
}
