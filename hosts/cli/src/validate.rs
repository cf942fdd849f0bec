//! `meshguard validate`: check policy files before they are deployed, and say exactly
//! what is wrong and where (docs/semantics.md §1: unknown keys are errors, never ignored).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use meshguard_core::Diagnostic;
use serde::Serialize;

use crate::render::{self, plural};
use crate::{EXIT_BAD_INPUT, load};

/// Arguments of `meshguard validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files (read whatever their extension) and directories (their .yaml,
    /// .yml and .json files, in file-name order, not recursively).
    /// With `--json`: one object {"ok", "policies", "files", "diagnostics"}.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// The `--json` report. Field order is the declaration order, for readers that care.
#[derive(Debug, Serialize)]
struct Report<'a> {
    ok: bool,
    /// Policies loaded: 0 when anything is wrong, since nothing is half-loaded.
    policies: usize,
    /// Files read.
    files: usize,
    diagnostics: &'a [Diagnostic],
}

/// Loads every path as one set and reports: exit 0 when valid, 2 otherwise.
///
/// Paths that cannot be read are reported one line each on stderr, even with
/// `--json`: they are not problems in a policy, and nothing is written on stdout.
pub fn run(args: &Args, json: bool) -> Result<ExitCode> {
    let files = match load::read_paths(&args.paths) {
        Ok(files) => files,
        Err(errors) => {
            render::emit_path_errors(&errors).context("writing to stderr")?;
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let compiled = load::compile(files);
    let policies = compiled.set.as_ref().map_or(0, |s| s.len());
    let ok = compiled.set.is_some();
    if json {
        let report = Report {
            ok,
            policies,
            files: compiled.files.len(),
            diagnostics: &compiled.diagnostics,
        };
        let json = serde_json::to_string(&report).context("serialising the report")?;
        writeln!(io::stdout().lock(), "{json}").context("writing to stdout")?;
    } else if ok {
        let files = compiled.files.len();
        writeln!(
            io::stdout().lock(),
            "ok: {policies} {} in {files} {}",
            plural(policies, "policy", "policies"),
            plural(files, "file", "files"),
        )
        .context("writing to stdout")?;
    } else {
        render::emit(&compiled).context("writing to stderr")?;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_BAD_INPUT)
    })
}
