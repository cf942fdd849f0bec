//! The one path the proxy both decides on and forwards.
//!
//! A proxy that decides on one spelling of a path and forwards another can be talked past:
//! `/proxy/api/%2e%2e/admin` is decided as a path under `/api` and reaches the upstream's
//! `/admin` once the upstream resolves it. So the path after `/proxy` is read once into
//! its segments, percent-decoded, and the gateway forwards *that* reading re-encoded —
//! never the caller's bytes:
//!
//! - `.` and `..` segments, written plainly or percent-encoded, are refused (resolving
//!   them could climb out of `PROXY_TARGET`'s base path; refusing cannot surprise anyone);
//! - a segment that decodes to a `/` or `\`, a control character or bytes that are not
//!   UTF-8 is refused (upstreams disagree about what those mean);
//! - empty segments (`//`) are dropped, as the `path` resource kind drops them; a final
//!   `/` is kept (`/users/` and `/users` may be different routes);
//! - each segment is forwarded percent-encoded except for the characters RFC 3986 allows
//!   in a segment, so the upstream reads exactly the decoded text the policy saw.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// Characters encoded when a segment is forwarded: everything but RFC 3986 `pchar`
/// (unreserved, sub-delims, `:` and `@`).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A path read for the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedPath {
    /// The decoded path the policies see (`/api/a b`).
    pub decoded: String,
    /// The same path encoded for the upstream request (`/api/a%20b`).
    pub encoded: String,
}

/// Reads `raw` (the request path after `/proxy`, starting with `/` or empty).
pub fn read(raw: &str) -> Result<ForwardedPath, String> {
    let mut decoded = String::with_capacity(raw.len() + 1);
    let mut encoded = String::with_capacity(raw.len() + 1);
    let segments: Vec<&str> = raw.split('/').filter(|s| !s.is_empty()).collect();
    for seg in &segments {
        let text = percent_decode_str(seg)
            .decode_utf8()
            .map_err(|_| format!("the path segment `{seg}` does not decode to UTF-8 text"))?;
        if text == "." || text == ".." {
            return Err(format!(
                "the path segment `{seg}` is a dot segment; the proxy forwards only paths \
                 without `.` and `..`"
            ));
        }
        if let Some(c) = text
            .chars()
            .find(|c| *c == '/' || *c == '\\' || c.is_control())
        {
            return Err(format!(
                "the path segment `{seg}` decodes to {}, which the proxy does not forward",
                describe(c)
            ));
        }
        decoded.push('/');
        decoded.push_str(&text);
        encoded.push('/');
        encoded.extend(utf8_percent_encode(&text, SEGMENT));
    }
    if decoded.is_empty() || (raw.ends_with('/') && !segments.is_empty()) {
        decoded.push('/');
        encoded.push('/');
    }
    Ok(ForwardedPath { decoded, encoded })
}

fn describe(c: char) -> String {
    match c {
        '/' => "a `/`".to_owned(),
        '\\' => "a `\\`".to_owned(),
        c => format!("the control character U+{:04X}", u32::from(c)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ok(raw: &str) -> (String, String) {
        let p = read(raw).unwrap();
        (p.decoded, p.encoded)
    }

    #[test]
    fn plain_paths_pass_through() {
        assert_eq!(
            ok("/api/contacts"),
            ("/api/contacts".into(), "/api/contacts".into())
        );
        assert_eq!(ok(""), ("/".into(), "/".into()));
        assert_eq!(ok("/"), ("/".into(), "/".into()));
        assert_eq!(ok("/users/"), ("/users/".into(), "/users/".into()));
        assert_eq!(ok("/a:b@c;d=e"), ("/a:b@c;d=e".into(), "/a:b@c;d=e".into()));
    }

    #[test]
    fn decoded_for_policies_encoded_for_the_upstream() {
        assert_eq!(ok("/a%20b"), ("/a b".into(), "/a%20b".into()));
        assert_eq!(ok("/%41dmin"), ("/Admin".into(), "/Admin".into()));
        assert_eq!(ok("/caf%C3%A9"), ("/café".into(), "/caf%C3%A9".into()));
        assert_eq!(ok("/100%25"), ("/100%".into(), "/100%25".into()));
        assert_eq!(ok("/a//b///c"), ("/a/b/c".into(), "/a/b/c".into()));
    }

    #[test]
    fn dot_segments_are_refused_however_written() {
        for raw in [
            "/api/../admin",
            "/api/./x",
            "/api/%2e%2e/admin",
            "/%2E/x",
            "/.%2e",
            "/..",
        ] {
            let e = read(raw).unwrap_err();
            assert!(e.contains("dot segment"), "{raw}: {e}");
        }
        // Dots inside a name are names.
        assert_eq!(ok("/v1.2/..x/...").0, "/v1.2/..x/...");
    }

    #[test]
    fn encoded_separators_controls_and_bad_utf8_are_refused() {
        assert!(read("/api%2fadmin").unwrap_err().contains("a `/`"));
        assert!(read("/api%5cadmin").unwrap_err().contains("a `\\`"));
        assert!(read("/a%00b").unwrap_err().contains("U+0000"));
        assert!(read("/a%0Ab").unwrap_err().contains("U+000A"));
        assert!(read("/a%ffb").unwrap_err().contains("UTF-8"));
    }
}
