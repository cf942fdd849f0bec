//! `meshguard test`: policy unit tests. Each tests file names its policies and lists
//! requests with the decisions they must get ([`file`]); every test is decided with the
//! core, failures are shown with the rule-by-rule explanation, and the last line is the
//! summary, exactly `N passed, N failed`.
//!
//! Exit 0 when every test passed, 1 when any failed, 2 when a tests file or its policies
//! cannot be loaded (those files' tests are not run; the others are). A test whose request
//! the core refuses (`invalid-request`: an unknown tier, context that is not an object, a
//! bad time) fails unless it expects rule `invalid-request`, so a typo in a test cannot
//! pass as a deny.

mod file;

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use meshguard_core::{Decision, PolicySet, Request};
use serde::Serialize;

use crate::explain;
use crate::render::{GREEN, RED, Renderer, clean};
use crate::{EXIT_BAD_INPUT, EXIT_FAILED, load};
use file::{Expect, TestCase};

/// Arguments of `meshguard test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tests files (YAML). With `--json`: {"passed", "failed", "results": [...]}.
    #[arg(required = true, value_name = "TESTS.yaml")]
    files: Vec<PathBuf>,
}

/// One test's outcome, as `--json` reports it.
#[derive(Debug, Serialize)]
struct Outcome {
    file: String,
    name: String,
    passed: bool,
    /// Why it failed, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    expected: Expect,
    /// The decision (with its explanation when the test failed).
    decision: Decision,
}

/// The `--json` report.
#[derive(Debug, Serialize)]
struct Report<'a> {
    passed: usize,
    failed: usize,
    /// Tests files that could not be run, one line each.
    errors: &'a [String],
    results: &'a [Outcome],
}

/// Runs every tests file and reports.
pub fn run(args: &Args, json: bool) -> Result<ExitCode> {
    let r = Renderer::for_stdout();
    let mut out = io::stdout().lock();
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    let mut sets: HashMap<Vec<PathBuf>, PolicySet> = HashMap::new();
    for path in &args.files {
        let name = path.display().to_string();
        let tests = match file::read(path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let base = path.parent().unwrap_or(Path::new(""));
        let policies: Vec<PathBuf> = tests.policies.iter().map(|p| base.join(p)).collect();
        if !sets.contains_key(&policies) {
            match load::load_set(&policies) {
                Ok(set) => {
                    sets.insert(policies.clone(), set);
                }
                Err(failure) => {
                    if !json {
                        failure.report().context("writing to stderr")?;
                    }
                    errors.push(format!("{name}: {}", failure.summary()));
                    continue;
                }
            }
        }
        let Some(set) = sets.get(&policies) else {
            continue;
        };
        if !json {
            let n = tests.tests.len();
            writeln!(
                out,
                "{} ({n} {})",
                clean(&name),
                crate::render::plural(n, "test", "tests")
            )
            .context("writing to stdout")?;
        }
        for case in tests.tests {
            let outcome = run_one(set, &name, case);
            if !json {
                write!(out, "{}", show(&outcome, &r)).context("writing to stdout")?;
            }
            outcomes.push(outcome);
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    let failed = outcomes.len() - passed;
    if json {
        let report = Report {
            passed,
            failed,
            errors: &errors,
            results: &outcomes,
        };
        let text = serde_json::to_string(&report).context("serialising the report")?;
        writeln!(out, "{text}").context("writing to stdout")?;
    } else {
        for e in &errors {
            eprintln!("error: {}", clean(e));
        }
        writeln!(out, "{passed} passed, {failed} failed").context("writing to stdout")?;
    }
    Ok(if !errors.is_empty() {
        ExitCode::from(EXIT_BAD_INPUT)
    } else if failed > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Decides one test's request and compares.
fn run_one(set: &PolicySet, file: &str, case: TestCase) -> Outcome {
    let expected = case.expect.0;
    let request = Request {
        action: case.action,
        resource: case.resource,
        context: case.context,
        agent: case.agent,
        time: case.time,
        mode: case.mode,
    };
    let mut decision = set.decide(&request, true);
    let failure = mismatch(&expected, &decision);
    if failure.is_none() {
        decision.explanation = None;
    }
    Outcome {
        file: file.to_owned(),
        name: case.name,
        passed: failure.is_none(),
        failure,
        expected,
        decision,
    }
}

/// What differs between the expectation and the decision, if anything.
fn mismatch(e: &Expect, d: &Decision) -> Option<String> {
    if d.origin == meshguard_core::Origin::InvalidRequest
        && e.rule.as_deref() != Some("invalid-request")
    {
        return Some(d.reason.to_string());
    }
    let mut problems = Vec::new();
    if e.effect != d.effect {
        problems.push(format!(
            "effect `{}`, got `{}`",
            e.effect.as_str(),
            d.effect.as_str()
        ));
    }
    if let Some(rule) = e.rule.as_deref().filter(|r| *r != &*d.rule) {
        problems.push(format!("rule `{rule}`, got `{}`", d.rule));
    }
    if let Some(policy) = e.policy.as_deref().filter(|p| *p != &*d.policy) {
        problems.push(format!("policy `{policy}`, got `{}`", d.policy));
    }
    if let Some(reason) = e.reason.as_deref().filter(|r| !d.reason.contains(*r)) {
        problems.push(format!(
            "a reason containing `{reason}`, got `{}`",
            d.reason
        ));
    }
    (!problems.is_empty()).then(|| format!("expected {}", problems.join("; ")))
}

/// One result as text: `ok` lines for passes, the failure, the decision and its
/// explanation for failures.
fn show(o: &Outcome, r: &Renderer) -> String {
    if o.passed {
        return format!("  {}    {}\n", r.paint(GREEN, "ok"), clean(&o.name));
    }
    let mut text = format!("  {}  {}\n", r.paint(RED, "FAIL"), clean(&o.name));
    if let Some(f) = &o.failure {
        text.push_str(&format!("        {}\n", clean(f)));
    }
    let mut detail = explain::decision(&o.decision, r);
    if let Some(e) = &o.decision.explanation {
        detail.push_str(&explain::explanation(e, r));
    }
    for line in detail.lines() {
        text.push_str(&format!("        {line}\n"));
    }
    text
}
