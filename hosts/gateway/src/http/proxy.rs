//! `ANY /proxy/{path}`: decide, then forward to `PROXY_TARGET`.
//!
//! The action comes from `X-MeshGuard-Action`. The decision is bound to what is
//! forwarded: the path after `/proxy` is read once ([`forwarded_path`]: decoded, dot
//! segments and encoded separators refused) and that reading is both decided on and
//! forwarded; the method, the decoded path and the query are in the context as
//! `http.method`, `http.path` and `http.query` whatever the caller sent; the resource is
//! `X-MeshGuard-Resource`, else the decoded path. Only an allowed request is forwarded:
//! method, path, query, headers (minus `Authorization`, every `X-MeshGuard-*` spelling
//! and hop-by-hop headers) and body, streamed both ways. The gateway adds
//! `X-MeshGuard-Trace-ID` and `X-MeshGuard-Agent-ID` so the upstream can correlate; the
//! caller cannot forge them because its own are removed.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::Limited;
use hyper_util::client::legacy::Client;
use meshguard_tls::rustls::ClientConfig;
use serde_json::json;

use super::check::intake_from_headers;
use super::{content_length, forwarded_path, json_response};
use crate::config::HttpTarget;
use crate::decide::{self, Parts, Refusal};
use crate::outbound;
use crate::state::AppState;

type ProxyBody = Limited<Body>;

/// The configured upstream and a pooled HTTP/1 client (TLS for `https://`).
#[derive(Debug, Clone)]
pub struct Upstream {
    client: Client<outbound::Connector, ProxyBody>,
    target: HttpTarget,
    timeout: Duration,
}

impl Upstream {
    /// A client for `target`.
    pub fn new(target: HttpTarget, timeout: Duration, tls: &Arc<ClientConfig>) -> Upstream {
        Upstream {
            client: outbound::client(tls),
            target,
            timeout,
        }
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, never forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in HOP_BY_HOP {
        headers.remove(n);
    }
}

/// Whether an upstream could read `name` as one of the gateway's own headers: any
/// `X-MeshGuard-*` spelling, `_` for `-` included (some servers fold `_` into `-`).
fn is_gateway_header(name: &HeaderName) -> bool {
    let n = name.as_str().as_bytes();
    n.len() > 12
        && n[..12]
            .iter()
            .zip(b"x-meshguard-")
            .all(|(a, b)| a == b || (*a == b'_' && *b == b'-'))
}

/// Puts what is forwarded into the question: `http.method`, `http.path` (decoded) and,
/// when there is one, `http.query` (as sent) in the context, replacing any `http` the
/// caller sent, so a policy can tell `DELETE /admin/users/1` from `GET /api/contacts`
/// whatever the agent's headers say.
fn bind_to_request(p: &mut Parts, method: &Method, path: &str, query: Option<&str>) {
    let mut http = serde_json::Map::new();
    http.insert("method".to_owned(), method.as_str().into());
    http.insert("path".to_owned(), path.into());
    if let Some(q) = query {
        http.insert("query".to_owned(), q.into());
    }
    p.context
        .get_or_insert_with(serde_json::Map::new)
        .insert("http".to_owned(), http.into());
}

/// Forwards after the decision.
pub async fn forward(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let raw_path = parts
        .uri
        .path()
        .strip_prefix("/proxy")
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/");
    let path = forwarded_path::read(raw_path);
    let default_resource = path.as_ref().map_or(raw_path, |p| p.decoded.as_str());
    let mut intake = intake_from_headers(
        &state,
        &parts.headers,
        "proxy",
        Some(default_resource),
        started,
    );
    if let Ok(p) = &mut intake.parts {
        match &path {
            Ok(path) => bind_to_request(p, &parts.method, &path.decoded, parts.uri.query()),
            Err(problem) => {
                intake.parts = Err(Refusal {
                    status: StatusCode::BAD_REQUEST,
                    message: problem.clone(),
                    action: p.action.clone(),
                    resource: p.resource.clone(),
                });
            }
        }
    }
    let limit = state.config.max_body_bytes;
    if content_length(&parts.headers).is_some_and(|n| n > limit as u64)
        && let Ok(p) = &intake.parts
    {
        intake.parts = Err(Refusal {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("the request body is larger than {limit} bytes (MAX_BODY_BYTES)"),
            action: p.action.clone(),
            resource: p.resource.clone(),
        });
    }
    let answer = decide::decide(&state, intake).await;
    let Ok(path) = path.map(|p| p.encoded) else {
        // Refused above; `decide` answered 400 without allowing.
        super::drain(body).await;
        return answer.into_response();
    };
    if !answer.allowed() {
        // Not forwarded: read what the client is still sending (bounded), or closing the
        // connection on unread data could reset it before the answer is read.
        super::drain(body).await;
        return answer.into_response();
    }
    let Some(up) = &state.upstream else {
        return json_response(
            StatusCode::BAD_GATEWAY,
            json!({
                "error": "no_upstream",
                "message": "the request was allowed, but PROXY_TARGET is not configured",
                "traceId": answer.trace_id,
            }),
        );
    };

    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let uri: Uri = match up.target.join(&format!("{path}{query}")).parse() {
        Ok(u) => u,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": "bad_request", "message": format!("cannot build the upstream URL: {e}")}),
            );
        }
    };
    let mut headers = parts.headers.clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::AUTHORIZATION);
    headers.remove(header::HOST);
    let own: Vec<HeaderName> = headers
        .keys()
        .filter(|k| is_gateway_header(k))
        .cloned()
        .collect();
    for k in own {
        headers.remove(k);
    }
    if let Ok(v) = HeaderValue::from_str(&answer.trace_id) {
        headers.insert("x-meshguard-trace-id", v);
    }
    if let Some(agent) = &answer.agent
        && let Ok(v) = HeaderValue::from_str(&agent.id)
    {
        headers.insert("x-meshguard-agent-id", v);
    }
    let mut out = axum::http::Request::new(Limited::new(body, limit));
    *out.method_mut() = parts.method.clone();
    *out.uri_mut() = uri;
    *out.headers_mut() = headers;

    let result = tokio::time::timeout(up.timeout, up.client.request(out)).await;
    let failure = match result {
        Ok(Ok(resp)) => {
            let (mut rparts, rbody) = resp.into_parts();
            strip_hop_by_hop(&mut rparts.headers);
            if let Ok(v) = HeaderValue::from_str(&answer.trace_id) {
                rparts.headers.insert("x-meshguard-trace-id", v);
            }
            return Response::from_parts(rparts, Body::new(rbody));
        }
        Ok(Err(e)) => format!("the upstream request failed: {}", outbound::describe(&e)),
        Err(_) => format!("the upstream did not answer within {:?}", up.timeout),
    };
    state.metrics.proxy_errors.fetch_add(1, Relaxed);
    tracing::warn!(trace_id = %answer.trace_id, upstream = %up.target.url, "{failure}");
    json_response(
        StatusCode::BAD_GATEWAY,
        json!({"error": "bad_gateway", "message": failure, "traceId": answer.trace_id}),
    )
}
