//! The boundary every host and binding shares: requests, decisions and diagnostics as
//! serde types with one stable JSON form.
//!
//! Hosts (the CLI, the Wasm component, the npm package, the Node addon, the gateway)
//! translate these types and nothing else, so the same request gives byte-identical
//! decision JSON everywhere. Field order is the declaration order below; names are
//! camelCase; optional request fields may be omitted, decision fields are always present
//! (`resource` is `null` when the request had none) except `explanation`, which appears
//! only when asked for.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::PolicyError;
use crate::model::{AuditSettings, Effect};

mod json;

/// One question: may this agent do this action on this resource now?
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Request {
    /// What the agent wants to do, such as `write:email`.
    pub action: String,
    /// What it wants to do it to: a path, URL, address, command...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Free-form facts for context conditions; must be a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<serde_json::Value>,
    /// The calling agent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "object_or_null"
    )]
    pub agent: Option<Agent>,
    /// The instant of the request (RFC 3339), for time conditions and rate limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// `enforce` (default) or `audit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

/// An optional struct that only a JSON object (or `null`) may fill: serde's derive would
/// also read a struct from a sequence of its fields in order, which a request must never
/// be read as (`"agent": ["a1"]` is an error, not the agent `a1`).
fn object_or_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct ObjectOrNull<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ObjectOrNull<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    deserializer.deserialize_any(ObjectOrNull(std::marker::PhantomData))
}

/// The calling agent as the host knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Agent {
    /// Stable id; rate limits count per id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `untrusted`, `verified`, `trusted` or `privileged` (or an alias of `untrusted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_tier: Option<String>,
    /// Tags that select policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Organisation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
}

/// Whether a deny stops the caller (`docs/semantics.md` §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny means deny.
    #[default]
    Enforce,
    /// Everything is decided and recorded, but the caller is allowed.
    Audit,
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "DecisionJson")]
pub struct Decision {
    /// What the policies say.
    pub effect: Effect,
    /// Whether the caller may go ahead now: `effect == allow`, or any effect in audit mode.
    pub allowed: bool,
    /// The mode the decision was made in.
    pub mode: Mode,
    /// The action asked about.
    pub action: String,
    /// The resource in canonical form, or `null`.
    pub resource: Option<String>,
    /// The part of a compound resource that decided (the normalised simple command of a
    /// shell line, one address of a list); absent for resources decided whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// The deciding policy, or `default` when no policy applied.
    pub policy: Arc<str>,
    /// The deciding rule: its name, `<policy>#<n>`, `defaultEffect`, `humanInTheLoop`,
    /// `rateLimits`, `default`, `invalid-request` or `unreadable-resource`.
    pub rule: Arc<str>,
    /// Why, in words a person can act on.
    pub reason: Arc<str>,
    /// What the host must carry out.
    pub obligations: Obligations,
    /// Rule-by-rule account, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// Where the decision comes from, so hosts need not compare `policy` and `rule`
    /// strings to recognise a fail-closed deny. Not part of the JSON: the bytes every
    /// host produces stay the same (a decision read from JSON gets [`Origin::infer`]).
    #[serde(skip)]
    pub origin: Origin,
}

/// Room a decision's JSON usually fits in (a few hundred bytes; rate limits and audit
/// settings make it longer).
const DECISION_JSON_ROOM: usize = 512;

impl Decision {
    /// The decision's JSON, the one form every host gives byte for byte: serde's for
    /// this type, written directly (`boundary/json.rs`) unless there is an explanation,
    /// into a buffer sized once. Serialising a decision cannot fail in practice; if it
    /// ever did, the empty string makes a host's JSON parser fail, which fails closed.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(DECISION_JSON_ROOM);
        if json::write(self, &mut out) || serde_json::to_writer(&mut out, self).is_ok() {
            String::from_utf8(out).unwrap_or_default()
        } else {
            String::new()
        }
    }
}

/// A decision as JSON carries it: everything but the origin.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DecisionJson {
    effect: Effect,
    allowed: bool,
    mode: Mode,
    action: String,
    resource: Option<String>,
    #[serde(default)]
    part: Option<String>,
    policy: Arc<str>,
    rule: Arc<str>,
    reason: Arc<str>,
    obligations: Obligations,
    #[serde(default)]
    explanation: Option<Explanation>,
}

impl From<DecisionJson> for Decision {
    fn from(d: DecisionJson) -> Decision {
        Decision {
            origin: Origin::infer(&d.policy, &d.rule),
            effect: d.effect,
            allowed: d.allowed,
            mode: d.mode,
            action: d.action,
            resource: d.resource,
            part: d.part,
            policy: d.policy,
            rule: d.rule,
            reason: d.reason,
            obligations: d.obligations,
            explanation: d.explanation,
        }
    }
}

/// Where a [`Decision`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// A rule of a policy decided.
    #[default]
    Rule,
    /// No rule matched; a policy's `defaultEffect` decided.
    DefaultEffect,
    /// An allow became `require_approval` under a policy's `humanInTheLoop`.
    HumanInTheLoop,
    /// No policy applied; the set's fallback decided.
    NoPolicy,
    /// A host's rate limiter turned the decision into a deny.
    RateLimit,
    /// The request could not be evaluated (fail closed).
    InvalidRequest,
    /// The resource could not be read as its kind and no rule allowed its exact text.
    UnreadableResource,
    /// The host failed to evaluate (a trap, a timeout): fail closed.
    EvaluationError,
}

impl Origin {
    /// Whether this is a deny the engine gave because it could not decide normally
    /// (invalid request, unreadable resource, evaluation error).
    pub fn is_fail_closed(self) -> bool {
        matches!(
            self,
            Origin::InvalidRequest | Origin::UnreadableResource | Origin::EvaluationError
        )
    }

