//! `GET /health` (what `client.health()` / `is_healthy()` read) and `GET /metrics`.
//! Neither needs a token: load balancers and Prometheus call them.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::json_response;
use crate::config::mode_str;
use crate::metrics::Gauges;
use crate::state::AppState;

/// What keeps the gateway from doing its job, in words (empty when healthy): the policy
/// directory does not load (the last good set is still deciding, but edits are not
/// taking effect), or the audit log is not being written.
fn problems(state: &AppState) -> Vec<String> {
    let mut problems = Vec::new();
    let errors = state.policy_status.load().errors.len();
    if errors > 0 {
        problems.push(format!(
            "the policy set does not load ({errors} problem(s), see policyErrors); \
             the last good set keeps deciding"
        ));
    }
    if state.audit.is_closed() {
        problems.push("the audit writer has stopped: no request is decided".to_owned());
    } else if state.metrics.audit_failing.load(Relaxed) {
        problems.push(
            "the last audit write failed (retrying): requests are answered 503 until a write \
             succeeds"
                .to_owned(),
        );
    }
    if !state.agents.is_current() {
        problems.push(
            "lost the database's change feed (reconnecting): agents are answered 503 until \
             it is back"
                .to_owned(),
        );
    }
    problems
}

/// `{status, version, mode, policies, policyErrors, problems, …}`: `healthy` with 200, or
/// `unhealthy` with 503 and the reasons in `problems` (for load balancers and readiness
/// checks; an unhealthy gateway still answers what it can, fail-closed).
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.policies.load();
    let status = state.policy_status.load();
    let problems = problems(&state);
    let (code, word) = if problems.is_empty() {
        (StatusCode::OK, "healthy")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
    };
    json_response(
        code,
        json!({
            "status": word,
            "version": meshguard_core::VERSION,
            "mode": mode_str(state.config.mode),
            "policies": snapshot.summaries.len(),
            "policyErrors": status.errors,
            "problems": problems,
            "agents": state.agents.active_count(),
            "auditQueueDepth": state.audit.depth(),
        }),
    )
}

/// `GET /` for API clients: what this is and where to go next, as JSON (a browser gets
/// the console, see `console::root`).
pub async fn info(State(state): State<Arc<AppState>>) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "name": "meshguard-gateway",
            "version": meshguard_core::VERSION,
            "mode": mode_str(state.config.mode),
            "fallback": state.config.fallback,
            "policies": state.policies.load().summaries.len(),
            "endpoints": {
                "console": "/",
                "check": "/proxy/check",
                "checkJson": "/v1/check",
                "governanceCheck": "/proxy/governance/check",
                "governanceRecord": "/proxy/governance/record",
                "audit": "/v1/audit",
                "proxy": "/proxy/{path}",
                "health": "/health",
                "metrics": "/metrics",
                "admin": "/admin",
            },
            "docs": "hosts/gateway/API.md",
        }),
    )
}

/// The Prometheus text exposition.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(Gauges {
        audit_queue_depth: state.audit.depth(),
        audit_queue_capacity: state.audit.capacity(),
        policies: state.policies.load().summaries.len(),
        policy_errors: state.policy_status.load().errors.len(),
        webhook_queue_depth: state.alerts.as_ref().map_or(0, |a| a.depth()),
    });
    let mut resp = text.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
