//! Approval rows in PostgreSQL. Settling is one transaction under an advisory lock on the
//! request's key, so replicas deciding the same request at once open one approval, and
//! an approved approval is used exactly once wherever the requests land.

use anyhow::Result;
use postgres::Row;

use super::{Pg, opt_text, text};
use crate::store::approvals::{
    Approval, ApprovalRequest, ApprovalRows, COLUMNS, DecideError, Settled, Verdict,
};

/// The approvals table through the pool.
#[derive(Debug)]
pub struct Rows {
    pg: Pg,
}

impl Rows {
    /// Uses the shared pool.
    pub fn new(pg: Pg) -> Rows {
        Rows { pg }
    }
}

fn from_row(r: &Row) -> Result<Approval> {
    Ok(Approval {
        id: r.try_get(0)?,
        status: r.try_get(1)?,
        agent_id: r.try_get(2)?,
        agent_name: r.try_get(3)?,
        action: r.try_get(4)?,
        resource: r.try_get(5)?,
        context: r.try_get(6)?,
        policy: r.try_get(7)?,
        rule: r.try_get(8)?,
        reason: r.try_get(9)?,
        trace_id: r.try_get(10)?,
        created_at: r.try_get(11)?,
        decided_at: r.try_get(12)?,
        decided_by: r.try_get(13)?,
        note: r.try_get(14)?,
        used_at: r.try_get(15)?,
        any_context: r.try_get(16)?,
    })
}

/// The request's columns as stored (see [`super::text`]).
struct Key<'a> {
    agent_id: std::borrow::Cow<'a, str>,
    action: std::borrow::Cow<'a, str>,
    resource: Option<std::borrow::Cow<'a, str>>,
    context: Option<std::borrow::Cow<'a, str>>,
}

impl ApprovalRows for Rows {
    fn settle(&self, req: &ApprovalRequest<'_>, now_ms: i64, ttl_ms: i64) -> Result<Settled> {
        let k = Key {
            agent_id: text(req.agent_id),
            action: text(req.action),
            resource: opt_text(req.resource),
            context: opt_text(req.context),
        };
        let mut conn = self.pg.conn()?;
        let mut tx = conn.transaction()?;
        let lock_key = format!(
            "approval\0{}\0{}\0{}",
            k.agent_id,
            k.action,
            k.resource.as_deref().unwrap_or("")
        );
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&text(&lock_key)],
        )?;
        let matching = "agent_id = $1 AND action = $2 AND resource IS NOT DISTINCT FROM $3 \
                        AND (context IS NOT DISTINCT FROM $4 OR any_context)";
        let used = tx.query_opt(
            &format!(
                "UPDATE approvals SET status = 'used', used_at = $5 WHERE id = (SELECT id FROM \
                 approvals WHERE {matching} AND status = 'approved' AND decided_at >= $6 \
                 ORDER BY created_at LIMIT 1) RETURNING {COLUMNS}"
            ),
            &[
                &k.agent_id,
                &k.action,
                &k.resource,
                &k.context,
                &now_ms,
                &(now_ms - ttl_ms),
            ],
        )?;
        if let Some(row) = used {
            let a = from_row(&row)?;
            tx.commit()?;
            return Ok(Settled::Approved(a));
        }
        let pending = tx.query_opt(
            &format!(
                "SELECT {COLUMNS} FROM approvals WHERE {matching} AND status = 'pending' \
                 ORDER BY created_at LIMIT 1"
            ),
            &[&k.agent_id, &k.action, &k.resource, &k.context],
        )?;
        if let Some(row) = pending {
            return Ok(Settled::Pending(from_row(&row)?));
        }
        let a = Approval::pending(req, now_ms)?;
        tx.execute(
            &format!(
                "INSERT INTO approvals ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 $10, $11, $12, $13, $14, $15, $16, $17)"
            ),
            &[
                &a.id,
                &a.status,
                &k.agent_id,
                &opt_text(a.agent_name.as_deref()),
                &k.action,
                &k.resource,
                &k.context,
                &text(&a.policy),
                &text(&a.rule),
                &text(&a.reason),
                &text(&a.trace_id),
                &a.created_at,
                &a.decided_at,
                &a.decided_by,
                &a.note,
                &a.used_at,
                &a.any_context,
            ],
        )?;
        tx.commit()?;
        Ok(Settled::Opened(a))
    }

    fn list(&self, status: Option<&str>, limit: usize) -> Result<Vec<Approval>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.pg.conn()?.query(
            &format!(
                "SELECT {COLUMNS} FROM approvals WHERE ($1::text IS NULL OR status = $1) \
                 ORDER BY created_at DESC, id LIMIT $2"
            ),
            &[&status, &limit],
        )?;
        rows.iter().map(from_row).collect()
    }

    fn get(&self, id: &str) -> Result<Option<Approval>> {
        let row = self.pg.conn()?.query_opt(
            &format!("SELECT {COLUMNS} FROM approvals WHERE id = $1"),
            &[&text(id)],
        )?;
        row.as_ref().map(from_row).transpose()
    }

    fn decide(&self, v: &Verdict<'_>, now_ms: i64) -> Result<Approval, DecideError> {
        let internal = |e: postgres::Error| DecideError::Internal(e.into());
        // Only a pending approval changes; two approvers at once: one wins, the other
        // reads what the first decided.
        let row = self
            .pg
            .conn()?
            .query_opt(
                &format!(
                    "UPDATE approvals SET status = $2, decided_at = $3, decided_by = $4, \
                     note = $5, any_context = $6 WHERE id = $1 AND status = 'pending' \
                     RETURNING {COLUMNS}"
                ),
                &[
                    &text(v.id),
                    &v.status(),
                    &now_ms,
                    &v.by.map(text),
                    &v.note.map(text),
                    &(v.approve && v.any_context),
                ],
            )
            .map_err(internal)?;
        if let Some(row) = row {
            return Ok(from_row(&row)?);
        }
        match self.get(v.id)? {
            Some(a) => Err(DecideError::AlreadyDecided(Box::new(a))),
            None => Err(DecideError::NotFound),
        }
    }
}
