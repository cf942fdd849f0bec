//! Glob patterns for actions and resources.
//!
//! The syntax is deliberately small (SPEC §2): `*` matches any run of characters, `/` and
//! `:` included; `?` matches one character; everything else is literal and
//! case-sensitive. `**` means the same as `*`, and a leading `**/` may also match nothing,
//! so `**/.env` matches `.env` as well as `config/.env`.
//!
//! Most patterns in real policies are a literal, a prefix (`read:*`), a suffix or an
//! infix (`*github.com*`); those compile to plain string tests and only the rest go to
//! `wildmatch`, so the common cases cost a `memcmp`. What a pattern compiled to is public
//! as its [`Shape`]s, so analysis (`crate::analysis`) reasons about exactly the sets of
//! strings the matcher tests.

use wildmatch::WildMatch;

use crate::source::Span;

/// A compiled glob pattern.
#[derive(Debug, Clone)]
pub struct Glob {
    source: String,
    main: Matcher,
    /// For a leading `**/`: the same pattern without it.
    bare: Option<Matcher>,
    /// Where the pattern is written, when it was read from policy text.
    span: Option<Span>,
}

#[derive(Debug, Clone)]
enum Matcher {
    Any,
    Exact(String),
    Prefix(String),
    Suffix(String),
    Infix(String),
    Wild(Wildcard),
}

/// The set of strings one compiled pattern matches: what the matcher tests, exposed so
/// that analysis reasons about the same sets (see [`Glob::shape`]).
#[derive(Debug, Clone, Copy)]
pub enum Shape<'a> {
    /// Every string (`*`).
    Any,
    /// Exactly this string (no wildcard).
    Exact(&'a str),
    /// Strings starting with this (`read:*`).
    Prefix(&'a str),
    /// Strings ending with this (`*.md`).
    Suffix(&'a str),
    /// Strings containing this (`*github.com*`).
    Infix(&'a str),
    /// Any other pattern, tested by a wildcard matcher.
    Wild(&'a Wildcard),
}

impl Shape<'_> {
    /// Whether `text` is in the set.
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Shape::Any => true,
            Shape::Exact(s) => text == *s,
            Shape::Prefix(s) => text.starts_with(s),
            Shape::Suffix(s) => text.ends_with(s),
            Shape::Infix(s) => text.contains(s),
            Shape::Wild(w) => w.matcher.matches(text),
        }
    }
}

/// A pattern that is none of the simple shapes (it has `?`, or `*` inside).
#[derive(Debug, Clone)]
pub struct Wildcard {
    /// The pattern with runs of `*` collapsed.
    text: String,
    matcher: WildMatch,
}

impl Wildcard {
    fn new(pattern: &str) -> Wildcard {
        Wildcard {
            text: pattern.to_owned(),
            matcher: WildMatch::new(pattern),
        }
    }

    /// The pattern, runs of `*` collapsed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        self.matcher.matches(text)
    }
}

impl Matcher {
    fn new(pattern: &str) -> Matcher {
        if pattern.contains('?') {
            return Matcher::Wild(Wildcard::new(pattern));
        }
        let stars = pattern.matches('*').count();
        let inner = pattern.trim_matches('*');
        match stars {
            0 => Matcher::Exact(pattern.to_owned()),
            _ if inner.is_empty() => Matcher::Any,
            1 if pattern.ends_with('*') => Matcher::Prefix(inner.to_owned()),
            1 if pattern.starts_with('*') => Matcher::Suffix(inner.to_owned()),
            2 if pattern.starts_with('*') && pattern.ends_with('*') => {
                Matcher::Infix(inner.to_owned())
            }
            _ => Matcher::Wild(Wildcard::new(pattern)),
        }
    }

