//! Host names and patterns for SNI selection: an exact name (`www.example.com`) or a wildcard
//! (`*.example.com`) that matches exactly one more label, both case-insensitive. Patterns are validated and
//! lower-cased once when a listener is built; an SNI is lower-cased into a stack buffer per handshake.

/// The longest DNS name in text form (RFC 1035), without a trailing dot.
const MAX_NAME: usize = 253;
/// The longest DNS label.
const MAX_LABEL: usize = 63;

/// A validated, lower-case host pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum HostPattern {
    /// Matches this name only.
    Exact(Box<str>),
    /// `*.` + this name: matches one label followed by this name.
    Wildcard(Box<str>),
}

impl HostPattern {
    /// Parses `text` (case-insensitive, a trailing dot allowed); the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let lower = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
        match lower.strip_prefix("*.") {
            Some(parent) => {
                check_name(parent)?;
                Ok(Self::Wildcard(parent.into()))
            }
            None => {
                check_name(&lower)?;
                Ok(Self::Exact(lower.into()))
            }
        }
    }
}

/// Checks a lower-case name without wildcard.
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.len() > MAX_NAME {
        return Err("longer than 253 bytes");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label");
        }
        if label.len() > MAX_LABEL {
            return Err("label longer than 63 bytes");
        }
        if label.contains('*') {
            return Err("'*' is allowed only as the whole first label");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("invalid character (letters, digits, '-' and '_' only)");
        }
    }
    Ok(())
}

/// A host name lower-cased into a stack buffer, without its trailing dot, for lookups that allocate nothing.
pub(super) struct LowerHost {
    buf: [u8; MAX_NAME],
    len: usize,
}

impl LowerHost {
    /// Lower-cases `host`; `None` when it is empty or longer than a DNS name can be.
    pub fn new(host: &str) -> Option<Self> {
        let host = host.strip_suffix('.').unwrap_or(host).as_bytes();
        if host.is_empty() {
            return None;
        }
        let mut buf = [0u8; MAX_NAME];
        let target = buf.get_mut(..host.len())?;
        for (out, byte) in target.iter_mut().zip(host) {
            *out = byte.to_ascii_lowercase();
        }
        Some(Self {
            buf,
            len: host.len(),
        })
    }

    /// The lower-case name.
    pub fn as_str(&self) -> &str {
        // Lower-casing ASCII bytes of valid UTF-8 keeps it valid, so the fallback is never taken.
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// The name after the first label (what a wildcard pattern stores), if the first label is not empty.
    pub fn parent(&self) -> Option<&str> {
        let (first, parent) = self.as_str().split_once('.')?;
        (!first.is_empty() && !parent.is_empty()).then_some(parent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_and_wildcard_patterns_lower_case() {
        assert_eq!(
            HostPattern::parse("WWW.Example.Test").unwrap(),
            HostPattern::Exact("www.example.test".into())
        );
        assert_eq!(
            HostPattern::parse("*.Apps.example.test.").unwrap(),
            HostPattern::Wildcard("apps.example.test".into())
        );
        assert_eq!(
            HostPattern::parse("localhost").unwrap(),
            HostPattern::Exact("localhost".into())
        );
    }

    #[test]
    fn refuses_bad_patterns_with_a_reason() {
        let cases = [
            ("", "empty name"),
            ("*.", "'*' is allowed only as the whole first label"),
            ("*..", "empty name"),
            ("a..b", "empty label"),
            ("*", "'*' is allowed only as the whole first label"),
            ("a.*.b", "'*' is allowed only as the whole first label"),
            (
                "w*.example.test",
                "'*' is allowed only as the whole first label",
            ),
            (
                "*.*.example.test",
                "'*' is allowed only as the whole first label",
            ),
            (
                "a b.test",
                "invalid character (letters, digits, '-' and '_' only)",
            ),
        ];
        for (pattern, reason) in cases {
            assert_eq!(HostPattern::parse(pattern), Err(reason), "{pattern:?}");
        }
        let long_label = format!("{}.test", "a".repeat(64));
        assert_eq!(
            HostPattern::parse(&long_label),
            Err("label longer than 63 bytes")
        );
        let long_name = ["abcdefghi"; 26].join(".");
        assert_eq!(HostPattern::parse(&long_name), Err("longer than 253 bytes"));
    }

    #[test]
    fn lower_host_folds_case_and_finds_the_parent() {
        let host = LowerHost::new("A.Apps.Example.TEST.").unwrap();
        assert_eq!(host.as_str(), "a.apps.example.test");
        assert_eq!(host.parent(), Some("apps.example.test"));
        assert_eq!(LowerHost::new("single").unwrap().parent(), None);
        assert_eq!(LowerHost::new(".example.test").unwrap().parent(), None);
        assert!(LowerHost::new("").is_none());
        assert!(LowerHost::new(&"a".repeat(254)).is_none());
    }
}
