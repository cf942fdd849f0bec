//! Canonical resources (SPEC §2): spelling must not dodge a rule.
//!
//! A resource is put in canonical form by its shape before anything is matched:
//! - a path (`/…`, `./…`, `../…`, `~…`): `.` and `..` segments resolved lexically and
//!   repeated `/` collapsed; a `..` that climbs above a relative or home start stays, one
//!   that climbs above `/` stops there (as the kernel does);
//! - a URL (`scheme://…`): scheme and host lower-cased, a trailing dot on the host and
//!   the default port dropped, user-info dropped (so `https://github.com@evil.onion/`
//!   cannot pose as GitHub, and credentials never reach the audit log), dot segments
//!   (also percent-encoded ones) resolved; query and fragment kept as they are;
//! - an email address: the domain lower-cased, a trailing dot dropped.
//!
//! Anything else is left as it is. The function is idempotent (a property test checks it).

use std::borrow::Cow;

/// Puts a resource in canonical form; borrows when nothing changes.
pub fn canonicalize(resource: &str) -> Cow<'_, str> {
    let out = if let Some(split) = url_scheme_end(resource) {
        if url_is_canonical(resource, split) {
            return Cow::Borrowed(resource);
        }
        url(resource, split)
    } else if is_path(resource) {
        if segments_resolved(resource, false) {
            return Cow::Borrowed(resource);
        }
        path(resource)
    } else if let Some(at) = email_at(resource) {
        let domain = &resource[at + 1..];
        if !domain.ends_with('.') && !domain.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
            return Cow::Borrowed(resource);
        }
        email(resource, at)
    } else {
        return Cow::Borrowed(resource);
    };
    if out == resource {
        Cow::Borrowed(resource)
    } else {
        Cow::Owned(out)
    }
}

/// Whether the segments after a path's first `/` need no resolution: no `.` or `..`
/// (in URLs also percent-encoded), no empty segment but a final one (a trailing slash).
/// Most resources pass, and then canonicalisation costs no allocation.
fn segments_resolved(path: &str, url: bool) -> bool {
    let mut segs = path.split('/').skip(1).peekable();
    while let Some(seg) = segs.next() {
        let last = segs.peek().is_none();
        let dot = if url {
            url_seg(seg) != Seg::Name
        } else {
            plain_seg(seg) != Seg::Name
        };
        if dot || (seg.is_empty() && !last) {
            return false;
        }
    }
    true
}

/// Whether a URL is already canonical (the common case). Anything unusual — upper case,
/// user-info, a port, a trailing host dot, segments to resolve — takes the full path.
fn url_is_canonical(s: &str, split: usize) -> bool {
    let scheme = &s[..split];
    let rest = &s[split + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(authority_end);
    let path = &after[..after.find(['?', '#']).unwrap_or(after.len())];
    !scheme.bytes().any(|b| b.is_ascii_uppercase())
        && !authority.contains(['@', ':'])
        && !authority.ends_with('.')
        && !authority.chars().any(char::is_uppercase)
        && segments_resolved(path, true)
}

fn is_path(s: &str) -> bool {
    s.starts_with('/') || s.starts_with("./") || s.starts_with("../") || s.starts_with('~')
}

/// Byte index of `://` when `s` starts with a URL scheme.
fn url_scheme_end(s: &str) -> Option<usize> {
    // A scheme holds no `:`, so only the first colon can start `://`.
    let i = s.find(':').filter(|&i| s[i..].starts_with("://"))?;
    let scheme = &s[..i];
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .then_some(i)
}

/// The `@` of an email address: exactly one, not first or last, no white space or `/`.
fn email_at(s: &str) -> Option<usize> {
    let mut at = None;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'@' if at.is_some() => return None,
            b'@' => at = Some(i),
            b'/' => return None,
            b if b.is_ascii_whitespace() => return None,
            // Non-ASCII: decide by characters (Unicode white space).
            0x80.. => return email_at_unicode(s),
            _ => {}
        }
    }
    at.filter(|&i| i > 0 && i + 1 < s.len())
}

fn email_at_unicode(s: &str) -> Option<usize> {
    if s.contains(|c: char| c.is_whitespace() || c == '/') || s.matches('@').count() != 1 {
        return None;
    }
    let at = s.find('@')?;
    (at > 0 && at + 1 < s.len()).then_some(at)
}

fn email(s: &str, at: usize) -> String {
    let domain = s[at + 1..].to_lowercase();
    format!("{}@{}", &s[..at], domain.trim_end_matches('.'))
}

fn default_port(scheme: &str) -> Option<&'static str> {
    Some(match scheme {
        "http" | "ws" => "80",
        "https" | "wss" => "443",
        "ftp" => "21",
        _ => return None,
    })
}

