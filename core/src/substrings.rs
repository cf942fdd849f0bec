//! Any-of substring search for `contains` lists and infix globs.
//!
//! The seeds' shell policies test a command against dozens of fragments (`rm -rf`,
//! `sudo `, `curl `, ...), and their web policies a URL against a dozen infix patterns
//! (`*github.com*`). A resource comes from the agent and may be large (the gateway reads
//! bodies of 1 MiB), and a list comes from a policy and may be long (a block list of
//! 60,000 host names), so the search must stay linear in the resource whatever the list:
//! comparing every fragment at every position took seconds for such a pair.
//!
//! Two searches, chosen per call:
//!
//! - An Aho–Corasick automaton ([`aho_corasick`]): one pass over the resource whatever
//!   the list size. It is a contiguous NFA, not a DFA: a DFA's table holds up to 256
//!   transitions a state (a 60,000-fragment list has ~700,000 states), the contiguous NFA
//!   about ten bytes per fragment byte (6 MB for that list), and with the prefilter (Teddy
//!   on x86-64) in front both read ordinary text at about the same speed.
//! - For short lists and short resources, a table of the fragments' first bytes: only
//!   positions whose byte starts some fragment are compared, eight bytes at a time. On
//!   tens of bytes the automaton's per-call set-up dominates: below Teddy's minimum length
//!   its prefilter falls back to Rabin–Karp, ~1,400 instructions for `https://docs.rs/x`
//!   against the seeds' five URL infixes where the table takes ~250 (callgrind). The
//!   table's work is bounded by `TABLE_MAX_HAYSTACK` positions of at most
//!   `TABLE_MAX_ITEMS` candidates, so it cannot grow with the resource.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};

/// Longest list searched with the first-byte table.
///
/// Above it the automaton is cheaper even on short resources: most bytes of ordinary
/// text start some fragment of a long list. A 52-byte command against 40 shell fragments
/// costs the table 2,000 instructions, the automaton 1,200 (callgrind).
const TABLE_MAX_ITEMS: usize = 16;

/// Longest resource, in bytes, searched with the first-byte table.
///
/// Requests' resources are mostly tens of bytes (a command, a path, a URL). The table
/// costs ~20 instructions a byte whatever the text; the automaton 250–450 a call when its
/// prefilter skips the text, up to ~35 a byte when the prefilter keeps stopping, and
/// ~1,000 more below Teddy's minimum length. Measured with lists of 3 to 16 fragments
/// (seeds' and generated), at 64 bytes the table took 950–1,800 instructions and the
/// automaton 250–3,400; at 128, 2,000–3,500 and 450–3,450: up to here the table is never
/// far behind and often far ahead, beyond it the automaton mostly wins.
const TABLE_MAX_HAYSTACK: usize = 64;

// The table's offsets are bytes.
const _: () = assert!(TABLE_MAX_ITEMS < u8::MAX as usize);

/// A list of fragments, any of which may occur.
#[derive(Debug, Clone)]
pub struct Substrings {
    items: Vec<String>,
    /// Whether an empty fragment is present (it occurs in every text).
    has_empty: bool,
    /// For lists of at most [`TABLE_MAX_ITEMS`] fragments.
    table: Option<Table>,
    /// Built with the list when there is no table (every search takes the automaton),
    /// else at the first haystack too long for the table: most short lists never see one,
    /// and building an automaton for each made compiling a set of 1,000 generated policies
    /// cost 44% more instructions. `None` inside only if it could not be built (no list a
    /// policy text within its limits can hold); the search then goes fragment by fragment.
    automaton: OnceLock<Option<AhoCorasick>>,
}

impl Substrings {
    /// Builds the search for `items`.
    pub fn new(items: Vec<String>) -> Self {
        let has_empty = items.iter().any(String::is_empty);
        let table = (!has_empty && items.len() <= TABLE_MAX_ITEMS).then(|| Table::new(&items));
        let automaton = OnceLock::new();
        if table.is_none() && !has_empty {
            // A large list's automaton is built with the policy, not in a request.
            let _ = automaton.set(build_automaton(&items));
        }
        Substrings {
            items,
            has_empty,
            table,
            automaton,
        }
    }

    /// Whether any fragment occurs in `haystack`.
    pub fn any_in(&self, haystack: &str) -> bool {
        if self.has_empty {
            return true;
        }
        if haystack.len() <= TABLE_MAX_HAYSTACK
            && let Some(table) = &self.table
        {
            return table.any_in(&self.items, haystack.as_bytes());
        }
        self.search(haystack)
    }

