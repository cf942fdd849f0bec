//! Resources by kind (`docs/semantics.md` §2.8): what the agent will really do is what is
//! matched.
//!
//! A resource is read once per request as one [`ResourceKind`], chosen by the action
//! (`resourceKinds` declarations of the set, then `execute:shell` and file actions) or
//! else by its shape. The kind decides the canonical form the decision reports, the text
//! patterns are tested against (a URL's host for host patterns), and whether the resource
//! splits into parts that are decided one by one (the simple commands of a shell line,
//! the addresses of a list). A resource that claims a kind but cannot be read as it is
//! *unreadable*: the evaluator denies it unless a rule allows that exact text.

pub(crate) mod email;
pub(crate) mod path;
pub(crate) mod shell;
pub(crate) mod url;

use std::borrow::Cow;
use std::ops::Range;

use smallvec::SmallVec;

use crate::model::ResourceKind;

/// The parts of a compound resource, canonical, in order.
pub(crate) type Parts<'r> = SmallVec<[Cow<'r, str>; 4]>;

/// A resource read as its kind.
#[derive(Debug)]
pub(crate) struct Reading<'r> {
    pub kind: ResourceKind,
    /// What the decision reports as `resource`: the canonical form (a shell line as
    /// written: its parts are what gets normalised).
    pub canonical: Cow<'r, str>,
    /// For a URL, where its host is in `canonical`.
    pub host: Option<Range<usize>>,
    /// The parts to decide one by one; empty when the resource is decided whole.
    pub parts: Parts<'r>,
    /// Why the resource cannot be read as its kind.
    pub unreadable: Option<String>,
}

impl<'r> Reading<'r> {
    fn whole(kind: ResourceKind, canonical: Cow<'r, str>) -> Self {
        Reading {
            kind,
            canonical,
            host: None,
            parts: Parts::new(),
            unreadable: None,
        }
    }

    fn unreadable(kind: ResourceKind, raw: &'r str, problem: String) -> Self {
        Reading {
            unreadable: Some(problem),
            ..Reading::whole(kind, Cow::Borrowed(raw))
        }
    }

    /// Whether the decision names its deciding part: always for a shell line (its part is
    /// the normalised command), for an address list when it has several addresses.
    pub fn names_parts(&self) -> bool {
        match self.kind {
            ResourceKind::Shell => !self.parts.is_empty(),
            _ => self.parts.len() > 1,
        }
    }
}

/// The kind a resource has by its built-in action, if any: `execute:shell` carries a
/// command line; an action on `file` (`read:file`, `write:file`, ...) a path;
/// `send:email` and `write:email` their recipients.
pub(crate) fn builtin_kind(action: &str) -> Option<ResourceKind> {
    // A byte loop rather than `split_once`: actions are short, and `split_once` sets up a
    // `memchr` search (its cost showed in every decision).
    let colon = action.bytes().position(|b| b == b':')?;
    let (verb, object) = (action.get(..colon)?, action.get(colon + 1..)?);
    match (verb, object) {
        ("execute", "shell") => Some(ResourceKind::Shell),
        (_, "file") => Some(ResourceKind::Path),
        ("send" | "write", "email") => Some(ResourceKind::Email),
        _ => None,
    }
}

/// The kind a resource has by its shape alone.
pub(crate) fn shape(s: &str) -> ResourceKind {
    if url::scheme_end(s).is_some() {
        ResourceKind::Url
    } else if path::looks_like_path(s) {
        ResourceKind::Path
    } else if email::single_at(s).is_some()
        || (email::looks_like_list(s) && email::read_list(s).is_ok())
    {
        ResourceKind::Email
    } else {
        ResourceKind::Plain
    }
}

/// Reads `s` as `kind`.
pub(crate) fn read(kind: ResourceKind, s: &str) -> Reading<'_> {
    match kind {
        ResourceKind::Plain => Reading::whole(kind, Cow::Borrowed(s)),
        ResourceKind::Path => Reading::whole(kind, path::canonical(s)),
        ResourceKind::Url => match url::read(s) {
            Ok(u) => Reading {
                host: Some(u.host),
                ..Reading::whole(kind, u.text)
            },
            Err(problem) => Reading::unreadable(kind, s, problem),
        },
        ResourceKind::Shell => match shell::split(s) {
            Ok(parts) => Reading {
                parts,
                ..Reading::whole(kind, Cow::Borrowed(s))
            },
            Err(e) => Reading::unreadable(kind, s, e.to_string()),
        },
        ResourceKind::Email => {
            if let Some(at) = email::single_at(s) {
                return Reading::whole(kind, email::canonical_address(s, at));
            }
            match email::read_list(s) {
                Ok(mut parts) if parts.len() == 1 => {
                    let one = parts.pop().unwrap_or(Cow::Borrowed(s));
                    Reading::whole(kind, one)
                }
                Ok(parts) => Reading {
                    canonical: Cow::Owned(parts.join(", ")),
                    parts,
                    ..Reading::whole(kind, Cow::Borrowed(s))
                },
                Err(problem) => Reading::unreadable(kind, s, problem),
            }
        }
    }
}

/// How a kind is named in messages (`cannot read ... as a URL`).
pub(crate) fn noun(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Shell => "a shell command",
        ResourceKind::Url => "a URL",
        ResourceKind::Path => "a path",
        ResourceKind::Email => "an email address list",
        ResourceKind::Plain => "text",
    }
}

/// Puts a resource in canonical form by its shape alone (the form a decision reports for
/// a resource whose action claims no kind). Hosts use it for paths and URLs they build
/// themselves; a URL that cannot be parsed is returned as written.
pub fn canonicalize(resource: &str) -> Cow<'_, str> {
    let kind = shape(resource);
    if kind == ResourceKind::Email && email::single_at(resource).is_none() {
        // A list's canonical form is built from its parts; as a whole it stays as written
        // here, where no part is decided.
        return Cow::Borrowed(resource);
    }
    let reading = read(kind, resource);
    reading.canonical
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_action_and_shape() {
        assert_eq!(builtin_kind("execute:shell"), Some(ResourceKind::Shell));
        assert_eq!(builtin_kind("read:file"), Some(ResourceKind::Path));
        assert_eq!(builtin_kind("read:files"), None);
        assert_eq!(shape("https://x.com/"), ResourceKind::Url);
        assert_eq!(shape("workspace/../etc"), ResourceKind::Path);
        assert_eq!(shape("a@x.com, b@y.com"), ResourceKind::Email);
        assert_eq!(shape("Eve <eve@evil.com>"), ResourceKind::Email);
        assert_eq!(shape("meet at 5, bring x@y"), ResourceKind::Plain);
        assert_eq!(shape("Python tutorials"), ResourceKind::Plain);
    }

    #[test]
    fn canonicalize_by_shape() {
        assert_eq!(canonicalize("Bob@YourCompany.COM"), "Bob@yourcompany.com");
        assert_eq!(canonicalize("/a/../b"), "/b");
        assert_eq!(canonicalize("HTTPS://X.com"), "https://x.com/");
        assert_eq!(
            canonicalize("git status && rm -rf /"),
            "git status && rm -rf /"
        );
    }
}
