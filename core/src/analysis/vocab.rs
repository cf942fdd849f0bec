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

use std::collections::BTreeMap;

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
    let mut out = Vec::new();
    for (word, uses) in words {
        let [only] = uses.as_slice() else { continue };
        let near = words
            .iter()
            .filter(|(other, u)| *other != word && u.len() > 1 && close(word, other))
            .max_by_key(|(_, u)| u.len());
        let Some((other, their)) = near else { continue };
        out.push(Finding {
            severity: Severity::Warning,
            code,
            message: format!(
                "{what} {} is used nowhere else in these policies, while {} is used {} times",
                show(word),
                show(other),
                their.len()
            ),
            help: Some(format!("did you mean {}?", show(other))),
            file: only.file,
            span: only.span,
        });
    }
    out
}

/// Whether two words are one slip apart: equal but for case, `-`, `_` or spaces, or one
/// edit (two for long words) apart, counting a swap of neighbours as one edit.
fn close(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect()
    };
    if norm(a) == norm(b) {
        return true;
    }
    let shortest = a.chars().count().min(b.chars().count());
    let allowed = if shortest >= 7 { 2 } else { 1 };
    shortest >= 3 && strsim::damerau_levenshtein(a, b) <= allowed
}

#[cfg(test)]
mod tests {
    use super::close;

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
}
