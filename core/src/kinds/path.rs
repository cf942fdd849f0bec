//! Paths (`docs/semantics.md` §2.12): `.` and `..` segments resolved lexically and
//! repeated `/` collapsed, so `/workspace/../etc/passwd` is matched as `/etc/passwd` and
//! `workspace/../../etc/shadow` as `../etc/shadow`. A `..` that climbs above a relative or
//! home start stays (it leaves the place the policy is about); one that climbs above `/`
//! stops there, as the kernel does.

use std::borrow::Cow;

/// Whether a resource looks like a path: it starts with `/`, `./`, `../` or `~`, or it has
/// no white space and a `.` or `..` segment between slashes (dot segments mean nothing
/// outside paths, and a relative path without `./` must not dodge a rule with them).
pub(crate) fn looks_like_path(s: &str) -> bool {
    is_rooted(s)
        || (s.contains('/')
            && !s.contains(char::is_whitespace)
            && s.split('/').any(|seg| seg == "." || seg == ".."))
}

fn is_rooted(s: &str) -> bool {
    s.starts_with('/') || s.starts_with("./") || s.starts_with("../") || s.starts_with('~')
}

/// The canonical form of a path; borrows when nothing changes.
pub(crate) fn canonical(s: &str) -> Cow<'_, str> {
    if segments_resolved(s) {
        return Cow::Borrowed(s);
    }
    let out = resolve(s);
    if out == s {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(out)
    }
}

/// Whether nothing needs resolving: no `.` or `..` segment (but a leading `./` or `../`,
/// which is kept as written), no empty segment but a final one (a trailing slash). Most
/// paths pass, and then reading them costs no allocation.
fn segments_resolved(path: &str) -> bool {
    // One pass over the bytes (`split` sets up a `memchr` search per segment, which
    // cost more than the rest of reading a short path).
    let b = path.as_bytes();
    let dots = |seg: &[u8]| seg == b"." || seg == b"..";
    let mut start = 0;
    let mut first = true;
    loop {
        let rest = b.get(start..).unwrap_or_default();
        let end = rest
            .iter()
            .position(|&c| c == b'/')
            .map_or(b.len(), |p| start + p);
        let seg = b.get(start..end).unwrap_or_default();
        let last = end == b.len();
        if first {
            if dots(seg) && last {
                return false;
            }
            first = false;
        } else if dots(seg) || (seg.is_empty() && !last) {
            return false;
        }
        if last {
            return true;
        }
        start = end + 1;
    }
}

fn resolve(s: &str) -> String {
    if let Some(rest) = s.strip_prefix('/') {
        // A leading `//` is collapsed too: there is no UNC meaning on the systems we govern.
        return resolve_dots(rest, true);
    }
    if s.starts_with('~') {
        let (home, rest) = match s.find('/') {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => return s.to_owned(),
        };
        let resolved = resolve_dots(rest, false);
        return if resolved.is_empty() {
            [home, "/"].concat()
        } else {
            [home, "/", &resolved].concat()
        };
    }
    let dotted = s.starts_with("./") || s == ".";
    let resolved = resolve_dots(s, false);
    if resolved.is_empty() || resolved == "/" {
        if dotted { "./" } else { "." }.to_owned()
    } else if resolved == ".." || resolved.starts_with("../") || !dotted {
        resolved
    } else {
        // `concat` sizes the string once; `format!` grows it as it goes.
        ["./", &resolved].concat()
    }
}

/// Resolves `.` and `..` (`a/./b/../c` → `a/c`), collapsing repeated slashes; in an
/// absolute path `..` at the root stays at the root, in a relative one it is kept.
/// Keeps a trailing slash.
fn resolve_dots(path: &str, absolute: bool) -> String {
    let mut stack: Vec<&str> = Vec::new();
    let mut trailing = path.ends_with('/');
    for seg in path.split('/') {
        match seg {
            "" => {}
            "." => trailing = true,
            ".." => {
                trailing = true;
                match stack.last() {
                    Some(&last) if last != ".." => {
                        stack.pop();
                    }
                    _ if absolute => {}
                    _ => stack.push(".."),
                }
            }
            _ => {
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

#[cfg(test)]
mod tests {
    use super::{canonical as c, looks_like_path};

    #[test]
    fn dot_segments_resolve() {
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
    fn relative_paths_without_a_dot_start_resolve_too() {
        assert_eq!(c("workspace/../../../etc/shadow"), "../../etc/shadow");
        assert_eq!(c("workspace/../../etc/shadow"), "../etc/shadow");
        assert_eq!(c("workspace/./a//b"), "workspace/a/b");
        assert_eq!(c("a/.."), ".");
        assert_eq!(c("src/main.rs"), "src/main.rs");
        assert_eq!(c("../x"), "../x");
        assert_eq!(c("../../x"), "../../x");
        assert_eq!(c("./x"), "./x");
    }

    #[test]
    fn shape() {
        assert!(looks_like_path("workspace/../etc"));
        assert!(looks_like_path("a/./b"));
        assert!(looks_like_path("~"));
        assert!(!looks_like_path("a/b"));
        assert!(!looks_like_path("git log ../x"));
        assert!(!looks_like_path(".."));
    }
}
