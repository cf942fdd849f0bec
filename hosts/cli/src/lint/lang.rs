//! The sets of strings a pattern or a resource operator matches, described just well
//! enough to prove two facts soundly: "every string of A is in B" ([`subset`]) and "no
//! string is in both" ([`disjoint`]).
//!
//! Lint only reports what is certainly true, so both answers may be `false` when the
//! truth is unknown (a `?` pattern against an infix), never `true` when it is not. A set
//! is a union of [`Shape`]s: an operator's operands are any-of, and a glob with a
//! leading `**/` is its main pattern plus the same pattern without `**/` (SPEC §2).
//!
//! The shapes follow the core's glob semantics exactly: `*` any run (also `:` and `/`),
//! `?` one character, runs of `*` equal to one, everything else literal and
//! case-sensitive.

use meshguard_core::glob::Glob;
use meshguard_core::model::ResourceTest;

/// One set of strings.
#[derive(Debug, Clone)]
pub enum Shape {
    /// Every string.
    Any,
    /// Exactly this string.
    Exact(String),
    /// Strings starting with this.
    Prefix(String),
    /// Strings ending with this.
    Suffix(String),
    /// Strings containing this.
    Infix(String),
    /// Any other glob: known by its literal pieces and matched by the glob.
    Wild {
        /// The pattern (runs of `*` collapsed).
        text: String,
        /// The compiled pattern, when it compiles.
        glob: Option<Glob>,
    },
}

/// A union of shapes.
pub type Lang = Vec<Shape>;

/// The strings a glob matches.
pub fn of_glob(g: &Glob) -> Lang {
    let source = g.as_str();
    let mut out = vec![of_pattern(&collapse(source))];
    if let Some(rest) = source.strip_prefix("**/") {
        out.push(of_pattern(&collapse(rest)));
    }
    out
}

/// The strings a resource operator accepts (its operands are any-of).
pub fn of_resource_test(t: &ResourceTest) -> Lang {
    match t {
        ResourceTest::Matches(globs) => globs.globs().iter().flat_map(of_glob).collect(),
        ResourceTest::StartsWith(v) => v.iter().map(|s| Shape::Prefix(s.clone())).collect(),
        ResourceTest::EndsWith(v) => v.iter().map(|s| Shape::Suffix(s.clone())).collect(),
        ResourceTest::Contains(v) => v.items().iter().map(|s| Shape::Infix(s.clone())).collect(),
        ResourceTest::Equals(v) => v.iter().map(|s| Shape::Exact(s.clone())).collect(),
    }
}

/// The shape of one pattern without a leading `**/`, as the core's matcher sees it.
fn of_pattern(p: &str) -> Shape {
    if p.contains('?') {
        return wild(p);
    }
    let stars = p.matches('*').count();
    let inner = p.trim_matches('*');
    match stars {
        0 => Shape::Exact(p.to_owned()),
        _ if inner.is_empty() => Shape::Any,
        1 if p.ends_with('*') => Shape::Prefix(inner.to_owned()),
        1 if p.starts_with('*') => Shape::Suffix(inner.to_owned()),
        2 if p.starts_with('*') && p.ends_with('*') => Shape::Infix(inner.to_owned()),
        _ => wild(p),
    }
}

fn wild(p: &str) -> Shape {
    Shape::Wild {
        text: p.to_owned(),
        glob: Glob::new(p).ok(),
    }
}

/// Runs of `*` mean one `*`.
fn collapse(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        if !(c == '*' && out.ends_with('*')) {
            out.push(c);
        }
    }
    out
}

/// The literal text between wildcards of a pattern.
pub fn pieces(pattern: &str) -> Vec<&str> {
    pattern
        .split(['*', '?'])
        .filter(|p| !p.is_empty())
        .collect()
}

impl Shape {
    /// Text every string of the set starts with.
    fn prefix(&self) -> &str {
        match self {
            Shape::Exact(s) | Shape::Prefix(s) => s,
            Shape::Wild { text, .. } => text.split(['*', '?']).next().unwrap_or(""),
            _ => "",
        }
    }

    /// Text every string of the set ends with.
    fn suffix(&self) -> &str {
        match self {
            Shape::Exact(s) | Shape::Suffix(s) => s,
            Shape::Wild { text, .. } => text.rsplit(['*', '?']).next().unwrap_or(""),
            _ => "",
        }
    }

    /// Texts every string of the set contains.
    fn pieces(&self) -> Vec<&str> {
        match self {
            Shape::Exact(s) | Shape::Prefix(s) | Shape::Suffix(s) | Shape::Infix(s) => {
                vec![s.as_str()]
            }
            Shape::Wild { text, .. } => pieces(text),
            Shape::Any => Vec::new(),
        }
    }

    /// Whether `s` is in the set; `None` when that cannot be told.
    pub fn matches(&self, s: &str) -> Option<bool> {
        Some(match self {
            Shape::Any => true,
            Shape::Exact(x) => s == x,
            Shape::Prefix(x) => s.starts_with(x.as_str()),
            Shape::Suffix(x) => s.ends_with(x.as_str()),
            Shape::Infix(x) => s.contains(x.as_str()),
            Shape::Wild { glob, .. } => return glob.as_ref().map(|g| g.matches(s)),
        })
    }

