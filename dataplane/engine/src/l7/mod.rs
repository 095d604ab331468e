//! L7: HTTP and HTTPS listeners served on the worker cores. A per-core TCP endpoint (smoltcp's socket state
//! machine behind our own 4-tuple demux) terminates the client's and the upstream's TCP, rustls terminates TLS,
//! and the router picks a pool by host and path with the semantics of Kubernetes Ingress.
//!
//! - `tcp`: the per-core TCP endpoint: connections, listeners, timers, limits;
//! - `tls`: certificates from the desired state, chosen by SNI; TLS sessions fed with bytes;
//! - `http`: HTTP/1.1 request and response framing, forwarding headers, edgelb's own answers;
//! - `router`: host and path matching (Ingress rules) to a pool;
//! - `snapshot`: the listeners, routers, TLS configs and pools of a snapshot, built off the fast path;
//! - `proxy`: per core, the connections joined into sessions and each request relayed upstream.

pub mod http;
pub mod proxy;
pub mod router;
pub mod snapshot;
pub mod tcp;
pub mod tls;
