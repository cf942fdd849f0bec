//! Any-of substring search for `contains` lists and infix globs.
//!
//! The seeds' shell policies test a command against dozens of fragments (`rm -rf`,
//! `sudo `, `curl `, ...), and their web policies a URL against a dozen infix patterns
//! (`*github.com*`). Searching for each fragment in turn costs a searcher set-up and a
//! pass per fragment. Resources are short (tens of bytes), where even an Aho–Corasick
//! automaton's per-call overhead dominates (measured with callgrind: ~500 instructions a
//! decision), so the search is one pass over the haystack with a table of the fragments'
//! first bytes: only positions whose byte starts some fragment are compared.

/// A list of fragments, any of which may occur.
#[derive(Debug, Clone)]
pub struct Substrings {
    items: Vec<String>,
    /// For each byte value, the indices of the fragments that start with it.
    by_first: Vec<Vec<u16>>,
    /// The same as a bit set, for the fast reject of most positions.
    starts: [u64; 4],
    /// Whether an empty fragment is present (it occurs in every text).
    has_empty: bool,
}

impl Substrings {
    /// Builds the search for `items`.
    pub fn new(items: Vec<String>) -> Self {
        let mut by_first = vec![Vec::new(); 256];
        let mut starts = [0u64; 4];
        let mut has_empty = false;
        for (i, item) in items.iter().enumerate() {
            match (item.as_bytes().first(), u16::try_from(i)) {
                (None, _) => has_empty = true,
                (Some(&b), Ok(i)) => {
                    by_first[usize::from(b)].push(i);
                    starts[usize::from(b >> 6)] |= 1 << (b & 63);
                }
                // More than 65,535 fragments in one list: keep them out of the table and
                // let `any_in` fall back to plain search for the whole list.
                (Some(_), Err(_)) => return Self::plain(items),
            }
        }
        Substrings {
            items,
            by_first,
            starts,
            has_empty,
        }
    }

    fn plain(items: Vec<String>) -> Self {
        Substrings {
            items,
            by_first: Vec::new(),
            starts: [0; 4],
            has_empty: false,
        }
    }

    /// Whether any fragment occurs in `haystack`.
    pub fn any_in(&self, haystack: &str) -> bool {
        if self.has_empty {
            return true;
        }
        if self.by_first.is_empty() {
            return self.items.iter().any(|s| haystack.contains(s.as_str()));
        }
        let bytes = haystack.as_bytes();
        for (at, &b) in bytes.iter().enumerate() {
            if self.starts[usize::from(b >> 6)] & (1 << (b & 63)) == 0 {
                continue;
            }
            let Some(candidates) = self.by_first.get(usize::from(b)) else {
                continue;
            };
            for &i in candidates {
                if let Some(item) = self.items.get(usize::from(i))
                    && bytes
                        .get(at..)
                        .is_some_and(|rest| rest.starts_with(item.as_bytes()))
                {
                    return true;
                }
            }
        }
        false
    }

    /// The fragments as written.
    pub fn items(&self) -> &[String] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::Substrings;

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
            let plain = frags.iter().any(|f| text.contains(f.as_str()));
            assert_eq!(set.any_in(text), plain, "{text}");
        }
        assert!(Substrings::new(vec![String::new()]).any_in("x"));
    }
}
