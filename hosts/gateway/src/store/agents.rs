//! Agents: identities with a trust tier, tags, an org and free-form metadata, each with
//! one token (stored as its SHA-256).
//!
//! Authentication runs on every decision, so active agents are also held in memory, keyed
//! by token hash. The database is the truth; every change (create, patch, revoke, rotate)
//! writes the database first and then updates the map under the same lock, before the
//! admin call answers — so a revoked or rotated token fails on the very next request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{Result, anyhow};
use meshguard_api::{self as api, AgentPatch, NewAgent};
use meshguard_core::{Agent, TrustTier};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::lock;
use crate::auth;
use crate::clock;

/// One agent as stored.
#[derive(Debug, Clone)]
pub struct AgentRecord {
    /// `agent_<hex>`.
    pub id: String,
    /// Display name (unique among active agents).
    pub name: String,
    /// Canonical tier name.
    pub trust_tier: String,
    /// Tags that select policies.
    pub tags: Vec<String>,
    /// Organisation.
    pub org_id: Option<String>,
    /// Free-form JSON object.
    pub metadata: Map<String, Value>,
    /// When created (ms).
    pub created_at: i64,
    /// When last changed (ms).
    pub updated_at: i64,
    /// When revoked (ms), if revoked.
    pub revoked_at: Option<i64>,
    token_hash: [u8; 32],
}

impl AgentRecord {
    /// The agent as the evaluator sees it.
    pub fn as_core(&self) -> Agent {
        Agent {
            id: Some(self.id.clone()),
            name: Some(self.name.clone()),
            trust_tier: Some(self.trust_tier.clone()),
            tags: self.tags.clone(),
            org_id: self.org_id.clone(),
        }
    }

    /// The admin API's view (never the token or its hash).
    pub fn to_api(&self) -> api::Agent {
        api::Agent {
            id: self.id.clone(),
            name: self.name.clone(),
            trust_tier: self.trust_tier.clone(),
            tags: self.tags.clone(),
            org_id: self.org_id.clone(),
            metadata: self.metadata.clone(),
            status: if self.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            }
            .to_owned(),
            created_at: clock::rfc3339_ms(self.created_at),
            updated_at: clock::rfc3339_ms(self.updated_at),
            revoked_at: self.revoked_at.map(clock::rfc3339_ms),
        }
    }
}

/// Why an agent change was refused.
#[derive(Debug)]
pub enum AgentError {
    /// A field is invalid; the message says which and why.
    Invalid(String),
    /// Another active agent has this name.
    NameTaken(String),
    /// No such agent.
    NotFound,
    /// The agent is revoked and cannot be changed.
    Revoked,
    /// The database failed.
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for AgentError {
    fn from(e: anyhow::Error) -> Self {
        AgentError::Internal(e)
    }
}

impl From<rusqlite::Error> for AgentError {
    fn from(e: rusqlite::Error) -> Self {
        AgentError::Internal(e.into())
    }
}

const MAX_TAGS: usize = 64;
const MAX_TEXT: usize = 256;

fn check_text(field: &str, s: &str, allow_empty: bool) -> Result<(), AgentError> {
    if !allow_empty && s.trim().is_empty() {
        return Err(AgentError::Invalid(format!("`{field}` must not be empty")));
    }
    if s.chars().count() > MAX_TEXT {
        return Err(AgentError::Invalid(format!(
            "`{field}` is longer than {MAX_TEXT} characters"
        )));
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(AgentError::Invalid(format!(
            "`{field}` contains the control character U+{:04X}",
            u32::from(c)
        )));
    }
    Ok(())
}

fn check_tier(tier: &str) -> Result<String, AgentError> {
    TrustTier::parse(tier)
        .map(|t| t.as_str().to_owned())
        .ok_or_else(|| {
            AgentError::Invalid(format!(
                "unknown trust tier `{tier}`, expected one of `untrusted`, `verified`, \
                 `trusted`, `privileged`"
            ))
        })
}

fn check_tags(tags: &[String]) -> Result<Vec<String>, AgentError> {
    if tags.len() > MAX_TAGS {
        return Err(AgentError::Invalid(format!("at most {MAX_TAGS} tags")));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        check_text("tags", t, false)?;
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    Ok(out)
}

/// Agents: the database and the in-memory map of active tokens.
#[derive(Debug)]
pub struct AgentStore {
    conn: Mutex<Connection>,
    by_token: RwLock<HashMap<[u8; 32], Arc<AgentRecord>>>,
}

const COLUMNS: &str = "id, name, trust_tier, tags, org_id, metadata, token_hash, created_at, \
                       updated_at, revoked_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<AgentRecord> {
    let tags: String = row.get(3)?;
    let metadata: String = row.get(5)?;
    let hash: Vec<u8> = row.get(6)?;
    Ok(AgentRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        trust_tier: row.get(2)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        org_id: row.get(4)?,
        metadata: serde_json::from_str(&metadata).unwrap_or_default(),
        token_hash: <[u8; 32]>::try_from(hash.as_slice()).unwrap_or([0; 32]),
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
        revoked_at: row.get(9)?,
    })
}

