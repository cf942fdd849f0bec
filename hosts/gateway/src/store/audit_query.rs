//! Reading the audit log: filtered queries with keyset paging (for the admin API and
//! streaming exports), statistics, and the entry's JSON and CSV forms.
//!
//! The queries are built here once ([`AuditFilter::select`], [`GroupCounts::sql`]) with
//! the few spellings that differ between backends passed in ([`Placeholders`]); each
//! backend runs them on a connection of its own, so an export of millions of rows never
//! holds up a decision.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Result;
use meshguard_api::{ActionCount, AgentCount, AuditStats, StatsBucket};
use serde_json::Value;

use super::audit::AuditEntry;
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
    /// Only rows after this id (a live stream asks for what is new since its last row).
    pub min_id: Option<i64>,
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
impl AuditRow {
    /// The stored word as the static text the entry holds (`other` for one this
    /// gateway never writes).
    pub fn intern(s: &str) -> &'static str {
        match s {
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
            "local" => "local",
            "recorded" => "recorded",
            _ => "other",
        }
    }

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
/// A query argument, whichever backend binds it.
#[derive(Debug, Clone)]
pub enum Arg {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
}

/// How a backend spells what differs in the audit queries.
#[derive(Debug)]
pub struct Placeholders {
    /// `?` (SQLite: `?1`) or `$` (PostgreSQL: `$1`).
    pub prefix: &'static str,
    /// Whether each placeholder names its type (`$1::text`, `$2::bigint`).
    pub typed: bool,
    /// The clause matching `action` against a wildcard pattern, with one `?` for it.
    pub glob: &'static str,
    /// The pattern as that clause wants it.
    pub glob_pattern: fn(&str) -> String,
}

impl Placeholders {
    /// Appends ` AND <clause>` with every `?` in it bound to `value`.
    fn bind(&self, sql: &mut String, args: &mut Vec<Arg>, clause: &str, value: Arg) {
        let cast = match (&value, self.typed) {
            (_, false) => "",
            (Arg::Text(_), true) => "::text",
            (Arg::Int(_), true) => "::bigint",
        };
        args.push(value);
        let _ = write!(
            sql,
            " AND {}",
            clause.replace('?', &format!("{}{}{cast}", self.prefix, args.len()))
        );
    }
}

/// The columns an [`AuditRow`] is read from, in order.
pub const ROW_COLUMNS: &str = "id, ts, trace_id, agent_id, agent_name, action, resource, \
     decision, allowed, policy, rule, reason, mode, status, latency_us, endpoint, context, \
     approval_id, outcome, result";

impl AuditFilter {
    /// The page query (keyset paging on `id`, after `after`) and its arguments.
    pub fn select(&self, after: Option<i64>, limit: usize, p: &Placeholders) -> (String, Vec<Arg>) {
        let mut sql = format!("SELECT {ROW_COLUMNS} FROM audit WHERE 1 = 1");
        let mut args = Vec::new();
        if let Some(d) = &self.decision {
            p.bind(&mut sql, &mut args, "decision = ?", Arg::Text(d.clone()));
        }
        if let Some(a) = &self.agent {
            // One value, compared with both columns (every `?` becomes the same number).
            p.bind(
                &mut sql,
                &mut args,
                "(agent_id = ? OR agent_name = ?)",
                Arg::Text(a.clone()),
            );
        }
        if let Some(a) = &self.action {
            if a.contains(['*', '?', '[']) {
                p.bind(&mut sql, &mut args, p.glob, Arg::Text((p.glob_pattern)(a)));
            } else {
                p.bind(&mut sql, &mut args, "action = ?", Arg::Text(a.clone()));
            }
        }
        if let Some(t) = self.from_ms {
            p.bind(&mut sql, &mut args, "ts >= ?", Arg::Int(t));
        }
        if let Some(t) = self.to_ms {
            p.bind(&mut sql, &mut args, "ts < ?", Arg::Int(t));
        }
        if let Some(t) = &self.trace_id {
            p.bind(&mut sql, &mut args, "trace_id = ?", Arg::Text(t.clone()));
        }
        if let Some(s) = self.status {
            p.bind(&mut sql, &mut args, "status = ?", Arg::Int(i64::from(s)));
        }
        if let Some(m) = self.max_id {
            p.bind(&mut sql, &mut args, "id <= ?", Arg::Int(m));
        }
        if let Some(m) = self.min_id {
            p.bind(&mut sql, &mut args, "id > ?", Arg::Int(m));
        }
        if let Some(a) = after {
            let op = if self.ascending { "id > ?" } else { "id < ?" };
            p.bind(&mut sql, &mut args, op, Arg::Int(a));
        }
        let _ = write!(
            sql,
            " ORDER BY id {} LIMIT {}",
            if self.ascending { "ASC" } else { "DESC" },
            limit
        );
        (sql, args)
    }
}

