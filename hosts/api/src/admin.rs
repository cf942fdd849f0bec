//! The admin API's shapes (`X-Admin-Token`): agents, approvals and audit entries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An agent as the admin API shows it (never its token or the token's hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    /// `agent_<hex>`.
    pub id: String,
    /// Unique among active agents.
    pub name: String,
    /// `untrusted`, `verified`, `trusted` or `privileged`.
    pub trust_tier: String,
    /// What `appliesTo.tags` selects on.
    pub tags: Vec<String>,
    /// The organisation, if any.
    pub org_id: Option<String>,
    /// Free-form data, kept as given.
    pub metadata: Map<String, Value>,
    /// `active` or `revoked`.
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// RFC 3339, when revoked.
    pub revoked_at: Option<String>,
}

/// `GET /admin/agents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentList {
    /// Newest first.
    pub agents: Vec<Agent>,
}

/// `POST /admin/agents`'s answer: the agent and, this once, its token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentCreated {
    /// The agent.
    #[serde(flatten)]
    pub agent: Agent,
    /// The bearer token; shown only here.
    pub token: String,
}

/// `POST /admin/agents`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAgent {
    /// Required.
    pub name: String,
    /// Default `verified` (the SDK's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_tier: Option<String>,
    /// Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// Default `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// `PATCH /admin/agents/{id}`: what is present changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentPatch {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_tier: Option<String>,
    /// New tags (replace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// New org; `Some(None)` (`null`) clears it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::present"
    )]
    pub org_id: Option<Option<String>>,
    /// New metadata (replaces the object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl AgentPatch {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == AgentPatch::default()
    }
}

/// `DELETE /admin/agents/{id}`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRevoked {
    /// The agent's id.
    pub id: String,
    /// Always `true`.
    pub revoked: bool,
    /// The agent, now revoked.
    pub agent: Agent,
}

/// `POST /admin/agents/{id}/token`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRotated {
    /// The agent's id.
    pub id: String,
    /// The new token (the old one stopped working).
    pub token: String,
}

/// An approval a `require_approval` decision opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// `apr_<hex>`.
    pub id: String,
    /// `pending`, `approved`, `denied` or `used`.
    pub status: String,
    /// The agent that asked.
    pub agent_id: String,
    /// Its name.
    pub agent_name: Option<String>,
    /// The action.
    pub action: String,
    /// The canonical resource.
    pub resource: Option<String>,
    /// The request's context.
    pub context: Option<Value>,
    /// The policy that asked for approval.
    pub policy: String,
    /// Its rule.
    pub rule: String,
    /// Its reason.
    pub reason: String,
    /// The trace id of the request that opened it.
    pub trace_id: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, when approved or denied.
    pub decided_at: Option<String>,
    /// Who approved or denied it.
    pub decided_by: Option<String>,
    /// Their note.
    pub note: Option<String>,
    /// RFC 3339, when the approved request went through.
    pub used_at: Option<String>,
    /// The approver let it through whatever the context.
    pub any_context: bool,
}

/// `GET /admin/approvals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalList {
    /// Newest first.
    pub approvals: Vec<Approval>,
}

/// The optional body of `POST /admin/approvals/{id}/approve` and `/deny`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalVerdict {
    /// Who decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Approve for any context, not only the one the request was made with.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub any_context: bool,
}

/// One audit entry: a decision, or what an agent reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// The row's sequence number, as a string (the SDKs' `AuditEntry.id: string`).
    pub id: String,
    /// RFC 3339 with milliseconds.
    pub timestamp: String,
    /// The request's trace id.
    pub trace_id: String,
    /// The agent, when the token was valid.
    pub agent_id: Option<String>,
    /// Its name.
    pub agent_name: Option<String>,
    /// The action.
    pub action: String,
    /// The canonical resource.
    pub resource: Option<String>,
    /// `allow`, `deny`, `require_approval`, or `recorded` for a record.
    pub decision: String,
    /// Whether the caller was let go ahead.
    pub allowed: bool,
    /// The deciding policy.
    pub policy: Option<String>,
    /// The deciding rule.
    pub rule: Option<String>,
    /// Why.
    pub reason: String,
    /// `enforce` or `audit`.
    pub mode: String,
    /// The HTTP status answered.
    pub status: u16,
    /// Time from request to committed entry, in microseconds.
    pub latency_us: u64,
    /// `check`, `v1`, `proxy`, `governance`, `record` or `report`.
    pub endpoint: String,
    /// The approval used or opened.
    pub approval_id: Option<String>,
    /// The request's context (or a report's metadata).
    pub context: Option<Value>,
    /// A record's outcome (`success`, `error`, …).
    pub outcome: Option<String>,
    /// A record's result text.
    pub result: Option<String>,
}

impl AuditEntry {
    /// The sequence number in [`AuditEntry::id`]: later entries have larger ones.
    pub fn seq(&self) -> Option<i64> {
        self.id.parse().ok()
    }
}

/// `GET /admin/audit` (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    /// The entries, in the order asked for.
    pub entries: Vec<AuditEntry>,
    /// How many.
    pub count: usize,
    /// The limit applied.
    pub limit: usize,
}

/// `GET /admin/audit?format=json` (an export, streamed page by page): every entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditExport {
    /// The entries, in the order asked for.
    pub entries: Vec<AuditEntry>,
}

/// `GET /admin/audit/stats`: counts since `since` (over every entry, records included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditStats {
    /// The start of the period (RFC 3339).
    pub since: String,
    /// The period asked for, in hours.
    pub period_hours: u32,
    /// Entries in the period.
    pub total: u64,
    /// By `decision` (`allow`, `deny` and `require_approval` always present).
    pub by_decision: BTreeMap<String, u64>,
    /// By HTTP status (as text).
    pub by_status: BTreeMap<String, u64>,
    /// Entries answered 429.
    pub rate_limited: u64,
    /// The 20 most frequent actions.
    pub by_action: Vec<ActionCount>,
    /// The 20 busiest agents.
    pub by_agent: Vec<AgentCount>,
    /// With `bucket=SECONDS`: the entries per interval of that length, oldest first, for
    /// charts (intervals without entries are left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<StatsBucket>>,
}

/// One interval of [`AuditStats::series`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsBucket {
    /// Where the interval starts (RFC 3339; intervals are aligned to the epoch).
    pub start: String,
    /// Entries by `decision` (`allow`, `deny` and `require_approval` always present).
    pub counts: BTreeMap<String, u64>,
}

/// One action's count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionCount {
    /// The action.
    pub action: String,
    /// Entries.
    pub count: u64,
}

/// One agent's count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCount {
    /// The agent (none for unauthenticated requests).
    pub agent_id: Option<String>,
    /// Its name.
    pub agent_name: Option<String>,
    /// Entries.
    pub count: u64,
}
