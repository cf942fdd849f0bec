//! Reading the audit log: filtered queries with keyset paging (for the admin API and
//! streaming exports), statistics, and the entry's JSON and CSV forms.
//!
//! Runs on its own connection (WAL lets it read while the writer thread appends), so an
//! export of millions of rows never holds up a decision.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use anyhow::Result;
use meshguard_api::{ActionCount, AgentCount, AuditStats};
use rusqlite::{Connection, Row, ToSql, params, params_from_iter};
use serde_json::Value;

use super::audit::AuditEntry;
use super::lock;
use crate::clock;

/// Filters for `GET /admin/audit`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Effect.
    pub decision: Option<String>,
    /// Agent id or name.
    pub agent: Option<String>,
    /// Action, exact or a glob (`*`, `?`).
    pub action: Option<String>,
    /// From (inclusive, ms).
    pub from_ms: Option<i64>,
    /// To (exclusive, ms).
    pub to_ms: Option<i64>,
    /// Trace id.
    pub trace_id: Option<String>,
    /// HTTP status.
    pub status: Option<u16>,
    /// Newest first (default) or oldest first.
    pub ascending: bool,
    /// Only rows up to this id (an export stops at the newest row when it began).
    pub max_id: Option<i64>,
}

/// One stored entry.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// Row id.
    pub id: i64,
    /// The entry.
    pub entry: AuditEntry,
}

/// Column names, in CSV order.
pub const CSV_HEADER: &str = "id,timestamp,traceId,agentId,agentName,action,resource,decision,\
     allowed,policy,rule,reason,mode,status,latencyUs,endpoint,approvalId,context,outcome,result\r\n";

/// Stored enum-like columns back to the static names [`AuditEntry`] uses.
fn intern(s: String) -> &'static str {
    match s.as_str() {
        "allow" => "allow",
        "deny" => "deny",
        "require_approval" => "require_approval",
        "enforce" => "enforce",
        "audit" => "audit",
        "check" => "check",
        "v1" => "v1",
        "proxy" => "proxy",
        "governance" => "governance",
        "record" => "record",
        "report" => "report",
        "recorded" => "recorded",
        _ => "other",
    }
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
            decision: intern(row.get(7)?),
            allowed: row.get(8)?,
            policy: row.get(9)?,
            rule: row.get(10)?,
            reason: row.get::<_, Option<String>>(11)?.unwrap_or_default(),
            mode: intern(row.get(12)?),
            status: row.get(13)?,
            latency_us: u64::try_from(row.get::<_, i64>(14)?).unwrap_or(0),
            endpoint: intern(row.get(15)?),
            context: row.get(16)?,
            approval_id: row.get(17)?,
            outcome: row.get(18)?,
            result: row.get(19)?,
        },
    })
}

impl AuditRow {
    /// The API's view.
    pub fn to_api(&self) -> meshguard_api::AuditEntry {
        let e = &self.entry;
        meshguard_api::AuditEntry {
            // A string, as the SDKs type it; the digits of the row's sequence number, so
            // it still sorts and pages numerically.
            id: self.id.to_string(),
            timestamp: clock::rfc3339_ms(e.ts_ms),
            trace_id: e.trace_id.clone(),
            agent_id: e.agent_id.clone(),
            agent_name: e.agent_name.clone(),
            action: e.action.clone(),
            resource: e.resource.clone(),
            decision: e.decision.to_owned(),
            allowed: e.allowed,
            policy: e.policy.clone(),
            rule: e.rule.clone(),
            reason: e.reason.clone(),
            mode: e.mode.to_owned(),
            status: e.status,
            latency_us: e.latency_us,
            endpoint: e.endpoint.to_owned(),
            approval_id: e.approval_id.clone(),
            context: e
                .context
                .as_deref()
                .and_then(|c| serde_json::from_str::<Value>(c).ok()),
            outcome: e.outcome.clone(),
            result: e.result.clone(),
        }
    }

