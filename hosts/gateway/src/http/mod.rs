//! The HTTP surface: routes, the admin guard, and the error and body helpers every
//! handler shares. The contract is `hosts/gateway/API.md` (what the official SDKs speak).

pub mod admin_agents;
pub mod admin_audit;
pub mod admin_policies;
pub mod approvals;
pub mod bundle;
pub mod check;
pub mod console;
mod forwarded_path;
pub mod governance;
pub mod health;
pub mod proxy;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use http_body_util::BodyExt as _;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::CorsOrigins;
use crate::state::AppState;

/// An error answer: `{error, message}` plus optional extra fields.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Option<serde_json::Map<String, Value>>,
}

impl ApiError {
    /// Any status.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// Adds a field to the body.
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra
            .get_or_insert_with(Default::default)
            .insert(key.to_owned(), value);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A caller that is not authenticated: 401, or 503 when the gateway cannot tell.
impl From<crate::auth::AuthError> for ApiError {
    fn from(e: crate::auth::AuthError) -> Self {
        ApiError::new(e.status(), e.code(), e.reason())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!("internal error: {e:#}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error: {e:#}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), json!(self.code));
        body.insert("message".into(), json!(self.message));
        if let Some(extra) = self.extra {
            body.extend(extra);
        }
        (self.status, axum::Json(Value::Object(body))).into_response()
    }
}

/// A handler's result.
pub type ApiResult<T = Response> = Result<T, ApiError>;

/// A JSON answer (a `Value`, or one of `meshguard_api`'s types).
pub fn json_response(status: StatusCode, value: impl serde::Serialize) -> Response {
    (status, axum::Json(value)).into_response()
}

/// How much of a refused (too large) body is still read and thrown away before the 413
/// is sent, and for how long: a client that is still sending when the server answers and
/// closes gets a connection reset instead of the 413, so an honest client with a too
/// large body must be heard out — within bounds.
const DRAIN_MAX: usize = 8 << 20;
/// See [`DRAIN_MAX`].
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads and discards what is left of a body, up to [`DRAIN_MAX`] bytes and
/// [`DRAIN_TIME`].
pub async fn drain(mut body: Body) {
    let deadline = tokio::time::Instant::now() + DRAIN_TIME;
    let mut seen = 0usize;
    while seen <= DRAIN_MAX {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => seen += frame.data_ref().map_or(0, Bytes::len),
            _ => break,
        }
    }
}

/// Reads a whole body, refusing more than `MAX_BODY_BYTES` with 413 (checked against
/// `Content-Length` first, so an honest huge upload is refused without being kept) and a
/// body still arriving after `BODY_TIMEOUT_SECS` with 408 (a client sending a byte now
/// and then must not hold a connection and a task for ever).
pub async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> ApiResult<Bytes> {
    let limit = state.config.max_body_bytes;
    let timeout = state.config.body_timeout;
    match tokio::time::timeout(timeout, read_limited(headers, body, limit)).await {
        Ok(read) => read,
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} s (BODY_TIMEOUT_SECS)",
                timeout.as_secs()
            ),
        )),
    }
}

async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> ApiResult<Bytes> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {limit} bytes (MAX_BODY_BYTES)"),
        )
    };
    if content_length(headers).is_some_and(|n| n > limit as u64) {
        drain(body).await;
        return Err(too_large());
    }
    let mut body = body;
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        if let Some(data) = frame.data_ref() {
            if buf.len() + data.len() > limit {
                drain(body).await;
                return Err(too_large());
            }
            buf.extend_from_slice(data);
        }
    }
    Ok(Bytes::from(buf))
}

/// The `Content-Length` header, when present and readable.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok())
}

/// Parses a JSON object body into `T`, with serde's precise message on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    json_object(bytes).map_err(ApiError::bad_request)
}

/// Parses a body that must be a JSON object. serde would also read a JSON array as a
/// struct's fields in order (`["write:email"]` as `{action}`), so anything but an object
/// is refused first.
pub fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err("the request body is empty; expected a JSON object".to_owned()),
        Some(b'{') => serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON body: {e}")),
        Some(_) => Err("the request body must be a JSON object".to_owned()),
    }
}

/// Runs blocking work (SQLite, compiling policies) off the async workers.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::from(anyhow::anyhow!("a blocking task failed: {e}")))
}

async fn require_admin(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if state.admin.accepts(req.headers()) {
        next.run(req).await
    } else {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid admin token (X-Admin-Token)",
        )
        .into_response()
    }
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
}

/// Every route.
pub fn router(state: Arc<AppState>) -> Router {
    let admin = Router::new()
        .route(
            "/agents",
            get(admin_agents::list).post(admin_agents::create),
        )
        .route(
            "/agents/{id}",
            get(admin_agents::get)
                .patch(admin_agents::update)
                .delete(admin_agents::revoke),
        )
        .route("/agents/{id}/token", post(admin_agents::rotate))
        .route("/policies", get(admin_policies::list))
        .route("/policies/status", get(admin_policies::status))
        .route("/policies/validate", post(admin_policies::validate))
        .route("/policies/test", post(admin_policies::test))
        .route(
            "/policies/{name}",
            get(admin_policies::get)
                .put(admin_policies::apply)
                .delete(admin_policies::delete),
        )
        .route("/audit", get(admin_audit::query))
        .route("/audit/stats", get(admin_audit::stats))
        .route("/audit/stream", get(admin_audit::stream))
        .route("/approvals", get(approvals::list))
        .route("/approvals/{id}", get(approvals::get))
        .route("/approvals/{id}/approve", post(approvals::approve))
        .route("/approvals/{id}/deny", post(approvals::deny))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin));
    let mut router = Router::new()
        .route("/", get(console::root))
        .route("/console/{*path}", get(console::file))
        .route("/health", get(health::health));
    if state.config.metrics_enabled {
        router = router.route("/metrics", get(health::metrics));
    }
    let cors = state.config.cors.clone();
    let trace_header = state.config.trace_header.clone();
    let router = router
        .route("/proxy/check", any(check::proxy_check))
        .route("/proxy/governance/check", post(governance::check))
        .route("/proxy/governance/record", post(governance::record))
        .route("/v1/audit", post(governance::report))
        .route("/v1/audit/batch", post(bundle::batch))
        .route("/v1/policies/bundle", get(bundle::bundle))
        .route("/v1/policies/bundle/key", get(bundle::key))
        .route("/proxy/{*path}", any(proxy::forward))
        .route("/v1/check", post(check::v1_check))
        .nest("/admin", admin)
        .fallback(not_found)
        .with_state(state);
    match cors {
        Some(origins) => router.layer(cors_layer(origins, trace_header.as_deref())),
        None => router,
    }
}

/// The CORS layer for `CORS_ORIGIN`: the origins allowed, the methods and headers the
/// API uses, and the headers a browser script may read from an answer.
fn cors_layer(origins: CorsOrigins, trace_header: Option<&str>) -> CorsLayer {
    let allow = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(list),
    };
    let mut headers = vec![
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        HeaderName::from_static("x-admin-token"),
        HeaderName::from_static("x-meshguard-action"),
        HeaderName::from_static("x-meshguard-resource"),
        HeaderName::from_static("x-meshguard-context"),
        HeaderName::from_static("x-meshguard-trace-id"),
        HeaderName::from_static("x-trace-id"),
    ];
    headers.extend(trace_header.and_then(|h| HeaderName::from_bytes(h.as_bytes()).ok()));
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers(headers)
        .expose_headers([
            HeaderName::from_static("x-meshguard-trace-id"),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600))
}
