//! Agent rows in SQLite, on the store's own connection; one lock makes each
//! check-then-write (the name taken by another active agent) atomic.

use std::sync::Mutex;

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::store::agents::{
    AgentError, AgentRecord, AgentRows, decode_json_columns, encode_json_columns, token_hash_from,
};
use crate::store::lock;

/// The agents table on one connection.
#[derive(Debug)]
pub struct Rows {
    conn: Mutex<Connection>,
}

const COLUMNS: &str = "id, name, trust_tier, tags, org_id, metadata, token_hash, created_at, \
                       updated_at, revoked_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<AgentRecord> {
    let (tags, metadata) =
        decode_json_columns(&row.get::<_, String>(3)?, &row.get::<_, String>(5)?);
    Ok(AgentRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        trust_tier: row.get(2)?,
        tags,
        org_id: row.get(4)?,
        metadata,
        token_hash: token_hash_from(&row.get::<_, Vec<u8>>(6)?),
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
        revoked_at: row.get(9)?,
    })
}

fn internal(e: rusqlite::Error) -> AgentError {
    AgentError::Internal(e.into())
}

impl Rows {
    /// Wraps a connection.
    pub fn new(conn: Connection) -> Rows {
        Rows {
            conn: Mutex::new(conn),
        }
    }

    fn name_taken(conn: &Connection, name: &str, except: Option<&str>) -> Result<(), AgentError> {
        let other: Option<String> = conn
            .prepare_cached(
                "SELECT id FROM agents WHERE name = ?1 AND revoked_at IS NULL AND id IS NOT ?2",
            )
            .and_then(|mut s| s.query_row(params![name, except], |r| r.get(0)).optional())
            .map_err(internal)?;
        other.map_or(Ok(()), |id| Err(AgentError::NameTaken(id)))
    }
}

impl AgentRows for Rows {
    fn active(&self) -> Result<Vec<AgentRecord>> {
        let conn = lock(&self.conn)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM agents WHERE revoked_at IS NULL"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn list(&self) -> Result<Vec<AgentRecord>> {
        let conn = lock(&self.conn)?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM agents ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn find(&self, key: &str) -> Result<Option<AgentRecord>> {
        let conn = lock(&self.conn)?;
        let by_id = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM agents WHERE id = ?1"))?
            .query_row([key], from_row)
            .optional()?;
        if by_id.is_some() {
            return Ok(by_id);
        }
        Ok(conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM agents WHERE name = ?1 AND revoked_at IS NULL"
            ))?
            .query_row([key], from_row)
            .optional()?)
    }

    fn insert(&self, r: &AgentRecord) -> Result<(), AgentError> {
        let (tags, metadata) = encode_json_columns(r)?;
        let conn = lock(&self.conn)?;
        Self::name_taken(&conn, &r.name, None)?;
        conn.prepare_cached(&format!(
            "INSERT INTO agents ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ))
        .and_then(|mut s| {
            s.execute(params![
                r.id,
                r.name,
                r.trust_tier,
                tags,
                r.org_id,
                metadata,
                r.token_hash.as_slice(),
                r.created_at,
                r.updated_at,
                r.revoked_at,
            ])
        })
        .map_err(internal)?;
        Ok(())
    }

    fn update(&self, r: &AgentRecord) -> Result<(), AgentError> {
        let (tags, metadata) = encode_json_columns(r)?;
        let conn = lock(&self.conn)?;
        Self::name_taken(&conn, &r.name, Some(&r.id))?;
        conn.prepare_cached(
            "UPDATE agents SET name = ?2, trust_tier = ?3, tags = ?4, org_id = ?5, \
             metadata = ?6, updated_at = ?7 WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                r.id,
                r.name,
                r.trust_tier,
                tags,
                r.org_id,
                metadata,
                r.updated_at
            ])
        })
        .map_err(internal)?;
        Ok(())
    }

    fn revoke(&self, id: &str, now_ms: i64) -> Result<()> {
        let conn = lock(&self.conn)?;
        conn.prepare_cached(
            "UPDATE agents SET revoked_at = ?2, updated_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![id, now_ms])?;
        Ok(())
    }

    fn set_token(&self, id: &str, token_hash: &[u8; 32], now_ms: i64) -> Result<()> {
        let conn = lock(&self.conn)?;
        conn.prepare_cached("UPDATE agents SET token_hash = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![id, token_hash.as_slice(), now_ms])?;
        Ok(())
    }
}