/// One grouping of the statistics: counts of entries since an instant, per value of
/// some columns.
#[derive(Debug)]
pub struct GroupCounts<'a> {
    /// The grouped columns (`decision`, or `agent_id, agent_name`).
    pub columns: &'a str,
    /// `ORDER BY … LIMIT …`, or nothing.
    pub order: &'a str,
    /// Entries at or after this instant (ms).
    pub since_ms: i64,
    /// Only this agent's entries (id or name).
    pub agent: Option<&'a str>,
}

impl GroupCounts<'_> {
    /// How many grouped columns.
    pub fn width(&self) -> usize {
        self.columns.split(',').count()
    }

    /// The query and its arguments; the count is the column after the grouped ones.
    pub fn sql(&self, p: &Placeholders) -> (String, Vec<Arg>) {
        let mut sql = String::from("SELECT ");
        sql.push_str(self.columns);
        sql.push_str(", COUNT(*) AS n FROM audit WHERE 1 = 1");
        let mut args = Vec::new();
        p.bind(&mut sql, &mut args, "ts >= ?", Arg::Int(self.since_ms));
        if let Some(a) = self.agent {
            p.bind(
                &mut sql,
                &mut args,
                "(agent_id = ? OR agent_name = ?)",
                Arg::Text(a.to_owned()),
            );
        }
        let _ = write!(sql, " GROUP BY {} {}", self.columns, self.order);
        (sql, args)
    }
}

/// The queries a backend answers.
pub trait AuditRows: Send + Sync + std::fmt::Debug {
    /// One page of a filtered query.
    fn page(&self, f: &AuditFilter, after: Option<i64>, limit: usize) -> Result<Vec<AuditRow>>;
    /// The newest entry's id.
    fn max_id(&self) -> Result<Option<i64>>;
    /// How many entries there are.
    fn count(&self) -> Result<i64>;
    /// `(the grouped values as text, the count)` per group.
    fn group_counts(&self, q: &GroupCounts<'_>) -> Result<Vec<(Vec<Option<String>>, u64)>>;
}

/// Counts by decision, with the three decisions always present.
fn zero_counts() -> BTreeMap<String, u64> {
    ["allow", "deny", "require_approval"]
        .iter()
        .map(|d| ((*d).to_owned(), 0))
        .collect()
}

/// Audit queries for the admin API and exports; statistics put together from groupings.
#[derive(Debug)]
pub struct AuditReader {
    rows: Box<dyn AuditRows>,
}

impl AuditReader {
    /// Wraps a backend's queries.
    pub fn new(rows: Box<dyn AuditRows>) -> AuditReader {
        AuditReader { rows }
    }

    /// One page of a filtered query.
    pub fn page(&self, f: &AuditFilter, after: Option<i64>, limit: usize) -> Result<Vec<AuditRow>> {
        self.rows.page(f, after, limit)
    }

    /// The newest entry's id.
    pub fn max_id(&self) -> Result<Option<i64>> {
        self.rows.max_id()
    }

    /// How many entries there are.
    pub fn count(&self) -> Result<i64> {
        self.rows.count()
    }

    /// Counts since `since_ms`, optionally for one agent.
    pub fn stats(
        &self,
        since_ms: i64,
        period_hours: u32,
        agent: Option<&str>,
    ) -> Result<AuditStats> {
        let run = |columns: &str, order: &str| {
            self.rows.group_counts(&GroupCounts {
                columns,
                order,
                since_ms,
                agent,
            })
        };
        let mut by_decision = zero_counts();
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
            series: None,
        })
    }

    /// Counts by decision per interval of `bucket_ms` (aligned to the epoch) since
    /// `since_ms`, oldest first; intervals without entries are left out.
    pub fn series(
        &self,
        since_ms: i64,
        bucket_ms: i64,
        agent: Option<&str>,
    ) -> Result<Vec<StatsBucket>> {
        // The interval's number as text: both backends read text keys, and `CAST … AS
        // TEXT` is spelled alike in SQLite and PostgreSQL. `bucket_ms` is a number the
        // caller checked, never user text.
        let columns = format!("CAST(ts / {bucket_ms} AS TEXT), decision");
        let rows = self.rows.group_counts(&GroupCounts {
            columns: &columns,
            order: "",
            since_ms,
            agent,
        })?;
        let mut buckets: BTreeMap<i64, BTreeMap<String, u64>> = BTreeMap::new();
        for (keys, n) in rows {
            let mut keys = keys.into_iter();
            let (Some(Some(slot)), Some(Some(decision))) = (keys.next(), keys.next()) else {
                continue;
            };
            let Ok(slot) = slot.parse::<i64>() else {
                continue;
            };
            let counts = buckets.entry(slot).or_insert_with(zero_counts);
            *counts.entry(decision).or_insert(0) += n;
        }
        Ok(buckets
            .into_iter()
            .map(|(slot, counts)| StatsBucket {
                start: clock::rfc3339_ms(slot.saturating_mul(bucket_ms)),
                counts,
            })
            .collect())
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
