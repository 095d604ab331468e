//! HTTP/1.1 framing (RFC 9112) for the L7 proxy, strict and without allocation per request:
//!
//! - [`parse_request`] reads a request head (method, target, Host, body framing, keep-alive, Expect,
//!   Upgrade) and refuses anything that could make edgelb and an upstream disagree about framing;
//! - [`BodyDecoder`] follows a body (Content-Length, chunked, until close), passing bytes through;
//! - [`parse_response`] reads an upstream's response head (1xx, HEAD, 204 and 304 have no body);
//! - [`rewrite_request`] and [`rewrite_response`] write the forwarded heads into the caller's buffer
//!   (hop-by-hop headers removed, X-Forwarded-* added);
//! - [`Answer`] holds edgelb's own responses as static bytes, [`write_redirect_to_https`] its 308;
//! - [`write_proxy_v2`] writes a PROXY protocol v2 header for TCP upstreams.
//!
//! Heads are described by [`Span`]s into the caller's buffer, so a parsed head is `Copy` and survives a
//! buffer that moves.

mod answers;
mod body;
mod error;
mod fields;
mod message;
mod proxy_protocol;
mod request;
#[cfg(test)]
mod request_tests;
mod response;
mod rewrite;
mod target;
mod writer;

pub use answers::{write_redirect_to_https, Answer, RedirectError};
pub use body::{BodyDecoder, Feed};
pub use error::HttpError;
pub use message::{Framing, Method, Span, Version};
pub use proxy_protocol::{write_proxy_v2, write_proxy_v2_local, PROXY_V2_SIGNATURE};
pub use request::{parse_request, Limits, RequestHead, MAX_HEADERS};
pub use response::{parse_response, ResponseHead};
pub use rewrite::{rewrite_request, rewrite_response, Forwarding, Scheme};
pub use target::{parse_target, Target, TargetForm};
pub use writer::TooSmall;

pub(crate) use fields::split_host_port;
