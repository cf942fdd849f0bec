//! Printing the gateway's answers: as they came (`--json`, for scripts) or as text for a
//! person, with JSON fields shown the same way by every admin command.

use std::io::Write;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::render::clean;

/// A field of a JSON object as text for a person: strings as they are (cleaned of
/// control characters), lists joined with `, `, numbers and booleans written out,
/// `null` and missing fields as `-`.
pub fn field(v: &Value, key: &str) -> String {
    show(v.get(key).unwrap_or(&Value::Null))
}

/// A JSON value as text for a person (see [`field`]).
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) if s.is_empty() => "-".to_owned(),
        Value::String(s) => clean(s),
        Value::Array(items) if items.is_empty() => "-".to_owned(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(_) => clean(&v.to_string()),
    }
}

/// Text for a person, as [`show`] writes a JSON string: cleaned, `-` when empty.
pub fn text(s: &str) -> String {
    if s.is_empty() {
        "-".to_owned()
    } else {
        clean(s)
    }
}

/// An optional text (`-` when absent), as [`show`] writes `null`.
pub fn opt(s: Option<&str>) -> String {
    s.map_or_else(|| "-".to_owned(), text)
}

/// A list, as [`show`] writes a JSON list: joined with `, `, `-` when empty.
pub fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.iter().map(|i| text(i)).collect::<Vec<_>>().join(", ")
    }
}

/// The items of a list field (empty when it is missing or not a list).
pub fn items<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

/// Writes the gateway's JSON on stdout, one line.
pub fn print_json(v: &Value) -> Result<()> {
    writeln!(std::io::stdout().lock(), "{v}").context("writing to stdout")
}

/// Writes text on stdout.
pub fn print_text(text: &str) -> Result<()> {
    write!(std::io::stdout().lock(), "{text}").context("writing to stdout")
}

/// Prints an answer the way every admin command does: as it came with `--json`, else
/// the text `human` makes of it (built only then).
pub fn print_answer(
    json: bool,
    answer: &Value,
    human: impl FnOnce(&Value) -> String,
) -> Result<()> {
    if json {
        print_json(answer)
    } else {
        print_text(&human(answer))
    }
}
