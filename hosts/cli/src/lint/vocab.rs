//! Likely typos in the set's vocabulary: an action verb or an agent tag used in exactly one
//! place, when another verb or tag that is used more often is one edit away (`raed:file`
//! when other rules say `read:`, `claude_code` when other policies say `claude-code`).
//! Actions and tags are case-sensitive, so `Read` is as wrong as `raed`.
//!
//! A word used once with no near neighbour is not reported: sets legitimately have
//! single-use verbs (`pay:*`) and tags (`production`).

use std::collections::BTreeMap;

use meshguard_core::Span;

use super::{Finding, Set, Severity, locate};

/// One use of a word.
struct Use {
    file: usize,
    span: Span,
}

/// Every verb and tag finding.
pub fn check(set: &Set) -> Vec<Finding> {
    let mut verbs: BTreeMap<String, Vec<Use>> = BTreeMap::new();
    let mut tags: BTreeMap<String, Vec<Use>> = BTreeMap::new();
    for (_, entry, rule) in set.rules() {
        let text = set.text(entry);
        for g in &rule.actions {
            if let Some((verb, _)) = g.literal_prefix().split_once(':') {
                let span = locate::in_rule(text, rule, "actions", g.as_str());
                verbs.entry(verb.to_owned()).or_default().push(Use {
                    file: entry.file,
                    span,
                });
            }
        }
        for tag in rule
            .conditions
            .agent
            .iter()
            .flat_map(|a| a.tags.iter().flatten())
        {
            let span = locate::in_rule(text, rule, "agent", tag);
            tags.entry(tag.clone()).or_default().push(Use {
                file: entry.file,
                span,
            });
        }
    }
    for entry in &set.policies {
        let text = set.text(entry);
        for g in &entry.policy.require_approval {
            if let Some((verb, _)) = g.literal_prefix().split_once(':') {
                let span = locate::in_policy(text, &entry.policy, "requireApproval", g.as_str());
                verbs.entry(verb.to_owned()).or_default().push(Use {
                    file: entry.file,
                    span,
                });
            }
        }
        let scope = entry.policy.applies_to.as_ref();
        for tag in scope.iter().flat_map(|a| a.tags.iter().flatten()) {
            let span = locate::in_policy(text, &entry.policy, "appliesTo", tag);
            tags.entry(tag.clone()).or_default().push(Use {
                file: entry.file,
                span,
            });
        }
    }
    let mut out = rare(&verbs, "rare-verb", "action verb", |w| format!("`{w}:`"));
    out.extend(rare(&tags, "rare-tag", "tag", |w| format!("`{w}`")));
    out
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
