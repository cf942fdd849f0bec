//! Alerts: deny, rate-limit, error and require_approval decisions POSTed to a webhook.
//!
//! The payload is the product docs' (`event`, `timestamp`, `agent{id,name,trustTier}`,
//! `action`, `resource`, `policy`, `rule`, `reason`, `traceId`, `context`), signed with
//! `X-MeshGuard-Signature: sha256=<hex HMAC-SHA256(secret, body)>` over the exact bytes
//! sent. Delivery retries with exponential backoff a bounded number of times.
//!
//! Alerts are best effort, the audit log is not: the decision path only `try_send`s into
//! a bounded queue, and when it is full the alert is dropped, counted
//! (`meshguard_webhook_dropped_total`) and logged — a slow or dead webhook can never slow
//! decisions down. Everything an alert says is in the audit log anyway.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::http::{Method, Request, StatusCode, header};
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use meshguard_tls::rustls::ClientConfig;
use sha2::Sha256;
use tokio::sync::{Semaphore, mpsc};

use crate::config::{AlertEvent, WebhookConfig};
use crate::metrics::Metrics;
use crate::{auth, outbound};

/// Deliveries in flight at once.
const CONCURRENCY: usize = 4;
/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Per-attempt timeout.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// One alert, serialised once.
#[derive(Debug)]
struct Alert {
    event: AlertEvent,
    body: Bytes,
}

/// The decision path's handle: filters by event and queues without waiting.
#[derive(Debug)]
pub struct Alerts {
    tx: mpsc::Sender<Alert>,
    events: Vec<AlertEvent>,
    metrics: Arc<Metrics>,
}

impl Alerts {
    /// Whether `event` is configured to raise alerts.
    pub fn wants(&self, event: AlertEvent) -> bool {
        self.events.contains(&event)
    }

    /// Queues a serialised alert; drops (and counts) it when the queue is full.
    pub fn send(&self, event: AlertEvent, body: Bytes) {
        if !self.wants(event) {
            return;
        }
        if self.tx.try_send(Alert { event, body }).is_err() {
            let dropped = self.metrics.webhook_dropped.fetch_add(1, Relaxed) + 1;
            // One line per 100 drops: a flood must not turn into a flood of log lines.
            if dropped % 100 == 1 {
                tracing::warn!(
                    dropped_total = dropped,
                    event = event.as_str(),
                    "alert queue full: alert dropped (the audit log still has the decision)"
                );
            }
        }
    }

    /// Alerts waiting.
    pub fn depth(&self) -> usize {
        self.tx.max_capacity().saturating_sub(self.tx.capacity())
    }
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &str, body: &[u8]) -> Result<String> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .map_err(|e| anyhow::anyhow!("bad HMAC key: {e}"))?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        auth::hex(&mac.finalize().into_bytes())
    ))
}

/// Starts the delivery task.
pub fn start(config: WebhookConfig, metrics: Arc<Metrics>, tls: Arc<ClientConfig>) -> Alerts {
    let (tx, rx) = mpsc::channel(config.queue);
    if config.secret.is_none() {
        tracing::warn!("ALERT_WEBHOOK_SECRET is not set: alerts are sent unsigned");
    }
    tracing::info!(
        url = %config.target.url,
        events = ?config.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "webhook alerts enabled"
    );
    let events = config.events.clone();
    tokio::spawn(run(rx, Arc::new(config), metrics.clone(), tls));
    Alerts {
        tx,
        events,
        metrics,
    }
}

type HttpClient = Client<outbound::Connector, Full<Bytes>>;

async fn run(
    mut rx: mpsc::Receiver<Alert>,
    config: Arc<WebhookConfig>,
    metrics: Arc<Metrics>,
    tls: Arc<ClientConfig>,
) {
    let client: HttpClient = outbound::client(&tls);
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    while let Some(alert) = rx.recv().await {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let (client, config, metrics) = (client.clone(), config.clone(), metrics.clone());
        tokio::spawn(async move {
            deliver(&client, &config, &metrics, alert).await;
            drop(permit);
        });
    }
}

/// Whether a failed attempt is worth repeating: network errors, timeouts, 5xx, 408, 429.
fn retryable(status: Option<StatusCode>) -> bool {
    match status {
        None => true,
        Some(s) => {
            s.is_server_error()
                || s == StatusCode::REQUEST_TIMEOUT
                || s == StatusCode::TOO_MANY_REQUESTS
        }
    }
}

async fn deliver(client: &HttpClient, config: &WebhookConfig, metrics: &Metrics, alert: Alert) {
    let delivery = auth::random_id("dlv_", 8).unwrap_or_default();
    let signature = match &config.secret {
        Some(secret) => match signature(secret, &alert.body) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!("cannot sign an alert: {e:#}");
                metrics.webhook_failed.fetch_add(1, Relaxed);
                return;
            }
        },
        None => None,
    };
    let mut backoff = config.backoff;
    for attempt in 1..=config.attempts {
        let result = attempt_once(
            client,
            config,
            &alert,
            signature.as_deref(),
            &delivery,
            attempt,
        )
        .await;
        let status = match result {
            Ok(s) if s.is_success() => {
                metrics.webhook_delivered.fetch_add(1, Relaxed);
                return;
            }
            Ok(s) => {
                tracing::warn!(%delivery, attempt, status = s.as_u16(), "webhook answered an error");
                Some(s)
            }
            Err(e) => {
                tracing::warn!(%delivery, attempt, "webhook delivery failed: {e:#}");
                None
            }
        };
        if attempt == config.attempts || !retryable(status) {
            break;
        }
        metrics.webhook_retries.fetch_add(1, Relaxed);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    metrics.webhook_failed.fetch_add(1, Relaxed);
    tracing::error!(%delivery, event = alert.event.as_str(), "alert not delivered; giving up");
}

async fn attempt_once(
    client: &HttpClient,
    config: &WebhookConfig,
    alert: &Alert,
    signature: Option<&str>,
    delivery: &str,
    attempt: u32,
) -> Result<StatusCode> {
    let path = if config.target.base_path.is_empty() {
        "/"
    } else {
        ""
    };
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(config.target.join(path))
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            header::USER_AGENT,
            concat!("meshguard-gateway/", env!("CARGO_PKG_VERSION")),
        )
        .header("x-meshguard-event", alert.event.as_str())
        .header("x-meshguard-delivery", delivery)
        .header("x-meshguard-attempt", attempt.to_string());
    if let Some(sig) = signature {
        req = req.header("x-meshguard-signature", sig);
    }
    for (name, value) in &config.headers {
        req = req.header(name, value);
    }
    let req = req
        .body(Full::new(alert.body.clone()))
        .context("building the webhook request")?;
    let resp = tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(req))
        .await
        .context("timed out")?
        .context("request failed")?;
    Ok(resp.status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?").unwrap();
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
