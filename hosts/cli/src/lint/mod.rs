//! `meshguard lint`: static analysis of a policy set, for the questions `validate`
//! cannot answer because the policies are well-formed: will this rule ever decide? which
//! of these two rules wins? can this pattern match anything? is this a typo?
//!
//! The set is loaded exactly as `check` loads it (one set, in load order, since order
//! decides ties). Findings are warnings (something is certainly wrong or almost certainly
//! a typo) or notes (facts worth knowing, such as which rule of an overlapping allow/deny
//! pair wins). Every claim is proved, never guessed: a finding that cannot be proved is
//! not reported.
//!
//! | code | severity | what |
//! |---|---|---|
//! | `unreachable-rule` | warning | an earlier rule of its `first-match` policy always matches first |
//! | `outranked-rule` | warning | a stronger rule always matches too (deny wins) |
//! | `redundant-rule` | warning | an earlier rule with the same effect always matches too |
//! | `never-matches` | warning | the rule's agent condition contradicts its policy's `appliesTo` |
//! | `non-canonical-pattern` | warning | a resource pattern canonicalisation makes impossible |
//! | `action-whitespace` | warning | an action pattern with white space inside |
//! | `rare-verb`, `rare-tag` | warning | used once, and one edit away from one used more |
//! | `overlap` | note | an allow and a deny (or approval) rule that can both match, and which wins |
//!
//! Exit 0, or 1 with `--deny-warnings` when there is a warning; 2 when the policies do
//! not load (the diagnostics are `validate`'s).

mod decide;
mod implies;
mod lang;
mod locate;
mod overlap;
mod patterns;
mod report;
mod vocab;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use meshguard_core::model::{Policy, Rule};
use meshguard_core::{Diagnostic, Source, Span, parse_policies};

use crate::{EXIT_BAD_INPUT, EXIT_FAILED, load};

/// Arguments of `meshguard lint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files and directories, loaded as one set (as `validate` and `check` do).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Exit 1 when there is any warning.
    #[arg(long = "deny-warnings")]
    deny_warnings: bool,

    /// Leave out notes (overlapping allow/deny pairs).
    #[arg(long = "no-notes")]
    no_notes: bool,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Certainly wrong, or almost certainly a typo.
    Warning,
    /// Worth knowing.
    Note,
}

/// One finding, pointing at policy text.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Warning or note.
    pub severity: Severity,
    /// Stable kind, such as `redundant-rule`.
    pub code: &'static str,
    /// What is the matter.
    pub message: String,
    /// What to do, or where the other rule is.
    pub help: Option<String>,
    /// Index of the file in [`Set::files`].
    pub file: usize,
    /// Where.
    pub span: Span,
}

/// One file of the set.
#[derive(Debug)]
pub struct File {
    /// The name diagnostics use.
    pub name: String,
    /// The text.
    pub text: String,
}

/// A policy of the set with where it comes from.
#[derive(Debug)]
pub struct Entry {
    /// Index in [`Set::files`].
    pub file: usize,
    /// The policy.
    pub policy: Policy,
}

/// The set being linted, in load order.
#[derive(Debug)]
pub struct Set {
    /// The files, in load order.
    pub files: Vec<File>,
    /// The policies, in load order.
    pub policies: Vec<Entry>,
}

/// A rule by position: policy index in load order, rule index in file order. The
/// derived order is the tie-break order of SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleRef {
    /// Policy index.
    pub policy: usize,
    /// Rule index.
    pub rule: usize,
}

impl Set {
    /// Every rule with its position.
    pub fn rules(&self) -> impl Iterator<Item = (RuleRef, &Entry, &Rule)> {
        self.policies.iter().enumerate().flat_map(|(p, e)| {
            e.policy
                .rules
                .iter()
                .enumerate()
                .map(move |(r, rule)| (RuleRef { policy: p, rule: r }, e, rule))
        })
    }

    /// The text of an entry's file.
    pub fn text(&self, e: &Entry) -> &str {
        self.files.get(e.file).map_or("", |f| f.text.as_str())
    }

    /// `file:line:column` of a rule, for messages that point at a second rule.
    pub fn place(&self, e: &Entry, rule: &Rule) -> String {
        let name = self.files.get(e.file).map_or("", |f| f.name.as_str());
        let at = locate::head(self.text(e), rule).start;
        format!("{name}:{}:{}", at.line, at.column)
    }

    /// A finding about `rule`, pointing at its name or first line.
    pub fn at_rule(
        &self,
        e: &Entry,
        rule: &Rule,
        severity: Severity,
        code: &'static str,
    ) -> Finding {
        Finding {
            severity,
            code,
            message: String::new(),
            help: None,
            file: e.file,
            span: locate::head(self.text(e), rule),
        }
    }
}

/// Loads the set, runs every check, reports.
pub fn run(args: &Args, json: bool) -> Result<ExitCode> {
    let files = match load::read_paths(&args.paths) {
        Ok(files) => files,
        Err(errors) => {
            crate::render::emit_path_errors(&errors).context("writing to stderr")?;
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let compiled = load::compile(files);
    if compiled.set.is_none() {
        report::refused(&compiled, json)?;
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    let set = build(compiled.files);
    let (mut findings, mut never) = decide::check(&set);
    never.extend(
        set.rules()
            .filter(|(_, _, r)| patterns::never_matches(r))
            .map(|(r, _, _)| r),
    );
    findings.extend(patterns::check(&set));
    findings.extend(vocab::check(&set));
    if !args.no_notes {
        findings.extend(overlap::check(&set, &never));
    }
    findings.sort_by_key(|f| (f.file, f.span.start, f.severity == Severity::Note));
    let diagnostics: Vec<Diagnostic> = findings
        .iter()
        .map(|f| report::diagnostic(&set, f))
        .collect();
    let warnings = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    report::emit(&set, &diagnostics, json)?;
    Ok(if args.deny_warnings && warnings > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The set's policies, file by file (each file parsed again: the set compiled, so each
/// parses).
fn build(files: Vec<load::PolicyFile>) -> Set {
    let mut set = Set {
        files: Vec::new(),
        policies: Vec::new(),
    };
    for f in files {
        let Ok(text) = f.text else { continue };
        let index = set.files.len();
        let policies = parse_policies(&Source::new(&f.name, &text)).unwrap_or_default();
        set.policies
            .extend(policies.into_iter().map(|policy| Entry {
                file: index,
                policy,
            }));
        set.files.push(File { name: f.name, text });
    }
    set
}
