//! The glob matcher agrees with a regex oracle built from docs/semantics.md §2, on random texts, on
//! texts instantiated from the pattern (with one-character edits at the edges), on
//! unicode and multi-line texts, and with pieces longer than a machine word; the any-of
//! substring search agrees with searching each fragment in turn, on both of its paths.

use meshguard_core::glob::{Glob, GlobSet};
use meshguard_core::substrings::Substrings;
use proptest::prelude::*;
use regex::Regex;

/// docs/semantics.md §2 as a regex: runs of `*` → `.*`, `?` → one character, everything else literal;
/// a leading `**/` may also match nothing.
fn glob_oracle(pattern: &str) -> Regex {
    fn translate(p: &str) -> String {
        let mut out = String::new();
        let mut prev_star = false;
        for c in p.chars() {
            match c {
                '*' if prev_star => {}
                '*' => out.push_str(".*"),
                '?' => out.push('.'),
                c => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            }
            prev_star = c == '*';
        }
        out
    }
    let body = match pattern.strip_prefix("**/") {
        Some(rest) => format!("(?:.*/)?{}", translate(rest)),
        None => translate(pattern),
    };
    Regex::new(&format!("(?s)^(?:{body})$")).expect("oracle regex")
}

const GLOB_ALPHABET: &[&str] = &["a", "b", "/", ":", ".", "*", "?"];
const TEXT_ALPHABET: &[&str] = &["a", "b", "/", ":", "."];

fn glob_pattern() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec(prop::sample::select(GLOB_ALPHABET), 0..12),
    )
        .prop_map(|(double_star, toks)| {
            let mut p = if double_star {
                String::from("**/")
            } else {
                String::new()
            };
            p.push_str(&toks.concat());
            p
        })
}

fn text_from(alphabet: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(alphabet), 0..max).prop_map(|v| v.concat())
}

/// A text likely to match `pattern`: each `*` replaced by a short filler, each `?` by one
/// character, then optionally one character dropped or inserted to probe the edges.
fn instantiate(pattern: &str, fills: &[String], edit: Option<(usize, char)>) -> String {
    let mut out = String::new();
    let mut k = 0;
    for c in pattern.chars() {
        match c {
            '*' => {
                out.push_str(&fills[k % fills.len()]);
                k += 1;
            }
            '?' => {
                let f = &fills[k % fills.len()];
                out.push(f.chars().next().unwrap_or('a'));
                k += 1;
            }
            c => out.push(c),
        }
    }
    if let Some((at, c)) = edit {
        let mut chars: Vec<char> = out.chars().collect();
        let at = at % (chars.len() + 1);
        if c == '-' && at < chars.len() {
            chars.remove(at);
        } else {
            chars.insert(at, c);
        }
        out = chars.into_iter().collect();
    }
    out
}

proptest! {
    #![proptest_config(crate::config())]

    #[test]
    fn glob_matches_like_regex_oracle(
        pattern in glob_pattern(),
        random_text in text_from(TEXT_ALPHABET, 16),
        fills in prop::collection::vec(text_from(TEXT_ALPHABET, 4), 1..4),
        edit in prop::option::of((any::<usize>(), prop::sample::select(&['-', 'a', '/', '.', ':'][..]))),
        use_random in any::<bool>(),
    ) {
        let glob = match Glob::new(&pattern) {
            Ok(g) => g,
            Err(e) => {
                // In this alphabet only the empty pattern may be refused.
                prop_assert!(pattern.is_empty(), "{:?} refused: {:?}", pattern, e);
                return Ok(());
            }
        };
        let text = if use_random { random_text } else { instantiate(&pattern, &fills, edit) };
        let oracle = glob_oracle(&pattern);
        prop_assert_eq!(
            glob.matches(&text),
            oracle.is_match(&text),
            "pattern {:?} text {:?} (oracle {})", pattern, text, oracle.as_str()
        );
    }

    /// Unicode and newlines in the text: `?` is one character, `*` crosses newlines.
    #[test]
    fn glob_matches_like_regex_oracle_unicode_text(
        pattern in glob_pattern(),
        text in text_from(&["a", "b", "/", ":", ".", "é", "\n", "日", "\u{10ffff}"], 10),
    ) {
        let Ok(glob) = Glob::new(&pattern) else { return Ok(()) };
        let oracle = glob_oracle(&pattern);
        prop_assert_eq!(glob.matches(&text), oracle.is_match(&text),
            "pattern {:?} text {:?}", pattern, text);
    }
}

