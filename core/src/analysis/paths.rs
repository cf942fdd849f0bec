//! Path patterns whose `*` crosses directories (`star-crosses-directories`).
//!
//! In this language `*` matches any run of characters, `/` included (docs/semantics.md §2), so
//! `/workspace/*` matches `/workspace/a/b` and `src/*.rs` matches `src/a/b.rs`: unlike a
//! shell glob, a `*` after a `/` is recursive already. That is the safe side for a deny
//! (a note) and worth a warning on an allow, which admits every subdirectory.
//!
//! Judged: `matches` patterns of rules on path actions (`*:file`), and patterns that
//! start as a path (`/`, `./`, `../`, `~/`), not URLs (`scheme://`), whose single `*` has
//! a `/` before it and no
//! `**` before it (after a `**` the author already means any depth). A pattern that
//! canonicalisation makes impossible is left to `non-canonical-pattern`.

use crate::model::{Effect, ResourceTest};

use super::canonical::impossible_glob;
use super::kinds::Kinds;
use super::{Finding, Set, Severity, glob_span};

/// Every `star-crosses-directories` finding.
pub(super) fn check(set: &Set<'_>, kinds: &Kinds) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, entry, rule) in set.rules() {
        let on_paths = kinds.on_paths(rule);
        for test in &rule.conditions.resource {
            let ResourceTest::Matches(globs) = test else {
                continue;
            };
            for g in globs.globs() {
                let p = g.as_str();
                let path_like = ["/", "./", "../", "~/"].iter().any(|s| p.starts_with(s));
                // A pattern canonicalisation makes impossible has its own finding.
                if (!on_paths && !path_like) || p.contains("://") || impossible_glob(p).is_some() {
                    continue;
                }
                let Some(star) = crossing_star(p) else {
                    continue;
                };
                let (before, after) =
                    (p.get(..star).unwrap_or(""), p.get(star + 1..).unwrap_or(""));
                let deeper = format!("{before}a/b{}", after.replace('*', "").replace('?', "x"));
                let recursive = format!("{before}**{after}");
                let message = format!(
                    "`*` in `{p}` also matches `/`, so the pattern matches `{deeper}` too: `*` \
                     crosses directories in this language"
                );
                let (severity, help) = if rule.effect == Effect::Allow {
                    (
                        Severity::Warning,
                        format!(
                            "if any depth is meant, write `{recursive}` to say so; for one \
                             level only, add a deny for `{before}*/*{after}`"
                        ),
                    )
                } else {
                    (
                        Severity::Note,
                        format!(
                            "this {} covers every depth already, the safe side; write \
                             `{recursive}` to say so",
                            rule.effect.as_str()
                        ),
                    )
                };
                out.push(Finding::new(
                    entry,
                    glob_span(rule, g),
                    severity,
                    "star-crosses-directories",
                    message,
                    help,
                ));
            }
        }
    }
    out
}

/// The byte index of the first single `*` (not part of `**`) with a `/` before it and no
/// `**` before it.
fn crossing_star(p: &str) -> Option<usize> {
    let bytes = p.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b != b'*' {
            continue;
        }
        let before = p.get(..i).unwrap_or("");
        if before.contains("**") {
            return None;
        }
        let prev = i.checked_sub(1).and_then(|j| bytes.get(j)).copied();
        let next = bytes.get(i + 1).copied();
        if next == Some(b'*') {
            return None;
        }
        if prev != Some(b'*') && before.contains('/') {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::crossing_star;

    #[test]
    fn single_stars_after_a_slash_cross() {
        assert_eq!(crossing_star("/workspace/*"), Some(11));
        assert_eq!(crossing_star("src/*.rs"), Some(4));
        assert_eq!(crossing_star("./*.md"), Some(2));
        assert_eq!(crossing_star("~/p/*/src/**"), Some(4));
        assert_eq!(crossing_star("/etc/**"), None);
        assert_eq!(crossing_star("**/*.pem"), None);
        assert_eq!(crossing_star("*.md"), None);
        assert_eq!(crossing_star("/workspace/a"), None);
    }
}
