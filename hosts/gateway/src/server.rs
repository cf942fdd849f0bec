//! Start-up, background jobs and graceful shutdown.
//!
//! Start-up is fail-fast: a policy directory that does not load, a database that does not
//! open or a port that is taken stops the gateway with the reason, before it listens.
//! Once listening, it prints `meshguard-gateway listening on http://ADDR` on stderr (with
//! `PORT=0`, ADDR carries the port the system picked).
//!
//! Shutdown (SIGINT or SIGTERM): stop accepting, let in-flight requests finish (each has
//! queued its audit entry before answering), then drain the audit queue to the database
//! and exit. Nothing a caller was answered about is lost.

use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use arc_swap::ArcSwap;
use meshguard_core::{Effect, RateLimiter};
use tokio::net::TcpListener;

use crate::auth::{self, AdminToken};
use crate::config::Config;
use crate::engine::{Limits, Runtime};
use crate::http::proxy::Upstream;
use crate::limiter::{Limiter, Shared};
use crate::metrics::Metrics;
use crate::reload::{self, PolicySource, PolicyStatus};
use crate::signing::BundleSigner;
use crate::state::AppState;
use crate::store::Backend;
use crate::store::agents::AgentStore;
use crate::store::audit::{self, RetentionJob};
use crate::store::audit_query::AuditReader;
use crate::store::postgres::Change;
use crate::store::postgres::policies::PolicyRows;
use crate::store::postgres::rates::Leases;
use crate::{clock, http, listener, webhooks};

/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN_GRACE: Duration = Duration::from_secs(30);
/// How long a replica waits at start for its change feed from PostgreSQL.
const LISTEN_WAIT: Duration = Duration::from_secs(10);
/// How often retention runs.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);
/// How often idle rate-limit logs are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Writes a generated admin token where the CLI looks for it: `<data dir>/admin-token`,
/// mode 0600, replaced atomically.
fn write_admin_token(dir: &Path, token: &str) -> Result<std::path::PathBuf> {
    let path = dir.join("admin-token");
    write_secret(&path, format!("{token}\n").as_bytes())?;
    Ok(path)
}

/// Writes a secret file (mode 0600), replaced atomically, creating its directory.
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn admin_token(config: &Config) -> Result<String> {
    if let Some(t) = &config.admin_token {
        return Ok(t.trim().to_owned());
    }
    let token = auth::random_id("mgadm_", 32)?;
    let path = write_admin_token(&config.data_dir, &token)?;
    // Printed once, on stderr, so it does not end up in a pipeline's stdout.
    eprintln!(
        "meshguard-gateway: ADMIN_TOKEN is not set; generated one for this run:\n  {token}\n  \
         (also written to {}, mode 0600)",
        path.display()
    );
    Ok(token)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received: shutting down"),
        () = term => tracing::info!("SIGTERM received: shutting down"),
    }
}

