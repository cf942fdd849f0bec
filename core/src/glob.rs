//! Glob patterns for actions and resources.
//!
//! The syntax is deliberately small (docs/semantics.md §2): `*` matches any run of characters, `/` and
//! `:` included; `?` matches one character; everything else is literal and
//! case-sensitive. `**` means the same as `*`, and a leading `**/` may also match nothing,
//! so `**/.env` matches `.env` as well as `config/.env`.
//!
//! Most patterns in real policies are a literal, a prefix (`read:*`), a suffix or an
//! infix (`*github.com*`); those compile to plain string tests and only the rest go to
//! the general matcher (`Wild`), so the common cases cost a `memcmp`. Every matcher reads
//! the text in one pass (a resource may be a megabyte long), never once per position.
//! What a pattern compiled to is public as its [`Shape`]s, so analysis
//! (`crate::analysis`) reasons about exactly the sets of strings the matcher tests.

use memchr::memmem::Finder;

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
    /// The fragment and its searcher, built once: `str::contains` sets up a two-way
    /// searcher on every call, which costs more than searching a short resource.
    Infix(String, Finder<'static>),
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
    /// Any other pattern, tested by the general matcher.
    Wild(&'a Wildcard),
}

impl Shape<'_> {
    /// Whether `text` is in the set.
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Shape::Any => true,
            Shape::Exact(s) => same(text.as_bytes(), s.as_bytes()),
            Shape::Prefix(s) => text
                .as_bytes()
                .get(..s.len())
                .is_some_and(|head| same(head, s.as_bytes())),
            Shape::Suffix(s) => text
                .len()
                .checked_sub(s.len())
                .and_then(|at| text.as_bytes().get(at..))
                .is_some_and(|tail| same(tail, s.as_bytes())),
            Shape::Infix(s) => text.contains(s),
            Shape::Wild(w) => w.matches(text),
        }
    }
}

/// Byte equality that looks at the last and first bytes before calling `memcmp`: a
/// decision tests dozens of a policy's patterns against one resource and nearly all of
/// them fail, most at an end (`*.pem` against `./src/main.rs`), so most tests never make
/// the call.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.last() == b.last() && a.first() == b.first() && a == b
}

/// A pattern that is none of the simple shapes (it has `?`, or `*` inside).
#[derive(Debug, Clone)]
pub struct Wildcard {
    /// The pattern with runs of `*` collapsed.
    text: String,
    matcher: Wild,
}

impl Wildcard {
    fn new(pattern: &str) -> Wildcard {
        Wildcard {
            text: pattern.to_owned(),
            matcher: Wild::new(pattern),
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
                Matcher::Infix(inner.to_owned(), Finder::new(inner).into_owned())
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
            Matcher::Infix(s, _) => Shape::Infix(s),
            Matcher::Wild(w) => Shape::Wild(w),
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Matcher::Infix(_, finder) => finder.find(text.as_bytes()).is_some(),
            _ => self.shape().matches(text),
        }
    }
}

/// The general matcher: a pattern with `?`, or with a star inside (`./*.md`, `a*b*c`).
///
/// Why not a backtracking matcher (`wildmatch`, used before): on a mismatch it re-reads
/// the text since the last star, so it costs the text's length times the length of the
/// piece after that star; `*aaa…a?b*` with a 1,000-character piece took 2.3 s on 1 MiB
/// of `a`s (0.1 s here). Here the pattern is cut at its stars into pieces, each of a
/// fixed length in characters (`?` is one character): the first must match at the start
/// of the text, the last at the end, and each piece between is found leftmost after the
/// one before, which is exact because a piece's length is fixed (an earlier end never
/// leaves less room).
/// Each stretch of text is then read once by one piece's search: `str::find` (two-way
/// string matching, linear) for a piece without `?`, a bit-parallel Shift-And over
/// characters for a piece with one, one machine word per 64 characters of the piece. So
/// the cost is the text's length, times the words of the longest piece with a `?` (one
/// for every piece up to 64 characters, as in all real patterns).
#[derive(Debug, Clone)]
struct Wild {
    /// The piece before the first star, matched at the start of the text.
    head: Piece,
    /// The pieces between stars, in order.
    middle: Vec<Piece>,
    /// The piece after the last star, matched at the end; `None` without a star, when the
    /// head must be the whole text.
    tail: Option<Piece>,
}

