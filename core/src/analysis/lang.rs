//! The sets of strings patterns and resource operators match, reasoned about just well
//! enough to prove two facts soundly: "every string of A is in B" ([`subset`]) and "no
//! string is in both" ([`disjoint`]).
//!
//! Analysis only reports what is certainly true, so both answers may be `false` when the
//! truth is unknown (a `?` pattern against an infix), never `true` when it is not. A set
//! is a union of the matcher's own [`Shape`]s: an operator's operands are any-of, and a
//! glob with a leading `**/` is its main shape plus the shape without `**/` (docs/semantics.md §2).
//!
//! Resource operands also say what they are tested against: a `matches` or `equals`
//! operand with no `/` and no `:` is a host pattern, tested against the host alone when
//! the resource is a URL (docs/semantics.md §2, resources by kind). Two operands are only compared
//! when they are tested against the same text.

use crate::glob::{Glob, Shape};
use crate::model::ResourceTest;

/// A union of shapes.
pub(super) type Lang<'a> = Vec<Shape<'a>>;

/// The strings any of `globs` matches.
pub(super) fn of_globs<'a>(globs: impl IntoIterator<Item = &'a Glob>) -> Lang<'a> {
    globs.into_iter().flat_map(Glob::shapes).collect()
}

/// One member of a resource operator's set, with the text it is tested against.
#[derive(Debug, Clone, Copy)]
pub(super) struct Operand<'a> {
    /// Tested against a URL's host alone (a host pattern), else the whole resource.
    pub host: bool,
    /// The strings it accepts.
    pub shape: Shape<'a>,
}

/// Whether a `matches` or `equals` operand is a host pattern: no `/` and no `:`.
pub(super) fn is_host_pattern(operand: &str) -> bool {
    !operand.contains(['/', ':'])
}

/// The strings a resource operator accepts (its operands are any-of).
pub(super) fn of_resource_test(t: &ResourceTest) -> Vec<Operand<'_>> {
    let whole = |shape| Operand { host: false, shape };
    match t {
        ResourceTest::Matches(globs) => globs
            .globs()
            .iter()
            .flat_map(|g| {
                let host = is_host_pattern(g.as_str());
                g.shapes().map(move |shape| Operand { host, shape })
            })
            .collect(),
        ResourceTest::StartsWith(v) => v.iter().map(|s| whole(Shape::Prefix(s))).collect(),
        ResourceTest::EndsWith(v) => v.iter().map(|s| whole(Shape::Suffix(s))).collect(),
        ResourceTest::Contains(v) => v.items().iter().map(|s| whole(Shape::Infix(s))).collect(),
        ResourceTest::Equals(v) => v
            .iter()
            .map(|s| Operand {
                host: is_host_pattern(s),
                shape: Shape::Exact(s),
            })
            .collect(),
    }
}

/// Whether any operand of `t` accepts `text` (read as the whole resource).
pub(super) fn admits(t: &ResourceTest, text: &str) -> bool {
    of_resource_test(t).iter().any(|o| o.shape.matches(text))
}

/// The pattern text of a wildcard shape.
fn wild_text<'a>(s: &Shape<'a>) -> Option<&'a str> {
    match *s {
        Shape::Wild(w) => Some(w.as_str()),
        _ => None,
    }
}

/// Text every string of the set starts with.
pub(super) fn prefix<'a>(s: &Shape<'a>) -> &'a str {
    match *s {
        Shape::Exact(x) | Shape::Prefix(x) => x,
        Shape::Wild(w) => w.as_str().split(['*', '?']).next().unwrap_or(""),
        _ => "",
    }
}

/// Text every string of the set ends with.
fn suffix<'a>(s: &Shape<'a>) -> &'a str {
    match *s {
        Shape::Exact(x) | Shape::Suffix(x) => x,
        Shape::Wild(w) => w.as_str().rsplit(['*', '?']).next().unwrap_or(""),
        _ => "",
    }
}

/// The literal text between wildcards of a pattern.
pub(super) fn pieces(pattern: &str) -> Vec<&str> {
    pattern
        .split(['*', '?'])
        .filter(|p| !p.is_empty())
        .collect()
}

/// Texts every string of the set contains.
fn contained<'a>(s: &Shape<'a>) -> Vec<&'a str> {
    match *s {
        Shape::Exact(x) | Shape::Prefix(x) | Shape::Suffix(x) | Shape::Infix(x) => vec![x],
        Shape::Wild(w) => pieces(w.as_str()),
        Shape::Any => Vec::new(),
    }
}

/// A few strings of the set, to try as common members of two sets.
fn samples(s: &Shape<'_>) -> Vec<String> {
    match s {
        Shape::Any => vec!["x".to_owned()],
        Shape::Exact(x) | Shape::Prefix(x) | Shape::Suffix(x) | Shape::Infix(x) => {
            vec![(*x).to_owned()]
        }
        Shape::Wild(w) => vec![w.as_str().replace('*', "").replace('?', "x")],
    }
}

/// Whether every string of `a` is in `b`.
pub(super) fn subset(a: &Shape<'_>, b: &Shape<'_>) -> bool {
    if matches!(b, Shape::Any) {
        return true;
    }
    if let Shape::Exact(v) = a {
        return b.matches(v);
    }
    match b {
        Shape::Any => true,
        Shape::Exact(_) => false,
        Shape::Prefix(q) => prefix(a).starts_with(q),
        Shape::Suffix(y) => suffix(a).ends_with(y),
        Shape::Infix(c) => contained(a).iter().any(|p| p.contains(c)),
        Shape::Wild(w) => wild_text(a) == Some(w.as_str()),
    }
}

