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

use anyhow::Result;
use serde_json::Value;

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

impl From<anyhow::Error> for DecideError {
    fn from(e: anyhow::Error) -> Self {
        DecideError::Internal(e)
    }
}

/// The operations a backend provides. Each is one transaction: with several replicas, an
/// approved approval is used exactly once wherever the requests land.
pub trait ApprovalRows: Send + Sync + std::fmt::Debug {
    /// Settles a require_approval decision: uses up a matching approved approval (within
    /// `ttl_ms` of its approval), else returns the pending one for the same request, else
    /// opens a new one ([`Approval::pending`]).
    fn settle(&self, req: &ApprovalRequest<'_>, now_ms: i64, ttl_ms: i64) -> Result<Settled>;
    /// Approvals, newest first, optionally with one status.
    fn list(&self, status: Option<&str>, limit: usize) -> Result<Vec<Approval>>;
    /// One approval.
    fn get(&self, id: &str) -> Result<Option<Approval>>;
    /// Approves or denies a pending approval; `any_context` (approve only) lets it through
    /// whatever the context of the request that uses it.
    fn decide(&self, verdict: &Verdict<'_>, now_ms: i64) -> Result<Approval, DecideError>;
}

/// An approver's decision on one approval.
#[derive(Debug, Clone, Copy)]
pub struct Verdict<'a> {
    /// The approval.
    pub id: &'a str,
    /// Approve (else deny).
    pub approve: bool,
    /// Who decided.
    pub by: Option<&'a str>,
    /// Their note.
    pub note: Option<&'a str>,
    /// Approve whatever the context.
    pub any_context: bool,
}

impl Verdict<'_> {
    /// The status it gives.
    pub fn status(&self) -> &'static str {
        if self.approve { "approved" } else { "denied" }
    }

    /// Applies it to the approval as read.
    pub fn apply(&self, a: &mut Approval, now_ms: i64) {
        a.status = self.status().to_owned();
        a.decided_at = Some(now_ms);
        a.decided_by = self.by.map(str::to_owned);
        a.note = self.note.map(str::to_owned);
        a.any_context = self.approve && self.any_context;
    }
}

impl Approval {
    /// A new pending approval for a request.
    pub fn pending(req: &ApprovalRequest<'_>, now_ms: i64) -> Result<Approval> {
        Ok(Approval {
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
        })
    }
}

/// The columns, in the order both backends read and write them.
pub const COLUMNS: &str = "id, status, agent_id, agent_name, action, resource, context, policy, \
                       rule, reason, trace_id, created_at, decided_at, decided_by, note, used_at, \
                       any_context";
