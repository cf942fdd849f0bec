//! The MCP server's own decision log, kept in memory for `audit_query`.
//!
//! Every governed call (allowed or not) is recorded before it acts. The log is bounded:
//! past [`CAPACITY`] entries the oldest are dropped, so a long session cannot grow the
//! server without limit. It lives only as long as the server; hosts that need a durable
//! trail use the gateway.

use std::collections::VecDeque;
use std::sync::Mutex;

use meshguard_core::Decision;
use meshguard_core::glob::Glob;
use rmcp::schemars;
use serde::{Deserialize, Serialize};

/// Entries kept.
const CAPACITY: usize = 10_000;

/// Entries returned when the caller gives no limit.
const DEFAULT_LIMIT: usize = 50;

/// Most entries one query returns.
const MAX_LIMIT: usize = 1_000;

/// One governed call.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Position in the log, from 1.
    pub id: u64,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// The MCP tool called.
    pub tool: String,
    /// The action checked.
    pub action: String,
    /// The resource as the policies saw it.
    pub resource: Option<String>,
    /// `allow`, `deny` or `require_approval`.
    pub effect: String,
    /// Whether the call went ahead.
    pub allowed: bool,
    /// The deciding policy.
    pub policy: String,
    /// The deciding rule.
    pub rule: String,
    /// Why.
    pub reason: String,
}

/// `audit_query` filters; all given ones must hold.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Only this action, or actions matching this glob (`read:*`).
    #[serde(default)]
    pub action: Option<String>,
    /// Only this effect: `allow`, `deny` or `require_approval`.
    #[serde(default)]
    pub effect: Option<String>,
    /// Only calls of this tool, such as `governed_exec`.
    #[serde(default)]
    pub tool: Option<String>,
    /// Only calls that went ahead (`true`) or were refused (`false`).
    #[serde(default)]
    pub allowed: Option<bool>,
    /// The newest this many matching entries (default 50, at most 1000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// The log.
#[derive(Debug, Default)]
pub struct DecisionLog {
    entries: Mutex<(u64, VecDeque<Entry>)>,
}

impl DecisionLog {
    /// Records a decision about a call of `tool`.
    pub fn record(&self, tool: &str, time: String, d: &Decision) {
        // A poisoned lock only means another call panicked mid-push; the data is fine.
        let mut guard = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (next, entries) = &mut *guard;
        *next += 1;
        if entries.len() == CAPACITY {
            entries.pop_front();
        }
        entries.push_back(Entry {
            id: *next,
            time,
            tool: tool.to_owned(),
            action: d.action.clone(),
            resource: d.resource.clone(),
            effect: d.effect.as_str().to_owned(),
            allowed: d.allowed,
            policy: d.policy.to_string(),
            rule: d.rule.to_string(),
            reason: d.reason.to_string(),
        });
    }

    /// The newest entries that pass the filters, oldest first, and how many matched in all.
    pub fn query(&self, f: &Filters) -> Result<(Vec<Entry>, usize), String> {
        let action = match &f.action {
            Some(p) => Some(Glob::new(p).map_err(|e| format!("`action` filter: {}", e.problem()))?),
            None => None,
        };
        let limit = f.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
        let guard = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let matching: Vec<&Entry> = guard
            .1
            .iter()
            .filter(|e| action.as_ref().is_none_or(|g| g.matches(&e.action)))
            .filter(|e| f.effect.as_ref().is_none_or(|x| *x == e.effect))
            .filter(|e| f.tool.as_ref().is_none_or(|x| *x == e.tool))
            .filter(|e| f.allowed.is_none_or(|x| x == e.allowed))
            .collect();
        let total = matching.len();
        let skip = total.saturating_sub(limit);
        Ok((matching.into_iter().skip(skip).cloned().collect(), total))
    }
}