    /// The search of long lists and long haystacks, kept out of line: inlined, its set-up
    /// costs the short path registers and a large stack frame.
    #[inline(never)]
    fn search(&self, haystack: &str) -> bool {
        // The search cannot fail: the automaton is unanchored and searched unanchored.
        if let Some(automaton) = self.automaton.get_or_init(|| build_automaton(&self.items))
            && let Ok(found) = automaton.try_find(Input::new(haystack).earliest(true))
        {
            return found.is_some();
        }
        // Each fragment in one linear pass (`str::contains` is two-way string matching).
        self.items.iter().any(|s| haystack.contains(s.as_str()))
    }

    /// The fragments as written.
    pub fn items(&self) -> &[String] {
        &self.items
    }
}

/// The automaton for `items`: a contiguous NFA, or the noncontiguous one if the list is
/// too large for the contiguous layout.
///
/// Leftmost-first rather than standard semantics only because the packed (Teddy) prefilter
/// exists only for leftmost searches; the question asked (does any fragment occur?) has
/// the same answer under every semantics, and `earliest` stops at the first match found.
fn build_automaton(items: &[String]) -> Option<AhoCorasick> {
    let build = |kind| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(kind))
            .build(items)
            .ok()
    };
    build(AhoCorasickKind::ContiguousNFA).or_else(|| build(AhoCorasickKind::NoncontiguousNFA))
}

/// The fragments grouped by first byte, each with its first eight bytes as a word, so a
/// candidate costs one masked comparison (and a `memcmp` of the rest only when those
/// eight bytes agree).
#[derive(Debug, Clone)]
struct Table {
    /// The fragments' first bytes as a bit set, for the fast reject of most positions.
    starts: [u64; 4],
    /// The fragments starting with byte `b` are `entries[first[b]..first[b + 1]]`.
    first: [u8; 257],
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The fragment's first (up to) eight bytes, little-endian, zero-padded.
    head: u64,
    /// The bits of `head` that hold fragment bytes.
    mask: u64,
    /// The fragment's length in bytes (never 0).
    len: usize,
    /// Its index in the list.
    item: usize,
}

impl Table {
    /// The table of `items`: at most [`TABLE_MAX_ITEMS`], none empty.
    fn new(items: &[String]) -> Table {
        let mut entries: Vec<(u8, Entry)> = items
            .iter()
            .enumerate()
            .filter_map(|(item, s)| {
                let bytes = s.as_bytes();
                let &b = bytes.first()?;
                let mask = match bytes.len() {
                    n @ 1..8 => (1u64 << (8 * n)) - 1,
                    _ => u64::MAX,
                };
                let head = word(bytes) & mask;
                let len = bytes.len();
                Some((
                    b,
                    Entry {
                        head,
                        mask,
                        len,
                        item,
                    },
                ))
            })
            .collect();
        entries.sort_by_key(|&(b, _)| b);
        let mut starts = [0u64; 4];
        let mut first = [0u8; 257];
        for &(b, _) in &entries {
            starts[usize::from(b >> 6)] |= 1 << (b & 63);
            first[usize::from(b) + 1] = first[usize::from(b) + 1].saturating_add(1);
        }
        for b in 1..first.len() {
            first[b] = first[b].saturating_add(first[b - 1]);
        }
        Table {
            starts,
            first,
            entries: entries.into_iter().map(|(_, e)| e).collect(),
        }
    }

    /// Whether any of `items` (the list the table was built from) occurs in `haystack`
    /// (at most [`TABLE_MAX_HAYSTACK`] bytes).
    fn any_in(&self, items: &[String], haystack: &[u8]) -> bool {
        // The haystack zero-padded by a word, so every position, the last seven too, is
        // compared as one word (a fragment longer than what is left never matches: its
        // length is checked).
        let mut padded = [0u8; TABLE_MAX_HAYSTACK + 8];
        let Some(copy) = padded.get_mut(..haystack.len()) else {
            return self.any_in_long(items, haystack);
        };
        copy.copy_from_slice(haystack);
        for (at, &b) in haystack.iter().enumerate() {
            if self.starts[usize::from(b >> 6)] & (1 << (b & 63)) == 0 {
                continue;
            }
            let left = haystack.len() - at;
            let head = padded
                .get(at..)
                .and_then(<[u8]>::first_chunk::<8>)
                .map_or(0, |w| u64::from_le_bytes(*w));
            let from = usize::from(self.first[usize::from(b)]);
            let to = usize::from(self.first[usize::from(b) + 1]);
            let candidates = self.entries.get(from..to).unwrap_or_default();
            if candidates.iter().any(|e| {
                head & e.mask == e.head
                    && e.len <= left
                    && (e.len <= 8
                        || haystack.get(at + 8..at + e.len)
                            == items.get(e.item).and_then(|s| s.as_bytes().get(8..)))
            }) {
                return true;
            }
        }
        false
    }

