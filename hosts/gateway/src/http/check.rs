//! `GET /proxy/check` (the SDKs' check: the question in `X-MeshGuard-*` headers) and
//! `POST /v1/check` (the same question as a JSON body).
//!
//! Both only collect and check the input; [`crate::decide`] does the rest. Header values
//! are read as raw bytes and must be UTF-8 (HTTP allows other bytes in headers; a
//! resource that is not text is refused, never guessed at). A header sent twice is
//! refused too: two `X-MeshGuard-Action` values would leave it open which one was
//! checked and which one the caller acts on.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use meshguard_api::CheckRequest;
use serde_json::{Map, Value};

use crate::auth::{self, AuthError};
use crate::decide::{self, Intake, Parts, Refusal};
use crate::state::AppState;
use crate::store::agents::AgentRecord;

/// Header names, as written in the SDKs.
pub const ACTION: &str = "X-MeshGuard-Action";
/// The resource header.
pub const RESOURCE: &str = "X-MeshGuard-Resource";
/// The context header (a JSON object).
pub const CONTEXT: &str = "X-MeshGuard-Context";
/// The trace id header.
pub const TRACE: &str = "X-MeshGuard-Trace-ID";
/// The trace id header of the docs' AutoGPT gateway class, read when [`TRACE`] is absent.
pub const TRACE_SHORT: &str = "X-Trace-ID";

/// The authenticated agent, or why not.
pub fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Arc<AgentRecord>, AuthError> {
    let token = auth::bearer(headers)?;
    state.agents.authenticate(token)
}

/// One header as UTF-8 text: `Ok(None)` when absent; an error when repeated or not UTF-8.
pub fn header_text(headers: &HeaderMap, name: &str) -> Result<Option<String>, String> {
    let mut values = headers.get_all(name).iter();
    let Some(v) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(format!("more than one `{name}` header"));
    }
    std::str::from_utf8(v.as_bytes())
        .map(|s| Some(s.to_owned()))
        .map_err(|e| {
            format!(
                "`{name}` is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            )
        })
}

fn lossy(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Longest trace id accepted, in characters (before encoding).
const TRACE_MAX_CHARS: usize = 128;

/// A caller's trace id as the gateway keeps it, or why it is refused. Any text of 1 to
/// [`TRACE_MAX_CHARS`] characters without control characters is accepted (the SDKs
/// send UUIDs, `trace_…` ids, and whatever a caller's tracing system made); spaces,
/// `%` and non-ASCII characters are percent-encoded (UTF-8), so the id stays one visible
/// ASCII token in headers, URLs and CSV.
pub fn normalize_trace_id(raw: &str, what: &str) -> Result<String, String> {
    let chars = raw.chars().count();
    if chars == 0 || chars > TRACE_MAX_CHARS || raw.chars().any(char::is_control) {
        return Err(format!(
            "{what} must be 1 to {TRACE_MAX_CHARS} characters without control characters"
        ));
    }
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_graphic() && c != '%' {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    Ok(out)
}

/// The trace id headers read, first found wins: `X-MeshGuard-Trace-ID`, the configured
/// `TRACE_HEADER`, `X-Trace-ID`.
fn trace_header<'a>(headers: &HeaderMap, configured: Option<&'a str>) -> Option<&'a str> {
    [Some(TRACE), configured, Some(TRACE_SHORT)]
        .into_iter()
        .flatten()
        .find(|name| headers.contains_key(*name))
}

/// The caller's trace id if it is usable, else a new one and the problem.
pub fn trace_id(headers: &HeaderMap, configured: Option<&str>) -> (String, Option<String>) {
    let Some(name) = trace_header(headers, configured) else {
        return (auth::new_trace_id(), None);
    };
    match header_text(headers, name)
        .and_then(|t| normalize_trace_id(t.as_deref().unwrap_or(""), &format!("`{name}`")))
    {
        Ok(t) => (t, None),
        Err(e) => (auth::new_trace_id(), Some(e)),
    }
}

