//! The audit log in PostgreSQL: one table for every replica. A batch goes in with one
//! binary `COPY` inside a transaction, and its callers are answered once that commits.

use anyhow::Result;
use postgres::Row;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use super::{Pg, opt_text, text};
use crate::store::audit::{AuditBatches, AuditEntry, RETENTION_CHUNK, RetentionJob};
use crate::store::audit_query::{Arg, AuditFilter, AuditRow, AuditRows, GroupCounts, Placeholders};

/// The writer's side: a pooled connection per batch (a broken one is replaced).
#[derive(Debug)]
pub struct Batches {
    pg: Pg,
}

impl Batches {
    /// Uses the shared pool.
    pub fn new(pg: Pg) -> Batches {
        Batches { pg }
    }
}

const COPY: &str = "COPY audit (ts, trace_id, agent_id, agent_name, action, resource, decision, \
     allowed, policy, rule, reason, mode, status, latency_us, endpoint, context, approval_id, \
     outcome, result) FROM STDIN BINARY";

/// The column types of [`COPY`], exactly (binary COPY does not convert).
const COPY_TYPES: &[Type] = &[
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::BOOL,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT4,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
];

impl AuditBatches for Batches {
    fn insert(&mut self, batch: &[AuditEntry]) -> Result<()> {
        let mut conn = self.pg.conn()?;
        let mut tx = conn.transaction()?;
        let mut writer = BinaryCopyInWriter::new(tx.copy_in(COPY)?, COPY_TYPES);
        for e in batch {
            let latency = i64::try_from(e.latency_us).unwrap_or(i64::MAX);
            let status = i32::from(e.status);
            writer.write(&[
                &e.ts_ms,
                &text(&e.trace_id),
                &opt_text(e.agent_id.as_deref()),
                &opt_text(e.agent_name.as_deref()),
                &text(&e.action),
                &opt_text(e.resource.as_deref()),
                &e.decision,
                &e.allowed,
                &opt_text(e.policy.as_deref()),
                &opt_text(e.rule.as_deref()),
                &text(&e.reason),
                &e.mode,
                &status,
                &latency,
                &e.endpoint,
                &opt_text(e.context.as_deref()),
                &opt_text(e.approval_id.as_deref()),
                &opt_text(e.outcome.as_deref()),
                &opt_text(e.result.as_deref()),
            ])?;
        }
        writer.finish()?;
        tx.commit()?;
        Ok(())
    }

    fn expire_chunk(&mut self, job: &mut RetentionJob) -> Result<usize> {
        let mut conn = self.pg.conn()?;
        while let Some((policy, cutoff)) = job.per_policy.last().cloned() {
            let n = conn.execute(
                "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE policy = $1 AND \
                 ts < $2 LIMIT $3)",
                &[&policy, &cutoff, &RETENTION_CHUNK],
            )?;
            if n > 0 {
                return Ok(usize::try_from(n).unwrap_or(usize::MAX));
            }
            job.per_policy.pop();
        }
        if let Some(cutoff) = job.default_cutoff_ms {
            let n = conn.execute(
                "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE ts < $1 AND \
                 (policy IS NULL OR policy <> ALL($2)) LIMIT $3)",
                &[&cutoff, &job.exempt, &RETENTION_CHUNK],
            )?;
            if n > 0 {
                return Ok(usize::try_from(n).unwrap_or(usize::MAX));
            }
            job.default_cutoff_ms = None;
        }
        Ok(0)
    }

    fn probe(&mut self) -> Result<()> {
        self.pg.conn()?.batch_execute("SELECT 1")?;
        Ok(())
    }
}

/// Audit queries through the pool.
#[derive(Debug)]
pub struct Reader {
    pg: Pg,
}

impl Reader {
    /// Uses the shared pool.
    pub fn new(pg: Pg) -> Reader {
        Reader { pg }
    }
}

/// `$N` placeholders, typed (PostgreSQL infers a parameter's type from its first use,
/// which would make `status = $N` an `int4` that an `i64` cannot bind to); wildcards as
/// a regular expression made from the glob.
const POSTGRES: Placeholders = Placeholders {
    prefix: "$",
    typed: true,
    glob: "action ~ ?",
    glob_pattern: glob_to_regex,
};

