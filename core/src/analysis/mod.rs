//! Static analysis of a policy set: the questions loading cannot answer because the
//! policies are well-formed. Will this rule ever decide? Which of these two rules wins?
//! Can this pattern match anything? Is this a typo? Does this allow admit more than it
//! says?
//!
//! ```
//! use meshguard_core::{Source, lint};
//! # fn main() -> Result<(), meshguard_core::LoadError> {
//! let text = r#"
//! name: shell
//! rules:
//!   - effect: allow
//!     actions: ["execute:shell"]
//!     conditions:
//!       resource:
//!         startsWith: ["git ", "ls "]
//! "#;
//! let findings = lint([Source::new("shell.yaml", text)])?;
//! assert_eq!(findings[0].code, "shell-allow-admits-code");
//! assert_eq!(findings[0].severity, "warning");
//! assert_eq!((findings[0].line, findings[0].column), (8, 23));
//! # Ok(())
//! # }
//! ```
//!
//! The analysis works on the [`crate::model`] with the spans the schema reader records
//! (each pattern, operand and tag), and on the same sets of strings the matcher tests
//! ([`crate::glob::Shape`]). Findings are [`Diagnostic`]s with severity `warning`
//! (something is certainly wrong, almost certainly a typo, or admits more than it says)
//! or `note` (a fact worth knowing). Claims about which rule decides are proved, never
//! guessed: what cannot be proved is not reported.
//!
//! | code | severity | what |
//! |---|---|---|
//! | `unreachable-rule` | warning | an earlier rule of its `first-match` policy always matches first |
//! | `outranked-rule` | warning | a stronger rule always matches too |
//! | `redundant-rule` | warning | an earlier rule (or policy) with the same effect always matches too |
//! | `never-matches` | warning | the rule's agent condition contradicts its policy's `appliesTo` |
//! | `non-canonical-pattern` | warning | a resource pattern canonicalisation makes impossible |
//! | `action-whitespace` | warning | an action pattern with white space inside |
//! | `rare-verb`, `rare-tag` | warning | used once, and one edit away from one used more |
//! | `shell-allow-admits-code` | warning (`cargo`: note) | a shell allow admits a tool that runs any code from its arguments |
//! | `broad-host-pattern` | warning | a URL allow that admits hosts (or URLs) it does not name |
//! | `star-crosses-directories` | warning on an allow, note on a deny | a path pattern whose `*` also matches `/` |
//! | `overlap` | note | an allow and a deny (or approval) rule that can both match, and which wins |
//!
//! The decision rule reasoned about is docs/semantics.md §4: within a policy, specific first, then
//! deny beats require_approval beats allow, ties to the earliest rule; across policies
//! deny beats require_approval beats allow, ties to the earliest policy.

mod canonical;
mod hosts;
mod implies;
mod kinds;
mod lang;
mod never;
mod overlap;
mod paths;
mod shell;
mod vocab;

use crate::boundary::Diagnostic;
use crate::compile::{LoadError, PolicySet, parse_policies};
use crate::glob::Glob;
use crate::model::{Policy, ResourceTest, Rule};
use crate::source::{Source, Span};

/// Lints policy texts loaded as one set, in load order (the order decides ties).
///
/// Fails exactly as [`PolicySet::compile`] does when the texts do not load; otherwise
/// returns the findings, ordered by file, position, and warnings before notes.
pub fn lint<'a>(
    sources: impl IntoIterator<Item = Source<'a>>,
) -> Result<Vec<Diagnostic>, LoadError> {
    let sources: Vec<Source<'a>> = sources.into_iter().collect();
    let set = PolicySet::compile(sources.iter().copied())?;
    let mut policies = set.policies();
    let mut entries = Vec::with_capacity(policies.len());
    for source in &sources {
        let count = parse_policies(source).map_or(0, |p| p.len());
        entries.extend(policies.by_ref().take(count).map(|p| (source.name, p)));
    }
    Ok(lint_policies(entries))
}

