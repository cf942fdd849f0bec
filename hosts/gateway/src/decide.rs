//! The decision pipeline behind `/proxy/check`, `/v1/check` and `/proxy/*`: one function
//! turns an authenticated, parsed request into an answered, audited decision.
//!
//! Order matters and is the same for every endpoint:
//! 1. authentication (401, before anything about the request is looked at);
//! 2. refusals the gateway makes itself (400 malformed headers or body, 413 too large);
//! 3. the evaluator component (an invalid request is a deny → 400; a trap → 500);
//! 4. the rate limiter, the core's own code (429 with `retry_after`);
//! 5. approvals for `require_approval` (403 with `approvalId`, or an approved one used);
//! 6. the audit entry is queued — waiting for room if the queue is full — and only then
//!    is the answer sent; an alert is queued without waiting.
//!
//! Every outcome, including 400, 401, 413, 429 and evaluation errors, is audited.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use meshguard_api::CheckAnswer;
use meshguard_core::{self as core, Decision, Effect, Explanation, Mode};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::auth::AuthError;
use crate::clock;
use crate::config::{AlertEvent, mode_str};
use crate::state::AppState;
use crate::store::agents::AgentRecord;
use crate::store::approvals::{ApprovalRequest, Settled};
use crate::store::audit::AuditEntry;

/// Longest action or resource kept verbatim in the audit log (longer ones are cut, with a
/// marker): the log records what happened, it is not a place to store megabytes.
const AUDIT_TEXT_MAX: usize = 16 * 1024;
/// The same bound for callers that did not authenticate (their context is not kept).
const UNAUTHENTICATED_TEXT_MAX: usize = 256;

/// The parsed question.
#[derive(Debug, Clone)]
pub struct Parts {
    /// The action.
    pub action: String,
    /// The resource, as sent.
    pub resource: Option<String>,
    /// The context object.
    pub context: Option<Map<String, Value>>,
}

/// A request the gateway refuses before the evaluator sees it.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// 400 or 413.
    pub status: StatusCode,
    /// What is wrong.
    pub message: String,
    /// What could be read of the action, for the audit log.
    pub action: String,
    /// What could be read of the resource.
    pub resource: Option<String>,
}

/// Everything an endpoint collected.
#[derive(Debug)]
pub struct Intake {
    /// When the request arrived.
    pub started: Instant,
    /// `check`, `v1` or `proxy`.
    pub endpoint: &'static str,
    /// The caller's trace id, or a generated one.
    pub trace_id: String,
    /// The agent, or why there is none.
    pub auth: Result<Arc<AgentRecord>, AuthError>,
    /// The question, or why it was refused.
    pub parts: Result<Parts, Refusal>,
    /// Whether to return the explanation.
    pub explain: bool,
    /// The status of every answer that does not let the caller go ahead, when the
    /// endpoint's clients know only one (`/proxy/governance/check`: the AutoGPT wrapper
    /// treats anything but 403 as allowed, so a 400, 401, 429 or 500 would fail open).
    pub refusal_status: Option<StatusCode>,
}

/// The answer, ready to send (or, for the proxy, to act on).
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body, serialised.
    pub body: Bytes,
    /// The trace id (echoed in `X-MeshGuard-Trace-ID`).
    pub trace_id: String,
    /// Seconds to wait, for 429.
    pub retry_after: Option<u64>,
    /// The agent, when authenticated.
    pub agent: Option<Arc<AgentRecord>>,
}

impl Answer {
    /// Whether the caller may go ahead.
    pub fn allowed(&self) -> bool {
        self.status == StatusCode::OK
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(v) = HeaderValue::from_str(&self.trace_id) {
            h.insert("x-meshguard-trace-id", v);
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

/// `s` cut to at most `max` bytes (on a character boundary), marked when cut.
pub fn clip_to(s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} bytes cut]", &s[..end], s.len() - end)
}

/// The webhook payload of the product docs (plus `mode`, `status`, `approvalId`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertPayload<'a> {
    event: &'static str,
    timestamp: String,
    agent: Option<AlertAgent<'a>>,
    action: &'a str,
    resource: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    part: Option<&'a str>,
    policy: Option<&'a str>,
    rule: Option<&'a str>,
    reason: &'a str,
    trace_id: &'a str,
    context: Option<&'a Map<String, Value>>,
    mode: &'static str,
    status: u16,
    approval_id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertAgent<'a> {
    id: &'a str,
    name: &'a str,
    trust_tier: &'a str,
}

