//! Approval rows in SQLite, on the store's own connection; one lock makes each
//! find-then-update atomic.

use std::sync::Mutex;

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::store::approvals::{
    Approval, ApprovalRequest, ApprovalRows, COLUMNS, DecideError, Settled, Verdict,
};
use crate::store::lock;

fn from_row(r: &Row<'_>) -> rusqlite::Result<Approval> {
    Ok(Approval {
        id: r.get(0)?,
        status: r.get(1)?,
        agent_id: r.get(2)?,
        agent_name: r.get(3)?,
        action: r.get(4)?,
        resource: r.get(5)?,
        context: r.get(6)?,
        policy: r.get(7)?,
        rule: r.get(8)?,
        reason: r.get(9)?,
        trace_id: r.get(10)?,
        created_at: r.get(11)?,
        decided_at: r.get(12)?,
        decided_by: r.get(13)?,
        note: r.get(14)?,
        used_at: r.get(15)?,
        any_context: r.get(16)?,
    })
}

/// The approvals table on one connection.
#[derive(Debug)]
pub struct Rows {
    conn: Mutex<Connection>,
}

impl Rows {
    /// Wraps a connection.
    pub fn new(conn: Connection) -> Rows {
        Rows {
            conn: Mutex::new(conn),
        }
    }
}

fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Approval>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

impl ApprovalRows for Rows {
    fn settle(&self, req: &ApprovalRequest<'_>, now_ms: i64, ttl_ms: i64) -> Result<Settled> {
        let conn = lock(&self.conn)?;
        // Approved rows must have been approved within the TTL; pending rows have no
        // decision time, so they are looked up without a cutoff.
        let find =
            |status: &str, decided_since: Option<i64>| -> rusqlite::Result<Option<Approval>> {
                conn.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM approvals WHERE agent_id = ?1 AND action = ?2 AND \
                 resource IS ?3 AND status = ?4 AND (?5 IS NULL OR decided_at >= ?5) \
                 AND (context IS ?6 OR any_context = 1) ORDER BY created_at LIMIT 1"
                ))?
                .query_row(
                    params![
                        req.agent_id,
                        req.action,
                        req.resource,
                        status,
                        decided_since,
                        req.context
                    ],
                    from_row,
                )
                .optional()
            };
        if let Some(mut a) = find("approved", Some(now_ms - ttl_ms))? {
            conn.prepare_cached(
                "UPDATE approvals SET status = 'used', used_at = ?2 WHERE id = ?1",
            )?
            .execute(params![a.id, now_ms])?;
            a.status = "used".to_owned();
            a.used_at = Some(now_ms);
            return Ok(Settled::Approved(a));
        }
        if let Some(a) = find("pending", None)? {
            return Ok(Settled::Pending(a));
        }
        let a = Approval::pending(req, now_ms)?;
        conn.prepare_cached(&format!(
            "INSERT INTO approvals ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
             ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
        ))?
        .execute(params![
            a.id,
            a.status,
            a.agent_id,
            a.agent_name,
            a.action,
            a.resource,
            a.context,
            a.policy,
            a.rule,
            a.reason,
            a.trace_id,
            a.created_at,
            a.decided_at,
            a.decided_by,
            a.note,
            a.used_at,
            a.any_context,
        ])?;
        Ok(Settled::Opened(a))
    }

    fn list(&self, status: Option<&str>, limit: usize) -> Result<Vec<Approval>> {
        let conn = lock(&self.conn)?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM approvals WHERE (?1 IS NULL OR status = ?1) \
             ORDER BY created_at DESC, id LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![status, limit], from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn get(&self, id: &str) -> Result<Option<Approval>> {
        let conn = lock(&self.conn)?;
        Ok(get(&conn, id)?)
    }

    fn decide(&self, v: &Verdict<'_>, now_ms: i64) -> Result<Approval, DecideError> {
        let conn = lock(&self.conn)?;
        let internal = |e: rusqlite::Error| DecideError::Internal(e.into());
        let mut a = get(&conn, v.id)
            .map_err(internal)?
            .ok_or(DecideError::NotFound)?;
        if a.status != "pending" {
            return Err(DecideError::AlreadyDecided(Box::new(a)));
        }
        v.apply(&mut a, now_ms);
        conn.prepare_cached(
            "UPDATE approvals SET status = ?2, decided_at = ?3, decided_by = ?4, note = ?5, \
             any_context = ?6 WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                a.id,
                a.status,
                a.decided_at,
                a.decided_by,
                a.note,
                a.any_context
            ])
        })
        .map_err(internal)?;
        Ok(a)
    }
}
