//! Diagnostics for people, in the style of rustc and miette: the problem, where it is,
//! the offending line with carets under the offending text, and what to do.
//!
//! ```text
//! error[unknown-key]: unknown key `condtions` in rule
//!   --> policies/x.yaml:5:5
//!    |
//!  5 |     condtions:
//!    |     ^^^^^^^^^
//!    = help: did you mean `conditions`?
//! ```
//!
//! Columns in a [`Diagnostic`] count characters; a terminal counts cells. Tabs are
//! shown as four spaces, wide characters take two cells and combining marks none, so
//! the carets are drawn by display width, not by character count. Control characters
//! from the policy text or file name are never written raw (a policy file must not be
//! able to drive the terminal).

use std::io::{self, IsTerminal, Write};

use meshguard_core::Diagnostic;
use unicode_width::UnicodeWidthChar;

use crate::load::Compiled;

/// How a tab is shown (rustc's choice too): a fixed width keeps carets aligned
/// whatever the terminal's tab stops are.
const TAB: &str = "    ";

/// Longest stretch of a source line shown, in cells; minified JSON can put a whole
/// policy on one line, and the interesting part is around the column.
const MAX_SNIPPET: usize = 120;

/// Cells of context kept before the offending column when a long line is cut.
const LEAD: usize = 40;

/// ANSI styles, or nothing.
#[derive(Debug, Clone, Copy)]
pub struct Renderer {
    color: bool,
}

impl Renderer {
    /// Colour only for a terminal, and never when `NO_COLOR` is set to a non-empty value
    /// (the no-color.org convention, which treats an empty value as unset).
    pub fn for_stderr() -> Self {
        Renderer {
            color: io::stderr().is_terminal() && !no_color(),
        }
    }

    /// The same rule for stdout (decisions, lint findings, test results).
    pub fn for_stdout() -> Self {
        Renderer {
            color: io::stdout().is_terminal() && !no_color(),
        }
    }

    /// A renderer that never colours (tests, and files).
    #[cfg(test)]
    pub fn plain() -> Self {
        Renderer { color: false }
    }

