//! Where a finding points: the model keeps spans for policy names and rules, not for
//! each pattern or tag, so those are found again in the text, within the rule's (or the
//! policy document's) lines, after the key they belong to, as a whole token (quoted or
//! bare). When the text cannot be found the rule's or policy's own span is used, so a
//! finding always has a position.

use meshguard_core::model::{Policy, Rule};
use meshguard_core::{Pos, Span};

/// The lines of `text`, without line breaks.
fn lines(text: &str) -> Vec<&str> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The first whole-token occurrence of `needle` from line `from` (1-based) to `to`,
/// starting after the first line that holds `key:` (or `"key":`) when there is one.
fn find(text: &str, from: u32, to: u32, key: Option<&str>, needle: &str) -> Option<Span> {
    let all = lines(text);
    let first = usize::try_from(from.max(1) - 1).ok()?;
    let last = usize::try_from(to).ok()?.min(all.len());
    let window = all.get(first..last)?;
    let start = key
        .and_then(|k| {
            let plain = format!("{k}:");
            let quoted = format!("\"{k}\":");
            window
                .iter()
                .position(|l| l.contains(&plain) || l.contains(&quoted))
        })
        .unwrap_or(0);
    for (offset, line) in window.iter().enumerate().skip(start) {
        for (byte, _) in line.match_indices(needle) {
            let before = line.get(..byte).and_then(|s| s.chars().next_back());
            let after = line
                .get(byte + needle.len()..)
                .and_then(|s| s.chars().next());
            let open = before.is_none_or(|c| " \t[,{\"'".contains(c));
            let close = after.is_none_or(|c| " \t],}\"'#".contains(c));
            if open && close {
                let column = 1 + line.get(..byte).map_or(0, |s| s.chars().count());
                let line_no = to_u32(first + offset + 1);
                let start = Pos {
                    line: line_no,
                    column: to_u32(column),
                };
                let end = Pos {
                    line: line_no,
                    column: to_u32(column + needle.chars().count()),
                };
                return Some(Span { start, end });
            }
        }
    }
    None
}

/// `needle` inside `rule`, after `key` (such as `actions` or `resource`).
pub fn in_rule(text: &str, rule: &Rule, key: &str, needle: &str) -> Span {
    find(
        text,
        rule.span.start.line,
        rule.span.end.line.max(rule.span.start.line),
        Some(key),
        needle,
    )
    .unwrap_or_else(|| head(text, rule))
}

/// `needle` inside the policy document, after `key` (such as `appliesTo`).
pub fn in_policy(text: &str, policy: &Policy, key: &str, needle: &str) -> Span {
    let (from, to) = document(text, policy.name_span.start.line);
    find(text, from, to, Some(key), needle).unwrap_or(policy.name_span)
}

/// Where to point at a rule: its name or id; for a rule without one, the rest of its
/// first line (`effect: allow`), comments and trailing blanks left out.
pub fn head(text: &str, rule: &Rule) -> Span {
    if rule.id_span != rule.span {
        return rule.id_span;
    }
    let start = rule.span.start;
    let line = usize::try_from(start.line.max(1) - 1)
        .ok()
        .and_then(|i| lines(text).get(i).copied())
        .unwrap_or("");
    let skip = usize::try_from(start.column.max(1) - 1).unwrap_or(0);
    let rest: String = line.chars().skip(skip).collect();
    let rest = rest.split(" #").next().unwrap_or("").trim_end();
    let width = rest.chars().count().max(1);
    Span {
        start,
        end: Pos {
            line: start.line,
            column: start.column.saturating_add(to_u32(width)),
        },
    }
}

/// The lines of the YAML document holding `line`: between the `---` separators around
/// it (the whole text for a single document or JSON).
fn document(text: &str, line: u32) -> (u32, u32) {
    let all = lines(text);
    let is_separator = |l: &&str| *l == "---" || l.starts_with("--- ") || *l == "...";
    let at = usize::try_from(line.max(1) - 1).unwrap_or(0);
    let from = all
        .iter()
        .take(at)
        .rposition(&is_separator)
        .map_or(1, |i| i + 2);
    let to = all
        .iter()
        .enumerate()
        .skip(at)
        .find(|(_, l)| is_separator(l))
        .map_or(all.len(), |(i, _)| i);
    (to_u32(from), to_u32(to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_whole_tokens_after_the_key() {
        let text = "name: x\nrules:\n  - effect: allow\n    actions: [\"read:files\", read:file]\n";
        let span = find(text, 1, 5, Some("actions"), "read:file").unwrap();
        assert_eq!((span.start.line, span.start.column), (4, 29));
        assert_eq!(span.end.column, 38);
        assert!(find(text, 1, 5, None, "read:fil").is_none());
    }

    #[test]
    fn documents_are_split_on_separators() {
        let text = "name: a\n---\nname: b\nrules: []\n---\nname: c\n";
        assert_eq!(document(text, 1), (1, 1));
        assert_eq!(document(text, 3), (3, 4));
        assert_eq!(document(text, 6), (6, 7));
    }
}