    /// One CSV record (RFC 4180, CRLF), in [`CSV_HEADER`] order.
    pub fn write_csv(&self, out: &mut String) {
        let e = &self.entry;
        let _ = write!(out, "{},{},", self.id, clock::rfc3339_ms(e.ts_ms));
        for field in [
            Some(e.trace_id.as_str()),
            e.agent_id.as_deref(),
            e.agent_name.as_deref(),
            Some(e.action.as_str()),
            e.resource.as_deref(),
            Some(e.decision),
            Some(if e.allowed { "true" } else { "false" }),
            e.policy.as_deref(),
            e.rule.as_deref(),
            Some(e.reason.as_str()),
            Some(e.mode),
        ] {
            csv_field(out, field.unwrap_or(""));
            out.push(',');
        }
        let _ = write!(out, "{},{},", e.status, e.latency_us);
        csv_field(out, e.endpoint);
        out.push(',');
        csv_field(out, e.approval_id.as_deref().unwrap_or(""));
        out.push(',');
        csv_field(out, e.context.as_deref().unwrap_or(""));
        out.push(',');
        csv_field(out, e.outcome.as_deref().unwrap_or(""));
        out.push(',');
        csv_field(out, e.result.as_deref().unwrap_or(""));
        out.push_str("\r\n");
    }
}