    /// The origin of a decision known only by its JSON (which carries no origin), from
    /// the rule names the core generates: what reading a decision from JSON uses. A
    /// decision made by the core carries its origin and needs no guess.
    pub fn infer(policy: &str, rule: &str) -> Origin {
        match (policy, rule) {
            ("default", "invalid-request") => Origin::InvalidRequest,
            ("default", "unreadable-resource") => Origin::UnreadableResource,
            ("default", "evaluation-error") => Origin::EvaluationError,
            ("default", "default") => Origin::NoPolicy,
            (_, "defaultEffect") => Origin::DefaultEffect,
            (_, "humanInTheLoop") => Origin::HumanInTheLoop,
            _ => Origin::Rule,
        }
    }
}

/// Stateful duties the pure core hands back to the host (`docs/semantics.md` §5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Obligations {
    /// Limits to count this request against, per agent.
    pub rate_limits: Vec<RateLimitObligation>,
    /// The deciding policy's audit settings, if it has any (shared, not copied).
    pub audit: Option<Arc<AuditSettings>>,
}

/// One rate limit the host must enforce with [`crate::RateLimiter`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitObligation {
    /// The policy that sets the limit.
    pub policy: Arc<str>,
    /// `rateLimits` for a policy-wide limit, else the rule whose condition sets it.
    pub rule: Arc<str>,
    /// Requests in any 60-second window.
    pub requests_per_minute: Option<u32>,
    /// Requests in any 3,600-second window.
    pub requests_per_hour: Option<u32>,
}

/// The rule-by-rule account of a decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// Every policy of the set, in load order, and whether it applies.
    pub policies: Vec<PolicyTrace>,
    /// Every rule of every applicable policy, in order, for the deciding part.
    pub rules: Vec<RuleTrace>,
    /// For a compound resource, every part with its own outcome, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartTrace>,
}

/// The outcome of one part of a compound resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartTrace {
    /// The part, normalised.
    pub part: String,
    /// What the policies say about it alone.
    pub effect: Effect,
    /// The policy that decided it.
    pub policy: Arc<str>,
    /// The rule that decided it.
    pub rule: Arc<str>,
}

/// Whether one policy applies to the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyTrace {
    /// The policy.
    pub policy: Arc<str>,
    /// Whether its `appliesTo` selects the request.
    pub applies: bool,
    /// Why not, when it does not apply.
    pub detail: Option<String>,
}

/// What happened to one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleTrace {
    /// The policy.
    pub policy: Arc<str>,
    /// The rule.
    pub rule: Arc<str>,
    /// The rule's effect.
    pub effect: Effect,
    /// Whether action and conditions matched.
    pub matched: bool,
    /// `decided`, `outranked`, `set-aside`, `shadowed` or `no-match`.
    pub status: RuleStatus,
    /// The first condition that failed, or why a matching rule did not decide.
    pub detail: Option<String>,
}

/// The fate of one rule in a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleStatus {
    /// This rule made the decision.
    Decided,
    /// Matched, but another candidate won under deny-wins or the earliest-rule tie-break.
    Outranked,
    /// Matched without conditions while a conditional rule also matched (specific first).
    SetAside,
    /// Matched, but an earlier rule of its `first-match` policy matched first.
    Shadowed,
    /// The action or a condition did not match.
    NoMatch,
}

/// One problem with a policy, flattened for hosts: what the CLI prints, what JavaScript
/// errors carry, what the gateway returns from `validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// Stable kind, such as `unknown-key` (see [`PolicyError::code`]).
    pub code: String,
    /// `error` for a problem that stops the policies loading; `warning` or `note` for a
    /// finding of [`crate::lint`].
    pub severity: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// The file (or label) the text came from.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// 1-based line where the offending text ends.
    pub end_line: u32,
    /// 1-based column just past the offending text.
    pub end_column: u32,
}

impl Diagnostic {
    /// Flattens a policy error found in `file`.
    pub fn new(file: &str, error: &PolicyError) -> Diagnostic {
        let span = error.span();
        Diagnostic {
            code: error.code().to_owned(),
            severity: "error".to_owned(),
            message: error.to_string(),
            help: error.help(),
            file: file.to_owned(),
            line: span.start.line,
            column: span.start.column,
            end_line: span.end.line,
            end_column: span.end.column,
        }
    }
}

impl std::fmt::Display for Diagnostic {
    /// `file:line:column: error[code]: message`, then `  = help: …` when there is help.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}[{}]: {}",
            self.file, self.line, self.column, self.severity, self.code, self.message
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::{PolicySet, Request, Source};

    /// `to_json` writes what serde writes, for decisions longer than its first buffer and
    /// with text that needs escaping.
    #[test]
    fn to_json_is_serdes_json() {
        let reason = format!("a \"quoted\" reason\twith é and {}", "x".repeat(600));
        let policy = format!(
            "name: p\nrateLimits: {{requestsPerMinute: 5}}\naudit: {{enabled: true}}\nrules:\n  - {{effect: deny, actions: [\"*\"], reason: {reason:?}}}\n"
        );
        let set = PolicySet::compile([Source::new("p.yaml", &policy)]).unwrap();
        for (resource, explain) in [("/tmp/é", false), ("/tmp/é", true), ("\u{1}", false)] {
            let d = set.decide(
                &Request {
                    action: "write:file".into(),
                    resource: Some(resource.into()),
                    ..Request::default()
                },
                explain,
            );
            assert_eq!(d.to_json(), serde_json::to_string(&d).unwrap());
        }
    }
}
