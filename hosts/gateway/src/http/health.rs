//! `GET /health` (what `client.health()` / `is_healthy()` read) and `GET /metrics`.
//! Neither needs a token: load balancers and Prometheus call them.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::json_response;
use crate::config::mode_str;
use crate::metrics::Gauges;
use crate::state::AppState;

/// `{status, version, mode, policies, policyErrors, …}`. The status stays `healthy` while
/// a bad policy file is waiting to be fixed: the last good set is serving, and
/// `policyErrors` says what is wrong (an SDK's `is_healthy()` must not fail over it).
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.policies.load();
    let status = state.policy_status.load();
    json_response(
        StatusCode::OK,
        json!({
            "status": "healthy",
            "version": meshguard_core::VERSION,
            "mode": mode_str(state.config.mode),
            "policies": snapshot.summaries.len(),
            "policyErrors": status.errors,
            "agents": state.agents.active_count(),
            "auditQueueDepth": state.audit.depth(),
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
