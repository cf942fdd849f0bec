//! `GET /admin/audit` (query, or export with `format=json|csv`),
//! `GET /admin/audit/stats` and `GET /admin/audit/stream` (new entries as Server-Sent
//! Events, for the console).
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
use axum::response::sse::{Event, KeepAlive, Sse};
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
#[derive(Debug, Default, Deserialize)]
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
        min_id: None,
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
    /// Seconds per interval of the `series` (none: no series).
    bucket: Option<u32>,
}

/// The shortest and longest `bucket` of the stats series, in seconds: at least 10 s, and
/// at most a day.
const BUCKET_RANGE: std::ops::RangeInclusive<u32> = 10..=86_400;
/// Most intervals one series may have (a chart needs hundreds, not millions of points).
const MAX_INTERVALS: u64 = 10_000;

/// `GET /admin/audit/stats`.
pub async fn stats(
    State(state): State<Arc<AppState>>,
    params: Result<Query<StatsParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if let Some(b) = p.bucket
        && !BUCKET_RANGE.contains(&b)
    {
        return Err(ApiError::bad_request(format!(
            "`bucket` must be between {} and {} seconds, found `{b}`",
            BUCKET_RANGE.start(),
            BUCKET_RANGE.end()
        )));
    }
    let hours = p.period.unwrap_or(24).clamp(1, 24 * 366);
    if let Some(b) = p.bucket {
        let intervals = u64::from(hours) * 3600 / u64::from(b);
        if intervals > MAX_INTERVALS {
            return Err(ApiError::bad_request(format!(
                "a `bucket` of {b} s over {hours} hour(s) makes {intervals} intervals; at \
                 most {MAX_INTERVALS} (a longer bucket or a shorter period)"
            )));
        }
    }
    let since = clock::now_ms() - i64::from(hours) * 3_600_000;
    state.audit.flush(FLUSH_WAIT).await;
    let st = state.clone();
    let stats = blocking(move || -> anyhow::Result<_> {
        let agent = p.agent.as_deref();
        let mut stats = st.audit_reader.stats(since, hours, agent)?;
        if let Some(b) = p.bucket {
            stats.series = Some(st.audit_reader.series(since, i64::from(b) * 1000, agent)?);
        }
        Ok(stats)
    })
    .await??;
    Ok(json_response(StatusCode::OK, stats))
}

/// `GET /admin/audit/stream` parameters: the filters of `GET /admin/audit` that make
/// sense for new entries, and where to start.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamParams {
    decision: Option<String>,
    agent: Option<String>,
    action: Option<String>,
    /// Entries after this id (default: the newest when the stream opens). A reconnecting
    /// `EventSource` sends `Last-Event-ID` instead.
    after: Option<i64>,
}

/// Most entries one poll of a stream sends; when more are new, the oldest of them are
/// skipped and a `gap` event says so (a console wants what happens now, not a backlog).
const STREAM_PAGE: usize = 200;
/// How often a stream looks for entries when nothing was committed here (other replicas
/// write to the same table), and the least time between two looks.
const STREAM_POLL: Duration = Duration::from_millis(500);
/// See [`STREAM_POLL`].
const STREAM_GAP: Duration = Duration::from_millis(100);
/// Most streams open at once; more are answered 503.
pub const MAX_STREAMS: usize = 64;

/// Counts a stream as open until it is dropped (the client went away or the gateway
/// stops).
struct StreamSlot(Arc<AppState>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0
            .live_streams
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `GET /admin/audit/stream`: `ready` (`{"after": id}`), then one `decision` event per
/// new entry (its `id:` is the row's, the data the entry as `GET /admin/audit` gives it),
/// and `gap` (`{"after", "before"}`) when entries in between were skipped. The stream
/// reads committed rows, so it shows what every replica wrote, and wakes on this
/// gateway's own commits. It ends when the gateway shuts down.
pub async fn stream(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    params: Result<Query<StreamParams>, QueryRejection>,
) -> ApiResult {
    use std::sync::atomic::Ordering::Relaxed;
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let f = filter(&AuditParams {
        decision: p.decision,
        agent: p.agent,
        action: p.action,
        ..AuditParams::default()
    })?;
    let last_event = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    if state.live_streams.fetch_add(1, Relaxed) >= MAX_STREAMS {
        state.live_streams.fetch_sub(1, Relaxed);
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!("{MAX_STREAMS} audit streams are open already"),
        ));
    }
    let slot = StreamSlot(state.clone());
    let cursor = match p.after.or(last_event) {
        Some(after) => after,
        None => {
            let st = state.clone();
            blocking(move || st.audit_reader.max_id())
                .await??
                .unwrap_or(0)
        }
    };
    let ready = Event::default()
        .event("ready")
        .data(serde_json::json!({ "after": cursor }).to_string());
    let tail = Tail {
        commits: state.audit.commits(),
        stopping: state.stopping.subscribe(),
        state,
        pending: std::collections::VecDeque::from([ready]),
        cursor,
        polled: None,
        _slot: slot,
    };
    let events = futures_util::stream::unfold((tail, f), |(mut tail, f)| async move {
        let event = tail.next(&f).await?;
        Some((Ok::<_, std::convert::Infallible>(event), (tail, f)))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// One open stream's position.
struct Tail {
    state: Arc<AppState>,
    commits: tokio::sync::watch::Receiver<u64>,
    stopping: tokio::sync::watch::Receiver<bool>,
    pending: std::collections::VecDeque<Event>,
    /// The newest row sent.
    cursor: i64,
    polled: Option<tokio::time::Instant>,
    _slot: StreamSlot,
}

impl Tail {
    /// The next event; `None` when the gateway stops (or the database fails: the client
    /// reconnects with `Last-Event-ID`).
    async fn next(&mut self, f: &AuditFilter) -> Option<Event> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            if *self.stopping.borrow() {
                return None;
            }
            if let Some(at) = self.polled {
                tokio::time::sleep_until(at + STREAM_GAP).await;
                tokio::select! {
                    _ = self.commits.changed() => {}
                    _ = tokio::time::sleep(STREAM_POLL) => {}
                    _ = self.stopping.changed() => return None,
                }
            }
            self.polled = Some(tokio::time::Instant::now());
            self.poll(f).await?;
        }
    }

    /// Reads the rows after the cursor (the newest [`STREAM_PAGE`] of them) into events.
    async fn poll(&mut self, f: &AuditFilter) -> Option<()> {
        let mut f = f.clone();
        f.min_id = Some(self.cursor);
        f.ascending = false;
        let st = self.state.clone();
        let rows = match blocking(move || st.audit_reader.page(&f, None, STREAM_PAGE)).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                tracing::warn!("audit stream: {e:#}");
                return None;
            }
            Err(_) => return None,
        };
        if let Some(oldest) = rows.last()
            && rows.len() == STREAM_PAGE
        {
            let gap = serde_json::json!({ "after": self.cursor, "before": oldest.id });
            self.pending
                .push_back(Event::default().event("gap").data(gap.to_string()));
        }
        for row in rows.iter().rev() {
            let data = serde_json::to_string(&row.to_api()).unwrap_or_default();
            self.pending.push_back(
                Event::default()
                    .event("decision")
                    .id(row.id.to_string())
                    .data(data),
            );
            self.cursor = self.cursor.max(row.id);
        }
        Some(())
    }
}
