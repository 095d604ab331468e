//! The DNS names in a leaf certificate's subjectAltName extension: the names the certificate serves when a
//! listener has no explicit host mapping for an SNI. The subject's common name is not read (clients have
//! ignored it for years).

use super::der::{tag, Malformed, Reader};

/// The subjectAltName extension's OID, 2.5.29.17.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// The dNSName entries of the certificate's subjectAltName, as written in the certificate (no case change).
/// A certificate without the extension has none. Entries that are not ASCII are skipped.
pub(super) fn san_dns_names(cert_der: &[u8]) -> Result<Vec<&str>, Malformed> {
    let certificate = Reader::new(cert_der).expect(tag::SEQUENCE)?;
    let tbs = Reader::new(certificate).expect(tag::SEQUENCE)?;
    let mut fields = Reader::new(tbs);
    fields.optional(tag::CONTEXT_0)?; // version
    fields.expect(tag::INTEGER)?; // serialNumber
    for _signature_issuer_validity_subject_spki in 0..5 {
        fields.expect(tag::SEQUENCE)?;
    }
    fields.optional(tag::CONTEXT_1_PRIMITIVE)?; // issuerUniqueID
    fields.optional(tag::CONTEXT_2_PRIMITIVE)?; // subjectUniqueID
    let Some(extensions) = fields.optional(tag::CONTEXT_3)? else {
        return Ok(Vec::new());
    };
    let mut list = Reader::new(Reader::new(extensions).expect(tag::SEQUENCE)?);
    while let Some(extension) = list.next_tlv()? {
        if extension.tag != tag::SEQUENCE {
            return Err(Malformed);
        }
        let mut parts = Reader::new(extension.value);
        let oid = parts.expect(tag::OID)?;
        parts.optional(tag::BOOLEAN)?; // critical
        let value = parts.expect(tag::OCTET_STRING)?;
        if oid == SUBJECT_ALT_NAME {
            return general_names_dns(value);
        }
    }
    Ok(Vec::new())
}

/// The dNSName ([2] IA5String) entries of a GeneralNames sequence.
fn general_names_dns(value: &[u8]) -> Result<Vec<&str>, Malformed> {
    let mut names = Reader::new(Reader::new(value).expect(tag::SEQUENCE)?);
    let mut dns = Vec::new();
    while let Some(name) = names.next_tlv()? {
        if name.tag == tag::CONTEXT_2_PRIMITIVE && name.value.is_ascii() {
            if let Ok(text) = std::str::from_utf8(name.value) {
                dns.push(text);
            }
        }
    }
    Ok(dns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    fn leaf(pem: &[u8]) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem).unwrap()
    }

    #[test]
    fn reads_every_dns_san_and_skips_ip_sans() {
        let cert = leaf(include_bytes!("testdata/multi.chain.pem"));
        assert_eq!(
            san_dns_names(&cert).unwrap(),
            ["a.example.test", "B.Example.Test"]
        );
    }

    #[test]
    fn reads_wildcards_and_every_key_type() {
        let cases: [(&[u8], &str); 5] = [
            (
                include_bytes!("testdata/apps.chain.pem"),
                "*.apps.example.test",
            ),
            (include_bytes!("testdata/rsa.chain.pem"), "rsa.example.test"),
            (
                include_bytes!("testdata/p384.chain.pem"),
                "p384.example.test",
            ),
            (
                include_bytes!("testdata/ed25519.chain.pem"),
                "ed25519.example.test",
            ),
            (include_bytes!("testdata/www.chain.pem"), "www.example.test"),
        ];
        for (pem, name) in cases {
            assert_eq!(san_dns_names(&leaf(pem)).unwrap(), [name]);
        }
    }

    #[test]
    fn a_ca_without_san_has_no_names() {
        assert!(san_dns_names(&leaf(include_bytes!("testdata/ca.pem")))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn truncated_certificates_are_malformed_at_every_length() {
        let cert = leaf(include_bytes!("testdata/multi.chain.pem"));
        for len in 0..cert.len() {
            assert!(
                san_dns_names(cert.get(..len).unwrap()).is_err(),
                "length {len}"
            );
        }
    }
}
