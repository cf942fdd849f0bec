//! The hook's optional local audit trail: one JSON object per line (JSON Lines), one line
//! per tool call, appended.
//!
//! Each line is written with a single `write` on a file opened in append mode, so hooks
//! running side by side (Claude Code may run several tool calls at once) never interleave
//! half-lines. A record that cannot be written is an error: the hook then blocks, because
//! a governance trail with silent gaps is worse than a refused tool call.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

/// One line of the audit file.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record<'a> {
    /// When the hook decided (RFC 3339, UTC).
    pub time: &'a str,
    /// Claude Code's session id.
    pub session_id: Option<&'a str>,
    /// The tool, such as `Bash`.
    pub tool: Option<&'a str>,
    /// The action it was mapped to.
    pub action: Option<&'a str>,
    /// The resource as the policies saw it.
    pub resource: Option<&'a str>,
    /// `allow`, `deny` or `require_approval`; `recorded` for a `PostToolUse` record.
    pub effect: &'a str,
    /// What Claude Code was told: `deny`, `ask`, `allow` (only with `--allow-explicitly`),
    /// or `none` when nothing was answered (an allow by default, and audit mode).
    pub permission_decision: &'a str,
    /// The deciding policy (none for a hook error).
    pub policy: Option<&'a str>,
    /// The deciding rule, or `hook-error`.
    pub rule: &'a str,
    /// Why.
    pub reason: &'a str,
    /// `enforce` or `audit`.
    pub mode: &'a str,
    /// From process start to decision, in microseconds.
    pub latency_us: u64,
}

/// Appends one record to `path` (created when missing).
pub fn append(path: &Path, record: &Record<'_>) -> Result<(), String> {
    let mut line = serde_json::to_string(record).map_err(|e| e.to_string())?;
    line.push('\n');
    let cannot = |e: std::io::Error| format!("cannot write audit log `{}`: {e}", path.display());
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(cannot)?;
    file.write_all(line.as_bytes()).map_err(cannot)
}