impl Wild {
    /// The matcher for `pattern`, whose runs of stars are already collapsed.
    fn new(pattern: &str) -> Wild {
        let mut parts = pattern.split('*');
        let head = Piece::new(parts.next().unwrap_or(""));
        let mut rest: Vec<Piece> = parts.map(Piece::new).collect();
        let tail = rest.pop();
        rest.retain(|p| !p.is_empty());
        Wild {
            head,
            middle: rest,
            tail,
        }
    }

    fn matches(&self, text: &str) -> bool {
        let Some(tail) = &self.tail else {
            return self.head.prefix_end(text) == Some(text.len());
        };
        let (Some(mut at), Some(end)) = (self.head.prefix_end(text), tail.suffix_start(text))
        else {
            return false;
        };
        if end < at {
            return false;
        }
        for piece in &self.middle {
            match text
                .get(at..end)
                .and_then(|between| piece.find_end(between))
            {
                Some(found) => at += found,
                None => return false,
            }
        }
        true
    }
}

/// The text between two stars of a pattern.
#[derive(Debug, Clone)]
enum Piece {
    /// Without `?`: plain string tests.
    Literal(String),
    /// With at least one `?`.
    Masked(Masked),
}

impl Piece {
    fn new(text: &str) -> Piece {
        if text.contains('?') {
            Piece::Masked(Masked::new(text))
        } else {
            Piece::Literal(text.to_owned())
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Piece::Literal(s) => s.is_empty(),
            Piece::Masked(m) => m.chars.is_empty(),
        }
    }

    /// Where the piece ends, in bytes, if the text starts with it.
    fn prefix_end(&self, text: &str) -> Option<usize> {
        match self {
            Piece::Literal(s) => Shape::Prefix(s).matches(text).then_some(s.len()),
            Piece::Masked(m) => m.prefix_end(text),
        }
    }

    /// Where the piece starts, in bytes, if the text ends with it.
    fn suffix_start(&self, text: &str) -> Option<usize> {
        match self {
            Piece::Literal(s) => Shape::Suffix(s).matches(text).then(|| text.len() - s.len()),
            Piece::Masked(m) => m.suffix_start(text),
        }
    }

    /// Where the leftmost occurrence of the piece ends, in bytes.
    fn find_end(&self, text: &str) -> Option<usize> {
        match self {
            Piece::Literal(s) => text.find(s.as_str()).map(|i| i + s.len()),
            Piece::Masked(m) => m.find_end(text),
        }
    }
}

/// A piece with `?`, and its Shift-And masks.
#[derive(Debug, Clone)]
struct Masked {
    /// The piece's characters, `None` for `?`.
    chars: Vec<Option<char>>,
    /// One block of masks per 64 characters of the piece.
    blocks: Vec<Block>,
}

/// The Shift-And masks of 64 characters of a piece: bit `i` of a character's mask is set
/// when the block's `i`-th character matches it. Kept per character that occurs in the
/// block (at most 64), so the memory stays proportional to the pattern.
#[derive(Debug, Clone, Default)]
struct Block {
    /// The positions of `?`: every character's mask holds these.
    any: u64,
    /// The masks of the characters written in the block, sorted by character.
    chars: Vec<(char, u64)>,
}

impl Block {
    fn mask(&self, c: char) -> u64 {
        match self.chars.binary_search_by_key(&c, |&(k, _)| k) {
            Ok(i) => self.chars.get(i).map_or(self.any, |&(_, m)| m),
            Err(_) => self.any,
        }
    }
}

