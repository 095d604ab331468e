//! The rustls `ServerConfig` of a TLS listener: TLS 1.3 and 1.2 only, the ring provider's default cipher
//! suites, ALPN `http/1.1`, no 0-RTT, stateless session tickets and a bounded TLS 1.2 session-id cache.
//!
//! [`TlsShared`] is made once per process and handed to every config built from every snapshot, on every
//! core: its ticket key lets a ticket issued on one core (or under an older snapshot) resume on another, and
//! its session cache does the same for TLS 1.2 session ids. A config built from a new snapshot serves new
//! connections; a session keeps the `Arc<ServerConfig>` it started with, so rotating certificates drops no
//! open connection.
//!
//! Locks, per handshake only (never per record): rustls' ticketer takes a read lock to encrypt or decrypt a
//! ticket (a write lock when it rotates its key, every 6 hours), and the session cache takes a mutex to store
//! or look up a TLS 1.2 session. Both are shared by all cores; a handshake costs far more than either.

use std::fmt;
use std::sync::Arc;

use rustls::crypto::{ring, CryptoProvider};
use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
use rustls::ServerConfig;

use super::error::TlsConfigError;
use super::sni::SniResolver;

/// The ALPN protocol the listeners speak.
pub const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// What every listener's config on every core shares: the crypto provider, the session-ticket key and the
/// TLS 1.2 session cache. Make one per process.
#[derive(Clone)]
pub struct TlsShared {
    provider: Arc<CryptoProvider>,
    ticketer: Arc<dyn ProducesTickets>,
    session_cache: Arc<dyn StoresServerSessions>,
}

impl TlsShared {
    /// A fresh ticket key (random, rotated every 6 hours, tickets valid 12 hours) and a TLS 1.2 session
    /// cache bounded to `session_cache_entries` sessions (0 disables session-id resumption).
    pub fn new(session_cache_entries: usize) -> Result<Self, TlsConfigError> {
        let ticketer = ring::Ticketer::new().map_err(|e| TlsConfigError::Rustls(e.to_string()))?;
        let session_cache: Arc<dyn StoresServerSessions> = if session_cache_entries == 0 {
            Arc::new(rustls::server::NoServerSessionStorage {})
        } else {
            ServerSessionMemoryCache::new(session_cache_entries)
        };
        Ok(Self {
            provider: Arc::new(ring::default_provider()),
            ticketer,
            session_cache,
        })
    }

    /// The crypto provider (ring, default cipher suites and key exchange groups).
    pub fn provider(&self) -> &Arc<CryptoProvider> {
        &self.provider
    }
}

impl fmt::Debug for TlsShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsShared")
            .field("ticketer", &self.ticketer)
            .field("session_cache", &self.session_cache)
            .finish_non_exhaustive()
    }
}

/// The server config of one listener: its certificates by SNI (`resolver`) and the shared ticket key and
/// session cache. Build it on the management thread; share the `Arc` with every core.
pub fn server_config(
    shared: &TlsShared,
    resolver: Arc<SniResolver>,
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let mut config = ServerConfig::builder_with_provider(shared.provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsConfigError::Rustls(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    config.ticketer = shared.ticketer.clone();
    config.session_storage = shared.session_cache.clone();
    config.max_early_data_size = 0; // no 0-RTT: early data can be replayed
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l7::tls::cert_store::CertStore;
    use crate::l7::tls::sni::SniInput;
    use crate::l7::tls::test_certs::input;

    #[test]
    fn configs_share_the_ticketer_and_cache_and_offer_http11_only() {
        let store = Arc::new(CertStore::build(&[input("www")]).unwrap());
        let sni = SniInput {
            listener: "l",
            hosts: &[],
            san_certificates: &["www"],
            default: None,
        };
        let resolver = Arc::new(SniResolver::build(store, &sni).unwrap());
        let shared = TlsShared::new(64).unwrap();
        let a = server_config(&shared, resolver.clone()).unwrap();
        let b = server_config(&shared, resolver).unwrap();
        assert!(Arc::ptr_eq(&a.ticketer, &b.ticketer));
        assert!(Arc::ptr_eq(&a.session_storage, &b.session_storage));
        assert!(a.ticketer.enabled());
        assert!(a.session_storage.can_cache());
        assert_eq!(a.alpn_protocols, [b"http/1.1".to_vec()]);
        assert_eq!(a.max_early_data_size, 0);
        let no_cache = TlsShared::new(0).unwrap();
        assert!(!no_cache.session_cache.can_cache());
        assert!(!Arc::ptr_eq(&shared.ticketer, &no_cache.ticketer));
    }
}
