//! The audit log in SQLite: the writer's batches (with WAL checkpoints on a thread of
//! their own) and the queries, each on its own connection.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, Row, ToSql, params, params_from_iter};

use super::Db;
use crate::store::audit::{AuditBatches, AuditEntry, RETENTION_CHUNK, RetentionJob};
use crate::store::audit_query::{Arg, AuditFilter, AuditRow, AuditRows, GroupCounts, Placeholders};
use crate::store::lock;

const INSERT: &str = "INSERT INTO audit (ts, trace_id, agent_id, agent_name, action, resource, \
     decision, allowed, policy, rule, reason, mode, status, latency_us, endpoint, context, \
     approval_id, outcome, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, \
     ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

/// The writer's connection. It never checkpoints the WAL itself: a checkpoint syncs the
/// database file, and inside a commit that sync would hold up every decision waiting on
/// the commit. A second thread, on its own connection, checkpoints every
/// [`CHECKPOINT_EVERY`] (passive: it copies what it can without blocking the writer) and
/// once more when the writer is gone.
#[derive(Debug)]
pub struct Batches {
    conn: Connection,
    /// Dropped with the writer: tells the checkpoint thread to finish.
    _alive: std::sync::mpsc::Sender<()>,
}

/// How often the WAL is checkpointed into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

impl Batches {
    /// Opens the writer's connection and starts the checkpoint thread.
    pub fn start(db: &Db) -> Result<Batches> {
        let conn = db.connect()?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .context("turning off the writer's own checkpoints")?;
        let checkpoint_conn = db.connect()?;
        let (alive, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("meshguard-checkpoint".to_owned())
            .spawn(move || checkpoints(&checkpoint_conn, &stopped))
            .context("starting the checkpoint thread")?;
        Ok(Batches {
            conn,
            _alive: alive,
        })
    }
}

/// Checkpoints until the writer is gone (`stopped` disconnects), then a last time.
fn checkpoints(conn: &Connection, stopped: &std::sync::mpsc::Receiver<()>) {
    let checkpoint = |mode: &str| {
        if let Err(e) = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(())) {
            tracing::warn!("WAL checkpoint failed (retried later): {e}");
        }
    };
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
        stopped.recv_timeout(CHECKPOINT_EVERY)
    {
        checkpoint("PASSIVE");
    }
    checkpoint("TRUNCATE");
}

impl AuditBatches for Batches {
    fn insert(&mut self, batch: &[AuditEntry]) -> Result<()> {
        insert(&mut self.conn, batch)
    }

    fn expire_chunk(&mut self, job: &mut RetentionJob) -> Result<usize> {
        expire_chunk(&self.conn, job)
    }

    fn probe(&mut self) -> Result<()> {
        // Takes the write lock and lets it go: what the next insert needs.
        self.conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK")?;
        Ok(())
    }
}