    /// A few strings of the set, to try as common members of two sets.
    fn samples(&self) -> Vec<String> {
        match self {
            Shape::Any => vec!["x".to_owned()],
            Shape::Exact(s) | Shape::Prefix(s) | Shape::Suffix(s) | Shape::Infix(s) => {
                vec![s.clone()]
            }
            Shape::Wild { text, .. } => vec![text.replace('*', "").replace('?', "x")],
        }
    }
}

/// Whether every string of `a` is in `b`.
pub fn subset(a: &Shape, b: &Shape) -> bool {
    if matches!(b, Shape::Any) {
        return true;
    }
    if let Shape::Exact(v) = a {
        return b.matches(v) == Some(true);
    }
    match b {
        Shape::Any => true,
        Shape::Exact(_) => false,
        Shape::Prefix(q) => a.prefix().starts_with(q.as_str()),
        Shape::Suffix(y) => a.suffix().ends_with(y.as_str()),
        Shape::Infix(c) => a.pieces().iter().any(|p| p.contains(c.as_str())),
        Shape::Wild { text, .. } => matches!(a, Shape::Wild { text: t, .. } if t == text),
    }
}

/// Whether no string is in both `a` and `b`.
pub fn disjoint(a: &Shape, b: &Shape) -> bool {
    if let Shape::Exact(v) = a {
        return b.matches(v) == Some(false);
    }
    if let Shape::Exact(v) = b {
        return a.matches(v) == Some(false);
    }
    let (pa, pb) = (a.prefix(), b.prefix());
    if !pa.starts_with(pb) && !pb.starts_with(pa) {
        return true;
    }
    let (sa, sb) = (a.suffix(), b.suffix());
    !sa.ends_with(sb) && !sb.ends_with(sa)
}

/// Whether every string of the union `a` is in the union `b` (each shape of `a` inside
/// one shape of `b`: sound, not complete).
pub fn lang_subset(a: &[Shape], b: &[Shape]) -> bool {
    !a.is_empty() && a.iter().all(|x| b.iter().any(|y| subset(x, y)))
}

/// Whether the unions `a` and `b` share no string.
pub fn lang_disjoint(a: &[Shape], b: &[Shape]) -> bool {
    a.iter().all(|x| b.iter().all(|y| disjoint(x, y)))
}

/// A string in both unions, when one is easy to find (it proves they overlap).
pub fn witness(a: &[Shape], b: &[Shape]) -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    for x in a {
        for y in b {
            candidates.extend(x.samples());
            candidates.extend(y.samples());
            candidates.push(merge(x.prefix(), y.suffix()));
            candidates.push(merge(y.prefix(), x.suffix()));
        }
    }
    candidates.into_iter().find(|c| {
        !c.is_empty()
            && a.iter().any(|x| x.matches(c) == Some(true))
            && b.iter().any(|y| y.matches(c) == Some(true))
    })
}

/// `head` then `tail`, sharing the longest end of `head` that starts `tail`
/// (`read:` + `:file` is `read:file`).
fn merge(head: &str, tail: &str) -> String {
    let shared = (0..=head.len().min(tail.len()))
        .rev()
        .find(|&k| {
            head.is_char_boundary(head.len() - k)
                && tail.is_char_boundary(k)
                && head.ends_with(tail.get(..k).unwrap_or(""))
        })
        .unwrap_or(0);
    format!("{head}{}", tail.get(shared..).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(patterns: &[&str]) -> Lang {
        patterns
            .iter()
            .flat_map(|p| of_glob(&Glob::new(p).unwrap()))
            .collect()
    }

    #[test]
    fn inclusion_is_proved_only_when_true() {
        assert!(lang_subset(&lang(&["read:file"]), &lang(&["read:*"])));
        assert!(lang_subset(&lang(&["read:*"]), &lang(&["*"])));
        assert!(lang_subset(&lang(&["./src/**"]), &lang(&["./**"])));
        assert!(lang_subset(&lang(&["**/.env"]), &lang(&["*.env"])));
        assert!(lang_subset(&lang(&["*github.com*"]), &lang(&["*.com*"])));
        assert!(!lang_subset(&lang(&["read:*"]), &lang(&["read:file"])));
        assert!(!lang_subset(&lang(&["**/.env"]), &lang(&["*/.env"])));
        assert!(!lang_subset(&lang(&["r?ad:x"]), &lang(&["read:*"])));
        assert!(lang_subset(&lang(&["r?ad:x"]), &lang(&["r?ad:x"])));
    }

    #[test]
    fn disjointness_is_proved_only_when_true() {
        assert!(lang_disjoint(&lang(&["./src/**"]), &lang(&["/etc/**"])));
        assert!(lang_disjoint(&lang(&["read:file"]), &lang(&["write:*"])));
        assert!(lang_disjoint(&lang(&["*.md"]), &lang(&["*.json"])));
        assert!(!lang_disjoint(&lang(&["read:*"]), &lang(&["*:file"])));
        assert!(!lang_disjoint(&lang(&["./**"]), &lang(&["**/.env"])));
    }

    #[test]
    fn witnesses_are_members_of_both() {
        assert_eq!(
            witness(&lang(&["read:*"]), &lang(&["*:file"])).as_deref(),
            Some("read:file")
        );
        assert_eq!(
            witness(&lang(&["write:email"]), &lang(&["write:*"])).as_deref(),
            Some("write:email")
        );
        assert_eq!(witness(&lang(&["read:file"]), &lang(&["write:file"])), None);
    }
}
