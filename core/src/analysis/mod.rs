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
use crate::compile::{LoadError, read_sources};
use crate::glob::Glob;
use crate::model::{Policy, ResourceTest, Rule};
use crate::source::{Source, Span};

/// Lints policy texts loaded as one set, in load order (the order decides ties).
///
/// Fails exactly as [`crate::PolicySet::compile`] does when the texts do not load; otherwise
/// returns the findings, ordered by file, position, and warnings before notes.
pub fn lint<'a>(
    sources: impl IntoIterator<Item = Source<'a>>,
) -> Result<Vec<Diagnostic>, LoadError> {
    // What `compile` reads, without building the evaluator's indexes.
    let policies = read_sources(sources)?;
    Ok(lint_policies(policies.iter().map(|(name, p)| (*name, p))))
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
    /// For each policy, the policies that speak about the same agents
    /// ([`implies::shares_audience`]), itself included, ascending: the only ones whose rules
    /// can compete with its rules. A set of thousands of tenant policies, each for its own
    /// tag, has a handful per policy, so the pairwise checks stay near linear.
    audience: Vec<Vec<usize>>,
}

/// [`Set::audience`]: candidates found through a tag index (a policy that selects by tag
/// meets only policies with one of its tags or with no tag selector), then checked.
fn audiences(policies: &[Entry<'_>]) -> Vec<Vec<usize>> {
    let mut by_tag: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    let mut untagged = Vec::new();
    for (i, e) in policies.iter().enumerate() {
        match implies::selected_tags(e.policy) {
            Some(ts) => ts.iter().for_each(|t| by_tag.entry(t).or_default().push(i)),
            None => untagged.push(i),
        }
    }
    let everyone: Vec<usize> = (0..policies.len()).collect();
    policies
        .iter()
        .map(|e| {
            let mut near = match implies::selected_tags(e.policy) {
                None => everyone.clone(),
                Some(ts) => {
                    let mut v = untagged.clone();
                    for t in ts {
                        v.extend(by_tag.get(t.as_str()).into_iter().flatten());
                    }
                    v.sort_unstable();
                    v.dedup();
                    v
                }
            };
            near.retain(|&q| {
                policies
                    .get(q)
                    .is_some_and(|other| implies::shares_audience(e.policy, other.policy))
            });
            near
        })
        .collect()
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
            audience: Vec::new(),
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
        set.audience = audiences(&set.policies);
        set
    }

    /// The rules of the policies that share policy `p`'s audience, in load order.
    fn rules_near(&self, p: usize) -> impl Iterator<Item = (RuleRef, &Entry<'p>, &'p Rule)> {
        let near = self.audience.get(p).map_or(&[][..], Vec::as_slice);
        near.iter()
            .filter_map(|&q| self.policies.get(q).map(|e| (q, e)))
            .flat_map(|(q, e)| {
                e.policy
                    .rules
                    .iter()
                    .enumerate()
                    .map(move |(r, rule)| (RuleRef { policy: q, rule: r }, e, rule))
            })
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
