//! Test support: the test certificates, listener configs, rustls clients, and a pump that moves bytes
//! between a real rustls `ClientConnection` and the `TlsSession` under test.

use std::io::{Read, Write as _};
use std::path::Path;
use std::sync::Arc;

use edgelb_engine::l7::tls::{
    server_config, CertInput, CertStore, HostCert, SniInput, SniResolver, TlsError,
};
use edgelb_engine::l7::tls::{TlsSession, TlsShared};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, ServerConfig};
use rustls::{SignatureScheme, SupportedProtocolVersion};

/// Every test certificate with a chain.
pub const ALL: [&str; 8] = [
    "www", "www-v2", "apps", "default", "multi", "p384", "rsa", "ed25519",
];

/// A file from `src/l7/tls/testdata`.
pub fn testdata(file: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/l7/tls/testdata")
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The leaf certificate of the test certificate `name`.
pub fn leaf(name: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(&testdata(&format!("{name}.chain.pem"))).unwrap()
}

/// A store with the named test certificates, each named after its files.
pub fn store(names: &[&str]) -> Arc<CertStore> {
    let files: Vec<_> = names
        .iter()
        .map(|n| {
            (
                testdata(&format!("{n}.chain.pem")),
                testdata(&format!("{n}.key.pem")),
            )
        })
        .collect();
    let inputs: Vec<_> = names
        .iter()
        .zip(&files)
        .map(|(name, (chain, key))| CertInput {
            name,
            chain_pem: chain,
            key_pem: key,
        })
        .collect();
    Arc::new(CertStore::build(&inputs).unwrap())
}

/// A listener config over `store`.
pub fn listener(
    shared: &TlsShared,
    store: &Arc<CertStore>,
    hosts: &[(&str, &str)],
    san_certificates: &[&str],
    default: Option<&str>,
) -> Arc<ServerConfig> {
    let hosts: Vec<_> = hosts
        .iter()
        .map(|&(host, certificate)| HostCert { host, certificate })
        .collect();
    let input = SniInput {
        listener: "test",
        hosts: &hosts,
        san_certificates,
        default,
    };
    server_config(
        shared,
        Arc::new(SniResolver::build(store.clone(), &input).unwrap()),
    )
    .unwrap()
}

/// The usual listener: explicit `www` and `*.apps`, SAN certificates `p384`, `rsa`, `ed25519`, `multi`, and
/// the default certificate `default`.
pub fn usual_listener(shared: &TlsShared) -> Arc<ServerConfig> {
    let store = store(&ALL);
    let hosts = [("www.example.test", "www"), ("*.apps.example.test", "apps")];
    listener(
        shared,
        &store,
        &hosts,
        &["p384", "rsa", "ed25519", "multi"],
        Some("default"),
    )
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// A client trusting the test CA, offering `versions` and the ALPN protocols `alpn`.
pub fn client_config(
    versions: &[&'static SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(&testdata("ca.pem")).unwrap())
        .unwrap();
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// A TLS 1.3 + 1.2 client offering `http/1.1`.
pub fn default_client() -> Arc<ClientConfig> {
    client_config(rustls::ALL_VERSIONS, &[b"http/1.1"])
}

/// A client that accepts any certificate (still checking the handshake signature), with or without SNI:
/// for the tests that look at which certificate the server picked for a name it does not match.
pub fn any_cert_client(send_sni: bool) -> Arc<ClientConfig> {
    let mut config = (*default_client()).clone();
    config
        .dangerous()
        .set_certificate_verifier(Arc::new(AnyCertificate(provider())));
    config.enable_sni = send_sni;
    Arc::new(config)
}

#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A rustls client and the session under test, with the bytes in flight between them.
pub struct Pair {
    pub client: ClientConnection,
    pub server: TlsSession,
    /// Ciphertext the server has not taken yet.
    pub to_server: Vec<u8>,
    /// Plaintext the server session delivered (the pump reads it all).
    pub server_received: Vec<u8>,
    /// Plaintext the client received.
    pub client_received: Vec<u8>,
    pub client_error: Option<rustls::Error>,
    pub server_error: Option<TlsError>,
    /// Size of the slice handed to `write_ciphertext`.
    pub chunk: usize,
}

impl Pair {
    /// A new client for `server_name` against a new session on `config`.
    pub fn new(client: &Arc<ClientConfig>, server_name: &str, config: &Arc<ServerConfig>) -> Self {
        let name = ServerName::try_from(server_name.to_owned()).unwrap();
        Self {
            client: ClientConnection::new(client.clone(), name).unwrap(),
            server: TlsSession::new(config.clone()),
            to_server: Vec::new(),
            server_received: Vec::new(),
            client_received: Vec::new(),
            client_error: None,
            server_error: None,
            chunk: 1500,
        }
    }

    /// Moves bytes both ways until neither side has anything more to say.
    pub fn run(&mut self) {
        while self.client_to_server() | self.server_to_client() {}
    }

    /// Runs and checks that both sides finished the handshake without error.
    pub fn handshake(&mut self) {
        self.run();
        assert_eq!(
            (self.client_error.as_ref(), self.server_error),
            (None, None)
        );
        assert!(!self.client.is_handshaking() && !self.server.is_handshaking());
    }

    /// The certificate the client received from the server.
    pub fn server_leaf(&self) -> CertificateDer<'static> {
        self.client.peer_certificates().unwrap()[0]
            .clone()
            .into_owned()
    }

    fn client_to_server(&mut self) -> bool {
        let mut progress = false;
        while self.client.wants_write() {
            progress |= self.client.write_tls(&mut self.to_server).unwrap() > 0;
        }
        if !self.to_server.is_empty() && self.server_error.is_none() {
            match self.server.receive(&self.to_server) {
                Ok(taken) => {
                    progress |= taken > 0;
                    self.to_server.drain(..taken);
                }
                Err(error) => {
                    self.server_error = Some(error);
                    progress = true;
                }
            }
        }
        let mut buf = [0u8; 3000];
        loop {
            let read = self.server.read_plaintext(&mut buf);
            if read == 0 {
                break;
            }
            self.server_received.extend_from_slice(&buf[..read]);
            progress = true;
        }
        progress
    }

    fn server_to_client(&mut self) -> bool {
        let mut to_client = Vec::new();
        let mut buf = vec![0u8; self.chunk];
        loop {
            let written = self.server.write_ciphertext(&mut buf);
            if written == 0 {
                break;
            }
            to_client.extend_from_slice(&buf[..written]);
        }
        let progress = !to_client.is_empty();
        let mut rest = &to_client[..];
        while !rest.is_empty() && self.client_error.is_none() {
            if self.client.read_tls(&mut rest).unwrap() == 0 {
                break;
            }
            if let Err(error) = self.client.process_new_packets() {
                self.client_error = Some(error);
            }
            let _ = self.client.reader().read_to_end(&mut self.client_received);
        }
        progress
    }

    /// The client sends `data`, all of it, pumping whenever its buffer is full.
    pub fn client_send(&mut self, data: &[u8]) {
        let mut offset = 0;
        while offset < data.len() {
            let written = self.client.writer().write(&data[offset..]).unwrap();
            offset += written;
            if written == 0 {
                self.run();
            }
        }
        self.run();
    }
}
