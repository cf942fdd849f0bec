//! Approvals: a `require_approval` decision opens one; a person approves or denies it
//! through the admin API.
//!
//! The gateway's choice (documented in API.md): an approved approval lets the **same
//! agent** do the **same action** on the **same (canonical) resource** with the **same
//! context** exactly **once**, within the approval TTL after it was approved; the next
//! identical request needs a new approval. An approval for `{amount: 5}` is not one for
//! `{amount: 500000}`: only an approver who says so (`anyContext`) widens it to any
//! context. While one is pending, identical requests get the same approval id instead
//! of a new one each, so an agent retrying in a loop does not flood the approvers.

use std::sync::Mutex;

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use super::lock;
use crate::{auth, clock};

/// One approval.
#[derive(Debug, Clone)]
pub struct Approval {
    /// `apr_<hex>`.
    pub id: String,
    /// `pending`, `approved`, `denied` or `used`.
    pub status: String,
    /// The agent that asked.
    pub agent_id: String,
    /// Its name.
    pub agent_name: Option<String>,
    /// The action.
    pub action: String,
    /// The canonical resource.
    pub resource: Option<String>,
    /// The request context (JSON text).
    pub context: Option<String>,
    /// The policy that required approval.
    pub policy: String,
    /// Its rule.
    pub rule: String,
    /// Its reason.
    pub reason: String,
    /// The trace id of the request that opened it.
    pub trace_id: String,
    /// When opened (ms).
    pub created_at: i64,
    /// When approved or denied (ms).
    pub decided_at: Option<i64>,
    /// Who approved or denied it.
    pub decided_by: Option<String>,
    /// Their note.
    pub note: Option<String>,
    /// When the approved request went through (ms).
    pub used_at: Option<i64>,
    /// The approver let it through whatever the context.
    pub any_context: bool,
}

impl Approval {
    /// The admin API's view.
    pub fn to_api(&self) -> meshguard_api::Approval {
        meshguard_api::Approval {
            id: self.id.clone(),
            status: self.status.clone(),
            agent_id: self.agent_id.clone(),
            agent_name: self.agent_name.clone(),
            action: self.action.clone(),
            resource: self.resource.clone(),
            context: self
                .context
                .as_deref()
                .and_then(|c| serde_json::from_str::<Value>(c).ok()),
            policy: self.policy.clone(),
            rule: self.rule.clone(),
            reason: self.reason.clone(),
            trace_id: self.trace_id.clone(),
            created_at: clock::rfc3339_ms(self.created_at),
            decided_at: self.decided_at.map(clock::rfc3339_ms),
            decided_by: self.decided_by.clone(),
            note: self.note.clone(),
            used_at: self.used_at.map(clock::rfc3339_ms),
            any_context: self.any_context,
        }
    }
}

/// What the decision path needs to open an approval.
#[derive(Debug, Clone)]
pub struct ApprovalRequest<'a> {
    /// The agent.
    pub agent_id: &'a str,
    /// Its name.
    pub agent_name: &'a str,
    /// The action.
    pub action: &'a str,
    /// The canonical resource.
    pub resource: Option<&'a str>,
    /// The context (JSON text).
    pub context: Option<&'a str>,
    /// The deciding policy.
    pub policy: &'a str,
    /// Its rule.
    pub rule: &'a str,
    /// Its reason.
    pub reason: &'a str,
    /// The request's trace id.
    pub trace_id: &'a str,
}

/// How a require_approval request was settled.
#[derive(Debug, Clone)]
pub enum Settled {
    /// A new pending approval.
    Opened(Approval),
    /// The approval already pending for the same request.
    Pending(Approval),
    /// An approved approval was used up: let this request through.
    Approved(Approval),
}

/// Why an admin decision was refused.
#[derive(Debug)]
pub enum DecideError {
    /// No such approval.
    NotFound,
    /// It was already decided (its current state is returned).
    AlreadyDecided(Box<Approval>),
    /// The database failed.
    Internal(anyhow::Error),
}

impl From<rusqlite::Error> for DecideError {
    fn from(e: rusqlite::Error) -> Self {
        DecideError::Internal(e.into())
    }
}

impl From<anyhow::Error> for DecideError {
    fn from(e: anyhow::Error) -> Self {
        DecideError::Internal(e)
    }
}

const COLUMNS: &str = "id, status, agent_id, agent_name, action, resource, context, policy, \
                       rule, reason, trace_id, created_at, decided_at, decided_by, note, used_at, \
                       any_context";

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

/// Approvals on their own connection; one lock makes find-then-update atomic.
#[derive(Debug)]
pub struct ApprovalStore {
    conn: Mutex<Connection>,
}

impl ApprovalStore {
    /// Wraps a connection.
    pub fn new(conn: Connection) -> ApprovalStore {
        ApprovalStore {
            conn: Mutex::new(conn),
        }
    }

    /// Settles a require_approval decision: uses up a matching approved approval (within
    /// `ttl_ms` of its approval), else returns the pending one for the same request, else
    /// opens a new one.
    pub fn settle(&self, req: &ApprovalRequest<'_>, now_ms: i64, ttl_ms: i64) -> Result<Settled> {
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
        let a = Approval {
            id: auth::random_id("apr_", 8)?,
            status: "pending".to_owned(),
            agent_id: req.agent_id.to_owned(),
            agent_name: Some(req.agent_name.to_owned()),
            action: req.action.to_owned(),
            resource: req.resource.map(str::to_owned),
            context: req.context.map(str::to_owned),
            policy: req.policy.to_owned(),
            rule: req.rule.to_owned(),
            reason: req.reason.to_owned(),
            trace_id: req.trace_id.to_owned(),
            created_at: now_ms,
            decided_at: None,
            decided_by: None,
            note: None,
            used_at: None,
            any_context: false,
        };
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

    /// Approvals, newest first, optionally with one status.
    pub fn list(&self, status: Option<&str>, limit: usize) -> Result<Vec<Approval>> {
        let conn = lock(&self.conn)?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM approvals WHERE (?1 IS NULL OR status = ?1) \
             ORDER BY created_at DESC, id LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![status, limit], from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One approval.
    pub fn get(&self, id: &str) -> Result<Option<Approval>> {
        let conn = lock(&self.conn)?;
        Ok(conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1"))?
            .query_row([id], from_row)
            .optional()?)
    }

    /// Approves or denies a pending approval; `any_context` (approve only) lets it through
    /// whatever the context of the request that uses it.
    pub fn decide(
        &self,
        id: &str,
        approve: bool,
        by: Option<&str>,
        note: Option<&str>,
        any_context: bool,
        now_ms: i64,
    ) -> Result<Approval, DecideError> {
        let conn = lock(&self.conn)?;
        let mut a = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1"))?
            .query_row([id], from_row)
            .optional()?
            .ok_or(DecideError::NotFound)?;
        if a.status != "pending" {
            return Err(DecideError::AlreadyDecided(Box::new(a)));
        }
        let status = if approve { "approved" } else { "denied" };
        conn.prepare_cached(
            "UPDATE approvals SET status = ?2, decided_at = ?3, decided_by = ?4, note = ?5, \
             any_context = ?6 WHERE id = ?1",
        )?
        .execute(params![
            id,
            status,
            now_ms,
            by,
            note,
            approve && any_context
        ])?;
        a.status = status.to_owned();
        a.decided_at = Some(now_ms);
        a.decided_by = by.map(str::to_owned);
        a.note = note.map(str::to_owned);
        a.any_context = approve && any_context;
        Ok(a)
    }
}
