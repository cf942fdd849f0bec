//! The gateway's HTTP API as Rust types: what `hosts/gateway/API.md` describes, in one
//! place. The gateway serialises these and the CLI deserialises the same types, so a
//! field renamed on one side is a compile error on the other, not a silent `null`.
//!
//! Answer types borrow (`Cow<'a, str>`) so the gateway serialises without copying; read
//! back with `serde_json::from_*` they own their text.
//!
//! Only shapes live here: no I/O, no validation beyond what serde does. What a value
//! means (a trace id's bounds, which actions exist) is the gateway's and the core's.
//! Not here yet: `/health`, `GET /` and error bodies (only the SDKs read those).

#![forbid(unsafe_code)]

mod admin;
mod bundle;
mod check;
mod policies;
mod report;

pub use admin::{
    ActionCount, Agent, AgentCount, AgentCreated, AgentList, AgentPatch, AgentRevoked, Approval,
    ApprovalList, ApprovalVerdict, AuditEntry, AuditExport, AuditPage, AuditStats, NewAgent,
    StatsBucket, TokenRotated,
};
pub use bundle::{
    BundleAgent, BundleFile, BundleKey, LocalDecision, LocalDecisions, LocalRecorded, PolicyBundle,
};
pub use check::{CheckAnswer, CheckRequest};
pub use policies::{
    AppliesTo, HumanInTheLoop, PolicyApplied, PolicyDeleted, PolicyList, PolicyStatus,
    PolicySummary, PolicyValidation, RuleSummary,
};
pub use report::{RecordRequest, Recorded, ReportRequest};

/// Deserialises a field that is present-and-null differently from absent:
/// `Some(None)` for `null`, `None` (through `#[serde(default)]`) when missing.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}
