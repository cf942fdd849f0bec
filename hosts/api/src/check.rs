//! `POST /v1/check`, `POST /proxy/governance/check` and the answer every decision
//! endpoint gives (`GET /proxy/check` and the proxy's refusals too).

use std::borrow::Cow;

use meshguard_core::{Effect, Explanation, Mode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The question as a JSON body. The agent is never part of it: it comes from the token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckRequest {
    /// Such as `execute:shell`.
    pub action: String,
    /// What the action is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A JSON object for context conditions (anything else is refused with 400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    /// Ask for the explanation of the decision.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub explain: bool,
    /// The caller's trace id (the `X-MeshGuard-Trace-ID` header wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// The body of every decision answer, in this field order. Fields that do not apply are
/// left out: a 401 carries only `error`, `message` and `traceId`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckAnswer<'a> {
    /// `bad_request`, `unauthorized`, `rate_limited`, … on answers that are not a
    /// decision of the policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Cow<'a, str>>,
    /// The reason again (what the Python SDK reads), or what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Cow<'a, str>>,
    /// Seconds to wait after a 429 (snake_case, as the docs spell it).
    #[serde(
        default,
        rename = "retry_after",
        skip_serializing_if = "Option::is_none"
    )]
    pub retry_after: Option<u64>,
    /// Whether the caller may go ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    /// What the policies said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Effect>,
    /// The action asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Cow<'a, str>>,
    /// The resource in canonical form: `Some(None)` is a decision without a resource
    /// (`"resource": null`), `None` an answer that describes no decision.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::present"
    )]
    pub resource: Option<Option<Cow<'a, str>>>,
    /// The part of a compound resource that decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<Cow<'a, str>>,
    /// The deciding policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Cow<'a, str>>,
    /// The deciding rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Cow<'a, str>>,
    /// Why, in words a person can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Cow<'a, str>>,
    /// The gateway's mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The request's trace id (the caller's, or one the gateway made).
    pub trace_id: Cow<'a, str>,
    /// The approval a require_approval decision opened (or an approved one used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<Cow<'a, str>>,
    /// The rule-by-rule account, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Cow<'a, Explanation>>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_decision_and_a_401_read_back_as_written() {
        let denied = CheckAnswer {
            message: Some("No shell".into()),
            allowed: Some(false),
            decision: Some(Effect::Deny),
            action: Some("execute:shell".into()),
            resource: Some(None),
            policy: Some("p".into()),
            rule: Some("r".into()),
            reason: Some("No shell".into()),
            mode: Some(Mode::Enforce),
            trace_id: "t-1".into(),
            ..CheckAnswer::default()
        };
        let text = serde_json::to_string(&denied).unwrap();
        assert!(text.contains(r#""resource":null"#), "{text}");
        assert_eq!(serde_json::from_str::<CheckAnswer>(&text).unwrap(), denied);

        let unauthorized: CheckAnswer = serde_json::from_str(
            r#"{"error":"unauthorized","message":"invalid or expired token","traceId":"t-2"}"#,
        )
        .unwrap();
        assert_eq!(unauthorized.resource, None);
        assert_eq!(unauthorized.error.as_deref(), Some("unauthorized"));
    }

    #[test]
    fn a_request_refuses_unknown_fields() {
        let e = serde_json::from_str::<CheckRequest>(r#"{"action":"a","agent":{}}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `agent`"), "{e}");
        let r = CheckRequest {
            action: "read:file".into(),
            ..CheckRequest::default()
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"action":"read:file"}"#
        );
    }
}
