//! The glob matcher agrees with a regex oracle built from SPEC §2, on random texts, on
//! texts instantiated from the pattern (with one-character edits at the edges) and on
//! unicode and multi-line texts.

use meshguard_core::glob::Glob;
use proptest::prelude::*;
use regex::Regex;

/// SPEC §2 as a regex: runs of `*` → `.*`, `?` → one character, everything else literal;
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
