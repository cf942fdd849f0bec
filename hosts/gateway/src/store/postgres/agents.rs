//! Agent rows in PostgreSQL. Every change commits with a notification, so every replica
//! re-reads the agent (`AgentStore::refresh`) within milliseconds.

use anyhow::Result;
use postgres::Row;
use postgres::error::SqlState;

use super::{Change, Pg, notify, text};
use crate::store::agents::{
    AgentError, AgentRecord, AgentRows, decode_json_columns, encode_json_columns, token_hash_from,
};

/// The agents table through the pool.
#[derive(Debug)]
pub struct Rows {
    pg: Pg,
}

impl Rows {
    /// Uses the shared pool.
    pub fn new(pg: Pg) -> Rows {
        Rows { pg }
    }

    /// Runs `change` and announces it in one transaction; a name another active agent
    /// holds (the partial unique index) is [`AgentError::NameTaken`].
    fn write(
        &self,
        id: &str,
        name: &str,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<(), AgentError> {
        let mut conn = self.pg.conn()?;
        let mut tx = conn.transaction().map_err(internal)?;
        if let Err(e) = tx.execute(sql, params) {
            let name_index = e
                .as_db_error()
                .is_some_and(|d| d.constraint() == Some("agents_active_name"));
            if e.code() == Some(&SqlState::UNIQUE_VIOLATION) && name_index {
                drop(tx);
                let other = conn
                    .query_opt(
                        "SELECT id FROM agents WHERE name = $1 AND revoked_at IS NULL AND id <> $2",
                        &[&name, &id],
                    )
                    .map_err(internal)?
                    .map(|r| r.get::<_, String>(0))
                    .unwrap_or_default();
                return Err(AgentError::NameTaken(other));
            }
            return Err(internal(e));
        }
        notify(&mut tx, &Change::Agent(id.to_owned()))?;
        tx.commit().map_err(internal)?;
        Ok(())
    }
}

fn internal(e: postgres::Error) -> AgentError {
    AgentError::Internal(e.into())
}

const COLUMNS: &str = "id, name, trust_tier, tags, org_id, metadata, token_hash, created_at, \
                       updated_at, revoked_at";

fn from_row(row: &Row) -> Result<AgentRecord> {
    let (tags, metadata) = decode_json_columns(row.try_get(3)?, row.try_get(5)?);
    Ok(AgentRecord {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        trust_tier: row.try_get(2)?,
        tags,
        org_id: row.try_get(4)?,
        metadata,
        token_hash: token_hash_from(row.try_get(6)?),
        created_at: row.try_get(7)?,
        updated_at: row.try_get(8)?,
        revoked_at: row.try_get(9)?,
    })
}

impl AgentRows for Rows {
    fn active(&self) -> Result<Vec<AgentRecord>> {
        let rows = self.pg.conn()?.query(
            &format!("SELECT {COLUMNS} FROM agents WHERE revoked_at IS NULL"),
            &[],
        )?;
        rows.iter().map(from_row).collect()
    }

    fn list(&self) -> Result<Vec<AgentRecord>> {
        let rows = self.pg.conn()?.query(
            &format!("SELECT {COLUMNS} FROM agents ORDER BY created_at, id"),
            &[],
        )?;
        rows.iter().map(from_row).collect()
    }

    fn find(&self, key: &str) -> Result<Option<AgentRecord>> {
        // By id first; else the active agent with that name.
        let row = self.pg.conn()?.query_opt(
            &format!(
                "SELECT {COLUMNS} FROM agents WHERE id = $1 OR (name = $1 AND revoked_at IS NULL) \
                 ORDER BY (id = $1) DESC LIMIT 1"
            ),
            &[&key],
        )?;
        row.as_ref().map(from_row).transpose()
    }

    fn insert(&self, r: &AgentRecord) -> Result<(), AgentError> {
        let (tags, metadata) = encode_json_columns(r)?;
        self.write(
            &r.id,
            &r.name,
            &format!(
                "INSERT INTO agents ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                &r.id,
                &text(&r.name),
                &r.trust_tier,
                &text(&tags),
                &r.org_id.as_deref().map(text),
                &text(&metadata),
                &r.token_hash.as_slice(),
                &r.created_at,
                &r.updated_at,
                &r.revoked_at,
            ],
        )
    }

    fn update(&self, r: &AgentRecord) -> Result<(), AgentError> {
        let (tags, metadata) = encode_json_columns(r)?;
        self.write(
            &r.id,
            &r.name,
            "UPDATE agents SET name = $2, trust_tier = $3, tags = $4, org_id = $5, \
             metadata = $6, updated_at = $7 WHERE id = $1",
            &[
                &r.id,
                &text(&r.name),
                &r.trust_tier,
                &text(&tags),
                &r.org_id.as_deref().map(text),
                &text(&metadata),
                &r.updated_at,
            ],
        )
    }

    fn revoke(&self, id: &str, now_ms: i64) -> Result<()> {
        self.write(
            id,
            "",
            "UPDATE agents SET revoked_at = $2, updated_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &now_ms],
        )
        .map_err(anyhow_of)
    }

    fn set_token(&self, id: &str, token_hash: &[u8; 32], now_ms: i64) -> Result<()> {
        self.write(
            id,
            "",
            "UPDATE agents SET token_hash = $2, updated_at = $3 WHERE id = $1",
            &[&id, &token_hash.as_slice(), &now_ms],
        )
        .map_err(anyhow_of)
    }
}

fn anyhow_of(e: AgentError) -> anyhow::Error {
    match e {
        AgentError::Internal(e) => e,
        other => anyhow::anyhow!("{other:?}"),
    }
}
