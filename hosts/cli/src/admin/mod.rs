//! The gateway admin commands: `agent`, `policy`, `audit` and `approvals`, talking to a
//! running `meshguard-gateway` over its admin API (`hosts/gateway/API.md`).
//!
//! Every command prints the gateway's JSON with `--json` and aligned text otherwise.
//! Failures are one line naming the problem, with the CLI's exit codes: 1 when the
//! gateway cannot be reached, refuses the admin token or answers an error, 2 for input
//! the user must fix (bad flags, a policy the gateway refuses, a request it calls bad),
//! 4 for a `policy test` whose decision is not an allow.

pub mod agent;
mod allowed;
pub mod approvals;
pub mod audit;
mod client;
pub mod policy;
mod table;

use std::fmt;

use serde_json::Value;

use crate::render::clean;

/// A failure already worded for the user, with the exit code it means.
#[derive(Debug)]
pub struct Problem {
    /// The process exit code.
    pub code: u8,
    /// One line, naming the problem.
    pub message: String,
}

impl Problem {
    /// A problem with its exit code.
    pub fn new(code: u8, message: impl Into<String>) -> Problem {
        Problem {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

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

/// The items of a list field (empty when it is missing or not a list).
pub fn items<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

/// Writes the gateway's JSON on stdout, one line.
pub fn print_json(v: &Value) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    writeln!(std::io::stdout().lock(), "{v}").context("writing to stdout")
}

/// Writes text on stdout.
pub fn print_text(text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    write!(std::io::stdout().lock(), "{text}").context("writing to stdout")
}
