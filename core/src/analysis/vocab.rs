//! Likely typos in the set's vocabulary.
//!
//! - **White space inside an action pattern** (`action-whitespace`): actions are
//!   `verb:object` words; `read: file` is a typo that matches nothing agents send.
//! - **Rare words** (`rare-verb`, `rare-tag`): an action verb or an agent tag used in
//!   exactly one place, when another verb or tag that is used more often is one edit away
//!   (`raed:file` when other rules say `read:`, `claude_code` when other policies say
//!   `claude-code`). Actions and tags are case-sensitive, so `Read` is as wrong as `raed`.
//!   A word used once with no near neighbour is not reported: sets legitimately have
//!   single-use verbs (`pay:*`) and tags (`production`).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::glob::Glob;
use crate::source::Span;

use super::{Entry, Finding, Set, Severity};

/// One use of a word.
struct Use {
    file: usize,
    span: Span,
}

/// Every vocabulary finding.
pub(super) fn check(set: &Set<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut verbs: BTreeMap<String, Vec<Use>> = BTreeMap::new();
    let mut tags: BTreeMap<String, Vec<Use>> = BTreeMap::new();
    let mut action = |entry: &Entry<'_>, g: &Glob, fallback: Span, out: &mut Vec<Finding>| {
        let span = g.span().unwrap_or(fallback);
        if g.as_str().chars().any(char::is_whitespace) {
            out.push(whitespace(entry, span, g));
        }
        if let Some((verb, _)) = g.literal_prefix().split_once(':') {
            verbs.entry(verb.to_owned()).or_default().push(Use {
                file: entry.file,
                span,
            });
        }
    };
    for (_, entry, rule) in set.rules() {
        for g in &rule.actions {
            action(entry, g, rule.id_span, &mut out);
        }
    }
    for entry in &set.policies {
        for g in &entry.policy.require_approval {
            action(entry, g, entry.policy.name_span, &mut out);
        }
    }
    let mut tag = |entry: &Entry<'_>, list: &[String], spans: &[Span], fallback: Span| {
        for (i, t) in list.iter().enumerate() {
            tags.entry(t.clone()).or_default().push(Use {
                file: entry.file,
                span: spans.get(i).copied().unwrap_or(fallback),
            });
        }
    };
    for (_, entry, rule) in set.rules() {
        if let Some(a) = &rule.conditions.agent {
            tag(
                entry,
                a.tags.as_deref().unwrap_or(&[]),
                &a.tag_spans,
                rule.id_span,
            );
        }
    }
    for entry in &set.policies {
        if let Some(a) = &entry.policy.applies_to {
            let list = a.tags.as_deref().unwrap_or(&[]);
            tag(entry, list, &a.tag_spans, entry.policy.name_span);
        }
    }
    out.extend(rare(&verbs, "rare-verb", "action verb", |w| {
        format!("`{w}:`")
    }));
    out.extend(rare(&tags, "rare-tag", "tag", |w| format!("`{w}`")));
    out
}

fn whitespace(entry: &Entry<'_>, span: Span, g: &Glob) -> Finding {
    Finding::new(
        entry,
        span,
        Severity::Warning,
        "action-whitespace",
        format!(
            "action pattern `{}` has white space inside; actions are `verb:object` words, so \
             it will not match what agents send",
            g.as_str()
        ),
        "remove the white space".to_owned(),
    )
}