fn insert(conn: &mut Connection, batch: &[AuditEntry]) -> Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(INSERT)?;
        for e in batch {
            stmt.execute(params![
                e.ts_ms,
                e.trace_id,
                e.agent_id,
                e.agent_name,
                e.action,
                e.resource,
                e.decision,
                e.allowed,
                e.policy,
                e.rule,
                e.reason,
                e.mode,
                e.status,
                i64::try_from(e.latency_us).unwrap_or(i64::MAX),
                e.endpoint,
                e.context,
                e.approval_id,
                e.outcome,
                e.result,
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Deletes up to one chunk of expired rows; 0 when nothing is left to expire.
fn expire_chunk(conn: &Connection, job: &mut RetentionJob) -> Result<usize> {
    while let Some((policy, cutoff)) = job.per_policy.last().cloned() {
        let n = conn
            .prepare_cached(
                "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE policy = ?1 AND \
                 ts < ?2 LIMIT ?3)",
            )?
            .execute(params![policy, cutoff, RETENTION_CHUNK])?;
        if n > 0 {
            return Ok(n);
        }
        job.per_policy.pop();
    }
    if let Some(cutoff) = job.default_cutoff_ms {
        let n = conn
            .prepare_cached(
                "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE ts < ?1 AND \
                 (policy IS NULL OR policy NOT IN (SELECT value FROM json_each(?2))) LIMIT ?3)",
            )?
            .execute(params![cutoff, exempt_json(job), RETENTION_CHUNK])?;
        if n > 0 {
            return Ok(n);
        }
        job.default_cutoff_ms = None;
    }
    Ok(0)
}

fn exempt_json(job: &RetentionJob) -> String {
    serde_json::to_string(&job.exempt).unwrap_or_else(|_| "[]".to_owned())
}

fn row_to_entry(row: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: row.get(0)?,
        entry: AuditEntry {
            ts_ms: row.get(1)?,
            trace_id: row.get(2)?,
            agent_id: row.get(3)?,
            agent_name: row.get(4)?,
            action: row.get(5)?,
            resource: row.get(6)?,
            decision: AuditRow::intern(&row.get::<_, String>(7)?),
            allowed: row.get(8)?,
            policy: row.get(9)?,
            rule: row.get(10)?,
            reason: row.get::<_, Option<String>>(11)?.unwrap_or_default(),
            mode: AuditRow::intern(&row.get::<_, String>(12)?),
            status: row.get(13)?,
            latency_us: u64::try_from(row.get::<_, i64>(14)?).unwrap_or(0),
            endpoint: AuditRow::intern(&row.get::<_, String>(15)?),
            context: row.get(16)?,
            approval_id: row.get(17)?,
            outcome: row.get(18)?,
            result: row.get(19)?,
        },
    })
}

/// Audit queries on their own connection (WAL lets it read while the writer appends),
/// so an export of millions of rows never holds up a decision.
#[derive(Debug)]
pub struct Reader {
    conn: Mutex<Connection>,
}

impl Reader {
    /// Wraps a connection.
    pub fn new(conn: Connection) -> Reader {
        Reader {
            conn: Mutex::new(conn),
        }
    }
}

/// `?N` placeholders; `GLOB` for wildcards.
const SQLITE: Placeholders = Placeholders {
    prefix: "?",
    typed: false,
    glob: "action GLOB ?",
    glob_pattern: str::to_owned,
};

fn to_sql(args: &[Arg]) -> Vec<&dyn ToSql> {
    args.iter()
        .map(|a| match a {
            Arg::Text(s) => s as &dyn ToSql,
            Arg::Int(n) => n as &dyn ToSql,
        })
        .collect()
}

impl AuditRows for Reader {
    fn page(&self, f: &AuditFilter, after: Option<i64>, limit: usize) -> Result<Vec<AuditRow>> {
        let (sql, args) = f.select(after, limit, &SQLITE);
        let conn = lock(&self.conn)?;
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(to_sql(&args)), row_to_entry)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn max_id(&self) -> Result<Option<i64>> {
        let conn = lock(&self.conn)?;
        Ok(conn.query_row("SELECT MAX(id) FROM audit", [], |r| r.get(0))?)
    }

    fn count(&self) -> Result<i64> {
        let conn = lock(&self.conn)?;
        Ok(conn.query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))?)
    }

    fn group_counts(&self, q: &GroupCounts<'_>) -> Result<Vec<(Vec<Option<String>>, u64)>> {
        let (sql, args) = q.sql(&SQLITE);
        let conn = lock(&self.conn)?;
        let mut stmt = conn.prepare(&sql)?;
        let width = q.width();
        let map = |r: &Row<'_>| -> rusqlite::Result<(Vec<Option<String>>, u64)> {
            let mut keys = Vec::with_capacity(width);
            for i in 0..width {
                keys.push(match r.get::<_, rusqlite::types::Value>(i)? {
                    rusqlite::types::Value::Integer(n) => Some(n.to_string()),
                    rusqlite::types::Value::Text(s) => Some(s),
                    _ => None,
                });
            }
            Ok((keys, u64::try_from(r.get::<_, i64>(width)?).unwrap_or(0)))
        };
        let rows = stmt.query_map(params_from_iter(to_sql(&args)), map)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