impl AgentStore {
    /// Opens the store on its own connection and loads the active agents.
    pub fn new(conn: Connection) -> Result<AgentStore> {
        let store = AgentStore {
            conn: Mutex::new(conn),
            by_token: RwLock::new(HashMap::new()),
        };
        let active = {
            let conn = lock(&store.conn)?;
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM agents WHERE revoked_at IS NULL"
            ))?;
            stmt.query_map([], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let mut map = store
            .by_token
            .write()
            .map_err(|_| anyhow!("agent map poisoned"))?;
        for a in active {
            map.insert(a.token_hash, Arc::new(a));
        }
        drop(map);
        Ok(store)
    }

    /// The active agent holding `token`, if any. This is the hot path: no database.
    pub fn authenticate(&self, token: &str) -> Option<Arc<AgentRecord>> {
        let hash = auth::hash_token(token);
        let map = self.by_token.read().ok()?;
        let agent = map.get(&hash)?;
        auth::same_hash(&agent.token_hash, &hash).then(|| agent.clone())
    }

    /// How many agents are active.
    pub fn active_count(&self) -> usize {
        self.by_token.read().map(|m| m.len()).unwrap_or(0)
    }

    fn set_active(&self, old_hash: Option<[u8; 32]>, record: Option<&AgentRecord>) -> Result<()> {
        let mut map = self
            .by_token
            .write()
            .map_err(|_| anyhow!("agent map poisoned"))?;
        if let Some(h) = old_hash {
            map.remove(&h);
        }
        if let Some(r) = record.filter(|r| r.revoked_at.is_none()) {
            map.insert(r.token_hash, Arc::new(r.clone()));
        }
        Ok(())
    }

