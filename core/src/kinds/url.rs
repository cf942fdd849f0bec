//! URLs (`docs/semantics.md` §2.11), read as a browser reads them.
//!
//! A policy that blocks `*.onion` or admits `docs.rs` is about the host a client will
//! connect to, so the resource is parsed with the WHATWG URL standard (the `url` crate,
//! IDNA included): `\` is `/` in special schemes, hosts are percent-decoded and
//! IDNA-mapped (`abc%2eonion`, `abc．onion` are `abc.onion`), and
//! `https://evil.com\@docs.rs/x` is a URL of `evil.com`. The canonical form is the
//! standard's serialisation (lower-case scheme and host, no default port, dot segments
//! resolved, `https://x.com` → `https://x.com/`) with two changes: user-info is dropped
//! (it never decides where a request goes, and credentials do not belong in an audit log)
//! and a trailing dot on a host name is dropped (DNS treats `evil.onion.` as `evil.onion`,
//! so `*.onion` must match both).
//!
//! Most URLs in real requests are already canonical; [`fast_path`] recognises the common
//! shape without running the parser (a property test checks it agrees with the parser).

use std::borrow::Cow;
use std::ops::Range;

/// A URL in canonical form and where its host is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Canonical<'r> {
    pub text: Cow<'r, str>,
    /// The host's byte range in `text` (empty when the URL has no host).
    pub host: Range<usize>,
}

/// Byte index of `://` when `s` starts with a URL scheme.
pub(crate) fn scheme_end(s: &str) -> Option<usize> {
    // A scheme holds no `:`, so only the first colon can start `://`; every byte before
    // it must be a scheme byte (a letter first). One pass, stopping at the first byte
    // that cannot be in a scheme.
    let b = s.as_bytes();
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    for (i, &c) in b.iter().enumerate().skip(1) {
        match c {
            b':' => return b.get(i..)?.starts_with(b"://").then_some(i),
            c if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.') => {}
            _ => return None,
        }
    }
    None
}

/// Reads a URL, or says why it is not one.
pub(crate) fn read(s: &str) -> Result<Canonical<'_>, String> {
    if let Some(fast) = fast_path(s) {
        return Ok(fast.canonical(s));
    }
    let mut url = url::Url::parse(s).map_err(|e| e.to_string())?;
    // Neither can fail for a URL with a host; for one without, there is nothing to drop.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if let Some(host) = url.host_str() {
        let trimmed = host.trim_end_matches('.');
        let lowered = trimmed.to_ascii_lowercase();
        if (trimmed.len() != host.len() || lowered != host) && !lowered.is_empty() {
            url.set_host(Some(&lowered)).map_err(|e| e.to_string())?;
        }
    }
    let host = url::Position::BeforeHost..url::Position::AfterHost;
    let range = position(&url, host.start)..position(&url, host.end);
    let text: String = url.into();
    Ok(Canonical {
        text: if text == s {
            Cow::Borrowed(s)
        } else {
            Cow::Owned(text)
        },
        host: range,
    })
}

fn position(url: &url::Url, at: url::Position) -> usize {
    url[..at].len()
}

/// What [`fast_path`] found: where the host is, and whether the scheme and host are to
/// be lowered (the only rewrite the fast path makes).
#[derive(Debug, PartialEq, Eq)]
struct Fast {
    host: Range<usize>,
    lower: bool,
}

impl Fast {
    fn canonical(self, s: &str) -> Canonical<'_> {
        let text = match s.get(..self.host.end) {
            Some(head) if self.lower => {
                let mut text = head.to_ascii_lowercase();
                text.push_str(s.get(self.host.end..).unwrap_or_default());
                Cow::Owned(text)
            }
            _ => Cow::Borrowed(s),
        };
        Canonical {
            text,
            host: self.host,
        }
    }
}

