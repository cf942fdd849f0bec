//! `/admin/agents`: list, create (the only time a token is shown), get, patch, revoke,
//! rotate the token. `{id}` is an agent id, or the name of an active agent.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::{ApiError, ApiResult, blocking, json_response, parse_json, read_body};
use crate::state::AppState;
use meshguard_api::{AgentCreated, AgentList, AgentPatch, AgentRevoked, NewAgent, TokenRotated};

use crate::store::agents::AgentError;

impl From<AgentError> for ApiError {
    fn from(e: AgentError) -> Self {
        match e {
            AgentError::Invalid(m) => ApiError::bad_request(m),
            AgentError::NameTaken(id) => {
                ApiError::conflict(format!("an active agent with this name exists ({id})"))
                    .with("agentId", json!(id))
            }
            AgentError::NotFound => ApiError::not_found("no such agent"),
            AgentError::Revoked => ApiError::conflict("the agent is revoked"),
            AgentError::Internal(e) => ApiError::from(e),
        }
    }
}

/// `GET /admin/agents`.
pub async fn list(State(state): State<Arc<AppState>>) -> ApiResult {
    let agents = blocking(move || state.agents.list()).await??;
    let agents = agents.iter().map(|a| a.to_api()).collect();
    Ok(json_response(StatusCode::OK, AgentList { agents }))
}

/// `POST /admin/agents` → 201 with the token.
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let bytes = read_body(&state, &headers, body).await?;
    let new: NewAgent = parse_json(&bytes)?;
    let st = state.clone();
    let (agent, token) = blocking(move || st.agents.create(new)).await??;
    tracing::info!(agent = %agent.id, name = %agent.name, tier = %agent.trust_tier, "agent created");
    Ok(json_response(
        StatusCode::CREATED,
        AgentCreated {
            agent: agent.to_api(),
            token,
        },
    ))
}

/// `GET /admin/agents/{id}`.
pub async fn get(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let key = id.clone();
    let agent = blocking(move || state.agents.get(&key)).await??;
    match agent {
        Some(a) => Ok(json_response(StatusCode::OK, a.to_api())),
        None => Err(ApiError::not_found(format!("no agent `{id}`"))),
    }
}

/// `PATCH /admin/agents/{id}`.
pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let bytes = read_body(&state, &headers, body).await?;
    let patch: AgentPatch = parse_json(&bytes)?;
    let agent = blocking(move || state.agents.update(&id, patch)).await??;
    tracing::info!(agent = %agent.id, "agent updated");
    Ok(json_response(StatusCode::OK, agent.to_api()))
}

/// `DELETE /admin/agents/{id}`: revokes; the token fails from the next request on.
pub async fn revoke(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let agent = blocking(move || state.agents.revoke(&id)).await??;
    tracing::warn!(agent = %agent.id, name = %agent.name, "agent revoked");
    Ok(json_response(
        StatusCode::OK,
        AgentRevoked {
            id: agent.id.clone(),
            revoked: true,
            agent: agent.to_api(),
        },
    ))
}

/// `POST /admin/agents/{id}/token`: a new token; the old one stops working.
pub async fn rotate(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let (agent, token) = blocking(move || state.agents.rotate(&id)).await??;
    tracing::warn!(agent = %agent.id, "agent token rotated");
    Ok(json_response(
        StatusCode::OK,
        TokenRotated {
            id: agent.id,
            token,
        },
    ))
}
