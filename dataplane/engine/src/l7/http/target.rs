//! The request-target (RFC 9112 section 3.2): its form, the path that routing compares, the path and query
//! forwarded upstream, and the authority of the absolute-form (which overrides Host).
//!
//! No percent-decoding and no dot-segment removal happen here: the path is compared byte for byte, as
//! the Ingress specification leaves normalisation to implementations.

use super::error::HttpError;
use super::message::Method;

/// The form of a request-target.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TargetForm {
    /// `/path?query`
    Origin,
    /// `http://authority/path?query`
    Absolute,
    /// `*` (OPTIONS only)
    Asterisk,
}

/// A request-target taken apart (slices of the target).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    /// Its form.
    pub form: TargetForm,
    /// The authority of the absolute-form (`host[:port]`), which replaces the Host header.
    pub authority: Option<&'a [u8]>,
    /// The path routing compares: up to `?` or `#`; empty for the asterisk-form and for an absolute-form
    /// without a path (which routing reads as `/`).
    pub path: &'a [u8],
    /// What is forwarded upstream in origin-form: the path with its query, fragment dropped (`/` for an
    /// absolute-form without a path, `*` for the asterisk-form).
    pub path_and_query: &'a [u8],
}

/// Takes a request-target apart. Only ASCII is allowed; the absolute-form must be `http` or `https` with a
/// non-empty authority and no userinfo (RFC 9110 section 4.2.4).
pub fn parse_target(target: &[u8], method: Method) -> Result<Target<'_>, HttpError> {
    if target.is_empty() || !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(HttpError::BadTarget);
    }
    if target == b"*" {
        if method != Method::Options {
            return Err(HttpError::BadTarget);
        }
        return Ok(Target {
            form: TargetForm::Asterisk,
            authority: None,
            path: b"",
            path_and_query: b"*",
        });
    }
    if target.starts_with(b"/") {
        let pq = before(target, b"#");
        return Ok(Target {
            form: TargetForm::Origin,
            authority: None,
            path: path_of(pq),
            path_and_query: pq,
        });
    }
    absolute_form(target)
}

fn absolute_form(target: &[u8]) -> Result<Target<'_>, HttpError> {
    let sep = find(target, b"://").ok_or(HttpError::BadTarget)?;
    let (scheme, rest) = target.split_at(sep);
    if !scheme.eq_ignore_ascii_case(b"http") && !scheme.eq_ignore_ascii_case(b"https") {
        return Err(HttpError::BadTarget);
    }
    let rest = rest.get(3..).unwrap_or_default();
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.is_empty() || authority.contains(&b'@') {
        return Err(HttpError::BadTarget);
    }
    let pq = before(tail, b"#");
    // `http://h?q` has an empty path: forward `/?q` would need a copy, so it is refused instead.
    let path_and_query = match pq {
        [] => &b"/"[..],
        [b'/', ..] => pq,
        _ => return Err(HttpError::BadTarget),
    };
    Ok(Target {
        form: TargetForm::Absolute,
        authority: Some(authority),
        path: path_of(pq),
        path_and_query,
    })
}

fn path_of(path_and_query: &[u8]) -> &[u8] {
    before(path_and_query, b"?")
}

fn before<'a>(s: &'a [u8], stop: &[u8]) -> &'a [u8] {
    let end = s.iter().position(|b| stop.contains(b)).unwrap_or(s.len());
    s.get(..end).unwrap_or_default()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(t: &[u8]) -> (TargetForm, Option<&[u8]>, &[u8], &[u8]) {
        let t = parse_target(t, Method::Get).unwrap();
        (t.form, t.authority, t.path, t.path_and_query)
    }

    #[test]
    fn origin_form() {
        assert_eq!(
            parts(b"/a/b?x=1#f"),
            (TargetForm::Origin, None, &b"/a/b"[..], &b"/a/b?x=1"[..])
        );
        assert_eq!(
            parts(b"/"),
            (TargetForm::Origin, None, &b"/"[..], &b"/"[..])
        );
        assert_eq!(
            parts(b"/a#?"),
            (TargetForm::Origin, None, &b"/a"[..], &b"/a"[..])
        );
    }

    #[test]
    fn absolute_form() {
        let t = parts(b"http://Foo.example:8080/p/q?x");
        assert_eq!(
            t,
            (
                TargetForm::Absolute,
                Some(&b"Foo.example:8080"[..]),
                &b"/p/q"[..],
                &b"/p/q?x"[..]
            )
        );
        let t = parts(b"HTTPS://h");
        assert_eq!(
            t,
            (TargetForm::Absolute, Some(&b"h"[..]), &b""[..], &b"/"[..])
        );
        for bad in [
            &b"ftp://h/"[..],
            b"http:///p",
            b"http://u@h/",
            b"http://h?q",
            b"h/p",
            b"http:/h",
            b"",
        ] {
            assert_eq!(
                parse_target(bad, Method::Get),
                Err(HttpError::BadTarget),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn asterisk_only_for_options_and_no_raw_non_ascii() {
        let t = parse_target(b"*", Method::Options).unwrap();
        assert_eq!(
            (t.form, t.path_and_query),
            (TargetForm::Asterisk, &b"*"[..])
        );
        assert_eq!(parse_target(b"*", Method::Get), Err(HttpError::BadTarget));
        assert_eq!(
            parse_target("/caf\u{e9}".as_bytes(), Method::Get),
            Err(HttpError::BadTarget)
        );
    }
}