/// Lints policies already loaded, each with the name of the file it comes from, in load
/// order. Spans come from the policies themselves (the schema reader records them).
pub fn lint_policies<'p>(
    policies: impl IntoIterator<Item = (&'p str, &'p Policy)>,
) -> Vec<Diagnostic> {
    let set = Set::new(policies);
    let (mut findings, mut dead) = never::check(&set);
    dead.extend(
        set.rules()
            .filter(|(_, _, r)| canonical::never_matches(r))
            .map(|(r, _, _)| r),
    );
    findings.extend(canonical::check(&set));
    findings.extend(vocab::check(&set));
    let kinds = kinds::Kinds::of(&set);
    findings.extend(shell::check(&set, &kinds));
    findings.extend(hosts::check(&set, &kinds));
    findings.extend(paths::check(&set, &kinds));
    findings.extend(overlap::check(&set, &dead));
    findings.sort_by_key(|f| (f.file, f.span.start, f.severity == Severity::Note));
    findings.iter().map(|f| set.diagnostic(f)).collect()
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Severity {
    /// Certainly wrong, almost certainly a typo, or admitting more than it says.
    Warning,
    /// Worth knowing.
    Note,
}

/// One finding, before it is flattened into a [`Diagnostic`].
#[derive(Debug, Clone)]
struct Finding {
    severity: Severity,
    code: &'static str,
    message: String,
    help: Option<String>,
    /// Index in [`Set::files`].
    file: usize,
    span: Span,
}

/// A policy of the set with the file it comes from.
#[derive(Debug)]
struct Entry<'p> {
    /// Index in [`Set::files`].
    file: usize,
    policy: &'p Policy,
}

/// The set being linted, in load order.
#[derive(Debug)]
struct Set<'p> {
    /// File names, in order of first appearance.
    files: Vec<&'p str>,
    policies: Vec<Entry<'p>>,
}

/// A rule by position: policy index in load order, rule index in file order. The
/// derived order is the tie-break order of docs/semantics.md §4 (earliest policy, then earliest rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct RuleRef {
    policy: usize,
    rule: usize,
}

impl<'p> Set<'p> {
    fn new(policies: impl IntoIterator<Item = (&'p str, &'p Policy)>) -> Self {
        let mut set = Set {
            files: Vec::new(),
            policies: Vec::new(),
        };
        for (name, policy) in policies {
            let file = match set.files.iter().position(|f| *f == name) {
                Some(i) => i,
                None => {
                    set.files.push(name);
                    set.files.len() - 1
                }
            };
            set.policies.push(Entry { file, policy });
        }
        set
    }

    /// Every rule with its position.
    fn rules(&self) -> impl Iterator<Item = (RuleRef, &Entry<'p>, &'p Rule)> {
        self.policies.iter().enumerate().flat_map(|(p, e)| {
            e.policy
                .rules
                .iter()
                .enumerate()
                .map(move |(r, rule)| (RuleRef { policy: p, rule: r }, e, rule))
        })
    }

    /// `file:line:column` of a span, for messages that point at a second place.
    fn place(&self, e: &Entry<'_>, span: Span) -> String {
        let name = self.files.get(e.file).copied().unwrap_or("");
        format!("{name}:{}:{}", span.start.line, span.start.column)
    }

    fn diagnostic(&self, f: &Finding) -> Diagnostic {
        Diagnostic {
            code: f.code.to_owned(),
            severity: match f.severity {
                Severity::Warning => "warning",
                Severity::Note => "note",
            }
            .to_owned(),
            message: f.message.clone(),
            help: f.help.clone(),
            file: self.files.get(f.file).copied().unwrap_or("").to_owned(),
            line: f.span.start.line,
            column: f.span.start.column,
            end_line: f.span.end.line,
            end_column: f.span.end.column,
        }
    }
}

impl Finding {
    fn new(
        entry: &Entry<'_>,
        span: Span,
        severity: Severity,
        code: &'static str,
        message: String,
        help: String,
    ) -> Finding {
        Finding {
            severity,
            code,
            message,
            help: Some(help),
            file: entry.file,
            span,
        }
    }
}

/// Where a pattern of `rule` is written (the rule's head when not read from text).
fn glob_span(rule: &Rule, g: &Glob) -> Span {
    g.span().unwrap_or(rule.id_span)
}

/// Where an operand of a resource test of `rule` is written.
fn operand_span(rule: &Rule, test: &ResourceTest, operand: &str) -> Span {
    if let ResourceTest::Matches(globs) = test
        && let Some(span) = globs
            .globs()
            .iter()
            .find(|g| g.as_str() == operand)
            .and_then(Glob::span)
    {
        return span;
    }
    rule.conditions
        .operand_span(test.operator(), operand)
        .unwrap_or(rule.id_span)
}

/// The operands of a resource test, as written.
fn operands(test: &ResourceTest) -> Vec<&str> {
    match test {
        ResourceTest::Matches(g) => g.globs().iter().map(Glob::as_str).collect(),
        ResourceTest::StartsWith(v) | ResourceTest::EndsWith(v) | ResourceTest::Equals(v) => {
            v.iter().map(String::as_str).collect()
        }
        ResourceTest::Contains(v) => v.items().iter().map(String::as_str).collect(),
    }
}
