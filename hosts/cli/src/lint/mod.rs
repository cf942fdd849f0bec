//! `meshguard lint`: static analysis of a policy set, for the questions `validate`
//! cannot answer because the policies are well-formed: will this rule ever decide? which
//! of these two rules wins? can this pattern match anything? is this a typo? does this
//! allow admit more than it says?
//!
//! The analysis is the core's ([`meshguard_core::lint`], the function every host calls;
//! its module documents each finding); this command loads the set exactly as `check`
//! loads it (one set, in load order, since order decides ties) and renders the findings.
//! Warnings say something is certainly wrong, almost certainly a typo, or admits more
//! than it says; notes are facts worth knowing, such as which rule of an overlapping
//! allow/deny pair wins.
//!
//! Exit 0, or 1 with `--deny-warnings` when there is a warning; 2 when the policies do
//! not load (the diagnostics are `validate`'s).

mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use meshguard_core::{Diagnostic, Source};

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

    /// Leave out notes (overlapping allow/deny pairs, deny patterns that cross
    /// directories, ...).
    #[arg(long = "no-notes")]
    no_notes: bool,
}

/// Loads the set, lints it, reports.
pub fn run(args: &Args, json: bool) -> Result<ExitCode> {
    let files = match load::read_paths(&args.paths) {
        Ok(files) => files,
        Err(errors) => {
            crate::render::emit_path_errors(&errors).context("writing to stderr")?;
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let mut compiled = load::compile(files);
    let Some(set) = compiled.set.take() else {
        report::refused(&compiled, json)?;
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    };
    let sources = compiled
        .files
        .iter()
        .filter_map(|f| f.text.as_ref().ok().map(|text| Source::new(&f.name, text)));
    let mut diagnostics: Vec<Diagnostic> = match meshguard_core::lint(sources) {
        Ok(d) => d,
        // The same sources compiled above, so this is not expected; refuse as `validate`.
        Err(e) => {
            compiled.diagnostics = e.diagnostics();
            report::refused(&compiled, json)?;
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    if args.no_notes {
        diagnostics.retain(|d| d.severity != "note");
    }
    let warnings = diagnostics.iter().filter(|d| d.severity != "note").count();
    report::emit(&compiled, set.len(), &diagnostics, json)?;
    Ok(if args.deny_warnings && warnings > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}
