//! The admin API's policy shapes: listings, the directory's status, validation, apply and
//! delete answers.

use meshguard_core::model::{AuditSettings, RateLimit, RuleOrder};
use meshguard_core::{Diagnostic, Effect};
use serde::{Deserialize, Serialize};

/// A loaded policy, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySummary {
    /// The policy's name (the official JS SDK reads `Policy.id`; a name is its identity).
    pub id: String,
    /// Its name.
    pub name: String,
    /// `version`, if given.
    pub version: Option<String>,
    /// `description`, if given.
    pub description: Option<String>,
    /// The file it came from, in the policy directory.
    pub file: String,
    /// Whom it applies to (`None`: every agent).
    pub applies_to: Option<AppliesTo>,
    /// The policy's `defaultEffect`.
    pub default_effect: Effect,
    /// `specific-first` or `first-match`.
    pub rule_order: RuleOrder,
    /// Its rules, in order.
    pub rules: Vec<RuleSummary>,
    /// Policy-wide rate limits.
    pub rate_limits: Option<RateLimit>,
    /// Actions that always need a person.
    pub human_in_the_loop: HumanInTheLoop,
    /// The `audit` block.
    pub audit: Option<AuditSettings>,
    /// The file's text (`GET /admin/policies/{name}` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// `appliesTo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliesTo {
    /// Agent tags.
    pub tags: Option<Vec<String>>,
    /// Trust tiers.
    pub trust_tiers: Option<Vec<String>>,
    /// Agent ids.
    pub agent_ids: Option<Vec<String>>,
    /// Organisation ids.
    pub org_ids: Option<Vec<String>>,
}

/// One rule, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSummary {
    /// Its name, or `<policy>#<n>`.
    pub id: String,
    /// What it says.
    pub effect: Effect,
    /// Its action globs.
    pub actions: Vec<String>,
    /// Whether it has conditions (other than a rate limit).
    pub conditional: bool,
    /// Its rate limit obligation.
    pub rate_limit: Option<RateLimit>,
    /// Its reason.
    pub reason: Option<String>,
    /// Its description.
    pub description: Option<String>,
}

/// `humanInTheLoop`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HumanInTheLoop {
    /// Action globs that need approval.
    pub require_approval: Vec<String>,
}

/// `GET /admin/policies`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyList {
    /// In load order.
    pub policies: Vec<PolicySummary>,
    /// When the serving set was loaded (RFC 3339).
    pub loaded_at: String,
    /// Why the directory as it is now does not load (empty when it does).
    pub policy_errors: Vec<Diagnostic>,
}

/// `GET /admin/policies/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatus {
    /// Whether the set loads.
    pub ok: bool,
    /// Where the policies come from: the policy directory, or `database` (replicas on
    /// PostgreSQL).
    pub dir: String,
    /// When the serving set was loaded.
    pub loaded_at: String,
    /// When the source was last read.
    pub checked_at: Option<String>,
    /// Policies serving.
    pub policies: usize,
    /// Their files.
    pub files: Vec<String>,
    /// Why the set does not load.
    pub errors: Vec<Diagnostic>,
    /// The same, as text.
    pub messages: Vec<String>,
    /// Lint findings about the serving set.
    pub findings: Vec<Diagnostic>,
    /// The same, as text.
    pub finding_messages: Vec<String>,
}

/// `POST /admin/policies/validate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyValidation {
    /// Whether the text would load with the rest of the set.
    pub ok: bool,
    /// The file it would be stored as.
    pub file: String,
    /// The policy names it defines.
    pub policies: Vec<String>,
    /// What is wrong.
    pub diagnostics: Vec<Diagnostic>,
    /// The same, as text.
    pub messages: Vec<String>,
    /// Lint findings about the text.
    pub findings: Vec<Diagnostic>,
    /// The same, as text.
    pub finding_messages: Vec<String>,
}

/// `PUT /admin/policies/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyApplied {
    /// Always `true` (a refusal is a 400 with `diagnostics`).
    pub ok: bool,
    /// The file written.
    pub file: String,
    /// Whether the policy is new.
    pub created: bool,
    /// The policy as now served.
    pub policy: Option<PolicySummary>,
    /// Lint findings about the text.
    pub findings: Vec<Diagnostic>,
    /// The same, as text.
    pub finding_messages: Vec<String>,
}

/// `DELETE /admin/policies/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDeleted {
    /// Always `true`.
    pub ok: bool,
    /// The policy's name.
    pub deleted: String,
    /// Its file, removed.
    pub file: String,
}
