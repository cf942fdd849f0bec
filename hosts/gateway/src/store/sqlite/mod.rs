//! The embedded SQLite backend: agents, the audit log and approvals, in one file.
//!
//! WAL mode lets the audit writer thread append while admin queries read on their own
//! connections. Each job has its own connection (the audit writer, audit reads, agents,
//! approvals), so a long export never holds up a decision and a write never waits on a
//! read. `:memory:` becomes a temporary file removed at exit: separate connections to
//! `:memory:` would each see their own empty database.

pub mod agents;
pub mod approvals;
pub mod audit;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags};

/// Version 1 of the schema: the tables as the first gateway created them. `IF NOT
/// EXISTS` everywhere, so that a database written before the schema had versions (its
/// `user_version` is 0 too) goes through the same migrations safely.
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS agents (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    trust_tier  TEXT NOT NULL,
    tags        TEXT NOT NULL,      -- JSON array of strings
    org_id      TEXT,
    metadata    TEXT NOT NULL,      -- JSON object
    token_hash  BLOB NOT NULL UNIQUE, -- SHA-256 of the token; the token is never stored
    created_at  INTEGER NOT NULL,   -- ms since the Unix epoch
    updated_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX IF NOT EXISTS agents_name ON agents(name);

CREATE TABLE IF NOT EXISTS audit (
    id          INTEGER PRIMARY KEY,
    ts          INTEGER NOT NULL,   -- ms since the Unix epoch
    trace_id    TEXT NOT NULL,
    agent_id    TEXT,
    agent_name  TEXT,
    action      TEXT NOT NULL,
    resource    TEXT,
    decision    TEXT NOT NULL,      -- allow | deny | require_approval
    allowed     INTEGER NOT NULL,
    policy      TEXT,
    rule        TEXT,
    reason      TEXT,
    mode        TEXT NOT NULL,
    status      INTEGER NOT NULL,   -- the HTTP status answered
    latency_us  INTEGER NOT NULL,
    endpoint    TEXT NOT NULL,      -- check | v1 | proxy | governance, or record | report
    context     TEXT,               -- JSON object, when sent
    approval_id TEXT
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit(ts);
CREATE INDEX IF NOT EXISTS audit_agent ON audit(agent_id, ts);
CREATE INDEX IF NOT EXISTS audit_trace ON audit(trace_id);

CREATE TABLE IF NOT EXISTS approvals (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL,      -- pending | approved | denied | used
    agent_id    TEXT NOT NULL,
    agent_name  TEXT,
    action      TEXT NOT NULL,
    resource    TEXT,
    context     TEXT,
    policy      TEXT NOT NULL,
    rule        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    trace_id    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    decided_at  INTEGER,
    decided_by  TEXT,
    note        TEXT,
    used_at     INTEGER
);
CREATE INDEX IF NOT EXISTS approvals_lookup ON approvals(agent_id, action, status);
";

/// One step of the schema's history.
#[derive(Debug)]
enum Migration {
    /// Statements to run.
    Sql(&'static str),
    /// Columns to add to a table (skipped when present: databases from before versions
    /// may have them already).
    AddColumns(&'static str, &'static [(&'static str, &'static str)]),
}

/// The schema's history: a database at version `n` (SQLite's `user_version`) has had the
/// first `n` steps. Append only; never edit a step that has shipped.
const MIGRATIONS: &[Migration] = &[
    // 1: agents, audit, approvals.
    Migration::Sql(SCHEMA_V1),
    // 2: what agents report after acting (`record`, `report` rows).
    Migration::AddColumns("audit", &[("outcome", "TEXT"), ("result", "TEXT")]),
    // 3: approvals widened to any context by the approver.
    Migration::AddColumns(
        "approvals",
        &[("any_context", "INTEGER NOT NULL DEFAULT 0")],
    ),
];

/// Brings the database to the newest schema version, one step per transaction; refuses
/// a database a newer gateway has written (it may hold data this one would misread).
fn migrate(conn: &mut Connection) -> Result<u32> {
    let newest = u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX);
    let mut version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > newest {
        anyhow::bail!(
            "the database has schema version {version}, written by a newer gateway; this \
             one knows versions up to {newest} (upgrade the gateway, or use another DB_PATH)"
        );
    }
    while version < newest {
        let Some(step) = MIGRATIONS.get(version as usize) else {
            break;
        };
        let tx = conn.transaction()?;
        match step {
            Migration::Sql(sql) => tx.execute_batch(sql)?,
            Migration::AddColumns(table, columns) => add_columns(&tx, table, columns)?,
        }
        version += 1;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()
            .with_context(|| format!("committing schema version {version}"))?;
    }
    Ok(version)
}

/// Where the database lives, and the temporary directory behind `:memory:`.
#[derive(Debug)]
pub struct Db {
    path: PathBuf,
    temp: Option<PathBuf>,
}

impl Db {
    /// Opens (creating if needed) the database and its schema.
    pub fn open(db_path: &str) -> Result<Db> {
        let (path, temp) = if db_path == ":memory:" {
            let mut suffix = [0u8; 8];
            crate::auth::fill_random(&mut suffix)?;
            let dir = std::env::temp_dir().join(format!(
                "meshguard-{}-{}",
                std::process::id(),
                crate::auth::hex(&suffix)
            ));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the temporary directory {}", dir.display()))?;
            (dir.join("meshguard.db"), Some(dir))
        } else {
            (PathBuf::from(db_path), None)
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating the database directory {}", parent.display()))?;
        }
        let db = Db { path, temp };
        let mut conn = db.connect()?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .context("switching the database to WAL")?;
        migrate(&mut conn)
            .with_context(|| format!("bringing the schema of {} up to date", db.path.display()))?;
        Ok(db)
    }

    /// A new connection with the gateway's settings.
    pub fn connect(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening the database {}", self.path.display()))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // WAL + NORMAL: a commit is durable once the WAL is synced at checkpoint; a power
        // loss may lose the last transactions but never corrupts the database.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(dir) = &self.temp {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Adds the columns a table created by an older gateway lacks (`CREATE TABLE IF NOT
/// EXISTS` leaves an existing table as it was).
fn add_columns(conn: &Connection, table: &str, columns: &[(&str, &str)]) -> Result<()> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let have: Vec<String> = stmt
        .query_map([], |row| row.get::<_, String>(1))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, ty) in columns {
        if !have.iter().any(|h| h == name) {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {name} {ty}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn temp_db(name: &str) -> (PathBuf, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("meshguard-schema-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        let _ = std::fs::remove_file(&path);
        (dir, path)
    }

    fn version(path: &Path) -> u32 {
        Connection::open(path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    /// A database written before the schema had versions (the first tables, one row,
    /// `user_version` 0) opens with its rows kept and every later column added.
    #[test]
    fn an_unversioned_database_is_migrated_with_its_rows() {
        let (dir, path) = temp_db("old");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA_V1).unwrap();
            conn.execute(
                "INSERT INTO audit (ts, trace_id, action, decision, allowed, mode, status, \
                 latency_us, endpoint) VALUES (1, 't', 'read:x', 'allow', 1, 'enforce', 200, 5, 'v1')",
                [],
            )
            .unwrap();
        }
        let db = Db::open(path.to_str().unwrap()).unwrap();
        let conn = db.connect().unwrap();
        let (trace, outcome): (String, Option<String>) = conn
            .query_row("SELECT trace_id, outcome FROM audit", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((trace.as_str(), outcome), ("t", None));
        let any: i64 = conn
            .query_row("SELECT COUNT(any_context) FROM approvals", [], |r| r.get(0))
            .unwrap();
        assert_eq!(any, 0);
        assert_eq!(version(&path) as usize, MIGRATIONS.len());
        // Opening again finds everything in place and changes nothing.
        drop(conn);
        drop(db);
        drop(Db::open(path.to_str().unwrap()).unwrap());
        assert_eq!(version(&path) as usize, MIGRATIONS.len());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A database from a newer gateway is refused, not misread.
    #[test]
    fn a_newer_schema_is_refused() {
        let (dir, path) = temp_db("new");
        drop(Db::open(path.to_str().unwrap()).unwrap());
        let newer = i64::try_from(MIGRATIONS.len()).unwrap() + 1;
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", newer)
            .unwrap();
        let e = format!("{:#}", Db::open(path.to_str().unwrap()).unwrap_err());
        assert!(e.contains(&format!("schema version {newer}")), "{e}");
        assert!(e.contains("newer gateway"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
