//! `/admin/approvals`: list (optionally by status), get, approve, deny.
//!
//! An approved approval lets the same agent do the same action on the same resource
//! once (see `store::approvals`); denying only closes it (the agent keeps getting 403 and
//! a new approval when it asks again).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use meshguard_api::{ApprovalList, ApprovalVerdict};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ApiResult, blocking, json_response, parse_json, read_body};
use crate::clock;
use crate::state::AppState;
use crate::store::approvals::{DecideError, Verdict};

/// `GET /admin/approvals` parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    status: Option<String>,
    limit: Option<usize>,
}

/// `GET /admin/approvals`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if let Some(s) = &p.status
        && !matches!(s.as_str(), "pending" | "approved" | "denied" | "used")
    {
        return Err(ApiError::bad_request(format!(
            "unknown status `{s}`, expected pending, approved, denied or used"
        )));
    }
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let items = blocking(move || state.approvals.list(p.status.as_deref(), limit)).await??;
    let approvals = items.iter().map(|a| a.to_api()).collect();
    Ok(json_response(StatusCode::OK, ApprovalList { approvals }))
}

/// `GET /admin/approvals/{id}`.
pub async fn get(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let key = id.clone();
    match blocking(move || state.approvals.get(&key)).await?? {
        Some(a) => Ok(json_response(StatusCode::OK, a.to_api())),
        None => Err(ApiError::not_found(format!("no approval `{id}`"))),
    }
}

async fn decide(
    state: Arc<AppState>,
    id: String,
    headers: HeaderMap,
    body: Body,
    approve: bool,
) -> ApiResult {
    let bytes = read_body(&state, &headers, body).await?;
    let b: ApprovalVerdict = if bytes.iter().all(u8::is_ascii_whitespace) {
        ApprovalVerdict::default()
    } else {
        parse_json(&bytes)?
    };
    let by = b.by.unwrap_or_else(|| "admin".to_owned());
    let now = clock::now_ms();
    let key = id.clone();
    let result = blocking(move || {
        state.approvals.decide(
            &Verdict {
                id: &key,
                approve,
                by: Some(&by),
                note: b.note.as_deref(),
                any_context: b.any_context,
            },
            now,
        )
    })
    .await?;
    match result {
        Ok(a) => {
            tracing::info!(approval = %a.id, status = %a.status, by = ?a.decided_by, "approval decided");
            Ok(json_response(StatusCode::OK, a.to_api()))
        }
        Err(DecideError::NotFound) => Err(ApiError::not_found(format!("no approval `{id}`"))),
        Err(DecideError::AlreadyDecided(a)) => Err(ApiError::conflict(format!(
            "approval `{id}` is already {}",
            a.status
        ))
        .with("approval", json!(a.to_api()))),
        Err(DecideError::Internal(e)) => Err(ApiError::from(e)),
    }
}

/// `POST /admin/approvals/{id}/approve`.
pub async fn approve(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    decide(state, id, headers, body, true).await
}

/// `POST /admin/approvals/{id}/deny`.
pub async fn deny(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    decide(state, id, headers, body, false).await
}
