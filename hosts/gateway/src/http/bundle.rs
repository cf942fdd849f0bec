//! Local decisions that follow the gateway (API.md, "Policy bundles"):
//!
//! - `GET /v1/policies/bundle` (agent token): the serving set's files, fallback, mode
//!   and the calling agent (local decisions default to it) as JSON, its exact bytes signed with the gateway's Ed25519 key
//!   (`X-MeshGuard-Signature`), `version` (a SHA-256 of the contents) as the `ETag`; a
//!   client polling with `If-None-Match` gets 304 until the set changes.
//! - `GET /v1/policies/bundle/key` (public): the key clients pin.
//! - `POST /v1/audit/batch` (agent token): decisions a client made from a bundle, stored
//!   as audit rows (endpoint `local`) under the agent that sent them, answered 201 once
//!   every row is committed.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use meshguard_api::{
    BundleAgent, BundleFile, BundleKey, LocalDecisions, LocalRecorded, PolicyBundle,
};
use sha2::{Digest, Sha256};

use super::check::{authenticate, normalize_trace_id};
use super::governance::reported_decision;
use super::{ApiError, ApiResult, json_response, read_body};
use crate::config::mode_str;
use crate::decide::clip_to as clip;
use crate::state::AppState;
use crate::store::audit::AuditEntry;
use crate::{auth, clock};

/// The signature header.
pub const SIGNATURE: &str = "X-MeshGuard-Signature";
/// Most decisions in one batch.
const BATCH_MAX: usize = 1000;
/// Longest text field of a local decision kept.
const TEXT_MAX: usize = 16 * 1024;

/// `GET /v1/policies/bundle`.
pub async fn bundle(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Response> {
    let agent = authenticate(&state, &headers)?;
    let agent = BundleAgent {
        id: agent.id.clone(),
        name: agent.name.clone(),
        trust_tier: agent.trust_tier.clone(),
        tags: agent.tags.clone(),
        org_id: agent.org_id.clone(),
    };
    let snapshot = state.policies.load_full();
    let mode = mode_str(state.config.mode);
    let fallback = state.config.fallback.as_str();
    let mut digest = Sha256::new();
    for f in &snapshot.files {
        for part in [f.file_name.as_bytes(), b"\0", f.text.as_bytes(), b"\0"] {
            digest.update(part);
        }
    }
    digest.update(format!("{fallback}\0{mode}\0").as_bytes());
    digest.update(&serde_json::to_vec(&agent).map_err(anyhow::Error::from)?);
    let version = auth::hex(&digest.finalize());
    let etag = format!("\"{version}\"");
    let unchanged = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == etag || t.trim() == "*");
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let bundle = PolicyBundle {
        version,
        loaded_at: clock::rfc3339_ms(snapshot.loaded_at_ms),
        mode: mode.to_owned(),
        fallback: fallback.to_owned(),
        policies: snapshot
            .files
            .iter()
            .map(|f| BundleFile {
                name: f.file_name.clone(),
                text: f.text.clone(),
            })
            .collect(),
        agent,
    };
    let body = serde_json::to_vec(&bundle).map_err(anyhow::Error::from)?;
    let signature = state.signer.sign(&body);
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in [
        (header::ETAG.as_str(), etag),
        (SIGNATURE, signature),
        ("X-MeshGuard-Key-ID", state.signer.key_id.clone()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    Ok(response)
}

/// `GET /v1/policies/bundle/key`.
pub async fn key(State(state): State<Arc<AppState>>) -> Response {
    json_response(
        StatusCode::OK,
        BundleKey {
            algorithm: "Ed25519".to_owned(),
            public_key: state.signer.public_key.clone(),
            key_id: state.signer.key_id.clone(),
        },
    )
}

/// `POST /v1/audit/batch`.
pub async fn batch(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let started = Instant::now();
    let agent = match authenticate(&state, &headers) {
        Ok(a) => a,
        Err(e) => {
            super::drain(body).await;
            return Err(e.into());
        }
    };
    let bytes = read_body(&state, &headers, body).await?;
    let b: LocalDecisions = super::json_object(&bytes).map_err(ApiError::bad_request)?;
    if b.decisions.len() > BATCH_MAX {
        return Err(ApiError::bad_request(format!(
            "{} decisions in one batch; at most {BATCH_MAX}",
            b.decisions.len()
        )));
    }
    let now = clock::now_ms();
    let mut entries = Vec::with_capacity(b.decisions.len());
    for (i, d) in b.decisions.into_iter().enumerate() {
        let decision = reported_decision(&d.decision)
            .map_err(|e| ApiError::bad_request(format!("decisions[{i}]: {e}")))?;
        if d.action.trim().is_empty() {
            return Err(ApiError::bad_request(format!(
                "decisions[{i}]: `action` is empty"
            )));
        }
        let trace_id = match d.trace_id {
            Some(t) => normalize_trace_id(&t, &format!("decisions[{i}].traceId"))
                .map_err(ApiError::bad_request)?,
            None => auth::new_trace_id(),
        };
        let reason = d.reason.unwrap_or_default();
        entries.push(AuditEntry {
            // When the client says it decided (never in the future of this gateway).
            ts_ms: d.timestamp.map_or(now, |t| t.min(now)),
            trace_id,
            agent_id: Some(agent.id.clone()),
            agent_name: Some(agent.name.clone()),
            action: clip(d.action, TEXT_MAX),
            resource: d.resource.map(|r| clip(r, TEXT_MAX)),
            decision,
            allowed: d.allowed,
            policy: d.policy.map(|p| clip(p, TEXT_MAX)),
            rule: d.rule.map(|r| clip(r, TEXT_MAX)),
            reason: clip(reason, TEXT_MAX),
            mode: mode_str(state.config.mode),
            status: StatusCode::CREATED.as_u16(),
            latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            endpoint: "local",
            context: None,
            approval_id: None,
            outcome: d.bundle_version.map(|v| clip(format!("bundle {v}"), 128)),
            result: None,
        });
    }
    let recorded = entries.len();
    let results =
        futures_util::future::join_all(entries.into_iter().map(|e| state.audit.record(e))).await;
    if results.iter().any(Result::is_err) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "the audit log is not accepting entries; send the batch again",
        ));
    }
    Ok(json_response(
        StatusCode::CREATED,
        LocalRecorded { recorded },
    ))
}
