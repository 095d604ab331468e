//! Routing by host and path with the semantics of Kubernetes Ingress
//! (<https://kubernetes.io/docs/concepts/services-networking/ingress/>).
//!
//! [`Router::build`] turns a listener's [`VirtualHost`]s into hash tables on the management thread;
//! [`Router::route`] picks a pool for a request on the worker, without allocation:
//!
//! - host: from Host or the absolute-form authority, port stripped, case-insensitive, one trailing dot
//!   ignored; an exact host beats a wildcard (`*.example.com`: exactly one more label), which beats the
//!   host-less rules;
//! - path, within the chosen host only: Exact is byte equality; Prefix is element-wise over `/`, a
//!   trailing slash ignored on both sides; the longest match wins, Exact before Prefix on a tie;
//! - nothing matches: the default pool, else [`RouteMatch::NotFound`] (edgelb answers 404).
//!
//! Paths are compared as received: no percent-decoding and no dot-segment normalisation, which the
//! Ingress specification leaves to implementations (Kubernetes refuses `//`, `/./`, `/../` and `%2f` in
//! Exact and Prefix paths, so such requests simply match less).

mod host;
mod input;
mod path;
mod table;

pub use host::MAX_HOST;
pub use input::{PathType, PoolId, Route, RouterError, VirtualHost};
pub use table::{RouteMatch, Router};