fn url(s: &str, split: usize) -> String {
    let scheme = s[..split].to_ascii_lowercase();
    let rest = &s[split + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(authority_end);
    let hostport = match authority.rfind('@') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    // The port follows the last `:` unless that colon is inside an IPv6 literal. Empty and
    // default ports are dropped, repeatedly (`h:443:443`), so the result is a fixed point.
    let mut rest_hp = hostport;
    let (host, port) = loop {
        match rest_hp.rfind(':') {
            Some(i) if !rest_hp[i..].contains(']') => {
                let p = &rest_hp[i + 1..];
                if p.is_empty() || Some(p) == default_port(&scheme) {
                    rest_hp = &rest_hp[..i];
                } else {
                    break (&rest_hp[..i], Some(p));
                }
            }
            _ => break (rest_hp, None),
        }
    };
    let host = host.to_lowercase();
    let host = host.trim_end_matches('.');

    let path_end = after.find(['?', '#']).unwrap_or(after.len());
    let (path, tail) = after.split_at(path_end);

    let mut out = String::with_capacity(s.len());
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(host);
    if let Some(p) = port {
        out.push(':');
        out.push_str(p);
    }
    if !path.is_empty() {
        out.push_str(&resolve_dots(path, true, url_seg));
    }
    out.push_str(tail);
    out
}

#[derive(PartialEq)]
enum Seg {
    Dot,
    DotDot,
    Name,
}

/// A URL path segment; percent-encoded dots count as dots.
fn url_seg(seg: &str) -> Seg {
    let is = |forms: &[&str]| forms.iter().any(|f| seg.eq_ignore_ascii_case(f));
    if is(&[".", "%2e"]) {
        Seg::Dot
    } else if is(&["..", ".%2e", "%2e.", "%2e%2e"]) {
        Seg::DotDot
    } else {
        Seg::Name
    }
}

fn plain_seg(seg: &str) -> Seg {
    match seg {
        "." => Seg::Dot,
        ".." => Seg::DotDot,
        _ => Seg::Name,
    }
}

/// Resolves `.` and `..` in an absolute path (`/a/./b/../c` → `/a/c`), collapsing
/// repeated slashes; `..` at the root stays at the root. Keeps a trailing slash.
fn resolve_dots(path: &str, absolute: bool, kind: impl Fn(&str) -> Seg) -> String {
    let mut stack: Vec<&str> = Vec::new();
    let mut trailing = path.ends_with('/');
    for seg in path.split('/') {
        match kind(seg) {
            _ if seg.is_empty() => {}
            Seg::Dot => trailing = true,
            Seg::DotDot => {
                trailing = true;
                match stack.last() {
                    Some(&last) if kind(last) != Seg::DotDot => {
                        stack.pop();
                    }
                    _ if absolute => {}
                    _ => stack.push(".."),
                }
            }
            Seg::Name => {
                trailing = false;
                stack.push(seg);
            }
        }
    }
    trailing = trailing || path.ends_with('/');
    let mut out = String::with_capacity(path.len());
    if absolute {
        out.push('/');
    }
    out.push_str(&stack.join("/"));
    if trailing && !stack.is_empty() && !out.ends_with('/') {
        out.push('/');
    }
    out
}

fn path(s: &str) -> String {
    if let Some(rest) = s.strip_prefix('/') {
        // A leading `//` is collapsed too: there is no UNC meaning on the systems we govern.
        return resolve_dots(rest, true, plain_seg);
    }
    if s.starts_with('~') {
        let (home, rest) = match s.find('/') {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => return s.to_owned(),
        };
        let resolved = resolve_dots(rest, false, plain_seg);
        return if resolved.is_empty() {
            format!("{home}/")
        } else {
            format!("{home}/{resolved}")
        };
    }
    // `./…` or `../…`
    let resolved = resolve_dots(s, false, plain_seg);
    if resolved.is_empty() || resolved == "/" {
        "./".to_owned()
    } else if resolved == ".." || resolved.starts_with("../") {
        resolved
    } else {
        format!("./{resolved}")
    }
}

#[cfg(test)]
mod tests {
    use super::canonicalize as c;

    #[test]
    fn paths_resolve_dot_segments() {
        assert_eq!(c("/workspace/../etc/passwd"), "/etc/passwd");
        assert_eq!(c("/workspace//a/./b"), "/workspace/a/b");
        assert_eq!(c("/../../etc/shadow"), "/etc/shadow");
        assert_eq!(c("./src/../.env"), "./.env");
        assert_eq!(c("./../secret"), "../secret");
        assert_eq!(c("../a/../../b"), "../../b");
        assert_eq!(c("~/.ssh/../.aws/credentials"), "~/.aws/credentials");
        assert_eq!(c("~/../root"), "~/../root");
        assert_eq!(c("./src/"), "./src/");
        assert_eq!(c("./src/.."), "./");
        assert_eq!(c("./..a"), "./..a");
        assert_eq!(c("/"), "/");
    }

    #[test]
    fn urls_lower_case_scheme_and_host_only() {
        assert_eq!(c("HTTPS://Evil.ONION/x"), "https://evil.onion/x");
        assert_eq!(
            c("https://Example.com:443/A/./B/../C?Q=1#F"),
            "https://example.com/A/C?Q=1#F"
        );
        assert_eq!(c("http://example.com:8080"), "http://example.com:8080");
        assert_eq!(c("https://github.com@evil.onion/"), "https://evil.onion/");
        assert_eq!(c("https://docs.rs./x/%2e%2e/y"), "https://docs.rs/y");
        assert_eq!(c("http://[::1]:80/"), "http://[::1]/");
        // Regressions: every trailing dot and every default port goes at once, so the
        // function is idempotent and `https://evil.onion..` cannot dodge `*.onion`.
        assert_eq!(c("https://evil.onion.."), "https://evil.onion");
        assert_eq!(c("https://h:443:443/"), "https://h/");
        assert_eq!(c("https://h:8080:443/"), "https://h:8080/");
        assert_eq!(c("a://::?"), "a://?");
    }

    #[test]
    fn emails_lower_case_the_domain() {
        assert_eq!(c("Bob@YourCompany.COM"), "Bob@yourcompany.com");
        assert_eq!(c("bob@evil.com."), "bob@evil.com");
        assert_eq!(c("-@A.."), "-@a");
    }

    #[test]
    fn other_text_is_untouched() {
        assert_eq!(c("git status && rm -rf /"), "git status && rm -rf /");
        assert_eq!(c("Python tutorials"), "Python tutorials");
    }
}