/// The host range of an `http(s)` URL with a plain host name and a path that is
/// canonical but for ASCII capitals in its scheme or host (which the standard lowers),
/// or `None` when the parser must decide (anything unusual: a port, user-info, IP
/// addresses, punycode, percent-encoded dots, characters the standard would encode, dot
/// segments).
fn fast_path(s: &str) -> Option<Fast> {
    // One pass over the bytes: the host's labels, then the path's segments and every
    // byte after the host.
    let b = s.as_bytes();
    let scheme = |name: &[u8]| {
        b.get(..name.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(name))
    };
    let start = if scheme(b"https://") {
        8
    } else if scheme(b"http://") {
        7
    } else {
        return None;
    };
    let mut lower = b.get(..start)?.iter().any(u8::is_ascii_uppercase);
    let mut i = start;
    let mut label = start;
    loop {
        // No `/` after the host: the parser decides.
        match *b.get(i)? {
            b'a'..=b'z' | b'0'..=b'9' | b'-' => {}
            b'A'..=b'Z' => lower = true,
            c @ (b'.' | b'/') => {
                let l = b.get(label..i)?;
                if l.is_empty() || l.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"xn--")) {
                    return None;
                }
                if c == b'/' {
                    // A numeric last label makes the host an IPv4 address (`127.1`),
                    // which the standard rewrites.
                    if !l.first().is_some_and(u8::is_ascii_alphabetic) {
                        return None;
                    }
                    break;
                }
                label = i + 1;
            }
            _ => return None,
        }
        i += 1;
    }
    let host_end = i;
    let dot_segment = |seg: &[u8]| seg == b"." || seg == b"..";
    let mut in_path = true;
    let mut segment = host_end + 1;
    let mut hashes = 0;
    for (i, &c) in b.iter().enumerate().skip(host_end) {
        if in_path && i > host_end && matches!(c, b'/' | b'?' | b'#') {
            if dot_segment(b.get(segment..i)?) {
                return None;
            }
            segment = i + 1;
            in_path = c == b'/';
        }
        let ok = match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => true,
            b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'(' | b')' | b'*' | b'+' => true,
            b',' | b';' | b'=' | b':' | b'@' | b'/' | b'?' => true,
            b'#' => {
                hashes += 1;
                hashes == 1
            }
            b'%' => {
                let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
                let dot = b
                    .get(i + 1..i + 3)
                    .is_some_and(|h| h.eq_ignore_ascii_case(b"2e"));
                hex(i + 1) && hex(i + 2) && !dot
            }
            _ => false,
        };
        if !ok {
            return None;
        }
    }
    if in_path && dot_segment(b.get(segment..)?) {
        return None;
    }
    Some(Fast {
        host: start..host_end,
        lower,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(s: &str) -> String {
        read(s)
            .map(|u| u.text.into_owned())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    fn host(s: &str) -> String {
        read(s)
            .map(|u| u.text[u.host].to_owned())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn read_as_a_browser_reads() {
        assert_eq!(c("HTTPS://Evil.ONION/x"), "https://evil.onion/x");
        assert_eq!(c("HTTP://Docs.RS/A?B#C"), "http://docs.rs/A?B#C");
        assert_eq!(
            c("https://Example.com:443/A/./B/../C?Q=1#F"),
            "https://example.com/A/C?Q=1#F"
        );
        assert_eq!(c("http://example.com:8080"), "http://example.com:8080/");
        assert_eq!(c("https://github.com@evil.onion/"), "https://evil.onion/");
        assert_eq!(c("https://docs.rs./x/%2e%2e/y"), "https://docs.rs/y");
        assert_eq!(c("http://[::1]:80/"), "http://[::1]/");
        assert_eq!(c("https://evil.onion.."), "https://evil.onion/");
        assert_eq!(
            c("https://evil.com\\@docs.rs/x"),
            "https://evil.com/@docs.rs/x"
        );
        assert_eq!(host("https://evil.com\\@docs.rs/x"), "evil.com");
        assert_eq!(host("https://abc%2eonion/"), "abc.onion");
        assert_eq!(host("https://abc\u{ff0e}onion/"), "abc.onion");
        assert_eq!(host("http://abc.onion/page"), "abc.onion");
        assert_eq!(host("https://evil.com/?q=github.com"), "evil.com");
        assert_eq!(host("http://127.1/"), "127.0.0.1");
        assert_eq!(host("https://BÜCHER.de/"), "xn--bcher-kva.de");
        assert!(c("https:///").starts_with("error"));
        assert!(c("http://exa mple.com/").starts_with("error"));
        assert!(c("https://[::1/").starts_with("error"));
    }

    #[test]
    fn fast_path_is_taken_for_the_common_shape() {
        let fast = |host, lower| Some(Fast { host, lower });
        assert_eq!(fast_path("https://docs.rs/x?y=1#z"), fast(8..15, false));
        assert_eq!(fast_path("https://Docs.rs/"), fast(8..15, true));
        assert_eq!(fast_path("HTTP://docs.rs/X"), fast(7..14, true));
        assert_eq!(fast_path("https://docs.rs"), None);
        assert_eq!(fast_path("https://XN--bcher-kva.de/"), None);
        assert_eq!(fast_path("https://docs.rs/a/../b"), None);
        assert_eq!(fast_path("https://docs.rs/%2E"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

        /// Where the fast path answers, it answers what the parser would.
        #[test]
        fn fast_path_agrees_with_the_parser(
            s in "[hH][tT][tT][pP][sS]?://[a-z0-9.A-Z-]{0,12}(:[0-9]{0,3})?(/[a-zA-Z0-9._~%!$&'()*+,;=:@/?#\\\\ -]{0,16})?"
        ) {
            if let Some(fast) = fast_path(&s) {
                let parsed = url::Url::parse(&s);
                prop_assert!(parsed.is_ok(), "{s}");
                if let Ok(u) = parsed {
                    let c = fast.canonical(&s);
                    prop_assert_eq!(u.as_str(), &*c.text);
                    prop_assert_eq!(u.host_str(), c.text.get(c.host));
                }
            }
        }

        /// Reading a canonical URL gives it back unchanged.
        #[test]
        fn canonical_is_a_fixed_point(
            s in "[a-zA-Z][a-z+.-]{0,4}://[a-zA-Z0-9.%@:\\[\\]-]{0,12}(/[a-zA-Z0-9._~%!$&'()*+,;=:@/?#\\\\ -]{0,16})?"
        ) {
            if let Ok(once) = read(&s) {
                let twice = read(&once.text);
                prop_assert!(twice.is_ok(), "{s} -> {}", once.text);
                if let Ok(twice) = twice {
                    prop_assert_eq!(&once.text, &twice.text);
                    prop_assert_eq!(&once.text[once.host.clone()], &twice.text[twice.host.clone()]);
                }
            }
        }
    }
}