    fn shape(&self) -> Shape<'_> {
        match self {
            Matcher::Any => Shape::Any,
            Matcher::Exact(s) => Shape::Exact(s),
            Matcher::Prefix(s) => Shape::Prefix(s),
            Matcher::Suffix(s) => Shape::Suffix(s),
            Matcher::Infix(s) => Shape::Infix(s),
            Matcher::Wild(w) => Shape::Wild(w),
        }
    }

    fn matches(&self, text: &str) -> bool {
        self.shape().matches(text)
    }
}

/// Why a pattern was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobError {
    /// The empty pattern matches only the empty string, which is never meant.
    Empty,
    /// Control characters can never occur in a valid request.
    ControlCharacter,
    /// Leading or trailing white space: the pattern would silently never match.
    Whitespace,
}

impl GlobError {
    /// The message shown to the policy author.
    pub fn problem(self) -> &'static str {
        match self {
            GlobError::Empty => "the empty pattern matches nothing a request can hold",
            GlobError::ControlCharacter => {
                "control characters never occur in a valid request, so it can never match"
            }
            GlobError::Whitespace => {
                "leading or trailing white space is literal, so it would almost never match"
            }
        }
    }
}

impl Glob {
    /// Compiles a pattern.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        if pattern.chars().any(char::is_control) {
            return Err(GlobError::ControlCharacter);
        }
        if pattern.trim() != pattern {
            return Err(GlobError::Whitespace);
        }
        let collapsed = collapse_stars(pattern);
        let bare = pattern
            .strip_prefix("**/")
            .map(|rest| Matcher::new(&collapse_stars(rest)));
        Ok(Glob {
            source: pattern.to_owned(),
            main: Matcher::new(&collapsed),
            bare,
            span: None,
        })
    }

    /// The same pattern, remembering where it is written (the schema reader sets it, so
    /// that tools such as `lint` point at the pattern itself).
    pub fn with_span(mut self, span: Span) -> Glob {
        self.span = Some(span);
        self
    }

    /// Where the pattern is written, when it was read from policy text (without the
    /// quotes of a quoted string).
    pub fn span(&self) -> Option<Span> {
        self.span
    }

    /// The set of strings the pattern matches as the matcher sees it (runs of `*`
    /// collapsed). A leading `**/` pattern matches this and [`Glob::bare_shape`] too.
    pub fn shape(&self) -> Shape<'_> {
        self.main.shape()
    }

    /// For a leading `**/`: the pattern without it, which it also matches (`**/.env`
    /// matches `.env`).
    pub fn bare_shape(&self) -> Option<Shape<'_>> {
        self.bare.as_ref().map(Matcher::shape)
    }

    /// Every shape the pattern matches: [`Glob::shape`], then [`Glob::bare_shape`].
    pub fn shapes(&self) -> impl Iterator<Item = Shape<'_>> {
        std::iter::once(self.shape()).chain(self.bare_shape())
    }

    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        self.main.matches(text) || self.bare.as_ref().is_some_and(|m| m.matches(text))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The text before the first wildcard: every match starts with it.
    pub fn literal_prefix(&self) -> &str {
        if self.bare.is_some() {
            return "";
        }
        let end = self.source.find(['*', '?']).unwrap_or(self.source.len());
        &self.source[..end]
    }

    /// Whether the pattern has no wildcard at all.
    pub fn is_literal(&self) -> bool {
        !self.source.contains(['*', '?'])
    }
}

/// Any-of glob patterns, as in `matches: [...]` lists.
///
/// Infix patterns (`*github.com*`) are the common case in URL allow-lists; they are
/// searched together in one pass (see [`crate::substrings`]); the rest are tested in turn.
#[derive(Debug, Clone)]
pub struct GlobSet {
    globs: Vec<Glob>,
    infixes: Option<crate::substrings::Substrings>,
    /// Indices of the globs not covered by `infixes`.
    others: Vec<usize>,
}