/// Whether no string is in both `a` and `b`.
pub(super) fn disjoint(a: &Shape<'_>, b: &Shape<'_>) -> bool {
    if let Shape::Exact(v) = a {
        return !b.matches(v);
    }
    if let Shape::Exact(v) = b {
        return !a.matches(v);
    }
    let (pa, pb) = (prefix(a), prefix(b));
    if !pa.starts_with(pb) && !pb.starts_with(pa) {
        return true;
    }
    let (sa, sb) = (suffix(a), suffix(b));
    !sa.ends_with(sb) && !sb.ends_with(sa)
}

/// Whether every string of the union `a` is in the union `b` (each shape of `a` inside
/// one shape of `b`: sound, not complete).
pub(super) fn lang_subset(a: &[Shape<'_>], b: &[Shape<'_>]) -> bool {
    !a.is_empty() && a.iter().all(|x| b.iter().any(|y| subset(x, y)))
}

/// Whether the unions `a` and `b` share no string.
pub(super) fn lang_disjoint(a: &[Shape<'_>], b: &[Shape<'_>]) -> bool {
    a.iter().all(|x| b.iter().all(|y| disjoint(x, y)))
}

/// [`lang_subset`] for resource operands: each operand of `a` inside an operand of `b`
/// tested against the same text.
pub(super) fn operands_subset(a: &[Operand<'_>], b: &[Operand<'_>]) -> bool {
    !a.is_empty()
        && a.iter().all(|x| {
            b.iter()
                .any(|y| x.host == y.host && subset(&x.shape, &y.shape))
        })
}

/// [`lang_disjoint`] for resource operands: operands tested against different texts (a
/// host and a whole URL) are never proved disjoint.
pub(super) fn operands_disjoint(a: &[Operand<'_>], b: &[Operand<'_>]) -> bool {
    a.iter().all(|x| {
        b.iter()
            .all(|y| x.host == y.host && disjoint(&x.shape, &y.shape))
    })
}

/// A string in both unions, when one is easy to find (it proves they overlap).
pub(super) fn witness(a: &[Shape<'_>], b: &[Shape<'_>]) -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    for x in a {
        for y in b {
            candidates.extend(samples(x));
            candidates.extend(samples(y));
            candidates.push(merge(prefix(x), suffix(y)));
            candidates.push(merge(prefix(y), suffix(x)));
        }
    }
    candidates
        .into_iter()
        .find(|c| !c.is_empty() && a.iter().any(|x| x.matches(c)) && b.iter().any(|y| y.matches(c)))
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

    fn globs(patterns: &[&str]) -> Vec<Glob> {
        patterns.iter().map(|p| Glob::new(p).unwrap()).collect()
    }

    fn subset_of(a: &[&str], b: &[&str]) -> bool {
        let (a, b) = (globs(a), globs(b));
        lang_subset(&of_globs(&a), &of_globs(&b))
    }

    fn disjoint_of(a: &[&str], b: &[&str]) -> bool {
        let (a, b) = (globs(a), globs(b));
        lang_disjoint(&of_globs(&a), &of_globs(&b))
    }

    fn witness_of(a: &[&str], b: &[&str]) -> Option<String> {
        let (a, b) = (globs(a), globs(b));
        witness(&of_globs(&a), &of_globs(&b))
    }

    #[test]
    fn inclusion_is_proved_only_when_true() {
        assert!(subset_of(&["read:file"], &["read:*"]));
        assert!(subset_of(&["read:*"], &["*"]));
        assert!(subset_of(&["./src/**"], &["./**"]));
        assert!(subset_of(&["**/.env"], &["*.env"]));
        assert!(subset_of(&["*github.com*"], &["*.com*"]));
        assert!(!subset_of(&["read:*"], &["read:file"]));
        assert!(!subset_of(&["**/.env"], &["*/.env"]));
        assert!(!subset_of(&["r?ad:x"], &["read:*"]));
        assert!(subset_of(&["r?ad:x"], &["r?ad:x"]));
    }

    #[test]
    fn disjointness_is_proved_only_when_true() {
        assert!(disjoint_of(&["./src/**"], &["/etc/**"]));
        assert!(disjoint_of(&["read:file"], &["write:*"]));
        assert!(disjoint_of(&["*.md"], &["*.json"]));
        assert!(!disjoint_of(&["read:*"], &["*:file"]));
        assert!(!disjoint_of(&["./**"], &["**/.env"]));
    }

    #[test]
    fn witnesses_are_members_of_both() {
        assert_eq!(
            witness_of(&["read:*"], &["*:file"]).as_deref(),
            Some("read:file")
        );
        assert_eq!(
            witness_of(&["write:email"], &["write:*"]).as_deref(),
            Some("write:email")
        );
        assert_eq!(witness_of(&["read:file"], &["write:file"]), None);
    }

    #[test]
    fn host_patterns_are_compared_only_with_host_patterns() {
        let host = ResourceTest::Matches(crate::model::ResourceGlobs::new(globs(&["*.onion"])));
        let url = ResourceTest::Matches(crate::model::ResourceGlobs::new(globs(&["https://*"])));
        let suffix = ResourceTest::EndsWith(vec![".onion".to_owned()]);
        let (h, u, s) = (
            of_resource_test(&host),
            of_resource_test(&url),
            of_resource_test(&suffix),
        );
        // `https://abc.onion/` is in both: the host pattern sees `abc.onion`.
        assert!(!operands_disjoint(&h, &u));
        // As strings `*.onion` is inside `endsWith: .onion`, but they see different text.
        assert!(!operands_subset(&h, &s));
        assert!(operands_subset(&h, &h));
    }
}
