//! Local decisions that follow the gateway: the signed policy bundle an edge worker or SDK
//! process evaluates (`GET /v1/policies/bundle`, its key at `GET /v1/policies/bundle/key`)
//! and the decisions it made, shipped back in batches (`POST /v1/audit/batch`).

use serde::{Deserialize, Serialize};

/// `GET /v1/policies/bundle`: the serving set's sources. The body's exact bytes are
/// signed (Ed25519, `X-MeshGuard-Signature`, base64); `version` is also the `ETag`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyBundle {
    /// SHA-256 (hex) of the files, the fallback and the mode: equal bundles, equal versions.
    pub version: String,
    /// When the gateway loaded this set (RFC 3339).
    pub loaded_at: String,
    /// The gateway's mode (`enforce` or `audit`).
    pub mode: String,
    /// The answer when no policy applies (`allow` or `deny`).
    pub fallback: String,
    /// The policy files in load order.
    pub policies: Vec<BundleFile>,
    /// The agent whose token fetched the bundle, as the gateway would see it in a check:
    /// local decisions default to it (a bundle is per agent; so is its version).
    pub agent: BundleAgent,
}

/// The agent a bundle was fetched for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleAgent {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its trust tier.
    pub trust_tier: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
}

/// One policy file of a bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleFile {
    /// The file name (`clawdbot-email.yaml`).
    pub name: String,
    /// Its text.
    pub text: String,
}

/// `GET /v1/policies/bundle/key`: what bundles are signed with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleKey {
    /// `Ed25519`.
    pub algorithm: String,
    /// The raw 32-byte public key, base64.
    pub public_key: String,
    /// The first 16 hex digits of the key's SHA-256, to tell keys apart in logs.
    pub key_id: String,
}

/// `POST /v1/audit/batch`: decisions made locally from a bundle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalDecisions {
    /// At most 1,000 per batch.
    pub decisions: Vec<LocalDecision>,
}

/// One decision made locally.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalDecision {
    /// The action.
    pub action: String,
    /// The resource, as decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// `allow`, `deny` or `require_approval`.
    pub decision: String,
    /// Whether the caller was let through.
    pub allowed: bool,
    /// The deciding policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The deciding rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The bundle version it was decided with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_version: Option<String>,
    /// When it was decided (ms since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// The caller's trace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// `POST /v1/audit/batch`'s answer (201).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalRecorded {
    /// How many decisions were stored.
    pub recorded: usize,
}