impl GlobSet {
    /// Groups `globs` for matching.
    pub fn new(globs: Vec<Glob>) -> Self {
        let mut infix = Vec::new();
        let mut others = Vec::new();
        for (i, g) in globs.iter().enumerate() {
            match (&g.main, &g.bare) {
                (Matcher::Infix(s), None) => infix.push(s.clone()),
                _ => others.push(i),
            }
        }
        let infixes = (!infix.is_empty()).then(|| crate::substrings::Substrings::new(infix));
        GlobSet {
            globs,
            infixes,
            others,
        }
    }

    /// Whether any pattern matches `text`.
    pub fn matches(&self, text: &str) -> bool {
        self.infixes.as_ref().is_some_and(|s| s.any_in(text))
            || self
                .others
                .iter()
                .any(|&i| self.globs.get(i).is_some_and(|g| g.matches(text)))
    }

    /// The patterns, as written, in order.
    pub fn globs(&self) -> &[Glob] {
        &self.globs
    }
}

/// Runs of `*` mean the same as one `*`.
fn collapse_stars(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut prev_star = false;
    for c in pattern.chars() {
        if c == '*' && prev_star {
            continue;
        }
        prev_star = c == '*';
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).map(|g| g.matches(t)).unwrap_or(false)
    }

    #[test]
    fn star_crosses_separators() {
        assert!(m("read:*", "read:file/a/b"));
        assert!(m("*", "anything:at/all"));
        assert!(m("/workspace/*", "/workspace/a/b.txt"));
        assert!(!m("/workspace/*", "/etc/passwd"));
    }

    #[test]
    fn leading_double_star_also_matches_nothing() {
        assert!(m("**/.env", ".env"));
        assert!(m("**/.env", "./.env"));
        assert!(m("**/.env", "/home/u/app/.env"));
        assert!(!m("**/.env", "./.envrc"));
        assert!(m("**/.env*", ".env.local"));
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(m("read:fil?", "read:file"));
        assert!(!m("read:fil?", "read:fil"));
        assert!(!m("read:fil?", "read:files"));
    }

    #[test]
    fn everything_else_is_literal_and_case_sensitive() {
        assert!(m("a[b]c", "a[b]c"));
        assert!(!m("a[b]c", "abc"));
        assert!(!m("Read:*", "read:x"));
        assert!(m("*.onion*", "https://evil.onion/x"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert_eq!(Glob::new("").err(), Some(GlobError::Empty));
        assert_eq!(
            Glob::new("read:\u{0}").err(),
            Some(GlobError::ControlCharacter)
        );
        assert_eq!(Glob::new(" read:file").err(), Some(GlobError::Whitespace));
    }

    #[test]
    fn shapes_are_what_the_matcher_tests() {
        let g = Glob::new("**/.env*").unwrap();
        let shapes: Vec<String> = g.shapes().map(|s| format!("{s:?}")).collect();
        assert_eq!(shapes.len(), 2);
        assert!(matches!(g.shape(), Shape::Infix("/.env")));
        let w = Glob::new("src/*.rs").unwrap();
        assert!(matches!(w.shape(), Shape::Wild(w) if w.as_str() == "src/*.rs"));
        assert!(matches!(g.bare_shape(), Some(Shape::Prefix(".env"))));
        assert!(matches!(
            Glob::new("*github.com**").unwrap().shape(),
            Shape::Infix("github.com")
        ));
        assert!(matches!(Glob::new("**").unwrap().shape(), Shape::Any));
        assert!(g.shapes().any(|s| s.matches(".env.local")));
        assert_eq!(Glob::new("a").unwrap().span(), None);
        let at = Span::file_start();
        assert_eq!(Glob::new("a").unwrap().with_span(at).span(), Some(at));
    }

    #[test]
    fn literal_prefix_stops_at_first_wildcard() {
        assert_eq!(
            Glob::new("read:*")
                .map(|g| g.literal_prefix().to_owned())
                .ok(),
            Some("read:".into())
        );
        assert_eq!(
            Glob::new("**/x")
                .map(|g| g.literal_prefix().to_owned())
                .ok(),
            Some(String::new())
        );
    }
}