    /// `text` in an ANSI style (one of the style constants), or as it is.
    pub fn paint(&self, style: &str, text: &str) -> String {
        if self.color && !style.is_empty() {
            format!("\x1b[{style}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// One diagnostic, ending with a newline. Without the source text (a file that is
    /// not UTF-8) it is the core's one-line form, `file:line:column: error[code]: ...`.
    pub fn render(&self, d: &Diagnostic, source: Option<&str>) -> String {
        let Some(source) = source else {
            let mut out = format!(
                "{}:{}:{}: {}{}\n",
                clean(&d.file),
                d.line,
                d.column,
                self.paint(
                    severity_style(&d.severity),
                    &format!("{}[{}]", clean(&d.severity), clean(&d.code))
                ),
                self.paint(BOLD, &format!(": {}", clean(&d.message))),
            );
            if let Some(help) = &d.help {
                out.push_str(&format!(
                    "  = {}: {}\n",
                    self.paint(BOLD, "help"),
                    clean(help)
                ));
            }
            return out;
        };
        let number = d.line.to_string();
        let pad = " ".repeat(number.len());
        let mut out = String::new();
        out.push_str(&self.paint(
            severity_style(&d.severity),
            &format!("{}[{}]", clean(&d.severity), clean(&d.code)),
        ));
        out.push_str(&self.paint(BOLD, &format!(": {}", clean(&d.message))));
        out.push('\n');
        out.push_str(&format!(
            " {pad}{} {}:{}:{}\n",
            self.paint(BLUE, "-->"),
            clean(&d.file),
            d.line,
            d.column
        ));
        let bar = self.paint(BLUE, "|");
        out.push_str(&format!("  {pad}{bar}\n"));
        let line_text = source_line(source, d.line);
        let snippet = snippet(line_text, d);
        let gutter = self.paint(BLUE, &format!(" {number} |"));
        if snippet.text.is_empty() {
            out.push_str(&format!("{gutter}\n"));
        } else {
            out.push_str(&format!("{gutter} {}\n", snippet.text));
        }
        out.push_str(&format!(
            "  {pad}{bar} {}{}\n",
            " ".repeat(snippet.caret_at),
            self.paint(severity_style(&d.severity), &"^".repeat(snippet.carets))
        ));
        if let Some(help) = &d.help {
            out.push_str(&format!(
                "  {pad}{} {}: {}\n",
                self.paint(BLUE, "="),
                self.paint(BOLD, "help"),
                clean(help)
            ));
        }
        out
    }
}

/// Bold red: errors, denials, failed tests.
pub const RED: &str = "1;31";
/// Bold blue: gutters and arrows.
pub const BLUE: &str = "1;34";
/// Bold.
pub const BOLD: &str = "1";
/// Bold yellow: warnings, approvals.
pub const YELLOW: &str = "1;33";
/// Bold green: allows, passed tests.
pub const GREEN: &str = "1;32";
/// Bold cyan: notes.
pub const CYAN: &str = "1;36";

/// Whether `NO_COLOR` is set to a non-empty value (the no-color.org convention, which
/// treats an empty value as unset).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// The colour of a diagnostic's severity word and carets.
fn severity_style(severity: &str) -> &'static str {
    match severity {
        "warning" => YELLOW,
        "note" => CYAN,
        _ => RED,
    }
}

/// Writes every diagnostic of a failed load to stderr, each followed by a blank line,
/// then a one-line summary.
pub fn emit(compiled: &Compiled) -> io::Result<()> {
    let renderer = Renderer::for_stderr();
    let mut err = io::stderr().lock();
    for d in &compiled.diagnostics {
        write!(err, "{}", renderer.render(d, compiled.text_of(&d.file)))?;
        writeln!(err)?;
    }
    let n = compiled.diagnostics.len();
    let files = {
        let mut names: Vec<&str> = compiled
            .diagnostics
            .iter()
            .map(|d| d.file.as_str())
            .collect();
        names.dedup();
        names.len()
    };
    writeln!(
        err,
        "{}: {n} {} in {files} {}",
        renderer.paint(RED, "error"),
        plural(n, "problem", "problems"),
        plural(files, "file", "files"),
    )
}

/// Writes one-line errors about paths to stderr.
pub fn emit_path_errors(errors: &[String]) -> io::Result<()> {
    let renderer = Renderer::for_stderr();
    let mut err = io::stderr().lock();
    for e in errors {
        writeln!(err, "{}: {}", renderer.paint(RED, "error"), clean(e))?;
    }
    Ok(())
}

/// `one` or `many`, by count.
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// Line `line` (1-based) of `source`, without its line break; empty past the end (an
/// error at the very end of a file).
fn source_line(source: &str, line: u32) -> &str {
    let index = usize::try_from(line.saturating_sub(1)).unwrap_or(usize::MAX);
    let text = source.split('\n').nth(index).unwrap_or("");
    text.strip_suffix('\r').unwrap_or(text)
}

/// A source line made safe and short for a terminal, and where its carets go.
#[derive(Debug, PartialEq, Eq)]
struct Snippet {
    text: String,
    /// Cells before the first caret.
    caret_at: usize,
    /// Number of carets, at least one.
    carets: usize,
}

/// How one character of source is shown.
fn shown(c: char) -> (String, usize) {
    match c {
        '\t' => (TAB.to_owned(), TAB.len()),
        c if c.is_control() => ('\u{FFFD}'.to_string(), 1),
        c => (c.to_string(), c.width().unwrap_or(0)),
    }
}

fn snippet(line: &str, d: &Diagnostic) -> Snippet {
    let cells: Vec<(String, usize)> = line.chars().map(shown).collect();
    let start = usize::try_from(d.column.saturating_sub(1)).unwrap_or(usize::MAX);
    // Same line: the whole span (end is exclusive); else one caret at the start.
    let end = if d.end_line == d.line && d.end_column > d.column {
        usize::try_from(d.end_column.saturating_sub(1)).unwrap_or(usize::MAX)
    } else {
        start.saturating_add(1)
    };
    // Columns past the end of the line (an error at the end of a line or file) are
    // one cell each.
    let width = |from: usize, to: usize| -> usize {
        (from..to)
            .map(|i| cells.get(i).map_or(1, |c| c.1))
            .take(4 * MAX_SNIPPET)
            .sum()
    };
    let total: usize = cells.iter().map(|c| c.1).sum();
    let caret_cells = width(start, end).clamp(1, MAX_SNIPPET);
    if total <= MAX_SNIPPET {
        return Snippet {
            text: cells.iter().map(|c| c.0.as_str()).collect(),
            caret_at: width(0, start),
            carets: caret_cells,
        };
    }
    // Cut the long line to a window around the column, marked with `...` each side.
    let mut first = start.min(cells.len());
    let mut lead = 0;
    while first > 0 && lead + cells.get(first - 1).map_or(1, |c| c.1) <= LEAD {
        first -= 1;
        lead += cells.get(first).map_or(1, |c| c.1);
    }
    let mut text = String::new();
    let mut shown_cells = 0;
    if first > 0 {
        text.push_str("...");
        shown_cells += 3;
    }
    let caret_at = shown_cells + width(first, start);
    let mut last = first;
    while let Some(c) = cells.get(last) {
        if shown_cells + c.1 > caret_at + MAX_SNIPPET.max(caret_cells) {
            break;
        }
        text.push_str(&c.0);
        shown_cells += c.1;
        last += 1;
    }
    if last < cells.len() {
        text.push_str("...");
    }
    Snippet {
        text,
        caret_at,
        carets: caret_cells,
    }
}

/// Escapes control characters (ESC, NUL, newlines...) so that text taken from a
/// policy file or a file name cannot move the cursor or recolour the terminal.
pub fn clean(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(line: u32, column: u32, end_line: u32, end_column: u32) -> Diagnostic {
        Diagnostic {
            code: "unknown-key".into(),
            severity: "error".into(),
            message: "unknown key `condtions` in rule".into(),
            help: Some("did you mean `conditions`?".into()),
            file: "policies/x.yaml".into(),
            line,
            column,
            end_line,
            end_column,
        }
    }

    #[test]
    fn renders_like_rustc() {
        let source = "name: x\nrules:\n  - effect: allow\n    actions: [a]\n    condtions:\n";
        let out = Renderer::plain().render(&diag(5, 5, 5, 14), Some(source));
        let expected = "error[unknown-key]: unknown key `condtions` in rule\n\
                        \x20 --> policies/x.yaml:5:5\n\
                        \x20  |\n\
                        \x205 |     condtions:\n\
                        \x20  |     ^^^^^^^^^\n\
                        \x20  = help: did you mean `conditions`?\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn gutter_grows_with_the_line_number() {
        let source = format!("{}  bad: 1\n", "a: 1\n".repeat(11));
        let out = Renderer::plain().render(&diag(12, 3, 12, 6), Some(&source));
        assert!(out.contains("\n   --> policies/x.yaml:12:3\n"), "{out}");
        assert!(out.contains("\n 12 |   bad: 1\n"), "{out}");
        assert!(out.contains("\n    |   ^^^\n"), "{out}");
    }

    #[test]
    fn tabs_are_expanded_and_carets_follow() {
        let s = snippet("\tkey: 1", &diag(1, 2, 1, 5));
        assert_eq!(s.text, "    key: 1");
        assert_eq!((s.caret_at, s.carets), (4, 3));
    }

    #[test]
    fn multibyte_and_wide_characters_count_by_cell() {
        // `é` is one character and one cell; `日本` are two characters, four cells.
        let s = snippet("é: 日本x", &diag(1, 4, 1, 6));
        assert_eq!((s.caret_at, s.carets), (3, 4));
        let s = snippet("é: 日本x", &diag(1, 6, 1, 7));
        assert_eq!((s.caret_at, s.carets), (7, 1));
    }

    #[test]
    fn multi_line_span_gets_one_caret() {
        let s = snippet("rules:", &diag(1, 1, 3, 2));
        assert_eq!((s.caret_at, s.carets), (0, 1));
    }

    #[test]
    fn column_past_the_end_of_the_line() {
        let s = snippet("key: [", &diag(1, 7, 1, 7));
        assert_eq!((s.caret_at, s.carets), (6, 1));
        assert_eq!(source_line("a\nb", 3), "");
        assert_eq!(source_line("a\r\nb", 1), "a");
    }

    #[test]
    fn control_characters_are_not_written_raw() {
        let s = snippet("a\u{1b}[31mb", &diag(1, 3, 1, 4));
        assert!(!s.text.contains('\u{1b}'));
        assert_eq!(clean("x\u{1b}y\n"), "x\\u{1b}y\\n");
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line = format!("{}TARGET{}", "a".repeat(500), "b".repeat(500));
        let s = snippet(&line, &diag(1, 501, 1, 507));
        assert!(s.text.starts_with("..."), "{}", s.text);
        assert!(s.text.ends_with("..."), "{}", s.text);
        assert!(s.text.chars().count() <= MAX_SNIPPET + LEAD + 6);
        let under: String = s.text.chars().skip(s.caret_at).take(s.carets).collect();
        assert_eq!(under, "TARGET");
    }

    #[test]
    fn one_line_form_without_source() {
        let mut d = diag(2, 12, 2, 13);
        d.code = "syntax".into();
        d.help = None;
        d.message = "not valid UTF-8 text".into();
        let out = Renderer::plain().render(&d, None);
        assert_eq!(
            out,
            "policies/x.yaml:2:12: error[syntax]: not valid UTF-8 text\n"
        );
    }
}
