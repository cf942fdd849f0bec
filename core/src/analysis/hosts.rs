//! URL allows that admit more hosts than they name (`broad-host-pattern`).
//!
//! A `matches` pattern with no `/` and no `:` is a host pattern: on a URL it is tested
//! against the host alone (docs/semantics.md §2), so `*.onion` and `github.com` say exactly which hosts
//! they mean. A `*` that runs into the name does not stop at a dot: `*github.com*` also
//! matches `github.com.evil.com` and `evilgithub.com`, hosts anyone can register. Two
//! neighbours have the same flaw: `contains: github.com` matches any URL that mentions
//! the name in its path or query (`https://evil.com/?q=github.com`), and a URL prefix
//! that stops right after the host (`startsWith: https://github.com`) also matches
//! `https://github.com.evil.com/`.
//!
//! Only allow rules are judged (a deny that matches more is the safe side), and only
//! rules with an action whose resource may be a URL (not only paths or shell commands).

use crate::glob::Shape;
use crate::model::{Effect, ResourceTest, Rule};

use super::kinds::Kinds;
use super::lang::is_host_pattern;
use super::{Entry, Finding, Set, Severity, operand_span};

/// Every `broad-host-pattern` finding.
pub(super) fn check(set: &Set<'_>, kinds: &Kinds) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, entry, rule) in set.rules() {
        if rule.effect != Effect::Allow || kinds.never_urls(rule) {
            continue;
        }
        for test in &rule.conditions.resource {
            match test {
                ResourceTest::Matches(globs) => {
                    for g in globs.globs() {
                        let p = g.as_str();
                        let found = if is_host_pattern(p) {
                            open_host(p)
                        } else if let Shape::Prefix(start) = g.shape() {
                            open_url_prefix(start).map(|w| prefix_finding("matches", p, start, &w))
                        } else {
                            None
                        };
                        if let Some((message, help)) = found {
                            out.push(at(entry, rule, test, p, message, help));
                        }
                    }
                }
                ResourceTest::StartsWith(v) => {
                    for start in v {
                        if let Some(w) = open_url_prefix(start) {
                            let (message, help) = prefix_finding("startsWith", start, start, &w);
                            out.push(at(entry, rule, test, start, message, help));
                        }
                    }
                }
                ResourceTest::Contains(v) => {
                    for part in v.items() {
                        if let Some((message, help)) = url_fragment(part) {
                            out.push(at(entry, rule, test, part, message, help));
                        }
                    }
                }
                ResourceTest::EndsWith(_) | ResourceTest::Equals(_) => {}
            }
        }
    }
    out
}

fn at(
    entry: &Entry<'_>,
    rule: &Rule,
    test: &ResourceTest,
    operand: &str,
    message: String,
    help: String,
) -> Finding {
    Finding::new(
        entry,
        operand_span(rule, test, operand),
        Severity::Warning,
        "broad-host-pattern",
        message,
        help,
    )
}

/// Whether `s` is made of the characters of a host name and has a letter.
fn host_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-' || c == '_')
        && s.chars().any(char::is_alphabetic)
}

/// A host pattern whose leading or trailing `*` runs into the name: the message and help.
fn open_host(pattern: &str) -> Option<(String, String)> {
    let name = pattern.trim_matches('*');
    if !host_name(name) {
        return None;
    }
    let left = pattern.starts_with('*') && !name.starts_with('.');
    let right = pattern.ends_with('*') && !name.ends_with('.');
    let mut examples = Vec::new();
    if right {
        let dot = if name.starts_with('.') { "x" } else { "" };
        examples.push(format!("`{dot}{name}.evil.com`"));
    }
    if left {
        let tld = if name.ends_with('.') { "com" } else { "" };
        examples.push(format!("`evil{name}{tld}`"));
    }
    let how = match (left, right) {
        (true, true) => "contains",
        (true, false) => "ends with",
        (false, true) => "starts with",
        (false, false) => return None,
    };
    let message = format!(
        "host pattern `{pattern}` also matches {}: its `*` runs into the name, so it admits any \
         host that merely {how} `{name}`",
        examples.join(" and "),
    );
    let bare = name.trim_matches('.');
    let help = if name.ends_with('.') {
        format!("name the hosts in full, such as `{bare}.example.com` or `*.{bare}.example.com`")
    } else if name.starts_with('.') {
        format!("write `*.{bare}`")
    } else {
        format!("write `{bare}` or `*.{bare}` (both if needed)")
    };
    Some((message, help))
}

/// `scheme://host` with nothing after the host: the host's name, when `start` is one.
fn open_url_prefix(start: &str) -> Option<String> {
    let (scheme, host) = start.split_once("://")?;
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    (scheme_ok && host_name(host) && host.contains('.') && !host.ends_with('.'))
        .then(|| host.to_owned())
}

fn prefix_finding(op: &str, operand: &str, start: &str, host: &str) -> (String, String) {
    (
        format!(
            "`{op}: {operand}` stops right after the host, so it also matches \
             `{start}.evil.com/` and `{start}-evil.com/`, hosts other than `{host}`"
        ),
        format!("end the prefix with `/`: `{start}/`"),
    )
}

/// A `contains` operand that names a host or a URL.
fn url_fragment(part: &str) -> Option<(String, String)> {
    if let Some((_, rest)) = part.split_once("://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if !host_name(host) {
            return None;
        }
        let start = if rest.contains('/') {
            part.to_owned()
        } else {
            format!("{part}/")
        };
        return Some((
            format!(
                "`contains: {part}` matches any URL that mentions it, such as \
                 `https://evil.com/?u={part}`"
            ),
            format!("write `startsWith: {start}`"),
        ));
    }
    let domain = host_name(part)
        && part.contains('.')
        && !part.starts_with('.')
        && !part.ends_with('.')
        && part
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.chars().all(char::is_alphabetic));
    domain.then(|| {
        (
            format!(
                "`contains: {part}` matches any URL that mentions `{part}` anywhere, such as \
                 `https://evil.com/?q={part}`, and hosts such as `{part}.evil.com`"
            ),
            format!(
                "match the host instead: `matches: {part}` or `matches: \"*.{part}\"` (both if \
                 needed)"
            ),
        )
    })
}