/// Writes a CSV field: quoted when it holds a separator, quote or line break; a leading
/// `=`, `+`, `-`, `@`, tab or CR gets a `'` first, because agents choose these values and
/// a spreadsheet would run them as formulas (CSV injection); other control characters
/// (which the evaluator refuses, but refused requests are audited too) are written as
/// `\uXXXX` so the file stays text. The JSON export is the lossless one.
fn csv_field(out: &mut String, s: &str) {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || s.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in s.chars() {
        if c == '"' {
            out.push('"');
        }
        if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
            let _ = write!(out, "\\u{:04X}", u32::from(c));
            continue;
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

/// Audit queries on their own connection.
#[derive(Debug)]
pub struct AuditReader {
    conn: Mutex<Connection>,
}

impl AuditReader {
    /// Wraps a connection.
    pub fn new(conn: Connection) -> AuditReader {
        AuditReader {
            conn: Mutex::new(conn),
        }
    }

    /// Up to `limit` entries matching `filter`, after row `after` (keyset paging in the
    /// filter's order).
    pub fn page(&self, f: &AuditFilter, after: Option<i64>, limit: usize) -> Result<Vec<AuditRow>> {
        let mut sql = String::from(
            "SELECT id, ts, trace_id, agent_id, agent_name, action, resource, decision, \
             allowed, policy, rule, reason, mode, status, latency_us, endpoint, context, \
             approval_id, outcome, result FROM audit WHERE 1 = 1",
        );
        let mut args: Vec<Box<dyn ToSql>> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, v: Box<dyn ToSql>| {
            args.push(v);
            let _ = write!(
                sql,
                " AND {}",
                clause.replace('?', &format!("?{}", args.len()))
            );
        };
        if let Some(d) = &f.decision {
            arg(&mut sql, "decision = ?", Box::new(d.clone()));
        }
        if let Some(a) = &f.agent {
            // One value, compared with both columns (every `?` becomes the same `?N`).
            arg(
                &mut sql,
                "(agent_id = ? OR agent_name = ?)",
                Box::new(a.clone()),
            );
        }
        if let Some(a) = &f.action {
            if a.contains(['*', '?', '[']) {
                arg(&mut sql, "action GLOB ?", Box::new(a.clone()));
            } else {
                arg(&mut sql, "action = ?", Box::new(a.clone()));
            }
        }
        if let Some(t) = f.from_ms {
            arg(&mut sql, "ts >= ?", Box::new(t));
        }
        if let Some(t) = f.to_ms {
            arg(&mut sql, "ts < ?", Box::new(t));
        }
        if let Some(t) = &f.trace_id {
            arg(&mut sql, "trace_id = ?", Box::new(t.clone()));
        }
        if let Some(s) = f.status {
            arg(&mut sql, "status = ?", Box::new(s));
        }
        if let Some(m) = f.max_id {
            arg(&mut sql, "id <= ?", Box::new(m));
        }
        if let Some(a) = after {
            let op = if f.ascending { "id > ?" } else { "id < ?" };
            arg(&mut sql, op, Box::new(a));
        }
        let _ = write!(
            sql,
            " ORDER BY id {} LIMIT {}",
            if f.ascending { "ASC" } else { "DESC" },
            limit
        );
        let conn = lock(&self.conn)?;
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), row_to_entry)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The newest row id.
    pub fn max_id(&self) -> Result<Option<i64>> {
        let conn = lock(&self.conn)?;
        Ok(conn.query_row("SELECT MAX(id) FROM audit", [], |r| r.get(0))?)
    }

    /// How many entries there are in all.
    pub fn count(&self) -> Result<i64> {
        let conn = lock(&self.conn)?;
        Ok(conn.query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))?)
    }

    /// Counts by decision, status, action and agent since `since_ms` (the period,
    /// `period_hours`, is the caller's).
    pub fn stats(
        &self,
        since_ms: i64,
        period_hours: u32,
        agent: Option<&str>,
    ) -> Result<AuditStats> {
        let conn = lock(&self.conn)?;
        let agent_clause = if agent.is_some() {
            " AND (agent_id = ?2 OR agent_name = ?2)"
        } else {
            ""
        };
        // (the grouped columns as text, the count) per group.
        let run = |select: &str, order: &str| -> Result<Vec<(Vec<Option<String>>, u64)>> {
            let sql = format!(
                "SELECT {select}, COUNT(*) AS n FROM audit WHERE ts >= ?1{agent_clause} \
                 GROUP BY {select} {order}"
            );
            let mut stmt = conn.prepare(&sql)?;
            let width = select.split(',').count();
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
            let rows = match agent {
                Some(a) => stmt
                    .query_map(params![since_ms, a], map)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                None => stmt
                    .query_map(params![since_ms], map)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            };
            Ok(rows)
        };
        let mut by_decision: BTreeMap<String, u64> = ["allow", "deny", "require_approval"]
            .iter()
            .map(|d| ((*d).to_owned(), 0))
            .collect();
        let mut total = 0;
        for (k, n) in run("decision", "")? {
            total += n;
            if let Some(Some(d)) = k.into_iter().next() {
                by_decision.insert(d, n);
            }
        }
        let by_status: BTreeMap<String, u64> = run("status", "ORDER BY status")?
            .into_iter()
            .filter_map(|(k, n)| k.into_iter().next().flatten().map(|s| (s, n)))
            .collect();
        let by_action = run("action", "ORDER BY n DESC LIMIT 20")?
            .into_iter()
            .map(|(k, count)| ActionCount {
                action: k.into_iter().next().flatten().unwrap_or_default(),
                count,
            })
            .collect();
        let by_agent = run("agent_id, agent_name", "ORDER BY n DESC LIMIT 20")?
            .into_iter()
            .map(|(k, count)| {
                let mut k = k.into_iter();
                AgentCount {
                    agent_id: k.next().flatten(),
                    agent_name: k.next().flatten(),
                    count,
                }
            })
            .collect();
        Ok(AuditStats {
            since: clock::rfc3339_ms(since_ms),
            period_hours,
            total,
            rate_limited: by_status.get("429").copied().unwrap_or(0),
            by_decision,
            by_status,
            by_action,
            by_agent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut s = String::new();
        csv_field(&mut s, "plain");
        s.push('|');
        csv_field(&mut s, "a,\"b\"");
        s.push('|');
        csv_field(&mut s, "=cmd()");
        s.push('|');
        csv_field(&mut s, "a\u{0}b");
        assert_eq!(s, "plain|\"a,\"\"b\"\"\"|\"'=cmd()\"|a\\u0000b");
    }
}
