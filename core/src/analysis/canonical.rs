//! Resource patterns canonicalisation makes impossible (`non-canonical-pattern`).
//!
//! Resources are put in canonical form before matching (docs/semantics.md §2): paths lose `.`/`..`
//! segments and repeated `/`; URLs get lower-case schemes and hosts, no user-info, no
//! default port, no dot segments; email domains are lower-cased. So `/workspace/../etc/*`,
//! `./src//*`, `HTTPS://x/*`, `https://Example.com/*`, `*@YourCompany.com` or
//! `equals: /a/./b` can never match a canonical resource. An allow rule tests only the
//! canonical form, so it never matches at all; a deny or approval rule also tests the
//! resource as written, so it catches only that spelling and misses the canonical one.
//! A pattern is only judged when its literal start fixes the resource's kind (`/`, `./`,
//! `../`, `~/`, `scheme://`), or its literal end is an email domain.

use crate::kinds::canonicalize;
use crate::model::{Effect, ResourceTest, Rule};

use super::lang::pieces;
use super::{Entry, Finding, Set, Severity, operand_span, operands};

/// Every `non-canonical-pattern` finding.
pub(super) fn check(set: &Set<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, entry, rule) in set.rules() {
        for test in &rule.conditions.resource {
            for (operand, why) in impossible_operands(test) {
                let span = operand_span(rule, test, &operand);
                out.push(non_canonical(
                    entry,
                    rule,
                    span,
                    test.operator(),
                    &operand,
                    &why,
                ));
            }
        }
    }
    out
}

/// Whether `rule` is an allow with a resource test no canonical resource passes (every
/// operand impossible): it can never match, so notes about it would mislead.
pub(super) fn never_matches(rule: &Rule) -> bool {
    rule.effect == Effect::Allow
        && rule.conditions.resource.iter().any(|t| {
            let impossible = impossible_operands(t).len();
            impossible > 0 && impossible == operands(t).len()
        })
}

/// Marks a reason that holds for email addresses only (text that is not an address is
/// not canonicalised, so the pattern may still match it).
const EMAIL: &str = "email: ";

fn non_canonical(
    entry: &Entry<'_>,
    rule: &Rule,
    span: crate::source::Span,
    op: &str,
    operand: &str,
    why: &str,
) -> Finding {
    let (what, why) = match why.strip_prefix(EMAIL) {
        Some(why) => (" an email address", why),
        None => ("", why),
    };
    let message = if rule.effect == Effect::Allow {
        format!(
            "`{op}: {operand}` can never match{what}: resources are put in canonical form \
             before matching, and {why}"
        )
    } else {
        format!(
            "`{op}: {operand}` only matches a resource spelled exactly so, never its canonical \
             form ({why}), so the canonical spelling of the same resource slips past this {} rule",
            rule.effect.as_str()
        )
    };
    // Canonicalising the pattern text itself usually gives what the author meant
    // (`/workspace/../etc/*` is `/etc/*`); `*` and `?` are ordinary characters to it.
    let help = match canonicalize(operand) {
        c if c != operand => format!("write `{c}`"),
        _ => {
            "write the pattern for the canonical form (see README, Canonical resources)".to_owned()
        }
    };
    Finding::new(
        entry,
        span,
        Severity::Warning,
        "non-canonical-pattern",
        message,
        help,
    )
}

/// The operands of a resource test no canonical resource can satisfy, with why.
fn impossible_operands(test: &ResourceTest) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match test {
        ResourceTest::Matches(globs) => {
            for g in globs.globs() {
                let p = g.as_str();
                out.extend(impossible_glob(p).map(|w| (p.to_owned(), w)));
            }
        }
        ResourceTest::StartsWith(prefixes) => {
            for p in prefixes {
                out.extend(impossible(p, &[p.as_str()], None).map(|w| (p.clone(), w)));
            }
        }
        ResourceTest::Equals(values) => {
            for v in values {
                out.extend(not_canonical(v).map(|w| (v.clone(), w)));
            }
        }
        ResourceTest::EndsWith(_) | ResourceTest::Contains(_) => {}
    }
    out
}

/// Why no canonical resource matches the `matches` pattern `p`, if that can be told.
pub(super) fn impossible_glob(p: &str) -> Option<String> {
    if p.starts_with("**/") {
        return None;
    }
    let prefix = p.split(['*', '?']).next().unwrap_or("");
    let suffix = if p.ends_with(['*', '?']) {
        None
    } else {
        p.rsplit(['*', '?']).next()
    };
    if p.contains(['*', '?']) {
        impossible(prefix, &pieces(p), suffix)
    } else {
        not_canonical(p)
    }
}