/// A finding for each word used once with a more common near neighbour.
fn rare(
    words: &BTreeMap<String, Vec<Use>>,
    code: &'static str,
    what: &str,
    show: impl Fn(&str) -> String,
) -> Vec<Finding> {
    // Only words used more than once can be what a rare word meant. They are indexed by
    // their variants with one or two characters deleted, so a rare word is compared with
    // the few common words that share a variant, not with all of them (a set of thousands
    // of tenant policies has thousands of words of each kind).
    let common: Vec<(Word<'_>, &Vec<Use>)> = words
        .iter()
        .filter(|(_, u)| u.len() > 1)
        .map(|(w, u)| (Word::new(w), u))
        .collect();
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (w, _)) in common.iter().enumerate() {
        for key in w.keys() {
            index.entry(key).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (word, uses) in words {
        let [only] = uses.as_slice() else { continue };
        let me = Word::new(word);
        let mut candidates: Vec<usize> = me
            .keys()
            .filter_map(|k| index.get(&k))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let near = candidates
            .iter()
            .filter_map(|&i| common.get(i))
            .filter(|(other, _)| other.text != word && me.close(other))
            .max_by_key(|(_, u)| u.len());
        let Some((other, their)) = near else { continue };
        out.push(Finding {
            severity: Severity::Warning,
            code,
            message: format!(
                "{what} {} is used nowhere else in these policies, while {} is used {} times",
                show(word),
                show(other.text),
                their.len()
            ),
            help: Some(format!("did you mean {}?", show(other.text))),
            file: only.file,
            span: only.span,
        });
    }
    out
}

/// A word with what [`Word::close`] compares, computed once.
struct Word<'a> {
    text: &'a str,
    /// Lowercase, without `-`, `_` and spaces.
    folded: String,
    chars: usize,
}

impl<'a> Word<'a> {
    fn new(text: &'a str) -> Self {
        Word {
            text,
            folded: text
                .chars()
                .filter(|c| !matches!(c, '-' | '_' | ' '))
                .flat_map(char::to_lowercase)
                .collect(),
            chars: text.chars().count(),
        }
    }

    /// The index keys under which a close word must share at least one: the folded form
    /// (equal but for case and separators), and every variant of the word with as many
    /// characters deleted as [`Word::close`] may allow. Two words within `k` edits (a swap
    /// of neighbours counting as one) have a common variant with at most `k` deletions
    /// from each.
    fn keys(&self) -> impl Iterator<Item = String> + use<> {
        let deletions = if self.chars >= 7 { 2 } else { 1 };
        let mut variants: HashSet<String> = HashSet::from([self.text.to_owned()]);
        for _ in 0..deletions {
            let next: Vec<String> = variants
                .iter()
                .flat_map(|v| {
                    v.char_indices().map(move |(at, c)| {
                        let mut shorter = v.clone();
                        shorter.replace_range(at..at + c.len_utf8(), "");
                        shorter
                    })
                })
                .collect();
            variants.extend(next);
        }
        std::iter::once(format!("folded:{}", self.folded))
            .chain(variants.into_iter().map(|v| format!("edit:{v}")))
    }

    /// Whether two words are one slip apart: equal but for case, `-`, `_` or spaces, or
    /// one edit (two for long words) apart, counting a swap of neighbours as one edit.
    fn close(&self, other: &Word<'_>) -> bool {
        if self.folded == other.folded {
            return true;
        }
        let shortest = self.chars.min(other.chars);
        let allowed = if shortest >= 7 { 2 } else { 1 };
        // Lengths further apart than the edits allowed cannot be that close.
        shortest >= 3
            && self.chars.abs_diff(other.chars) <= allowed
            && strsim::damerau_levenshtein(self.text, other.text) <= allowed
    }
}

#[cfg(test)]
mod tests {
    use super::Word;

    fn close(a: &str, b: &str) -> bool {
        Word::new(a).close(&Word::new(b))
    }

    #[test]
    fn near_words() {
        assert!(close("raed", "read"));
        assert!(close("Read", "read"));
        assert!(close("claude_code", "claude-code"));
        assert!(close("exeucte", "execute"));
        assert!(!close("send", "read"));
        assert!(!close("pay", "post"));
        assert!(!close("dev-agent", "dev-assistant"));
        assert!(!close("ab", "ac"));
    }

    /// The index never hides a close word: every close pair shares a key.
    #[test]
    fn close_words_share_a_key() {
        let base = [
            "read",
            "execute",
            "claude-code",
            "dev-assistant",
            "tenant-42",
            "wrïte",
        ];
        let mut words: Vec<String> = base.iter().map(|w| (*w).to_owned()).collect();
        for w in base {
            let chars: Vec<char> = w.chars().collect();
            for i in 0..chars.len() {
                let mut deleted = chars.clone();
                deleted.remove(i);
                words.push(deleted.iter().collect());
                let mut swapped = chars.clone();
                if i + 1 < chars.len() {
                    swapped.swap(i, i + 1);
                    words.push(swapped.iter().collect());
                }
                let mut changed = chars.clone();
                changed[i] = 'x';
                if i + 2 < chars.len() {
                    changed[i + 2] = 'y';
                }
                words.push(changed.iter().collect());
            }
            words.push(w.to_uppercase().replace('-', "_"));
        }
        let mut close_pairs = 0;
        for a in &words {
            for b in &words {
                let (wa, wb) = (Word::new(a), Word::new(b));
                if wa.close(&wb) {
                    close_pairs += 1;
                    let keys: std::collections::HashSet<String> = wa.keys().collect();
                    assert!(wb.keys().any(|k| keys.contains(&k)), "`{a}` and `{b}`");
                }
            }
        }
        assert!(
            close_pairs > words.len() * 3,
            "the words are close in many pairs"
        );
    }
}
