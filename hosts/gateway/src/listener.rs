//! The HTTP listener: accepts connections under a cap and serves each over HTTP/1 with the
//! limits that keep slow and idle clients from holding the gateway.
//!
//! - A client has `HEADER_TIMEOUT_SECS` to send a request's headers, counted from the
//!   accept or from the previous answer; hyper closes the connection past it, so the same
//!   limit ends idle keep-alive connections. (Bodies are bounded where they are read:
//!   `BODY_TIMEOUT_SECS`, see [`crate::http::read_body`].)
//! - At most `MAX_CONNECTIONS` connections are served at once. One more is answered
//!   `503` with a JSON reason and closed, instead of being left in the backlog (where a
//!   caller only sees a hang) or accepted until file descriptors run out (where every
//!   caller, the audit database included, fails).
//! - Shutdown stops accepting, lets requests in flight finish and closes idle connections.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::metrics::Metrics;

/// Refusals being written at once; connections past that are closed without an answer.
const REFUSERS: usize = 64;
/// How long a refused connection is read (so the 503 is not lost to a reset) and written.
const REFUSE_TIME: Duration = Duration::from_millis(500);
/// Pause after a failed accept (out of file descriptors): retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How connections are served.
#[derive(Clone)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time to send a request's headers (also the idle keep-alive timeout, and the time
    /// a TLS handshake may take).
    pub header_timeout: Duration,
    /// Serve HTTPS with this acceptor (`TLS_CERT_FILE`, `TLS_KEY_FILE`).
    pub tls: Option<TlsAcceptor>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then waits for the requests in
/// flight (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusers = Arc::new(Semaphore::new(REFUSERS));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let service = TowerToHyperService::new(app);
    tokio::pin!(shutdown);
    let mut accept_errors = 0u64;
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    accept_errors += 1;
                    if accept_errors % 100 == 1 {
                        tracing::warn!(errors = accept_errors, "accept failed: {e}");
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are small and latency matters: no Nagle delay.
        let _ = tcp.set_nodelay(true);
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            let refused = metrics.connections_refused.fetch_add(1, Relaxed) + 1;
            if refused % 100 == 1 {
                tracing::warn!(
                    refused_total = refused,
                    max = limits.max_connections,
                    "MAX_CONNECTIONS connections open: new connection answered 503"
                );
            }
            // Over TLS a plain-text 503 would be garbage to the client: just close.
            if limits.tls.is_none()
                && let Ok(permit) = refusers.clone().try_acquire_owned()
            {
                tokio::spawn(async move {
                    refuse(tcp, limits.max_connections).await;
                    drop(permit);
                });
            }
            continue;
        };
        let (http, service, watcher) = (http.clone(), service.clone(), graceful.watcher());
        let (metrics, tls) = (metrics.clone(), limits.tls.clone());
        let handshake_timeout = limits.header_timeout;
        metrics.connections_open.fetch_add(1, Relaxed);
        tokio::spawn(async move {
            // Errors here are the client's (reset, header timeout, failed handshake):
            // nothing to report.
            match tls {
                None => {
                    let _ = watcher
                        .watch(http.serve_connection(TokioIo::new(tcp), service))
                        .await;
                }
                Some(tls) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(handshake_timeout, tls.accept(tcp)).await
                    {
                        let _ = watcher
                            .watch(http.serve_connection(TokioIo::new(stream), service))
                            .await;
                    }
                }
            }
            metrics.connections_open.fetch_sub(1, Relaxed);
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Answers a connection over the cap with `503` and closes it, within [`REFUSE_TIME`].
async fn refuse(mut tcp: TcpStream, max: usize) {
    let body = format!(
        "{{\"error\":\"unavailable\",\"message\":\"the gateway is serving MAX_CONNECTIONS \
         ({max}) connections; retry shortly\"}}"
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSE_TIME, async {
        // Read what the client already sent: closing with unread data would reset the
        // connection and the client would never see the 503.
        let mut buf = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_millis(50), tcp.read(&mut buf)).await;
        let _ = tcp.write_all(answer.as_bytes()).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}
