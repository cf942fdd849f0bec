//! The PostgreSQL backend: any number of gateway replicas on one database.
//!
//! What replicas share lives only here: agents and token hashes, the audit table,
//! approvals, the policy set and the rate-limit budgets. Each replica keeps what the hot
//! path reads in memory (tokens, the compiled policies, leased budget) and hears about
//! changes on one `LISTEN` connection of its own ([`Pg::listen`]): a change commits its
//! rows and a `NOTIFY` in one transaction, so a replica that hears of it reads the new
//! rows. PostgreSQL drops notifications sent while a listener is disconnected, so after
//! every (re)connect a replica re-reads everything ([`Change::Resync`]) and, until then,
//! refuses to authenticate ([`crate::store::agents::AgentStore::set_current`]).
//!
//! Connections come from an r2d2 pool, checked out per operation (5 s at most, then the
//! operation fails and the request answers 503). Every call blocks: callers are blocking
//! threads, as with SQLite.

pub mod agents;
pub mod approvals;
pub mod audit;
pub mod policies;
pub mod rates;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{NoTls, Transaction};
use r2d2_postgres::PostgresConnectionManager;

/// The notification channel every change is announced on.
pub const CHANNEL: &str = "meshguard";

/// How long an operation waits for a pooled connection (or a new one) before failing.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most pooled connections per replica.
const POOL_SIZE: u32 = 16;
/// How often the listener makes sure its connection is alive when nothing arrives.
const LISTENER_PING: Duration = Duration::from_secs(2);

/// The schema's history: a database at version `n` has had the first `n` steps. Append
/// only; never edit a step that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: agents, audit, approvals (the SQLite tables at their version 3), policies,
    // rate-limit leases.
    "