/// What the pipeline answers, records and alerts about.
struct Outcome {
    status: StatusCode,
    /// `bad_request`, `rate_limited`, … for error answers.
    error: Option<&'static str>,
    /// Shown as `message` (what the Python SDK reads).
    message: Option<String>,
    /// Whether the body describes the decision (everything but 401).
    describe: bool,
    effect: Effect,
    allowed: bool,
    action: String,
    resource: Option<String>,
    part: Option<String>,
    policy: Option<String>,
    rule: Option<String>,
    reason: String,
    approval_id: Option<String>,
    retry_after: Option<u64>,
    explanation: Option<Explanation>,
    event: Option<AlertEvent>,
}

/// Runs the pipeline.
pub async fn decide(state: &Arc<AppState>, intake: Intake) -> Answer {
    let now_ms = clock::now_ms();
    let mode = state.config.mode;
    let agent = intake.auth.as_ref().ok().cloned();
    let outcome = match (&intake.auth, &intake.parts) {
        (Err(e), parts) => unauthorized(*e, parts),
        (Ok(_), Err(refusal)) => refused(refusal),
        (Ok(agent), Ok(parts)) => evaluate(state, agent, parts, &intake, now_ms).await,
    };
    finish(state, intake, agent, outcome, mode, now_ms).await
}

fn unauthorized(e: AuthError, parts: &Result<Parts, Refusal>) -> Outcome {
    let (action, resource) = match parts {
        Ok(p) => (p.action.clone(), p.resource.clone()),
        Err(r) => (r.action.clone(), r.resource.clone()),
    };
    Outcome {
        status: e.status(),
        error: Some(e.code()),
        message: Some(e.reason().to_owned()),
        describe: false,
        effect: Effect::Deny,
        allowed: false,
        action,
        resource,
        part: None,
        policy: None,
        rule: Some("unauthorized".to_owned()),
        reason: e.reason().to_owned(),
        approval_id: None,
        retry_after: (e == AuthError::Unavailable).then_some(1),
        explanation: None,
        event: None,
    }
}

fn refused(r: &Refusal) -> Outcome {
    let (code, rule) = match r.status {
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "payload-too-large"),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "request-timeout"),
        _ => ("bad_request", "invalid-request"),
    };
    Outcome {
        status: r.status,
        error: Some(code),
        message: Some(r.message.clone()),
        describe: true,
        effect: Effect::Deny,
        allowed: false,
        action: r.action.clone(),
        resource: r.resource.clone(),
        part: None,
        policy: Some("default".to_owned()),
        rule: Some(rule.to_owned()),
        reason: format!("invalid request: {}", r.message),
        approval_id: None,
        retry_after: None,
        explanation: None,
        event: Some(AlertEvent::Deny),
    }
}

fn outcome_of(d: Decision, status: StatusCode, event: Option<AlertEvent>) -> Outcome {
    Outcome {
        status,
        error: None,
        message: None,
        describe: true,
        effect: d.effect,
        allowed: d.allowed,
        action: d.action,
        resource: d.resource,
        part: d.part,
        policy: Some(d.policy.to_string()),
        rule: Some(d.rule.to_string()),
        reason: d.reason.to_string(),
        approval_id: None,
        retry_after: None,
        explanation: d.explanation.map(scoped),
        event,
    }
}

/// An explanation for an agent's own eyes: the policies that do not apply to it are
/// left out (their names, and why they do not select it, are other tenants' business).
/// The admin API's `POST /admin/policies/test` shows the whole set.
fn scoped(mut e: Explanation) -> Explanation {
    e.policies.retain(|p| p.applies);
    e
}