/// Canonical forms are fixed points of canonicalisation, so a value that canonicalisation
/// changes is never one.
fn not_canonical(value: &str) -> Option<String> {
    let c = canonicalize(value);
    (c != value).then(|| format!("`{value}` is written `{c}` in canonical form"))
}

/// Why no canonical resource starts with `prefix`, contains every piece and ends with
/// `suffix` (when given), if that can be told.
fn impossible(prefix: &str, pieces: &[&str], suffix: Option<&str>) -> Option<String> {
    if let Some(why) = url(prefix) {
        return Some(why);
    }
    let rooted = prefix.starts_with('/') || prefix.starts_with("./");
    let path =
        rooted || prefix.starts_with("../") || (prefix.starts_with('~') && prefix.contains('/'));
    if path {
        if pieces.iter().any(|p| p.contains("//")) {
            return Some("repeated `/` in paths are collapsed".to_owned());
        }
        if pieces.iter().any(|p| p.contains("/./")) || suffix.is_some_and(|s| s.ends_with("/.")) {
            return Some("`.` segments in paths are resolved".to_owned());
        }
        if rooted
            && (pieces.iter().any(|p| p.contains("/../"))
                || suffix.is_some_and(|s| s.ends_with("/..")))
        {
            return Some("`..` segments in paths are resolved".to_owned());
        }
        return None;
    }
    let domain = suffix.and_then(|s| s.rsplit_once('@')).map(|(_, d)| d)?;
    (domain.chars().any(char::is_uppercase) && !domain.contains(['/', ' ']))
        .then(|| format!("{EMAIL}email domains are lower-cased"))
}

/// Why a literal start `scheme://…` can never begin a canonical URL.
fn url(prefix: &str) -> Option<String> {
    let (scheme, rest) = prefix.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !valid {
        return None;
    }
    if scheme.chars().any(|c| c.is_ascii_uppercase()) {
        return Some("URL schemes are lower-cased".to_owned());
    }
    let end = rest.find(['/', '?', '#']);
    let authority = rest.get(..end.unwrap_or(rest.len())).unwrap_or("");
    if authority.chars().any(char::is_uppercase) {
        return Some("URL hosts are lower-cased".to_owned());
    }
    if authority.contains('@') {
        return Some("user-info (`user@`) is removed from URLs".to_owned());
    }
    let end = end?;
    let default = match scheme {
        "http" | "ws" => Some(":80"),
        "https" | "wss" => Some(":443"),
        "ftp" => Some(":21"),
        _ => None,
    };
    if default.is_some_and(|d| authority.ends_with(d)) {
        return Some("default ports are removed from URLs".to_owned());
    }
    let rest = rest.get(end..).unwrap_or("");
    let path = rest.split(['?', '#']).next().unwrap_or("");
    if path.contains("//") || path.contains("/./") || path.contains("/../") {
        return Some("`//` and dot segments in URL paths are resolved".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glob::Glob;

    fn why(p: &str) -> Option<String> {
        let g = Glob::new(p).unwrap();
        impossible_operands(&ResourceTest::Matches(crate::model::ResourceGlobs::new(
            vec![g],
        )))
        .pop()
        .map(|(_, w)| w)
    }

    #[test]
    fn impossible_patterns_are_found() {
        assert!(why("/workspace/../etc/*").is_some());
        assert!(why("./src//*").is_some());
        assert!(why("/etc/./*").is_some());
        assert!(why("HTTPS://*").is_some());
        assert!(why("https://GitHub.com/*").is_some());
        assert!(why("https://user@*").is_some());
        assert!(why("https://x.com:443/*").is_some());
        assert!(why("https://x.com/a/../*").is_some());
        assert!(why("*@YourCompany.com").is_some());
        assert!(why("/a/../b").is_some());
        assert!(why("~user//x").is_some());
    }

    #[test]
    fn possible_patterns_are_left_alone() {
        for ok in [
            "./**",
            "/etc/**",
            "**/.env",
            "*github.com*",
            "*.onion",
            "https://*",
            "https://x.com/*?u=a//b",
            "../*/x",
            "~/../*",
            "*@yourcompany.com",
            "workspace/*",
            "*//*",
            "*/../*",
        ] {
            assert_eq!(why(ok), None, "{ok}");
        }
    }
}