/// A `GLOB` pattern (`*`, `?`, `[...]`, `[^...]`) as an anchored POSIX regular
/// expression, so both backends match the same actions.
fn glob_to_regex(glob: &str) -> String {
    let mut out = String::from("^");
    let mut in_class = false;
    for c in glob.chars() {
        match c {
            _ if in_class => {
                if c == ']' {
                    in_class = false;
                }
                if c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                in_class = true;
                out.push('[');
            }
            c if c.is_ascii_alphanumeric() || !c.is_ascii() => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    out.push('$');
    out
}

fn bind(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| match a {
            Arg::Text(s) => s as &(dyn ToSql + Sync),
            Arg::Int(n) => n as &(dyn ToSql + Sync),
        })
        .collect()
}

fn row_to_entry(row: &Row) -> Result<AuditRow> {
    Ok(AuditRow {
        id: row.try_get(0)?,
        entry: AuditEntry {
            ts_ms: row.try_get(1)?,
            trace_id: row.try_get(2)?,
            agent_id: row.try_get(3)?,
            agent_name: row.try_get(4)?,
            action: row.try_get(5)?,
            resource: row.try_get(6)?,
            decision: AuditRow::intern(row.try_get(7)?),
            allowed: row.try_get(8)?,
            policy: row.try_get(9)?,
            rule: row.try_get(10)?,
            reason: row.try_get::<_, Option<String>>(11)?.unwrap_or_default(),
            mode: AuditRow::intern(row.try_get(12)?),
            status: u16::try_from(row.try_get::<_, i32>(13)?).unwrap_or(0),
            latency_us: u64::try_from(row.try_get::<_, i64>(14)?).unwrap_or(0),
            endpoint: AuditRow::intern(row.try_get(15)?),
            context: row.try_get(16)?,
            approval_id: row.try_get(17)?,
            outcome: row.try_get(18)?,
            result: row.try_get(19)?,
        },
    })
}

impl AuditRows for Reader {
    fn page(&self, f: &AuditFilter, after: Option<i64>, limit: usize) -> Result<Vec<AuditRow>> {
        let (sql, args) = f.select(after, limit, &POSTGRES);
        let rows = self.pg.conn()?.query(&sql, &bind(&args))?;
        rows.iter().map(row_to_entry).collect()
    }

    fn max_id(&self) -> Result<Option<i64>> {
        Ok(self
            .pg
            .conn()?
            .query_one("SELECT MAX(id) FROM audit", &[])?
            .try_get(0)?)
    }

    fn count(&self) -> Result<i64> {
        Ok(self
            .pg
            .conn()?
            .query_one("SELECT COUNT(*) FROM audit", &[])?
            .try_get(0)?)
    }

    fn group_counts(&self, q: &GroupCounts<'_>) -> Result<Vec<(Vec<Option<String>>, u64)>> {
        let (sql, args) = q.sql(&POSTGRES);
        let rows = self.pg.conn()?.query(&sql, &bind(&args))?;
        let width = q.width();
        rows.iter()
            .map(|r| {
                let mut keys = Vec::with_capacity(width);
                for i in 0..width {
                    // Text columns, and `status` (an integer) as its digits.
                    keys.push(match r.try_get::<_, Option<String>>(i) {
                        Ok(s) => s,
                        Err(_) => r.try_get::<_, Option<i32>>(i)?.map(|n| n.to_string()),
                    });
                }
                let n: i64 = r.try_get(width)?;
                Ok((keys, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::glob_to_regex;

    #[test]
    fn globs_become_anchored_regular_expressions() {
        assert_eq!(glob_to_regex("read:*"), "^read\\:.*$");
        assert_eq!(glob_to_regex("a?c"), "^a.c$");
        assert_eq!(glob_to_regex("[rw]rite:x.y"), "^[rw]rite\\:x\\.y$");
        assert_eq!(glob_to_regex("[^a]*"), "^[^a].*$");
    }
}