    /// Every agent, oldest first.
    pub fn list(&self) -> Result<Vec<AgentRecord>> {
        let conn = lock(&self.conn)?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM agents ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn find(conn: &Connection, key: &str) -> rusqlite::Result<Option<AgentRecord>> {
        let by_id = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM agents WHERE id = ?1"))?
            .query_row([key], from_row)
            .optional()?;
        if by_id.is_some() {
            return Ok(by_id);
        }
        // The docs' CLI addresses agents by name (`meshguard agent revoke autogpt-agent`):
        // an active agent's name works too.
        conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM agents WHERE name = ?1 AND revoked_at IS NULL"
        ))?
        .query_row([key], from_row)
        .optional()
    }

    /// The agent with this id (or this active agent's name).
    pub fn get(&self, key: &str) -> Result<Option<AgentRecord>> {
        let conn = lock(&self.conn)?;
        Ok(Self::find(&conn, key)?)
    }

    fn name_taken(
        conn: &Connection,
        name: &str,
        except: Option<&str>,
    ) -> rusqlite::Result<Option<String>> {
        conn.prepare_cached(
            "SELECT id FROM agents WHERE name = ?1 AND revoked_at IS NULL AND id IS NOT ?2",
        )?
        .query_row(params![name, except], |r| r.get(0))
        .optional()
    }

    /// Creates an agent; returns it and its token (shown once, never stored).
    pub fn create(&self, new: NewAgent) -> Result<(AgentRecord, String), AgentError> {
        check_text("name", &new.name, false)?;
        let trust_tier = check_tier(new.trust_tier.as_deref().unwrap_or("verified"))?;
        let tags = check_tags(&new.tags)?;
        if let Some(org) = &new.org_id {
            check_text("orgId", org, false)?;
        }
        let token = auth::new_token()?;
        let now = clock::now_ms();
        let record = AgentRecord {
            id: auth::random_id("agent_", 8)?,
            name: new.name.trim().to_owned(),
            trust_tier,
            tags,
            org_id: new.org_id,
            metadata: new.metadata.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            revoked_at: None,
            token_hash: auth::hash_token(&token),
        };
        let conn = lock(&self.conn)?;
        if let Some(other) = Self::name_taken(&conn, &record.name, None)? {
            return Err(AgentError::NameTaken(other));
        }
        conn.prepare_cached(&format!(
            "INSERT INTO agents ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ))?
        .execute(params![
            record.id,
            record.name,
            record.trust_tier,
            serde_json::to_string(&record.tags).map_err(anyhow::Error::from)?,
            record.org_id,
            serde_json::to_string(&record.metadata).map_err(anyhow::Error::from)?,
            record.token_hash.as_slice(),
            record.created_at,
            record.updated_at,
            record.revoked_at,
        ])?;
        self.set_active(None, Some(&record))?;
        drop(conn);
        Ok((record, token))
    }

    /// Applies a patch to an active agent.
    pub fn update(&self, key: &str, patch: AgentPatch) -> Result<AgentRecord, AgentError> {
        let conn = lock(&self.conn)?;
        let mut record = Self::find(&conn, key)?.ok_or(AgentError::NotFound)?;
        if record.revoked_at.is_some() {
            return Err(AgentError::Revoked);
        }
        if let Some(name) = patch.name {
            check_text("name", &name, false)?;
            let name = name.trim().to_owned();
            if let Some(other) = Self::name_taken(&conn, &name, Some(&record.id))? {
                return Err(AgentError::NameTaken(other));
            }
            record.name = name;
        }
        if let Some(t) = patch.trust_tier {
            record.trust_tier = check_tier(&t)?;
        }
        if let Some(tags) = patch.tags {
            record.tags = check_tags(&tags)?;
        }
        if let Some(org) = patch.org_id {
            if let Some(o) = &org {
                check_text("orgId", o, false)?;
            }
            record.org_id = org;
        }
        if let Some(m) = patch.metadata {
            record.metadata = m;
        }
        record.updated_at = clock::now_ms();
        conn.prepare_cached(
            "UPDATE agents SET name = ?2, trust_tier = ?3, tags = ?4, org_id = ?5, \
             metadata = ?6, updated_at = ?7 WHERE id = ?1",
        )?
        .execute(params![
            record.id,
            record.name,
            record.trust_tier,
            serde_json::to_string(&record.tags).map_err(anyhow::Error::from)?,
            record.org_id,
            serde_json::to_string(&record.metadata).map_err(anyhow::Error::from)?,
            record.updated_at,
        ])?;
        self.set_active(Some(record.token_hash), Some(&record))?;
        Ok(record)
    }

    /// Revokes an agent: its token stops working on the next request. Revoking twice is
    /// not an error (the first revocation time is kept).
    pub fn revoke(&self, key: &str) -> Result<AgentRecord, AgentError> {
        let conn = lock(&self.conn)?;
        let mut record = Self::find(&conn, key)?.ok_or(AgentError::NotFound)?;
        if record.revoked_at.is_none() {
            let now = clock::now_ms();
            conn.prepare_cached(
                "UPDATE agents SET revoked_at = ?2, updated_at = ?2 WHERE id = ?1",
            )?
            .execute(params![record.id, now])?;
            record.revoked_at = Some(now);
            record.updated_at = now;
        }
        self.set_active(Some(record.token_hash), None)?;
        Ok(record)
    }

    /// Gives an active agent a new token; the old one stops working at once.
    pub fn rotate(&self, key: &str) -> Result<(AgentRecord, String), AgentError> {
        let conn = lock(&self.conn)?;
        let mut record = Self::find(&conn, key)?.ok_or(AgentError::NotFound)?;
        if record.revoked_at.is_some() {
            return Err(AgentError::Revoked);
        }
        let old = record.token_hash;
        let token = auth::new_token()?;
        record.token_hash = auth::hash_token(&token);
        record.updated_at = clock::now_ms();
        conn.prepare_cached("UPDATE agents SET token_hash = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![
                record.id,
                record.token_hash.as_slice(),
                record.updated_at
            ])?;
        self.set_active(Some(old), Some(&record))?;
        Ok((record, token))
    }
}