fn context_object(text: &str, what: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("{what} must be a JSON object")),
        Err(e) => Err(format!("{what} is not valid JSON: {e}")),
    }
}

/// Reads the question from the `X-MeshGuard-*` headers; `default_resource` is used
/// when no resource header is sent (the proxy passes the request path).
pub fn parts_from_headers(
    headers: &HeaderMap,
    default_resource: Option<&str>,
) -> Result<Parts, Refusal> {
    let refuse = |message: String| Refusal {
        status: StatusCode::BAD_REQUEST,
        message,
        action: lossy(headers, ACTION).unwrap_or_default(),
        resource: lossy(headers, RESOURCE).or_else(|| default_resource.map(str::to_owned)),
    };
    let action = match header_text(headers, ACTION).map_err(refuse)? {
        Some(a) if !a.trim().is_empty() => a,
        Some(_) => return Err(refuse(format!("`{ACTION}` is empty"))),
        None => return Err(refuse(format!("missing `{ACTION}` header"))),
    };
    let resource = header_text(headers, RESOURCE)
        .map_err(refuse)?
        .or_else(|| default_resource.map(str::to_owned));
    let context = match header_text(headers, CONTEXT).map_err(refuse)? {
        Some(text) => Some(context_object(&text, &format!("`{CONTEXT}`")).map_err(refuse)?),
        None => None,
    };
    Ok(Parts {
        action,
        resource,
        context,
    })
}

/// Collects an [`Intake`] from headers.
pub fn intake_from_headers(
    state: &AppState,
    headers: &HeaderMap,
    endpoint: &'static str,
    default_resource: Option<&str>,
    started: Instant,
) -> Intake {
    let (trace_id, trace_problem) = trace_id(headers, state.config.trace_header.as_deref());
    let mut parts = parts_from_headers(headers, default_resource);
    if let (Some(problem), Ok(p)) = (trace_problem, &parts) {
        parts = Err(Refusal {
            status: StatusCode::BAD_REQUEST,
            message: problem,
            action: p.action.clone(),
            resource: p.resource.clone(),
        });
    }
    Intake {
        started,
        endpoint,
        trace_id,
        auth: authenticate(state, headers),
        parts,
        explain: false,
        refusal_status: None,
    }
}

/// `GET /proxy/check` (any method: the AutoGPT plugin of the docs POSTs). The question is
/// in the headers; a body, if any, is drained (bounded) and ignored.
pub async fn proxy_check(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let intake = intake_from_headers(&state, &headers, "check", None, Instant::now());
    let answer = decide::decide(&state, intake).await;
    super::drain(body).await;
    answer.into_response()
}

/// `POST /v1/check`: `{action, resource?, context?, explain?, traceId?}`.
pub async fn v1_check(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let intake = intake_from_json(&state, &headers, body, "v1").await;
    decide::decide(&state, intake).await.into_response()
}

