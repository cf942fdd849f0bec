//! The policy files in PostgreSQL: what every replica serves. A change (the admin API, or
//! `POLICIES_DIR` seeding an empty database) bumps one generation number and notifies in
//! the same transaction; replicas compare generations to know whether they serve the
//! newest set, and changes are compare-and-set on the generation the writer last read, so
//! two replicas editing at once cannot silently overwrite each other.

use anyhow::Result;
use postgres::IsolationLevel;

use super::{Change, Pg, notify};
use crate::clock;

/// The policy tables through the pool.
#[derive(Debug, Clone)]
pub struct PolicyRows {
    pg: Pg,
}

/// A generation changed under a writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stale {
    /// The database's generation now.
    pub current: i64,
}

impl PolicyRows {
    /// Uses the shared pool.
    pub fn new(pg: Pg) -> PolicyRows {
        PolicyRows { pg }
    }

    /// The current generation (0: never written).
    pub fn generation(&self) -> Result<i64> {
        Ok(self
            .pg
            .conn()?
            .query_one("SELECT generation FROM policy_generation", &[])?
            .try_get(0)?)
    }

    /// The generation and every file `(name, text)`, in name order, as of one instant.
    pub fn read(&self) -> Result<(i64, Vec<(String, String)>)> {
        let mut conn = self.pg.conn()?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let generation: i64 = tx
            .query_one("SELECT generation FROM policy_generation", &[])?
            .try_get(0)?;
        let files = tx
            .query(
                "SELECT name, source FROM policy_files ORDER BY name COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok((generation, files))
    }

    /// Stores `files` as the first set when the database has never had one (generation
    /// 0); `false` when it has (its set wins over the directory's, even if empty).
    pub fn seed(&self, files: &[(String, String)]) -> Result<bool> {
        let mut conn = self.pg.conn()?;
        let mut tx = conn.transaction()?;
        let generation: i64 = tx
            .query_one("SELECT generation FROM policy_generation FOR UPDATE", &[])?
            .try_get(0)?;
        if generation != 0 {
            return Ok(false);
        }
        let now = clock::now_ms();
        for (name, text) in files {
            tx.execute(
                "INSERT INTO policy_files (name, source, updated_at) VALUES ($1, $2, $3)",
                &[name, &super::text(text), &now],
            )?;
        }
        tx.execute("UPDATE policy_generation SET generation = 1", &[])?;
        notify(&mut tx, &Change::Policies)?;
        tx.commit()?;
        Ok(true)
    }

    /// Writes one file (`None`: removes it) if the database is still at `expected`;
    /// returns the new generation.
    pub fn write(
        &self,
        expected: i64,
        name: &str,
        text: Option<&str>,
    ) -> Result<Result<i64, Stale>> {
        let mut conn = self.pg.conn()?;
        let mut tx = conn.transaction()?;
        let current: i64 = tx
            .query_one("SELECT generation FROM policy_generation FOR UPDATE", &[])?
            .try_get(0)?;
        if current != expected {
            return Ok(Err(Stale { current }));
        }
        match text {
            Some(text) => tx.execute(
                "INSERT INTO policy_files (name, source, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET source = EXCLUDED.source, \
                 updated_at = EXCLUDED.updated_at",
                &[&name, &super::text(text), &clock::now_ms()],
            )?,
            None => tx.execute("DELETE FROM policy_files WHERE name = $1", &[&name])?,
        };
        let next = current + 1;
        tx.execute("UPDATE policy_generation SET generation = $1", &[&next])?;
        notify(&mut tx, &Change::Policies)?;
        tx.commit()?;
        Ok(Ok(next))
    }
}
