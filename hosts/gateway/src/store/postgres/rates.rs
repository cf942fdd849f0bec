//! Rate-limit budgets shared by replicas, handed out as short leases.
//!
//! Counting every request in the database would put a round trip on every decision.
//! Instead a replica takes a **lease**: up to a few permits of one limit (one agent,
//! policy, rule and window), usable for [`LEASE_MS`] after the database granted them; it
//! spends them locally and comes back when they run out or expire.
//!
//! The bound. A lease is granted at the database's clock instant `g` only if the permits
//! of all leases for that limit granted in `(g - window - LEASE_MS, g]`, plus the new
//! ones, stay within the limit. A permit is spent within `LEASE_MS` of its grant, so the
//! requests counted in any window `(x - window, x]` come from leases granted in
//! `(x - window - LEASE_MS, x]`, an interval of that same length, whose permits the last
//! grant inside it counted in full. So no window ever admits more than the limit,
//! whatever the number of replicas. The price: a permit leased and not spent still counts
//! until its replica takes its next lease for the limit (which writes back what it
//! actually used), and the database cannot give permits back before a full
//! `window + LEASE_MS` has passed since their grant. Leases are small (a tenth of the
//! limit, 1 to 50 permits) so that what one replica holds unspent stays small.

use anyhow::Result;

use super::{Pg, text};

/// How long a leased permit may be spent after its grant.
pub const LEASE_MS: i64 = 1000;

/// The permits to ask for at a time for a limit.
pub fn lease_size(limit: u32) -> u32 {
    (limit / 10).clamp(1, 50)
}

/// One limit's identity and size.
#[derive(Debug, Clone)]
pub struct Limit<'a> {
    /// Agent, policy and rule.
    pub key: &'a str,
    /// The window (ms).
    pub window_ms: i64,
    /// Requests allowed in any window.
    pub limit: u32,
}

/// What the database granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// A lease of `permits`, to write back to with [`Leases::acquire`]'s `previous`.
    Lease {
        /// The lease's row.
        id: i64,
        /// Permits granted (at least 1).
        permits: u32,
    },
    /// No permit left: the next one frees in this many ms (at most a window).
    Exhausted {
        /// Until a permit frees (ms).
        wait_ms: u64,
    },
}

/// The lease table through the pool.
#[derive(Debug, Clone)]
pub struct Leases {
    pg: Pg,
}

impl Leases {
    /// Uses the shared pool.
    pub fn new(pg: Pg) -> Leases {
        Leases { pg }
    }

    /// Asks for a lease on `limit`, first writing back how many permits of this
    /// replica's previous lease on it (`(id, used)`) were spent.
    pub fn acquire(&self, limit: &Limit<'_>, previous: Option<(i64, u32)>) -> Result<Grant> {
        let key = text(limit.key);
        let mut conn = self.pg.conn()?;
        let mut tx = conn.transaction()?;
        // One grant at a time per limit, across replicas.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2::bigint::text, 1))",
            &[&key, &limit.window_ms],
        )?;
        if let Some((id, used)) = previous {
            tx.execute(
                "UPDATE rate_leases SET permits = LEAST(permits, $2) WHERE id = $1",
                &[&id, &i32::try_from(used).unwrap_or(i32::MAX)],
            )?;
        }
        let now: i64 = tx
            .query_one(
                "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
                &[],
            )?
            .try_get(0)?;
        let horizon = now - limit.window_ms - LEASE_MS;
        tx.execute(
            "DELETE FROM rate_leases WHERE key = $1 AND window_ms = $2 AND granted_at <= $3",
            &[&key, &limit.window_ms, &horizon],
        )?;
        let row = tx.query_one(
            "SELECT COALESCE(SUM(permits), 0)::bigint, MIN(granted_at) FROM rate_leases \
             WHERE key = $1 AND window_ms = $2",
            &[&key, &limit.window_ms],
        )?;
        let counted: i64 = row.try_get(0)?;
        let oldest: Option<i64> = row.try_get(1)?;
        let left = i64::from(limit.limit) - counted;
        let grant = if left <= 0 {
            // The oldest lease leaves the counted span first.
            let frees_at = oldest.unwrap_or(now) + limit.window_ms + LEASE_MS;
            Grant::Exhausted {
                wait_ms: u64::try_from(frees_at - now).unwrap_or(0).max(1),
            }
        } else {
            let permits = i64::from(lease_size(limit.limit)).min(left);
            let permits_i32 = i32::try_from(permits).unwrap_or(1);
            let id: i64 = tx
                .query_one(
                    "INSERT INTO rate_leases (key, window_ms, granted_at, permits, replica) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    &[
                        &key,
                        &limit.window_ms,
                        &now,
                        &permits_i32,
                        &self.pg.replica(),
                    ],
                )?
                .try_get(0)?;
            Grant::Lease {
                id,
                permits: u32::try_from(permits).unwrap_or(1),
            }
        };
        tx.commit()?;
        Ok(grant)
    }
}
