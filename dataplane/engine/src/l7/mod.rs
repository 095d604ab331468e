//! L7: HTTP and HTTPS listeners served on the worker cores. A per-core TCP endpoint (smoltcp's socket state
//! machine behind our own 4-tuple demux) terminates the client's and the upstream's TCP, rustls terminates TLS,
//! and the router picks a pool by host and path with the semantics of Kubernetes Ingress.
//!
//! - `tcp`: the per-core TCP endpoint: connections, listeners, timers, limits;
//! - `tls`: certificates from the desired state, chosen by SNI; TLS sessions fed with bytes;
//! - `http`: HTTP/1.1 request and response framing, forwarding headers, edgelb's own answers;
//! - `router`: host and path matching (Ingress rules) to a pool.

pub mod http;
pub mod router;
pub mod tcp;
pub mod tls;