CREATE TABLE agents (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    trust_tier  TEXT NOT NULL,
    tags        TEXT NOT NULL,
    org_id      TEXT,
    metadata    TEXT NOT NULL,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX agents_name ON agents(name);
-- Names are unique among active agents, whichever replica creates them.
CREATE UNIQUE INDEX agents_active_name ON agents(name) WHERE revoked_at IS NULL;

CREATE TABLE audit (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts          BIGINT NOT NULL,
    trace_id    TEXT NOT NULL,
    agent_id    TEXT,
    agent_name  TEXT,
    action      TEXT NOT NULL,
    resource    TEXT,
    decision    TEXT NOT NULL,
    allowed     BOOLEAN NOT NULL,
    policy      TEXT,
    rule        TEXT,
    reason      TEXT,
    mode        TEXT NOT NULL,
    status      INTEGER NOT NULL,
    latency_us  BIGINT NOT NULL,
    endpoint    TEXT NOT NULL,
    context     TEXT,
    approval_id TEXT,
    outcome     TEXT,
    result      TEXT
);
CREATE INDEX audit_ts ON audit(ts);
CREATE INDEX audit_agent ON audit(agent_id, ts);
CREATE INDEX audit_trace ON audit(trace_id);

CREATE TABLE approvals (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    agent_name  TEXT,
    action      TEXT NOT NULL,
    resource    TEXT,
    context     TEXT,
    policy      TEXT NOT NULL,
    rule        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    trace_id    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    decided_at  BIGINT,
    decided_by  TEXT,
    note        TEXT,
    used_at     BIGINT,
    any_context BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX approvals_lookup ON approvals(agent_id, action, status);

-- The policy files, as the admin API or POLICIES_DIR gave them; `generation` grows on
-- every change so replicas can tell whether they serve the newest set.
CREATE TABLE policy_files (
    name        TEXT PRIMARY KEY,
    source      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE TABLE policy_generation (
    one         BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    generation  BIGINT NOT NULL
);
INSERT INTO policy_generation (one, generation) VALUES (TRUE, 0);

-- Budget leases of the shared rate limits (see rates.rs).
CREATE TABLE rate_leases (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         TEXT NOT NULL,
    window_ms   BIGINT NOT NULL,
    granted_at  BIGINT NOT NULL,
    permits     INTEGER NOT NULL,
    replica     TEXT NOT NULL
);
CREATE INDEX rate_leases_key ON rate_leases(key, window_ms, granted_at);
",
];

/// Serialises schema changes between replicas starting at once (an arbitrary constant
/// of ours for `pg_advisory_xact_lock`).
const MIGRATION_LOCK: i64 = 0x6d65_7368_6775_6172; // "meshguar"

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
/// A pooled connection.
pub type Conn = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

/// The shared database: a connection pool and what is needed to open the listener.
/// Cheap to clone (one pointer), so every store holds its own handle.
#[derive(Clone)]
pub struct Pg(Arc<Shared>);

struct Shared {
    /// Always `Some` until dropped (see `Drop`).
    pool: Option<Pool>,
    config: postgres::Config,
    /// This replica's name in leases and logs.
    replica: String,
}

/// The blocking client runs its own small runtime and blocks on it when a connection
/// closes; closing one on a tokio worker (the gateway's start failing after the database
/// opened, or its shutdown) would panic. So the pool, with its idle connections, is
/// dropped on a thread of its own.
impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let closing = std::thread::Builder::new()
                .name("meshguard-pg-close".to_owned())
                .spawn(move || drop(pool));
            if let Ok(handle) = closing {
                let _ = handle.join();
            }
        }
    }
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Pg {
    /// Connects (the server must be reachable now: a replica that cannot reach its
    /// database does not start) and brings the schema up to date.
    pub fn open(url: &str) -> Result<Pg> {
        let mut config: postgres::Config = url
            .parse()
            .with_context(|| "DATABASE_URL is not a valid PostgreSQL connection URL".to_owned())?;
        config
            .application_name("meshguard-gateway")
            .connect_timeout(CHECKOUT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30));
        let manager = PostgresConnectionManager::new(config.clone(), NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(2))
            .connection_timeout(CHECKOUT_TIMEOUT)
            // A connection the server dropped (restart, `pg_terminate_backend`) is found
            // and replaced at checkout instead of failing the operation that got it. The
            // round trip is cheap here: no check touches the database on its hot path.
            .test_on_check_out(true)
            .build_unchecked(manager);
        let mut suffix = [0u8; 4];
        crate::auth::fill_random(&mut suffix)?;
        let pg = Pg(Arc::new(Shared {
            pool: Some(pool),
            config,
            replica: format!("{}-{}", std::process::id(), crate::auth::hex(&suffix)),
        }));
        let mut conn = pg
            .conn()
            .with_context(|| format!("cannot connect to {}", pg.describe()))?;
        let version = migrate(&mut conn).context("bringing the PostgreSQL schema up to date")?;
        tracing::info!(version, database = %pg.describe(), "PostgreSQL schema ready");
        Ok(pg)
    }

    /// A pooled connection (waits at most [`CHECKOUT_TIMEOUT`]).
    pub fn conn(&self) -> Result<Conn> {
        self.0
            .pool
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("the PostgreSQL pool is closed"))?
            .get()
            .map_err(|e| anyhow::anyhow!("no PostgreSQL connection: {e}"))
    }

    /// This replica's name.
    pub fn replica(&self) -> &str {
        &self.0.replica
    }

    /// `postgres://user@host:port/db` without a password.
    pub fn describe(&self) -> String {
        let config = &self.0.config;
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".to_owned(),
        };
        format!(
            "postgres://{}@{}:{}/{}",
            config.get_user().unwrap_or(""),
            host,
            config.get_ports().first().copied().unwrap_or(5432),
            config.get_dbname().unwrap_or("")
        )
    }

    /// Listens for changes on a connection of its own, on a thread of its own, for as
    /// long as the process runs: `on` hears [`Change::Resync`] after every (re)connect,
    /// each change as it is committed, and [`Change::Lost`] when the connection drops
    /// (it reconnects with a growing pause, at most 5 s).
    pub fn listen(&self, on: impl Fn(Change) + Send + 'static) -> Result<()> {
        let config = self.0.config.clone();
        std::thread::Builder::new()
            .name("meshguard-listen".to_owned())
            .spawn(move || {
                let mut pause = Duration::from_millis(100);
                loop {
                    match listen_once(&config, &on) {
                        Ok(()) => pause = Duration::from_millis(100),
                        Err(e) => tracing::warn!("change listener: {e:#}; reconnecting"),
                    }
                    on(Change::Lost);
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            })
            .context("starting the change listener")?;
        Ok(())
    }
}