async fn evaluate(
    state: &Arc<AppState>,
    agent: &Arc<AgentRecord>,
    parts: &Parts,
    intake: &Intake,
    now_ms: i64,
) -> Outcome {
    let request = core::Request {
        action: parts.action.clone(),
        resource: parts.resource.clone(),
        context: parts.context.clone().map(Value::Object),
        agent: Some(agent.as_core()),
        time: Some(clock::rfc3339_ms(now_ms)),
        mode: Some(state.config.mode),
    };
    // The limiter counts per agent id (what `core::rate_key` picks) at `now_ms`, the
    // request's own `time`: exactly what `RateLimiter::count` does, without parsing back
    // the instant this function just formatted.
    let rate_key = core::rate_key(&request).to_owned();
    let mut d = state
        .policies
        .load()
        .evaluator
        .decide_owned(request, intake.explain);
    let trace_id = intake.trace_id.as_str();

    if d.origin == core::Origin::InvalidRequest {
        let message = d
            .reason
            .strip_prefix("invalid request: ")
            .unwrap_or(&d.reason)
            .to_owned();
        let mut out = outcome_of(d, StatusCode::BAD_REQUEST, Some(AlertEvent::Deny));
        out.error = Some("bad_request");
        out.message = Some(message);
        return out;
    }
    if d.origin == core::Origin::EvaluationError {
        state.metrics.evaluation_errors.fetch_add(1, Relaxed);
        tracing::error!(trace_id, reason = %d.reason, "the evaluator failed; denied");
        let mut out = outcome_of(
            d,
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(AlertEvent::Error),
        );
        out.error = Some("evaluation_error");
        out.message = Some(out.reason.clone());
        return out;
    }

    let wait_ms = state.limiter.apply(&mut d, &rate_key, now_ms).await;

    let mut approval_id = None;
    if d.effect == Effect::RequireApproval && !d.allowed {
        let context = parts
            .context
            .as_ref()
            .and_then(|c| serde_json::to_string(c).ok());
        match settle_approval(state, agent, &d, context, trace_id, now_ms).await {
            Ok(Settled::Approved(a)) => {
                d.effect = Effect::Allow;
                d.allowed = true;
                d.reason = Arc::from(format!(
                    "approved by {} (approval {})",
                    a.decided_by.as_deref().unwrap_or("an administrator"),
                    a.id
                ));
                approval_id = Some(a.id);
            }
            Ok(Settled::Opened(a)) => {
                state.metrics.approvals_created.fetch_add(1, Relaxed);
                approval_id = Some(a.id);
            }
            Ok(Settled::Pending(a)) => approval_id = Some(a.id),
            Err(e) => tracing::error!(trace_id, "cannot open an approval: {e:#}"),
        }
    }

    let (status, event) = if d.allowed {
        let event = match d.effect {
            Effect::Allow => None,
            Effect::Deny if wait_ms.is_some() => Some(AlertEvent::RateLimit),
            Effect::Deny => Some(AlertEvent::Deny),
            Effect::RequireApproval => Some(AlertEvent::RequireApproval),
        };
        (StatusCode::OK, event)
    } else if wait_ms.is_some() {
        (StatusCode::TOO_MANY_REQUESTS, Some(AlertEvent::RateLimit))
    } else if d.effect == Effect::RequireApproval {
        (StatusCode::FORBIDDEN, Some(AlertEvent::RequireApproval))
    } else {
        (StatusCode::FORBIDDEN, Some(AlertEvent::Deny))
    };
    if wait_ms.is_some() {
        state.metrics.rate_limited.fetch_add(1, Relaxed);
    }
    let mut out = outcome_of(d, status, event);
    out.approval_id = approval_id;
    if status == StatusCode::FORBIDDEN {
        out.message = Some(out.reason.clone());
    }
    if status == StatusCode::TOO_MANY_REQUESTS
        && let Some(ms) = wait_ms
    {
        // Whole seconds, rounded up, at least 1 (`Retry-After` has no fractions).
        out.retry_after = Some(ms.div_ceil(1000).max(1));
        out.error = Some("rate_limited");
        out.message = Some("rate limit exceeded".to_owned());
    }
    out
}

async fn settle_approval(
    state: &Arc<AppState>,
    agent: &Arc<AgentRecord>,
    d: &Decision,
    context: Option<String>,
    trace_id: &str,
    now_ms: i64,
) -> anyhow::Result<Settled> {
    let state = state.clone();
    let agent = agent.clone();
    let (action, resource) = (d.action.clone(), d.resource.clone());
    let (policy, rule, reason) = (
        d.policy.to_string(),
        d.rule.to_string(),
        d.reason.to_string(),
    );
    let trace_id = trace_id.to_owned();
    let ttl_ms = i64::try_from(state.config.approval_ttl.as_millis()).unwrap_or(i64::MAX);
    tokio::task::spawn_blocking(move || {
        state.approvals.settle(
            &ApprovalRequest {
                agent_id: &agent.id,
                agent_name: &agent.name,
                action: &action,
                resource: resource.as_deref(),
                context: context.as_deref(),
                policy: &policy,
                rule: &rule,
                reason: &reason,
                trace_id: &trace_id,
            },
            now_ms,
            ttl_ms,
        )
    })
    .await?
}

fn body_bytes(o: &Outcome, trace_id: &str, mode: Mode) -> Bytes {
    let d = o.describe;
    fn text(s: &str) -> Cow<'_, str> {
        Cow::Borrowed(s)
    }
    let body = CheckAnswer {
        error: o.error.map(Cow::Borrowed),
        message: o.message.as_deref().map(text),
        retry_after: o.retry_after,
        allowed: d.then_some(o.allowed),
        decision: d.then_some(o.effect),
        action: d.then(|| text(&o.action)),
        resource: d.then(|| o.resource.as_deref().map(text)),
        part: o.part.as_deref().filter(|_| d).map(text),
        policy: o.policy.as_deref().filter(|_| d).map(text),
        rule: o.rule.as_deref().filter(|_| d).map(text),
        reason: d.then(|| text(&o.reason)),
        mode: d.then_some(mode),
        trace_id: text(trace_id),
        approval_id: o.approval_id.as_deref().map(text),
        explanation: o.explanation.as_ref().map(Cow::Borrowed),
    };
    match serde_json::to_vec(&body) {
        Ok(v) => Bytes::from(v),
        Err(_) => Bytes::from_static(
            b"{\"error\":\"internal\",\"message\":\"cannot serialise the answer\"}",
        ),
    }
}

