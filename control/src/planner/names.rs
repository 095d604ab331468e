//! Names of the pools, listeners and certificates the planner makes: stable (a function of the object, never of
//! what else exists), collision-free, and within the appliance config's name charset `[a-z0-9][a-z0-9.-]{0,62}`.
//!
//! Namespaces and Service names are DNS labels (no dots), so a dot between namespace and name keeps
//! `svc-a-b.c-80-tcp` and `svc-a.b-c-80-tcp` apart; the port, protocol and family are read from the right. A name
//! longer than 63 characters (or with a character outside the charset) is cut and ends in a hash of the full name.

use edgelb_config::Protocol;

use super::IpFamily;

const MAX_LEN: usize = 63;
/// `-` and 12 hex digits of the hash.
const HASH_SUFFIX_LEN: usize = 13;

/// The pool (and L4 listener) of a Service port for one family: `svc-<ns>.<name>-<port>-<tcp|udp>[-v6]`.
/// `port` is the Service port's number, or its name when the Service is unknown.
pub(crate) fn service_pool(
    namespace: &str,
    name: &str,
    port: &str,
    protocol: Protocol,
    family: IpFamily,
) -> String {
    let suffix = family_suffix(family);
    object_name(&format!(
        "svc-{namespace}.{name}-{port}-{}{suffix}",
        protocol.as_str()
    ))
}

/// An Ingress class's L7 listener: `ing-<class>-<port>[-v6]`.
pub(crate) fn ingress_listener(class: &str, port: u16, family: IpFamily) -> String {
    object_name(&format!("ing-{class}-{port}{}", family_suffix(family)))
}

/// The L7 listener of Ingresses on VIPs of their own (`edgelb.io/ip`), named after the oldest of them:
/// `ingress-<ns>.<name>-<port>[-v6]`. The `ingress-` prefix keeps it apart from every class's `ing-` name.
pub(crate) fn own_vip_listener(namespace: &str, name: &str, port: u16, family: IpFamily) -> String {
    object_name(&format!(
        "ingress-{namespace}.{name}-{port}{}",
        family_suffix(family)
    ))
}

/// The certificate from a TLS Secret: `tls-<ns>.<secret>`.
pub(crate) fn certificate(namespace: &str, secret: &str) -> String {
    object_name(&format!("tls-{namespace}.{secret}"))
}

fn family_suffix(family: IpFamily) -> &'static str {
    match family {
        IpFamily::IPv4 => "",
        IpFamily::IPv6 => "-v6",
    }
}

/// `raw` when it is a valid object name; otherwise its first characters (others replaced by `-`) and a hash of
/// all of it, 63 characters at most.
pub fn object_name(raw: &str) -> String {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-';
    let starts_well = raw
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if starts_well && raw.len() <= MAX_LEN && raw.bytes().all(allowed) {
        return raw.to_string();
    }
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii() && allowed(c as u8) {
                c
            } else {
                '-'
            }
        })
        .take(MAX_LEN - HASH_SUFFIX_LEN)
        .collect();
    while name.ends_with(['-', '.']) {
        name.pop();
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        name.insert(0, 'x');
        name.truncate(MAX_LEN - HASH_SUFFIX_LEN);
    }
    format!("{name}-{:012x}", fnv1a(raw.as_bytes()) >> 16)
}

/// FNV-1a, 64 bits: stable across builds and platforms (std's hasher is not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str) -> bool {
        let mut bytes = name.bytes();
        bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && name.len() <= 63
            && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    }

    #[test]
    fn short_names_read_as_what_they_are() {
        assert_eq!(
            service_pool("default", "demo-web", "80", Protocol::Tcp, IpFamily::IPv4),
            "svc-default.demo-web-80-tcp"
        );
        assert_eq!(
            service_pool("dns", "core", "53", Protocol::Udp, IpFamily::IPv6),
            "svc-dns.core-53-udp-v6"
        );
        assert_eq!(
            ingress_listener("edgelb", 443, IpFamily::IPv6),
            "ing-edgelb-443-v6"
        );
        assert_eq!(
            own_vip_listener("shop", "web", 80, IpFamily::IPv6),
            "ingress-shop.web-80-v6"
        );
        assert_eq!(certificate("shop", "shop.tls"), "tls-shop.shop.tls");
    }

    #[test]
    fn dashes_in_namespaces_and_names_do_not_collide() {
        let a = service_pool("a-b", "c", "80", Protocol::Tcp, IpFamily::IPv4);
        let b = service_pool("a", "b-c", "80", Protocol::Tcp, IpFamily::IPv4);
        assert_eq!(
            (a.as_str(), b.as_str()),
            ("svc-a-b.c-80-tcp", "svc-a.b-c-80-tcp")
        );
    }

    #[test]
    fn own_vip_listeners_never_take_a_class_listener_name() {
        // IngressClass names are DNS subdomains: dots allowed, so a class can look like `<ns>.<name>`.
        let class = ingress_listener("shop.web", 80, IpFamily::IPv4);
        let own = own_vip_listener("shop", "web", 80, IpFamily::IPv4);
        assert_eq!(
            (class.as_str(), own.as_str()),
            ("ing-shop.web-80", "ingress-shop.web-80")
        );
        let class = ingress_listener("ress-shop.web", 80, IpFamily::IPv4);
        assert_ne!(class, own);
    }

    #[test]
    fn long_names_are_cut_and_hashed_stably_and_distinctly() {
        let ns = "a-namespace-with-a-rather-long-name-for-a-team";
        let a = service_pool(
            ns,
            "frontend-service-one",
            "8080",
            Protocol::Tcp,
            IpFamily::IPv4,
        );
        let b = service_pool(
            ns,
            "frontend-service-two",
            "8080",
            Protocol::Tcp,
            IpFamily::IPv4,
        );
        assert_eq!(a.len(), 63);
        assert!(valid(&a) && valid(&b), "{a} {b}");
        assert_ne!(a, b);
        assert_eq!(
            &a[..50],
            "svc-a-namespace-with-a-rather-long-name-for-a-team"
        );
        assert_eq!(
            a,
            service_pool(
                ns,
                "frontend-service-one",
                "8080",
                Protocol::Tcp,
                IpFamily::IPv4
            ),
            "stable"
        );
        let hash = &a[51..];
        assert!(
            hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{a}"
        );
    }

    #[test]
    fn characters_outside_the_charset_force_a_hash() {
        let a = object_name("Svc_Web");
        let b = object_name("svc-web");
        assert!(valid(&a), "{a}");
        assert!(a.starts_with("x-vc--eb-"), "{a}");
        assert_eq!(b, "svc-web");
        assert_ne!(object_name("a_b"), object_name("a-b"));
        assert!(valid(&object_name("")));
    }

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