/// What the listener heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// (Re)connected: anything may have changed meanwhile; read everything again.
    Resync,
    /// The listener is disconnected: changes are not heard until the next `Resync`.
    Lost,
    /// This agent changed (created, patched, rotated or revoked).
    Agent(String),
    /// The policy set changed.
    Policies,
}

impl Change {
    fn parse(payload: &str) -> Option<Change> {
        match payload.split_once(':') {
            Some(("agent", id)) => Some(Change::Agent(id.to_owned())),
            None if payload == "policies" => Some(Change::Policies),
            _ => None,
        }
    }
}

/// Announces a change to every replica when `tx` commits.
pub fn notify(tx: &mut Transaction<'_>, change: &Change) -> Result<()> {
    let payload = match change {
        Change::Agent(id) => format!("agent:{id}"),
        Change::Policies => "policies".to_owned(),
        Change::Resync | Change::Lost => return Ok(()),
    };
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])?;
    Ok(())
}

/// One listening connection, until it fails.
fn listen_once(config: &postgres::Config, on: &impl Fn(Change)) -> Result<()> {
    let mut client = config.connect(NoTls).context("connecting")?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    on(Change::Resync);
    let mut last_ping = Instant::now();
    loop {
        let next = client
            .notifications()
            .timeout_iter(LISTENER_PING)
            .next()
            .context("waiting for notifications")?;
        if let Some(n) = next {
            match Change::parse(n.payload()) {
                Some(change) => on(change),
                None => tracing::warn!(payload = n.payload(), "unknown change notification"),
            }
        }
        if last_ping.elapsed() >= LISTENER_PING {
            // A silent network failure would leave us waiting forever otherwise.
            client.simple_query("").context("pinging")?;
            last_ping = Instant::now();
        }
        if client.is_closed() {
            bail!("the connection closed");
        }
    }
}

/// Brings the schema to the newest version in one transaction, under an advisory lock
/// so that replicas starting together migrate once; refuses a database a newer gateway
/// has written.
fn migrate(conn: &mut Conn) -> Result<usize> {
    let newest = MIGRATIONS.len();
    let mut tx = conn.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS meshguard_schema (version INTEGER NOT NULL);
         INSERT INTO meshguard_schema (version)
             SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM meshguard_schema);",
    )?;
    let version: i32 = tx
        .query_one("SELECT version FROM meshguard_schema", &[])?
        .get(0);
    let version = usize::try_from(version).unwrap_or(0);
    if version > newest {
        bail!(
            "the database has schema version {version}, written by a newer gateway; this one \
             knows versions up to {newest} (upgrade the gateway, or use another DATABASE_URL)"
        );
    }
    for (n, step) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.batch_execute(step)
            .with_context(|| format!("applying schema version {}", n + 1))?;
    }
    let newest_i32 = i32::try_from(newest).unwrap_or(i32::MAX);
    tx.execute("UPDATE meshguard_schema SET version = $1", &[&newest_i32])?;
    tx.commit()?;
    Ok(newest)
}

/// PostgreSQL text cannot hold U+0000; SQLite can, and callers may send it. Stored as
/// U+FFFD so that one odd request never fails a whole batch.
pub fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// [`text`] for an optional column.
pub fn opt_text(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A malformed URL is refused before any connection, saying which setting is wrong
    /// and why.
    #[test]
    fn a_malformed_url_is_refused_with_the_setting() {
        let e = format!("{:#}", Pg::open("postgres://u@h:port/db").unwrap_err());
        assert!(
            e.starts_with("DATABASE_URL is not a valid PostgreSQL connection URL: "),
            "{e}"
        );
        assert!(e.contains("port"), "{e}");
    }

    #[test]
    fn changes_round_trip_through_their_payloads() {
        assert_eq!(
            Change::parse("agent:agent_1f"),
            Some(Change::Agent("agent_1f".into()))
        );
        assert_eq!(Change::parse("policies"), Some(Change::Policies));
        assert_eq!(Change::parse("bogus"), None);
    }

    #[test]
    fn nul_characters_are_replaced() {
        assert_eq!(text("a\0b"), "a\u{FFFD}b");
        assert!(matches!(text("plain"), Cow::Borrowed("plain")));
    }
}