/// Runs the gateway until a shutdown signal.
pub async fn run(config: Config) -> Result<()> {
    let admin = AdminToken::new(&admin_token(&config)?);

    let runtime = {
        let limits = Limits {
            pool_size: config.evaluator_pool,
            decide_deadline: config.decide_deadline,
            ..Limits::default()
        };
        tokio::task::spawn_blocking(move || Runtime::new(limits))
            .await
            .context("starting the evaluator")??
    };
    // Opening blocks (files, or the network and a migration); so does every store call.
    let (db, agents, approvals, audit_rows) = {
        let (url, path) = (config.database_url.clone(), config.db_path.clone());
        tokio::task::spawn_blocking(move || -> Result<_> {
            let db = Backend::open(url.as_deref(), &path)?;
            // With PostgreSQL the token map is trusted once the change listener runs.
            let agents = AgentStore::new(db.agent_rows()?, db.postgres().is_none())?;
            let (approvals, audit_rows) = (db.approval_rows()?, db.audit_rows()?);
            Ok((db, agents, approvals, audit_rows))
        })
        .await
        .context("opening the database")??
    };
    let source = match db.postgres() {
        None => PolicySource::Dir(config.policies_dir.clone()),
        Some(pg) => PolicySource::Database(PolicyRows::new(pg.clone())),
    };
    let snapshot = {
        let (rt, source, dir, fallback) = (
            runtime.clone(),
            source.clone(),
            config.policies_dir.clone(),
            config.fallback,
        );
        tokio::task::spawn_blocking(move || {
            if let PolicySource::Database(rows) = &source {
                seed(rows, &rt, &dir, fallback)?;
            }
            source.load(&rt, fallback)
        })
        .await
        .context("loading policies")??
    };
    let snapshot = match snapshot {
        Ok(s) => s,
        Err(diags) => refuse_start(
            &diags,
            &format!(
                "in the policies of `{}`; not starting (fix them, or point POLICIES_DIR \
                 elsewhere)",
                source.describe()
            ),
        )?,
    };
    if snapshot.summaries.is_empty() {
        tracing::warn!(
            from = %source.describe(),
            "the policy source holds no policy: every request gets the fallback ({})",
            config.fallback.as_str()
        );
    }

    let metrics = Arc::new(Metrics::default());
    let (audit_sink, writer) =
        audit::start(db.audit_batches()?, config.audit_queue, metrics.clone())?;
    let trust = meshguard_tls::Trust::load(config.tls_ca_file.as_deref())
        .context("loading the CA certificates for outbound TLS (TLS_CA_FILE)")?;
    for (what, target) in [
        (
            "ALERT_WEBHOOK_URL",
            config.webhook.as_ref().map(|w| &w.target),
        ),
        ("PROXY_TARGET", config.proxy_target.as_ref()),
    ] {
        if let Some(t) = target.filter(|t| t.scheme == "https") {
            trust.require(what)?;
            tracing::info!(url = %t.url, trusted = %trust.origin, "{what}: TLS");
        }
    }
    let client_tls = trust.client_config()?;
    let inbound_tls = match &config.tls_identity {
        Some((cert, key)) => Some(tokio_rustls::TlsAcceptor::from(
            meshguard_tls::server_config(cert, key)
                .context("setting up HTTPS (TLS_CERT_FILE, TLS_KEY_FILE)")?,
        )),
        None => None,
    };
    // Last of the start-up checks: a start refused above leaves no generated key behind.
    // A throwaway gateway (`:memory:`) gets a throwaway key.
    let keep_key = config.database_url.is_some() || config.db_path != ":memory:";
    let signer = BundleSigner::load(
        config.bundle_signing_key_file.as_deref(),
        keep_key.then_some(config.data_dir.as_path()),
    )
    .context("loading the bundle signing key (BUNDLE_SIGNING_KEY_FILE)")?;
    let alerts = config
        .webhook
        .clone()
        .map(|w| webhooks::start(w, metrics.clone(), client_tls.clone()));
    let upstream = config
        .proxy_target
        .clone()
        .map(|t| Upstream::new(t, config.proxy_timeout, &client_tls));
    let listen = config.listen;
    let state = Arc::new(AppState {
        admin,
        runtime,
        policies: ArcSwap::from_pointee(snapshot),
        policy_source: source,
        policy_changed: tokio::sync::Notify::new(),
        policy_status: ArcSwap::from_pointee(PolicyStatus::default()),
        reload_lock: tokio::sync::Mutex::new(()),
        agents,
        approvals,
        audit: audit_sink,
        audit_reader: AuditReader::new(audit_rows),
        limiter: match db.postgres() {
            None => Limiter::Local(Mutex::new(RateLimiter::new())),
            Some(pg) => Limiter::Shared(Box::new(Shared::new(Leases::new(pg.clone())))),
        },
        metrics,
        alerts,
        upstream,
        signer,
        stopping: tokio::sync::watch::Sender::new(false),
        live_streams: std::sync::atomic::AtomicUsize::new(0),
        config,
    });

    if let Some(pg) = db.postgres() {
        let state = state.clone();
        let listening = state.clone();
        pg.listen(move |change| on_change(&listening, change))?;
        // Not before the change feed runs: until then a revoked token could pass.
        let deadline = tokio::time::Instant::now() + LISTEN_WAIT;
        while !state.agents.is_current() {
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "could not listen for changes on {} within {LISTEN_WAIT:?}",
                    db.describe()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let jobs = vec![
        tokio::spawn(reload::watch(state.clone())),
        tokio::spawn(retention(state.clone())),
        tokio::spawn(prune_limiter(state.clone())),
    ];

    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        mode = crate::config::mode_str(state.config.mode),
        policies = state.policies.load().summaries.len(),
        agents = state.agents.active_count(),
        db = %db.describe(),
        "gateway ready"
    );
    let scheme = if inbound_tls.is_some() {
        "https"
    } else {
        "http"
    };
    eprintln!("meshguard-gateway listening on {scheme}://{addr}");

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let limits = listener::Limits {
        max_connections: state.config.max_connections,
        header_timeout: state.config.header_timeout,
        tls: inbound_tls,
    };
    let server = listener::serve(
        listener,
        http::router(state.clone()),
        limits,
        state.metrics.clone(),
        {
            let state = state.clone();
            async move {
                shutdown_signal().await;
                state.stopping.send_replace(true);
                let _ = stop_tx.send(());
            }
        },
    );
    let grace = async {
        if stop_rx.await.is_ok() {
            tokio::time::sleep(DRAIN_GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = server => {}
        () = grace => tracing::warn!("requests still running after {DRAIN_GRACE:?}; closing anyway"),
    }

    for job in jobs {
        job.abort();
    }
    tracing::info!(waiting = state.audit.depth(), "draining the audit queue");
    state.audit.shutdown().await;
    tokio::task::spawn_blocking(move || writer.join())
        .await
        .context("waiting for the audit writer")?
        .map_err(|_| anyhow::anyhow!("the audit writer thread failed"))?;
    if let Some(a) = &state.alerts
        && a.depth() > 0
    {
        tracing::warn!(pending = a.depth(), "alerts not delivered at shutdown");
    }
    drop(state);
    drop(db);
    tracing::info!("stopped");
    Ok(())
}

/// Prints every diagnostic of a set that does not load and stops the start with how many
/// and where (`what`).
fn refuse_start<T>(diags: &[meshguard_core::Diagnostic], what: &str) -> Result<T> {
    for d in diags {
        eprintln!("{d}");
    }
    bail!("{} problem(s) {what}", diags.len())
}

/// Seeds an empty shared database with the policy directory (which must load: the same
/// rule as a gateway starting on the directory alone). A database that has had a set —
/// even one emptied through the admin API — keeps it.
fn seed(rows: &PolicyRows, runtime: &Runtime, dir: &Path, fallback: Effect) -> Result<()> {
    if rows.generation()? != 0 {
        return Ok(());
    }
    let snapshot = match reload::load_dir(runtime, dir, fallback)? {
        Ok(s) => s,
        Err(diags) => refuse_start(
            &diags,
            &format!(
                "in the policy directory `{}`, which would seed the empty database; not \
                 starting",
                dir.display()
            ),
        )?,
    };
    let files: Vec<(String, String)> = snapshot
        .files
        .into_iter()
        .map(|f| (f.file_name, f.text))
        .collect();
    if rows.seed(&files)? {
        tracing::info!(files = files.len(), dir = %dir.display(), "seeded the database's policy set");
    }
    Ok(())
}

/// Applies what another replica changed (runs on the listener's thread).
fn on_change(state: &AppState, change: Change) {
    match change {
        Change::Resync => match state.agents.reload() {
            Ok(()) => {
                state.agents.set_current(true);
                state.policy_changed.notify_one();
            }
            Err(e) => {
                // Still not current: authentication keeps answering 503 until a reload
                // works (the listener reconnects and asks again).
                tracing::error!("re-reading the agents after reconnecting failed: {e:#}");
            }
        },
        Change::Lost => state.agents.set_current(false),
        Change::Agent(id) => {
            if let Err(e) = state.agents.refresh(&id) {
                tracing::error!(agent = %id, "re-reading a changed agent failed: {e:#}");
                state.agents.set_current(false);
            }
        }
        Change::Policies => state.policy_changed.notify_one(),
    }
}

/// Applies retention at start and then every hour: `RETENTION_DAYS` for all entries,
/// except those of policies with their own `audit.retention_days`.
async fn retention(state: Arc<AppState>) {
    let mut ticker = tokio::time::interval(RETENTION_EVERY);
    loop {
        ticker.tick().await;
        let per_policy = state.policies.load().retention.clone();
        let job = RetentionJob::new(clock::now_ms(), state.config.retention_days, &per_policy);
        if job.default_cutoff_ms.is_some() || !job.per_policy.is_empty() {
            state.audit.retain(job).await;
        }
    }
}

/// Drops rate-limit logs with nothing left in their windows, bounding memory.
async fn prune_limiter(state: Arc<AppState>) {
    let mut ticker = tokio::time::interval(PRUNE_EVERY);
    loop {
        ticker.tick().await;
        state.limiter.prune(clock::now_ms());
    }
}