/// A pattern with long pieces: runs of one character (up to 150, so a piece with `?` spans
/// several 64-character words of the bit-parallel search), `?` and stars.
fn long_piece_pattern() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            (prop::sample::select(&["a", "b", "é", "?"][..]), 1usize..150)
                .prop_map(|(c, n)| c.repeat(n)),
            prop::sample::select(&["*", "?", "b", "ab", "a?b"][..]).prop_map(str::to_owned),
        ],
        1..6,
    )
    .prop_map(|parts| parts.concat())
}

/// The fragments' alphabet is small so fragments often occur; `z` never does.
const FRAGMENT_ALPHABET: &[&str] = &["a", "b", "ab", "é", "/", "."];

proptest! {
    #![proptest_config(crate::config())]

    #[test]
    fn glob_with_long_pieces_matches_like_regex_oracle(
        pattern in long_piece_pattern(),
        random_text in text_from(&["a", "b", "é", "aaaa", "aaaaaaaaaaaaaaaa"], 60),
        fills in prop::collection::vec(text_from(&["a", "b", "é"], 6), 1..4),
        edit in prop::option::of((any::<usize>(), prop::sample::select(&['-', 'a', 'b'][..]))),
        use_random in any::<bool>(),
    ) {
        let Ok(glob) = Glob::new(&pattern) else { return Ok(()) };
        let text = if use_random { random_text } else { instantiate(&pattern, &fills, edit) };
        let oracle = glob_oracle(&pattern);
        prop_assert_eq!(glob.matches(&text), oracle.is_match(&text),
            "pattern {:?} text {:?}", pattern, text);
    }

    /// `Substrings::any_in` is "some fragment occurs", whichever search it takes: lists
    /// of up to 40 fragments (the first-byte table takes at most 16) and texts of up to
    /// 200 bytes, then the same text behind 70 bytes of `z` (always the automaton).
    #[test]
    fn substrings_agree_with_searching_each_fragment(
        fragments in prop::collection::vec(text_from(FRAGMENT_ALPHABET, 5), 1..40),
        text in text_from(&["a", "b", "ab", "é", "/", ".", "z", "zzzz"], 120),
    ) {
        let naive = |t: &str| fragments.iter().any(|f| t.contains(f.as_str()));
        let set = Substrings::new(fragments.clone());
        prop_assert_eq!(set.any_in(&text), naive(&text), "fragments {:?} text {:?}", fragments, text);
        let padded = format!("{}{text}", "z".repeat(70));
        prop_assert_eq!(set.any_in(&padded), naive(&padded), "fragments {:?} text {:?}", fragments, padded);
    }

    /// A list of infix globs (`*x*`) is one substring search: same answers as each glob.
    #[test]
    fn infix_glob_sets_agree_with_each_glob(
        infixes in prop::collection::vec(text_from(FRAGMENT_ALPHABET, 5), 1..24),
        text in text_from(&["a", "b", "ab", "é", "/", ".", "z", "zzzzzzzzzzzzzzzz"], 40),
    ) {
        let globs: Vec<Glob> = infixes
            .iter()
            .filter_map(|f| Glob::new(&format!("*{f}*")).ok())
            .collect();
        let each = globs.iter().any(|g| g.matches(&text));
        prop_assert_eq!(GlobSet::new(globs).matches(&text), each, "infixes {:?} text {:?}", infixes, text);
    }
}

/// One literal piece of 10,000 `a`s between stars, against 1 MiB of `a`s: a backtracking
/// matcher compares up to 10,000 characters at each of 2^20 positions (minutes, even in
/// release); the piece search reads the text once (milliseconds).
#[test]
fn a_long_literal_piece_on_a_long_text_is_one_pass() {
    let glob = Glob::new(&format!("x*{}b*y", "a".repeat(10_000))).unwrap();
    let text = format!("x{}y", "a".repeat(1 << 20));
    assert!(!glob.matches(&text));
    let text = format!("x{}by", "a".repeat(1 << 20));
    assert!(glob.matches(&text));
}

/// The same with a `?` in a 200-character piece (four words of the bit-parallel search):
/// 2^20 × 4 steps instead of 2^20 × 200 comparisons.
#[test]
fn a_long_piece_with_a_question_mark_is_one_pass() {
    let glob = Glob::new(&format!("x*{}?b*y", "a".repeat(200))).unwrap();
    let text = format!("x{}y", "a".repeat(1 << 20));
    assert!(!glob.matches(&text));
    let text = format!("x{}éby", "a".repeat(1 << 20));
    assert!(glob.matches(&text));
}