    /// The table's search on any haystack (the padded one takes at most
    /// [`TABLE_MAX_HAYSTACK`] bytes); only reached if a caller passes a longer one.
    #[cold]
    fn any_in_long(&self, items: &[String], haystack: &[u8]) -> bool {
        haystack.iter().enumerate().any(|(at, &b)| {
            let from = usize::from(self.first[usize::from(b)]);
            let to = usize::from(self.first[usize::from(b) + 1]);
            let rest = haystack.get(at..).unwrap_or_default();
            self.entries
                .get(from..to)
                .unwrap_or_default()
                .iter()
                .any(|e| {
                    items
                        .get(e.item)
                        .is_some_and(|s| rest.starts_with(s.as_bytes()))
                })
        })
    }
}

/// The first eight bytes of `bytes` as a little-endian word, zero-padded.
fn word(bytes: &[u8]) -> u64 {
    match bytes.first_chunk::<8>() {
        Some(w) => u64::from_le_bytes(*w),
        None => {
            let mut w = [0u8; 8];
            for (to, from) in w.iter_mut().zip(bytes) {
                *to = *from;
            }
            u64::from_le_bytes(w)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Substrings, TABLE_MAX_HAYSTACK, TABLE_MAX_ITEMS};

    fn naive(frags: &[String], text: &str) -> bool {
        frags.iter().any(|f| text.contains(f.as_str()))
    }

    #[test]
    fn agrees_with_plain_search() {
        let frags: Vec<String> = ["rm -rf", "sudo ", "curl ", "nc ", "> /dev/", "é"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let set = Substrings::new(frags.clone());
        for text in [
            "git status && rm -rf /",
            "rsync a b",
            "git log",
            "echo > /dev/sda",
            "",
            "café",
            "rm -r",
        ] {
            assert_eq!(set.any_in(text), naive(&frags, text), "{text}");
            // The same text made longer than the table's limit takes the automaton.
            let long = format!("{}{text}", "x".repeat(TABLE_MAX_HAYSTACK));
            assert_eq!(set.any_in(&long), naive(&frags, &long), "{long}");
        }
        assert!(Substrings::new(vec![String::new()]).any_in("x"));
        assert!(Substrings::new(vec![String::new()]).any_in(""));
    }

    #[test]
    fn fragments_longer_than_a_word_and_at_the_end() {
        let frags = vec![
            "abcdefghij".to_owned(),
            "abcdefgh".to_owned(),
            "xyz".to_owned(),
        ];
        let set = Substrings::new(frags.clone());
        for text in [
            "..abcdefghi",
            "..abcdefghij",
            "abcdefg",
            "abcdefgh",
            "xy",
            "..xyz",
            "abcdefgXij",
        ] {
            assert_eq!(set.any_in(text), naive(&frags, text), "{text}");
        }
    }

    #[test]
    fn long_lists_take_the_automaton_even_on_short_text() {
        let frags: Vec<String> = (0..=TABLE_MAX_ITEMS).map(|i| format!("w{i}.")).collect();
        let set = Substrings::new(frags);
        assert!(set.table.is_none());
        assert!(set.any_in("a w16. b"));
        assert!(!set.any_in("a w17. b"));
    }

    /// One fragment of 10,000 `a`s and a `b` against 1 MiB of `a`s: comparing at every
    /// position would read 10^10 bytes (minutes in a debug build); one pass reads 2^20.
    #[test]
    fn a_long_fragment_on_a_long_text_is_one_pass() {
        let set = Substrings::new(vec![format!("{}b", "a".repeat(10_000))]);
        let mut text = "a".repeat(1 << 20);
        assert!(!set.any_in(&text));
        text.push('b');
        assert!(set.any_in(&text));
    }
}