/// Reads the question from a JSON body `{action, resource?, context?, explain?,
/// traceId?}` (`POST /v1/check`, `POST /proxy/governance/check`).
pub async fn intake_from_json(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    endpoint: &'static str,
) -> Intake {
    let started = Instant::now();
    let (mut trace_id, mut trace_problem) = trace_id(headers, state.config.trace_header.as_deref());
    let auth = authenticate(state, headers);
    let mut explain = false;
    let refuse = |status: StatusCode, message: String| Refusal {
        status,
        message,
        action: String::new(),
        resource: None,
    };
    // The body of an unauthenticated caller is not parsed, only drained (bounded), so
    // the 401 reaches it instead of a connection reset.
    let parts = if auth.is_err() {
        super::drain(body).await;
        Err(refuse(StatusCode::UNAUTHORIZED, String::new()))
    } else {
        match super::read_body(state, headers, body).await {
            Err(e) => Err(refuse(e.status(), e.message().to_owned())),
            Ok(bytes) => match super::json_object::<CheckRequest>(&bytes) {
                Err(message) => Err(refuse(StatusCode::BAD_REQUEST, message)),
                Ok(b) => {
                    explain = b.explain;
                    if headers.get(TRACE).is_none()
                        && let Some(t) = b.trace_id
                    {
                        match normalize_trace_id(&t, "`traceId`") {
                            Ok(t) => (trace_id, trace_problem) = (t, None),
                            Err(e) => trace_problem = Some(e),
                        }
                    }
                    let context = match b.context {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::Object(m)) => Ok(Some(m)),
                        Some(_) => Err("`context` must be a JSON object".to_owned()),
                    };
                    let problem = trace_problem.take().or_else(|| {
                        if b.action.trim().is_empty() {
                            Some("`action` is empty".to_owned())
                        } else {
                            context.as_ref().err().cloned()
                        }
                    });
                    match problem {
                        Some(message) => Err(Refusal {
                            status: StatusCode::BAD_REQUEST,
                            message,
                            action: b.action,
                            resource: b.resource,
                        }),
                        None => Ok(Parts {
                            action: b.action,
                            resource: b.resource,
                            context: context.unwrap_or_default(),
                        }),
                    }
                }
            },
        }
    };
    Intake {
        started,
        endpoint,
        trace_id,
        auth,
        parts,
        explain,
        refusal_status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn headers_are_read_strictly() {
        let mut h = HeaderMap::new();
        assert!(parts_from_headers(&h, None).is_err());
        h.insert(ACTION, HeaderValue::from_static("read:file"));
        h.insert(RESOURCE, HeaderValue::from_bytes(b"/tmp/\xff").unwrap());
        let r = parts_from_headers(&h, None).unwrap_err();
        assert!(r.message.contains("not valid UTF-8"), "{}", r.message);
        assert_eq!(r.action, "read:file");
        h.insert(RESOURCE, HeaderValue::from_static("/workspace/a"));
        h.insert(CONTEXT, HeaderValue::from_static("[1]"));
        assert!(parts_from_headers(&h, None).is_err());
        h.insert(CONTEXT, HeaderValue::from_static("{\"channel\":\"slack\"}"));
        let p = parts_from_headers(&h, None).unwrap();
        assert_eq!(p.resource.as_deref(), Some("/workspace/a"));
        h.append(ACTION, HeaderValue::from_static("write:file"));
        assert!(
            parts_from_headers(&h, None)
                .unwrap_err()
                .message
                .contains("more than one")
        );
    }

    #[test]
    fn trace_ids() {
        let mut h = HeaderMap::new();
        assert!(trace_id(&h, None).1.is_none());
        h.insert("x-request-id", HeaderValue::from_static("req-1"));
        assert_eq!(
            trace_id(&h, Some("x-request-id")),
            ("req-1".to_owned(), None)
        );
        h.insert(TRACE_SHORT, HeaderValue::from_static("short-1"));
        assert_eq!(trace_id(&h, None).0, "short-1");
        assert_eq!(trace_id(&h, Some("x-request-id")).0, "req-1");
        h.insert(TRACE, HeaderValue::from_static("abc-123"));
        assert_eq!(
            trace_id(&h, Some("x-request-id")),
            ("abc-123".to_owned(), None)
        );
        h.insert(TRACE, HeaderValue::from_static("a b"));
        assert_eq!(trace_id(&h, None), ("a%20b".to_owned(), None));
        h.insert(
            TRACE,
            HeaderValue::from_bytes("tr\u{e9}ce 50%".as_bytes()).unwrap(),
        );
        assert_eq!(trace_id(&h, None).0, "tr%C3%A9ce%2050%25");
        h.insert(TRACE, HeaderValue::from_bytes(b"a\tb").unwrap());
        assert!(trace_id(&h, None).1.unwrap().contains("control"));
        h.insert(TRACE, HeaderValue::from_str(&"x".repeat(129)).unwrap());
        assert!(trace_id(&h, None).1.is_some());
        h.insert(TRACE, HeaderValue::from_str(&"\u{e9}".repeat(128)).unwrap());
        assert!(trace_id(&h, None).1.is_none());
    }
}