impl Masked {
    fn new(text: &str) -> Masked {
        let chars: Vec<Option<char>> = text.chars().map(|c| (c != '?').then_some(c)).collect();
        let blocks = chars
            .chunks(64)
            .map(|chunk| {
                let mut block = Block::default();
                for (i, c) in chunk.iter().enumerate() {
                    if c.is_none() {
                        block.any |= 1 << i;
                    }
                }
                for (i, c) in chunk.iter().enumerate() {
                    let Some(c) = *c else { continue };
                    match block.chars.binary_search_by_key(&c, |&(k, _)| k) {
                        Ok(j) => {
                            if let Some((_, m)) = block.chars.get_mut(j) {
                                *m |= 1 << i;
                            }
                        }
                        Err(j) => block.chars.insert(j, (c, block.any | 1 << i)),
                    }
                }
                block
            })
            .collect();
        Masked { chars, blocks }
    }

    fn prefix_end(&self, text: &str) -> Option<usize> {
        let mut end = 0;
        let mut found = text.char_indices();
        for want in &self.chars {
            let (i, c) = found.next()?;
            if want.is_some_and(|w| w != c) {
                return None;
            }
            end = i + c.len_utf8();
        }
        Some(end)
    }

    fn suffix_start(&self, text: &str) -> Option<usize> {
        let mut start = text.len();
        let mut found = text.char_indices().rev();
        for want in self.chars.iter().rev() {
            let (i, c) = found.next()?;
            if want.is_some_and(|w| w != c) {
                return None;
            }
            start = i;
        }
        Some(start)
    }

    /// Shift-And: after each character of the text, bit `i` of the state says whether the
    /// piece's first `i + 1` characters end there.
    fn find_end(&self, text: &str) -> Option<usize> {
        let last = self.chars.len().checked_sub(1)?;
        let accept = 1u64 << (last % 64);
        if let [block] = self.blocks.as_slice() {
            let mut state = 0u64;
            for (i, c) in text.char_indices() {
                state = ((state << 1) | 1) & block.mask(c);
                if state & accept != 0 {
                    return Some(i + c.len_utf8());
                }
            }
            return None;
        }
        let mut state = vec![0u64; self.blocks.len()];
        for (i, c) in text.char_indices() {
            let mut carry = 1;
            for (word, block) in state.iter_mut().zip(&self.blocks) {
                let next_carry = *word >> 63;
                *word = ((*word << 1) | carry) & block.mask(c);
                carry = next_carry;
            }
            if state.last().is_some_and(|w| w & accept != 0) {
                return Some(i + c.len_utf8());
            }
        }
        None
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
        let bare = pattern.strip_prefix("**/").map(collapse_stars);
        let (main, bare) = match bare {
            // `**/*.pem`: whatever `*/*.pem` matches, `*.pem` matches too, so the
            // pattern is the one test.
            Some(rest) if rest.starts_with('*') => (Matcher::new(&rest), None),
            Some(rest) => (
                Matcher::new(&collapse_stars(pattern)),
                Some(Matcher::new(&rest)),
            ),
            None => (Matcher::new(&collapse_stars(pattern)), None),
        };
        Ok(Glob {
            source: pattern.to_owned(),
            main,
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
                (Matcher::Infix(s, _), None) => infix.push(s.clone()),
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
    fn pieces_between_stars_neither_overlap_nor_reorder() {
        assert!(!m("ab*ba", "aba"));
        assert!(m("ab*ba", "abba"));
        assert!(m("a*b*c", "a-b-c"));
        assert!(!m("a*b*c", "a-c-b"));
        assert!(m("?*é?*z", "xéyz"));
        assert!(!m("?*é?*z", "éyz"));
        // A piece with `?` longer than one 64-character word.
        let long = format!("*{}?b*", "a".repeat(100));
        assert!(m(&long, &format!("x{}éb", "a".repeat(100))));
        assert!(!m(&long, &format!("x{}éb", "a".repeat(99))));
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
        // After `**/`, a pattern that starts with a star covers the whole: one test.
        let pem = Glob::new("**/*.pem").unwrap();
        assert!(matches!(pem.shape(), Shape::Suffix(".pem")));
        assert!(pem.bare_shape().is_none());
        for (text, want) in [("k.pem", true), ("a/b/k.pem", true), ("k.pem.bak", false)] {
            assert_eq!(pem.matches(text), want, "{text}");
        }
        assert_eq!(Glob::new("a").unwrap().span(), None);
        let at = Span::file_start();
        assert_eq!(Glob::new("a").unwrap().with_span(at).span(), Some(at));
    }
}
