//! TLS termination on the worker cores with rustls, bytes in and bytes out.
//!
//! Setup (management thread, per snapshot): [`CertStore::build`] parses and checks the certificates;
//! [`SniResolver::build`] makes each listener's SNI table over the store; [`server_config`] makes the
//! listener's rustls config with the process-wide [`TlsShared`] (ticket key, session cache).
//! Per connection (worker core): [`TlsSession`] is fed ciphertext from the TCP endpoint and hands out
//! ciphertext to send, plaintext to the HTTP layer.
//!
//! Certificate rotation: a new snapshot gives new configs for new connections; open sessions keep the
//! `Arc<ServerConfig>` (and through it the certificates) they started with.

mod cert_store;
mod config;
mod der;
mod error;
mod host_pattern;
mod key_kind;
mod session;
mod sni;
#[cfg(test)]
mod test_certs;
mod x509;

pub use cert_store::{CertInput, CertStore};
pub use config::{server_config, TlsShared, ALPN_HTTP_1_1};
pub use error::{TlsConfigError, TlsError};
pub use session::{TlsSession, DEFAULT_BUFFER_LIMIT};
pub use sni::{HostCert, SniInput, SniResolver};
