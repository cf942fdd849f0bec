//! `GET /admin/audit` (query, or export with `format=json|csv`) and
//! `GET /admin/audit/stats`.
//!
//! Queries first wait (briefly) for the audit queue to be written, so an admin reading
//! right after a decision sees it. Exports stream page by page (keyset paging on the row
//! id) from a blocking task, so exporting millions of rows needs no more memory than one
//! page, and stop at the newest row that existed when the export began.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use meshguard_api::AuditPage;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::{ApiError, ApiResult, blocking, json_response};
use crate::clock;
use crate::state::AppState;
use crate::store::audit_query::{AuditFilter, CSV_HEADER};

/// Default page for a plain query (the SDK's default is 50 too).
const DEFAULT_LIMIT: usize = 50;
/// Largest plain query; exports have no limit.
const MAX_LIMIT: usize = 10_000;
/// Rows per export page.
const EXPORT_PAGE: usize = 1000;
/// Longest wait for the queue to be written before a query.
const FLUSH_WAIT: Duration = Duration::from_secs(2);

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditParams {
    limit: Option<usize>,
    decision: Option<String>,
    agent: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(alias = "trace_id", alias = "trace")]
    trace_id: Option<String>,
    status: Option<u16>,
    format: Option<String>,
    order: Option<String>,
}

fn filter(p: &AuditParams) -> ApiResult<AuditFilter> {
    if let Some(d) = &p.decision
        && !matches!(d.as_str(), "allow" | "deny" | "require_approval")
    {
        return Err(ApiError::bad_request(format!(
            "unknown decision `{d}`, expected allow, deny or require_approval"
        )));
    }
    let time = |v: &Option<String>, end: bool, what: &str| -> ApiResult<Option<i64>> {
        match v {
            None => Ok(None),
            Some(s) => clock::parse_filter(s, end).map(Some).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`{what}` must be an RFC 3339 instant, a date (YYYY-MM-DD) or milliseconds \
                     since the epoch, found `{s}`"
                ))
            }),
        }
    };
    let ascending = match p.order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(o) => {
            return Err(ApiError::bad_request(format!(
                "unknown order `{o}`, expected asc or desc"
            )));
        }
    };
    Ok(AuditFilter {
        decision: p.decision.clone(),
        agent: p.agent.clone(),
        action: p.action.clone(),
        from_ms: time(&p.from, false, "from")?,
        to_ms: time(&p.to, true, "to")?,
        trace_id: p.trace_id.clone(),
        status: p.status,
        ascending,
        max_id: None,
    })
}

/// `GET /admin/audit`.
pub async fn query(
    State(state): State<Arc<AppState>>,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> ApiResult {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut f = filter(&params)?;
    state.audit.flush(FLUSH_WAIT).await;
    match params.format.as_deref() {
        None => {
            let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
            let st = state.clone();
            let rows = blocking(move || st.audit_reader.page(&f, None, limit)).await??;
            let entries: Vec<_> = rows.iter().map(|r| r.to_api()).collect();
            Ok(json_response(
                StatusCode::OK,
                AuditPage {
                    count: entries.len(),
                    entries,
                    limit,
                },
            ))
        }
        Some(format @ ("json" | "csv")) => {
            let csv = format == "csv";
            let st = state.clone();
            f.max_id = blocking(move || st.audit_reader.max_id()).await??;
            Ok(export(state, f, params.limit, csv))
        }
        Some(other) => Err(ApiError::bad_request(format!(
            "unknown format `{other}`, expected json or csv"
        ))),
    }
}

fn export(state: Arc<AppState>, f: AuditFilter, limit: Option<usize>, csv: bool) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut remaining = limit.unwrap_or(usize::MAX);
        let mut after = None;
        let mut first = true;
        let head = if csv { CSV_HEADER } else { "{\"entries\":[" };
        if tx
            .blocking_send(Ok(Bytes::from_static(head.as_bytes())))
            .is_err()
        {
            return;
        }
        while remaining > 0 {
            let rows = match state
                .audit_reader
                .page(&f, after, remaining.min(EXPORT_PAGE))
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!("audit export failed: {e:#}");
                    let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                    return;
                }
            };
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            remaining = remaining.saturating_sub(rows.len());
            let mut chunk = String::with_capacity(rows.len() * 256);
            for r in &rows {
                if csv {
                    r.write_csv(&mut chunk);
                } else {
                    if !first {
                        chunk.push(',');
                    }
                    first = false;
                    chunk.push_str(&serde_json::to_string(&r.to_api()).unwrap_or_default());
                }
            }
            if tx.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                return; // the client went away
            }
        }
        if !csv {
            let _ = tx.blocking_send(Ok(Bytes::from_static(b"]}")));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    let (ctype, file) = if csv {
        (
            "text/csv; charset=utf-8",
            "attachment; filename=\"meshguard-audit.csv\"",
        )
    } else {
        (
            "application/json",
            "attachment; filename=\"meshguard-audit.json\"",
        )
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(file));
    resp
}

/// `GET /admin/audit/stats` parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    agent: Option<String>,
    /// Hours back from now (default 24).
    period: Option<u32>,
}

/// `GET /admin/audit/stats`.
pub async fn stats(
    State(state): State<Arc<AppState>>,
    params: Result<Query<StatsParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let hours = p.period.unwrap_or(24).clamp(1, 24 * 366);
    let since = clock::now_ms() - i64::from(hours) * 3_600_000;
    state.audit.flush(FLUSH_WAIT).await;
    let st = state.clone();
    let stats = blocking(move || st.audit_reader.stats(since, hours, p.agent.as_deref())).await??;
    Ok(json_response(StatusCode::OK, stats))
}
