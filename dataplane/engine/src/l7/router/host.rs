//! Hosts: checking the patterns of the Ingress rules, and reducing a request's Host (or absolute-form
//! authority) to the form they are compared in: port stripped (`[v6]:port` too), one trailing dot
//! dropped, ASCII lowercase, at most 253 bytes, written into a stack buffer.

use core::net::Ipv4Addr;

use crate::l7::http::split_host_port;

/// The longest DNS name.
pub const MAX_HOST: usize = 253;

/// A checked host pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostPattern {
    /// `""`: rules without a host.
    Any,
    /// A DNS name, lowercase.
    Exact(Vec<u8>),
    /// `*.suffix`: the suffix, lowercase.
    Wildcard(Vec<u8>),
}

/// Checks an Ingress host pattern the way Kubernetes validates `spec.rules[].host`: a lowercase RFC 1123
/// subdomain (uppercase is accepted and lowered), not an IP address, optionally `*.` in front.
pub(crate) fn parse_pattern(pattern: &str) -> Result<HostPattern, &'static str> {
    if pattern.is_empty() {
        return Ok(HostPattern::Any);
    }
    let lower = pattern.to_ascii_lowercase();
    let (wildcard, name) = match lower.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    check_dns_name(name)?;
    if name.parse::<Ipv4Addr>().is_ok() {
        return Err("an IP address is not a host pattern");
    }
    let name = name.as_bytes().to_vec();
    Ok(if wildcard {
        HostPattern::Wildcard(name)
    } else {
        HostPattern::Exact(name)
    })
}

fn check_dns_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.len() > MAX_HOST {
        return Err("longer than 253 characters");
    }
    if name.contains('*') {
        return Err("a wildcard must be the whole first label (*.example.com)");
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("each label must have 1 to 63 characters (no port, no trailing dot)");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("only letters, digits, '-' and '.' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label must start and end with a letter or digit");
        }
    }
    Ok(())
}

/// Writes the comparable form of a request host into `buf` and returns it; `None` when there is none to
/// compare (empty, malformed, or too long): such a request matches only host-less rules.
pub(crate) fn normalise<'b>(host: &[u8], buf: &'b mut [u8; MAX_HOST]) -> Option<&'b [u8]> {
    let (host, _port) = split_host_port(host).ok()?;
    let host = host.strip_suffix(b".").unwrap_or(host);
    if host.is_empty() {
        return None;
    }
    let out = buf.get_mut(..host.len())?;
    for (o, b) in out.iter_mut().zip(host) {
        *o = b.to_ascii_lowercase();
    }
    Some(out)
}

/// The wildcard key a host would match: what follows its first label (`a.b.c` -> `b.c`), if the first
/// label is not empty.
pub(crate) fn wildcard_suffix(host: &[u8]) -> Option<&[u8]> {
    let dot = host.iter().position(|&b| b == b'.')?;
    match host.split_at(dot) {
        ([], _) => None,
        (_, rest) => rest.get(1..).filter(|s| !s.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(parse_pattern(""), Ok(HostPattern::Any));
        assert_eq!(
            parse_pattern("Foo.Example.com"),
            Ok(HostPattern::Exact(b"foo.example.com".to_vec()))
        );
        assert_eq!(
            parse_pattern("*.example.com"),
            Ok(HostPattern::Wildcard(b"example.com".to_vec()))
        );
        assert_eq!(
            parse_pattern("*.com"),
            Ok(HostPattern::Wildcard(b"com".to_vec()))
        );
        assert_eq!(
            parse_pattern("1a.example"),
            Ok(HostPattern::Exact(b"1a.example".to_vec()))
        );
        for bad in [
            "*",
            "*.",
            "a.*.com",
            "*foo.com",
            "foo.com.",
            "foo.com:80",
            "-a.com",
            "a-.com",
            "a..com",
            "a_b.com",
            "10.0.0.1",
            "*.10.0.0.1x",
            "é.com",
        ] {
            let ok_if_x = bad == "*.10.0.0.1x";
            assert_eq!(parse_pattern(bad).is_ok(), ok_if_x, "{bad}");
        }
        assert!(parse_pattern(&"a".repeat(64)).is_err());
        let long = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61),
        ]
        .join(".");
        assert_eq!(long.len(), 253);
        assert!(parse_pattern(&long).is_ok());
        assert!(parse_pattern(&format!("{long}e")).is_err());
    }

    #[test]
    fn request_hosts() {
        let mut buf = [0u8; MAX_HOST];
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"Foo.Example.COM", Some(b"foo.example.com")),
            (b"foo.example.com:8443", Some(b"foo.example.com")),
            (b"foo.example.com.", Some(b"foo.example.com")),
            (b"foo.example.com.:80", Some(b"foo.example.com")),
            (b"[2001:DB8::1]:443", Some(b"[2001:db8::1]")),
            (b"", None),
            (b":80", None),
            (b".", None),
            (b"a b", None),
        ];
        for (host, expect) in cases {
            assert_eq!(
                normalise(host, &mut buf),
                *expect,
                "{:?}",
                String::from_utf8_lossy(host)
            );
        }
        assert_eq!(normalise(&[b'a'; 254], &mut buf), None);
        assert_eq!(
            normalise(&[b'a'; 253], &mut buf).map(<[u8]>::len),
            Some(253)
        );
    }

    #[test]
    fn wildcard_suffixes() {
        assert_eq!(wildcard_suffix(b"bar.foo.com"), Some(&b"foo.com"[..]));
        assert_eq!(wildcard_suffix(b"foo.com"), Some(&b"com"[..]));
        assert_eq!(wildcard_suffix(b"com"), None);
        assert_eq!(wildcard_suffix(b".com"), None);
        assert_eq!(wildcard_suffix(b"a."), None);
    }
}
