//! Paths: checking a route's path as Kubernetes does for its type, and the keys they are looked up by.
//!
//! A Prefix path matches element-wise: split on `/`, a trailing slash ignored on both sides. A route's
//! key is its path less one trailing `/` (`/` becomes the empty key); a request path matches a key when
//! the key is the request path (less one trailing `/`) cut just before one of its slashes, or all of it.
//! So `/aaa/bbb` matches `/aaa/bbb`, `/aaa/bbb/` and `/aaa/bbb/ccc`, never `/aaa/bbbxyz`. Paths are
//! compared as bytes: no percent-decoding and no dot-segment removal.

use super::input::PathType;

/// Byte sequences that Kubernetes refuses in Exact and Prefix paths.
const INVALID_SEQUENCES: [&str; 5] = ["//", "/./", "/../", "%2f", "%2F"];
const INVALID_SUFFIXES: [&str; 2] = ["/..", "/."];

/// Checks a route path and returns it as compared (`""` for ImplementationSpecific becomes `/`).
pub(crate) fn check(path: &str, path_type: PathType) -> Result<&str, &'static str> {
    let path = match (path, path_type) {
        ("", PathType::ImplementationSpecific) => "/",
        _ => path,
    };
    if !path.starts_with('/') {
        return Err("a path must start with '/'");
    }
    if !path
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#')
    {
        return Err("a path may hold visible ASCII other than '?' and '#' only");
    }
    if path_type != PathType::ImplementationSpecific {
        if let Some(seq) = INVALID_SEQUENCES.iter().find(|s| path.contains(*s)) {
            return Err(match *seq {
                "//" => "must not contain '//'",
                "/./" => "must not contain '/./'",
                "/../" => "must not contain '/../'",
                _ => "must not contain an encoded '/' (%2f)",
            });
        }
        if INVALID_SUFFIXES.iter().any(|s| path.ends_with(s)) {
            return Err("must not end with '/.' or '/..'");
        }
    }
    Ok(path)
}

/// The key of a Prefix path: one trailing `/` dropped.
pub(crate) fn prefix_key(path: &[u8]) -> &[u8] {
    path.strip_suffix(b"/").unwrap_or(path)
}

/// The keys a request path can match as a Prefix, longest first: the path less one trailing `/`, then
/// that cut before each of its slashes, down to the empty key (which the route `/` has).
pub(crate) fn prefix_candidates(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    let full = prefix_key(path);
    let cuts = full
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, &b)| b == b'/')
        .map(|(i, _)| i);
    core::iter::once(full.len())
        .chain(cuts)
        .map(move |end| full.get(..end).unwrap_or_default())
}

/// The request path as routing sees it: up to `?` or `#`; empty reads as `/`.
pub(crate) fn request_path(path: &[u8]) -> &[u8] {
    let end = path
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(path.len());
    match path.get(..end).unwrap_or_default() {
        [] => b"/",
        p => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_path_validation() {
        assert_eq!(check("/foo", PathType::Exact), Ok("/foo"));
        assert_eq!(check("", PathType::ImplementationSpecific), Ok("/"));
        assert_eq!(check("//x", PathType::ImplementationSpecific), Ok("//x"));
        for (bad, t) in [
            ("", PathType::Prefix),
            ("foo", PathType::Exact),
            ("/a//b", PathType::Prefix),
            ("/a/./b", PathType::Exact),
            ("/a/../b", PathType::Prefix),
            ("/a%2Fb", PathType::Prefix),
            ("/a/..", PathType::Exact),
            ("/a/.", PathType::Prefix),
            ("/a?b", PathType::ImplementationSpecific),
            ("/a b", PathType::Prefix),
            ("/é", PathType::Prefix),
        ] {
            assert!(check(bad, t).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn candidates_longest_first() {
        let all = |p: &'static [u8]| prefix_candidates(p).collect::<Vec<_>>();
        assert_eq!(
            all(b"/aaa/bbb/ccc"),
            vec![&b"/aaa/bbb/ccc"[..], b"/aaa/bbb", b"/aaa", b""]
        );
        assert_eq!(all(b"/aaa/bbb/"), vec![&b"/aaa/bbb"[..], b"/aaa", b""]);
        assert_eq!(all(b"/"), vec![&b""[..]]);
        assert_eq!(all(b"/a//b"), vec![&b"/a//b"[..], b"/a/", b"/a", b""]);
        assert_eq!(prefix_key(b"/"), b"");
        assert_eq!(prefix_key(b"/foo/"), b"/foo");
        assert_eq!(request_path(b"/a?b#c"), b"/a");
        assert_eq!(request_path(b"/a#b?c"), b"/a");
        assert_eq!(request_path(b""), b"/");
        assert_eq!(request_path(b"?x"), b"/");
    }
}
