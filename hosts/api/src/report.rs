//! What agents report after acting: `POST /proxy/governance/record` (the AutoGPT guide's
//! record, and the Claude Code hook's `PostToolUse`) and `POST /v1/audit` (the SDKs'
//! `audit_log()`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /proxy/governance/record`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordRequest {
    /// The action that ran.
    pub action: String,
    /// What it was about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// How it went (`success`, `error`, …; at most 64 bytes are kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// What it produced: text, or any JSON (kept as its text; at most 4 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The trace id of the check this follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// `POST /v1/audit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportRequest {
    /// The action.
    pub action: String,
    /// `allow`, `deny` or `require_approval`: what the agent says was decided.
    pub decision: String,
    /// What it was about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Anything else, kept whole (at most 16 KiB of JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// A trace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// The answer to a record or a report (201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    /// Always `true`.
    pub recorded: bool,
    /// The entry's trace id.
    pub trace_id: String,
}