async fn finish(
    state: &Arc<AppState>,
    intake: Intake,
    agent: Option<Arc<AgentRecord>>,
    mut outcome: Outcome,
    mode: Mode,
    now_ms: i64,
) -> Answer {
    if let Some(status) = intake.refusal_status
        && outcome.status != StatusCode::OK
    {
        outcome.status = status;
    }
    let body = body_bytes(&outcome, &intake.trace_id, mode);
    let context = intake.parts.as_ref().ok().and_then(|p| p.context.as_ref());
    let alert = match (&state.alerts, outcome.event) {
        (Some(alerts), Some(event)) if alerts.wants(event) => Some((
            event,
            AlertPayload {
                event: event.as_str(),
                timestamp: clock::rfc3339_ms(now_ms),
                agent: agent.as_deref().map(|a| AlertAgent {
                    id: &a.id,
                    name: &a.name,
                    trust_tier: &a.trust_tier,
                }),
                action: &outcome.action,
                resource: outcome.resource.as_deref(),
                part: outcome.part.as_deref(),
                policy: outcome.policy.as_deref(),
                rule: outcome.rule.as_deref(),
                reason: &outcome.reason,
                trace_id: &intake.trace_id,
                context,
                mode: mode_str(mode),
                status: outcome.status.as_u16(),
                approval_id: outcome.approval_id.as_deref(),
            }
            .to_bytes(),
        )),
        _ => None,
    };
    // An unauthenticated caller gets a bounded row: its context is not kept and its
    // action and resource are cut short, so anonymous traffic cannot grow the database
    // faster than a line per request.
    let (context_text, text_max) = if agent.is_some() {
        (
            context.and_then(|c| serde_json::to_string(c).ok()),
            AUDIT_TEXT_MAX,
        )
    } else {
        (None, UNAUTHENTICATED_TEXT_MAX)
    };
    let (status, effect, retry_after) = (outcome.status, outcome.effect, outcome.retry_after);
    let entry = AuditEntry {
        ts_ms: now_ms,
        trace_id: intake.trace_id.clone(),
        agent_id: agent.as_ref().map(|a| a.id.clone()),
        agent_name: agent.as_ref().map(|a| a.name.clone()),
        action: clip_to(outcome.action, text_max),
        resource: outcome.resource.map(|r| clip_to(r, text_max)),
        decision: effect.as_str(),
        allowed: outcome.allowed,
        policy: outcome.policy,
        rule: outcome.rule,
        reason: outcome.reason,
        mode: mode_str(mode),
        status: status.as_u16(),
        latency_us: u64::try_from(intake.started.elapsed().as_micros()).unwrap_or(u64::MAX),
        endpoint: intake.endpoint,
        context: context_text,
        approval_id: outcome.approval_id,
        outcome: None,
        result: None,
    };
    if state.audit.record(entry).await.is_err() {
        // No audit, no decision: the writer is gone (shutting down or failed).
        tracing::error!(trace_id = %intake.trace_id, "audit queue closed; refusing to decide");
        let body = CheckAnswer {
            error: Some("audit_unavailable".into()),
            message: Some(
                "the audit log is not accepting entries; the request was not decided".into(),
            ),
            trace_id: Cow::Borrowed(&intake.trace_id),
            ..CheckAnswer::default()
        };
        return Answer {
            status: intake
                .refusal_status
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            body: serde_json::to_vec(&body)
                .map(Bytes::from)
                .unwrap_or_default(),
            trace_id: intake.trace_id,
            retry_after: Some(1),
            agent,
        };
    }
    let elapsed_ns = u64::try_from(intake.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    state.metrics.record(effect, status.as_u16(), elapsed_ns);
    if let (Some(alerts), Some((event, Some(payload)))) = (&state.alerts, alert) {
        alerts.send(event, payload);
    }
    Answer {
        status,
        body,
        trace_id: intake.trace_id,
        retry_after,
        agent,
    }
}

impl AlertPayload<'_> {
    fn to_bytes(&self) -> Option<Bytes> {
        match serde_json::to_vec(self) {
            Ok(v) => Some(Bytes::from(v)),
            Err(e) => {
                tracing::warn!("cannot serialise an alert: {e}");
                None
            }
        }
    }
}
