//! Lint output: warnings as `validate` shows diagnostics (file:line:column, the line, a
//! caret, a help line) and notes on one line each, on stdout, then a summary; or one JSON object with `--json`:
//! `{"ok", "policies", "warnings", "notes", "diagnostics"}` (`ok` when no warning), each
//! diagnostic in the core's shape with `severity` `warning` or `note`.

use std::io::{self, Write};

use anyhow::{Context, Result};
use meshguard_core::Diagnostic;
use serde::Serialize;

use crate::load::Compiled;
use crate::render::{self, GREEN, Renderer, YELLOW, plural};

/// The `--json` report.
#[derive(Debug, Serialize)]
struct Report<'a> {
    ok: bool,
    policies: usize,
    warnings: usize,
    notes: usize,
    diagnostics: &'a [Diagnostic],
}

/// Prints the findings and the summary.
pub fn emit(
    compiled: &Compiled,
    policies: usize,
    diagnostics: &[Diagnostic],
    json: bool,
) -> Result<()> {
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == "warning")
        .count();
    let notes = diagnostics.len() - warnings;
    let mut out = io::stdout().lock();
    if json {
        let report = Report {
            ok: warnings == 0,
            policies,
            warnings,
            notes,
            diagnostics,
        };
        let text = serde_json::to_string(&report).context("serialising the report")?;
        writeln!(out, "{text}").context("writing to stdout")?;
        return Ok(());
    }
    let r = Renderer::for_stdout();
    for d in diagnostics {
        // Warnings with the offending line and a caret; notes (many, and about rules,
        // not text) in the compact one-line form.
        let source = if d.severity == "note" {
            None
        } else {
            compiled.text_of(&d.file)
        };
        writeln!(out, "{}", r.render(d, source)).context("writing to stdout")?;
    }
    let n = policies;
    let summary = format!(
        "{warnings} {}, {notes} {} in {n} {}",
        plural(warnings, "warning", "warnings"),
        plural(notes, "note", "notes"),
        plural(n, "policy", "policies")
    );
    let style = if warnings == 0 { GREEN } else { YELLOW };
    writeln!(out, "{}: {summary}", r.paint(style, "lint")).context("writing to stdout")?;
    Ok(())
}

/// The policies do not load: `validate`'s report (stderr), or the JSON report with the
/// errors as its diagnostics.
pub fn refused(compiled: &Compiled, json: bool) -> Result<()> {
    if !json {
        return render::emit(compiled).context("writing to stderr");
    }
    let report = Report {
        ok: false,
        policies: 0,
        warnings: 0,
        notes: 0,
        diagnostics: &compiled.diagnostics,
    };
    let text = serde_json::to_string(&report).context("serialising the report")?;
    writeln!(io::stdout().lock(), "{text}").context("writing to stdout")
}
