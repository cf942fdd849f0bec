//! Text-level checks and the wording of syntax errors: control characters, JSON syntax
//! (in JSON's own words), and precise positions for what the YAML parser reports late or
//! vaguely (unknown escapes, tabs, nesting).

use crate::error::PolicyError;
use crate::source::{Pos, Span};

use super::{MAX_DEPTH, pos};

/// YAML and JSON text may not hold control characters other than tab and line breaks;
/// one accepted here would reach policy names, reasons and every log line, invisibly.
pub(super) fn check_characters(text: &str) -> Result<(), PolicyError> {
    let bad = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{85}'));
    match bad {
        None => Ok(()),
        Some((at, c)) => Err(PolicyError::Syntax {
            message: format!("control character U+{:04X} in the text", u32::from(c)),
            help: Some(
                "remove it; inside double quotes an escape such as `\\t` writes one on purpose"
                    .to_owned(),
            ),
            span: Span::at(pos_at(text, at)),
        }),
    }
}

/// The position of a byte offset.
fn pos_at(text: &str, byte: usize) -> Pos {
    let before = text.get(..byte).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |l| l.chars().count()) + 1;
    Pos {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
    }
}

/// The byte offset of a position (line and column counted in characters).
fn offset_of(text: &str, pos: Pos) -> Option<usize> {
    let line_start = if pos.line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(pos.line as usize - 2)?.0 + 1
    };
    let line = text.get(line_start..)?;
    let col = line
        .char_indices()
        .nth(pos.column.saturating_sub(1) as usize)
        .map_or(line.len(), |(i, _)| i);
    Some(line_start + col)
}

pub(super) fn check_json_syntax(text: &str) -> Result<(), PolicyError> {
    // A full `Value` rather than `IgnoredAny`: only then does serde_json name a trailing
    // comma as such.
    let err = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(_) => return Ok(()),
        // Deep nesting is the tree builder's to report, at our own limit and position.
        Err(e) if e.to_string().starts_with("recursion limit exceeded") => return Ok(()),
        Err(e) => e,
    };
    // serde_json counts columns in bytes; diagnostics count characters.
    let line_text = text.lines().nth(err.line().saturating_sub(1)).unwrap_or("");
    let column = line_text
        .get(..err.column().min(line_text.len()))
        .map_or(err.column(), |s| s.chars().count());
    let line = u32::try_from(err.line()).unwrap_or(u32::MAX).max(1);
    let column = u32::try_from(column).unwrap_or(u32::MAX).max(1);
    let span = Span::at(Pos { line, column });
    let full = err.to_string();
    // serde_json appends " at line L column C"; we report the position separately.
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_owned(),
        None => full,
    };
    Err(PolicyError::Syntax {
        message: format!("invalid JSON: {message}"),
        help: None,
        span,
    })
}

pub(super) fn syntax_error(e: &saphyr_parser::ScanError, text: &str) -> PolicyError {
    let info = e.info();
    let at = pos(e.marker());
    if info.contains("unknown escape character") {
        return escape_error(text, at);
    }
    if info.contains("recursion limit") {
        return PolicyError::TooDeep {
            limit: MAX_DEPTH,
            span: Span::at(at),
        };
    }
    if info.contains("tab") {
        // The parser notices a tab late; point at the tab itself, in the indentation of
        // the reported line or of a neighbour.
        let tab = (at.line.saturating_sub(1).max(1)..=at.line + 1).find_map(|line| {
            let start = offset_of(text, Pos { line, column: 1 })?;
            let rest = text.get(start..)?;
            let indent = rest
                .find(|c: char| c != ' ' && c != '\t')
                .unwrap_or(rest.len());
            let tab = rest.get(..indent)?.find('\t')?;
            Some(pos_at(text, start + tab))
        });
        return PolicyError::Syntax {
            message: format!("invalid YAML: {info}"),
            help: Some("YAML indentation must use spaces, not tabs".to_owned()),
            span: Span::at(tab.unwrap_or(at)),
        };
    }
    PolicyError::Syntax {
        message: format!("invalid YAML: {info}"),
        help: None,
        span: Span::at(at),
    }
}

/// Escapes YAML 1.2 allows after a backslash in a double-quoted string.
const YAML_ESCAPES: &str = "0abt\tnvfre \"/\\N_LPxuU\n\r";

/// Points at the first unknown escape of the double-quoted string that starts at `quote`
/// (the parser reports the string's start) and says how to write the text.
fn escape_error(text: &str, quote: Pos) -> PolicyError {
    let start = offset_of(text, quote).unwrap_or(0);
    let rest = text.get(start..).unwrap_or("");
    let mut found = None;
    let mut chars = rest.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some((_, n)) if YAML_ESCAPES.contains(n) => {}
                Some((_, n)) => {
                    found = Some((start + i, n));
                    break;
                }
                None => break,
            },
            _ => {}
        }
    }
    let Some((at, escaped)) = found else {
        return PolicyError::Syntax {
            message: "unknown escape sequence in a double-quoted string".to_owned(),
            help: Some("write a literal backslash as `\\\\`, or use single quotes".to_owned()),
            span: Span::at(quote),
        };
    };
    let help = if matches!(escaped, '*' | '?') {
        // Globs need no escaping: show the string without the backslashes before them.
        let end = rest
            .char_indices()
            .skip(1)
            .scan(false, |escaped, (i, c)| {
                let stop = c == '"' && !*escaped;
                *escaped = c == '\\' && !*escaped;
                Some((i, stop))
            })
            .find(|(_, stop)| *stop)
            .map_or(rest.len(), |(i, _)| i + 1);
        let fixed = rest
            .get(..end)
            .unwrap_or(rest)
            .replace("\\*", "*")
            .replace("\\?", "?");
        format!(
            "a backslash starts an escape inside double quotes; write the text without it (`{fixed}`)"
        )
    } else {
        "a backslash starts an escape inside double quotes; write a literal backslash as `\\\\`, or use single quotes".to_owned()
    };
    PolicyError::Syntax {
        message: format!("unknown escape sequence `\\{escaped}` in a double-quoted string"),
        help: Some(help),
        span: Span::at(pos_at(text, at)),
    }
}
