//! The AutoGPT integration's endpoints (product docs, AutoGPT guide) and the audit
//! trail's report endpoint:
//!
//! - `POST /proxy/governance/check` `{action, resource}`: decided as `/v1/check` is, but
//!   every answer that does not let the agent go ahead is a **403**: the guide's wrapper
//!   treats any other status as allowed, so a 400, 401, 429 or 500 would run the command.
//!   The body still says why (`error`: `bad_request`, `unauthorized`, `rate_limited`, …).
//! - `POST /proxy/governance/record` `{action, resource?, status?, result?}`: what the
//!   agent did after an allowed check, stored in the audit log as a report (endpoint
//!   `record`), not as a decision.
//! - `POST /v1/audit` `{action, decision, metadata?, resource?, traceId?}`: the SDKs'
//!   `audit_log()` shape, for hooks and post-tool steps (endpoint `report`).
//!
//! Reports are audited like decisions (queued to the same writer, refused with 503 when it
//! is gone) and need an agent token; their fields are bounded so a report cannot grow the
//! log without limit.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use meshguard_api::{RecordRequest, Recorded, ReportRequest};
use serde_json::{Map, Value, json};

use super::check::{authenticate, intake_from_json, normalize_trace_id, trace_id};
use super::{ApiError, ApiResult, json_response, read_body};
use crate::clock;
use crate::config::mode_str;
use crate::decide::{self, clip_to as clip};
use crate::state::AppState;
use crate::store::agents::AgentRecord;
use crate::store::audit::AuditEntry;

/// Longest `result` kept (the guide's wrapper sends up to 1,000 characters).
const RESULT_MAX: usize = 4 * 1024;
/// Longest `status` kept.
const STATUS_MAX: usize = 64;
/// Longest action or resource of a report.
const TEXT_MAX: usize = 16 * 1024;

/// `POST /proxy/governance/check`.
pub async fn check(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let mut intake = intake_from_json(&state, &headers, body, "governance").await;
    intake.refusal_status = Some(StatusCode::FORBIDDEN);
    decide::decide(&state, intake).await.into_response()
}

/// What a report stores, whichever endpoint it came through.
struct Report {
    endpoint: &'static str,
    action: String,
    resource: Option<String>,
    decision: &'static str,
    outcome: Option<String>,
    result: Option<String>,
    context: Option<Map<String, Value>>,
    trace_id: Option<String>,
}

/// `POST /proxy/governance/record`.
pub async fn record(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let (agent, b): (Arc<AgentRecord>, RecordRequest) = read_report(&state, &headers, body).await?;
    let result = b.result.map(|r| match r {
        Value::String(s) => s,
        other => other.to_string(),
    });
    let report = Report {
        endpoint: "record",
        action: b.action,
        resource: b.resource,
        decision: "recorded",
        outcome: b.status.map(|s| clip(s, STATUS_MAX)),
        result: result.map(|r| clip(r, RESULT_MAX)),
        context: None,
        trace_id: b.trace_id,
    };
    store(&state, &headers, &agent, report).await
}

/// A decision an agent reports (`/v1/audit`, `/v1/audit/batch`), as the audit log keeps
/// it, or why it is not one.
pub fn reported_decision(word: &str) -> Result<&'static str, String> {
    match word {
        "allow" => Ok("allow"),
        "deny" => Ok("deny"),
        "require_approval" => Ok("require_approval"),
        other => Err(format!(
            "`decision` must be `allow`, `deny` or `require_approval`, not `{other}`"
        )),
    }
}

/// `POST /v1/audit`.
pub async fn report(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let (agent, b): (Arc<AgentRecord>, ReportRequest) = read_report(&state, &headers, body).await?;
    let decision = reported_decision(&b.decision).map_err(ApiError::bad_request)?;
    let report = Report {
        endpoint: "report",
        action: b.action,
        resource: b.resource,
        decision,
        outcome: None,
        result: None,
        context: b.metadata,
        trace_id: b.trace_id,
    };
    store(&state, &headers, &agent, report).await
}

/// Authenticates the agent and reads a report body; 401 before the body is parsed.
async fn read_report<T: serde::de::DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<(Arc<AgentRecord>, T)> {
    let agent = match authenticate(state, headers) {
        Ok(agent) => agent,
        Err(e) => {
            super::drain(body).await;
            return Err(e.into());
        }
    };
    let bytes = read_body(state, headers, body).await?;
    let parsed = super::json_object::<T>(&bytes).map_err(ApiError::bad_request)?;
    Ok((agent, parsed))
}

/// Queues a report to the audit writer and answers 201 with its trace id.
async fn store(
    state: &AppState,
    headers: &HeaderMap,
    agent: &AgentRecord,
    r: Report,
) -> ApiResult<Response> {
    let started = Instant::now();
    if r.action.trim().is_empty() {
        return Err(ApiError::bad_request("`action` is empty"));
    }
    let (header_trace, problem) = trace_id(headers, state.config.trace_header.as_deref());
    if let Some(p) = problem {
        return Err(ApiError::bad_request(p));
    }
    let trace = match r.trace_id {
        Some(t) => normalize_trace_id(&t, "`traceId`").map_err(ApiError::bad_request)?,
        None => header_trace,
    };
    // Metadata is kept whole or refused: cut JSON would be unreadable.
    let context = r.context.map(|m| Value::Object(m).to_string());
    if let Some(c) = context.as_ref().filter(|c| c.len() > TEXT_MAX) {
        return Err(ApiError::bad_request(format!(
            "`metadata` is {} bytes of JSON; at most {TEXT_MAX} are kept",
            c.len()
        )));
    }
    let entry = AuditEntry {
        ts_ms: clock::now_ms(),
        trace_id: trace.clone(),
        agent_id: Some(agent.id.clone()),
        agent_name: Some(agent.name.clone()),
        action: clip(r.action, TEXT_MAX),
        resource: r.resource.map(|s| clip(s, TEXT_MAX)),
        decision: r.decision,
        allowed: false,
        policy: None,
        rule: None,
        reason: format!("reported by agent `{}`", agent.id),
        mode: mode_str(state.config.mode),
        status: StatusCode::CREATED.as_u16(),
        latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        endpoint: r.endpoint,
        context,
        approval_id: None,
        outcome: r.outcome,
        result: r.result,
    };
    if state.audit.record(entry).await.is_err() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "the audit log is not accepting entries; nothing was recorded",
        ));
    }
    Ok(json_response(
        StatusCode::CREATED,
        json!(Recorded {
            recorded: true,
            trace_id: trace,
        }),
    ))
}
