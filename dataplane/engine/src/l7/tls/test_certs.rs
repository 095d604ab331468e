//! The test certificates in `testdata/` (see its README), for the unit tests of this module.

use super::cert_store::CertInput;

/// The certificate `name` from `testdata/` (chain and key), named `name`. The keys `p521` and `rsa1024` come
/// with an empty chain.
pub(super) fn input(name: &'static str) -> CertInput<'static> {
    let (chain_pem, key_pem): (&[u8], &[u8]) = match name {
        "www" => (
            include_bytes!("testdata/www.chain.pem"),
            include_bytes!("testdata/www.key.pem"),
        ),
        "www-v2" => (
            include_bytes!("testdata/www-v2.chain.pem"),
            include_bytes!("testdata/www-v2.key.pem"),
        ),
        "apps" => (
            include_bytes!("testdata/apps.chain.pem"),
            include_bytes!("testdata/apps.key.pem"),
        ),
        "default" => (
            include_bytes!("testdata/default.chain.pem"),
            include_bytes!("testdata/default.key.pem"),
        ),
        "multi" => (
            include_bytes!("testdata/multi.chain.pem"),
            include_bytes!("testdata/multi.key.pem"),
        ),
        "p384" => (
            include_bytes!("testdata/p384.chain.pem"),
            include_bytes!("testdata/p384.key.pem"),
        ),
        "rsa" => (
            include_bytes!("testdata/rsa.chain.pem"),
            include_bytes!("testdata/rsa.key.pem"),
        ),
        "ed25519" => (
            include_bytes!("testdata/ed25519.chain.pem"),
            include_bytes!("testdata/ed25519.key.pem"),
        ),
        "p521" => (b"", include_bytes!("testdata/p521.key.pem")),
        "rsa1024" => (b"", include_bytes!("testdata/rsa1024.key.pem")),
        other => panic!("no test certificate {other}"),
    };
    CertInput {
        name,
        chain_pem,
        key_pem,
    }
}
