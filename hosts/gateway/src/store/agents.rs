//! Agents: identities with a trust tier, tags, an org and free-form metadata, each with
//! one token (stored as its SHA-256).
//!
//! Authentication runs on every decision, so active agents are also held in memory, keyed
//! by token hash. The database is the truth; every change (create, patch, revoke, rotate)
//! writes the database first and then updates the map before the admin call answers — so
//! a revoked or rotated token fails on this gateway's very next request. Other replicas
//! (PostgreSQL) hear of the change through a notification and re-read that agent
//! ([`AgentStore::refresh`]); while their listener is disconnected they cannot know what
//! changed, so they answer every authentication with "unavailable" (503) instead of
//! trusting a map that may hold a revoked token, and re-read everything on reconnect.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::{Result, anyhow};
use meshguard_api::{self as api, AgentPatch, NewAgent};
use meshguard_core::{Agent, TrustTier};
use serde_json::{Map, Value};

use crate::auth::{self, AuthError};
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
    /// SHA-256 of the token.
    pub token_hash: [u8; 32],
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

/// The row operations a backend provides; [`AgentStore`] holds the rules.
pub trait AgentRows: Send + Sync + std::fmt::Debug {
    /// Every active agent.
    fn active(&self) -> Result<Vec<AgentRecord>>;
    /// Every agent, oldest first.
    fn list(&self) -> Result<Vec<AgentRecord>>;
    /// The agent with this id, else the active agent with this name (the docs' CLI
    /// addresses agents by name: `meshguard agent revoke autogpt-agent`).
    fn find(&self, key: &str) -> Result<Option<AgentRecord>>;
    /// Stores a new agent; [`AgentError::NameTaken`] when an active agent has its name.
    fn insert(&self, record: &AgentRecord) -> Result<(), AgentError>;
    /// Stores an agent's changed fields (name, tier, tags, org, metadata, update time);
    /// [`AgentError::NameTaken`] when another active agent has the new name.
    fn update(&self, record: &AgentRecord) -> Result<(), AgentError>;
    /// Marks an agent revoked at `now_ms` (unless it already is).
    fn revoke(&self, id: &str, now_ms: i64) -> Result<()>;
    /// Gives an agent a new token hash.
    fn set_token(&self, id: &str, token_hash: &[u8; 32], now_ms: i64) -> Result<()>;
}

/// Agents: the rows and the in-memory map of active tokens.
#[derive(Debug)]
pub struct AgentStore {
    rows: Box<dyn AgentRows>,
    by_token: RwLock<HashMap<[u8; 32], Arc<AgentRecord>>>,
    /// Whether the map can be trusted: always with SQLite (this gateway makes every
    /// change); with PostgreSQL only while the change listener is connected.
    current: AtomicBool,
}

impl AgentStore {
    /// Opens the store and loads the active agents. `current` says whether the map may
    /// be trusted before a change listener has connected.
    pub fn new(rows: Box<dyn AgentRows>, current: bool) -> Result<AgentStore> {
        let store = AgentStore {
            rows,
            by_token: RwLock::new(HashMap::new()),
            current: AtomicBool::new(current),
        };
        store.reload()?;
        Ok(store)
    }

    fn map(&self) -> Result<std::sync::RwLockWriteGuard<'_, HashMap<[u8; 32], Arc<AgentRecord>>>> {
        self.by_token
            .write()
            .map_err(|_| anyhow!("agent map poisoned"))
    }

    /// Reads every active agent again (after a change listener (re)connected: changes
    /// made while it was away were not heard).
    pub fn reload(&self) -> Result<()> {
        let active = self.rows.active()?;
        let mut map = self.map()?;
        map.clear();
        for a in active {
            map.insert(a.token_hash, Arc::new(a));
        }
        Ok(())
    }

    /// Re-reads one agent another replica changed.
    pub fn refresh(&self, id: &str) -> Result<()> {
        let record = self.rows.find(id)?.filter(|r| r.id == id);
        let mut map = self.map()?;
        map.retain(|_, a| a.id != id);
        if let Some(r) = record.filter(|r| r.revoked_at.is_none()) {
            map.insert(r.token_hash, Arc::new(r));
        }
        Ok(())
    }

    /// Says whether the map is up to date (see [`AgentStore::new`]).
    pub fn set_current(&self, current: bool) {
        self.current.store(current, Ordering::SeqCst);
    }

    /// Whether the map is up to date.
    pub fn is_current(&self) -> bool {
        self.current.load(Ordering::SeqCst)
    }

    /// The active agent holding `token`. This is the hot path: no database.
    pub fn authenticate(&self, token: &str) -> Result<Arc<AgentRecord>, AuthError> {
        if !self.current.load(Ordering::SeqCst) {
            return Err(AuthError::Unavailable);
        }
        let hash = auth::hash_token(token);
        let map = self.by_token.read().map_err(|_| AuthError::Unavailable)?;
        let agent = map.get(&hash).ok_or(AuthError::Invalid)?;
        if auth::same_hash(&agent.token_hash, &hash) {
            Ok(agent.clone())
        } else {
            Err(AuthError::Invalid)
        }
    }

    /// How many agents are active.
    pub fn active_count(&self) -> usize {
        self.by_token.read().map(|m| m.len()).unwrap_or(0)
    }

    fn set_active(&self, old_hash: Option<[u8; 32]>, record: Option<&AgentRecord>) -> Result<()> {
        let mut map = self.map()?;
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
        self.rows.list()
    }

    /// The agent with this id (or this active agent's name).
    pub fn get(&self, key: &str) -> Result<Option<AgentRecord>> {
        self.rows.find(key)
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
        self.rows.insert(&record)?;
        self.set_active(None, Some(&record))?;
        Ok((record, token))
    }

    fn find_active(&self, key: &str) -> Result<AgentRecord, AgentError> {
        let record = self.rows.find(key)?.ok_or(AgentError::NotFound)?;
        if record.revoked_at.is_some() {
            return Err(AgentError::Revoked);
        }
        Ok(record)
    }

    /// Applies a patch to an active agent.
    pub fn update(&self, key: &str, patch: AgentPatch) -> Result<AgentRecord, AgentError> {
        let mut record = self.find_active(key)?;
        if let Some(name) = patch.name {
            check_text("name", &name, false)?;
            record.name = name.trim().to_owned();
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
        self.rows.update(&record)?;
        self.set_active(Some(record.token_hash), Some(&record))?;
        Ok(record)
    }

    /// Revokes an agent: its token stops working on the next request. Revoking twice is
    /// not an error (the first revocation time is kept).
    pub fn revoke(&self, key: &str) -> Result<AgentRecord, AgentError> {
        let mut record = self.rows.find(key)?.ok_or(AgentError::NotFound)?;
        if record.revoked_at.is_none() {
            let now = clock::now_ms();
            self.rows.revoke(&record.id, now)?;
            record.revoked_at = Some(now);
            record.updated_at = now;
        }
        self.set_active(Some(record.token_hash), None)?;
        Ok(record)
    }

    /// Gives an active agent a new token; the old one stops working at once.
    pub fn rotate(&self, key: &str) -> Result<(AgentRecord, String), AgentError> {
        let mut record = self.find_active(key)?;
        let old = record.token_hash;
        let token = auth::new_token()?;
        record.token_hash = auth::hash_token(&token);
        record.updated_at = clock::now_ms();
        self.rows
            .set_token(&record.id, &record.token_hash, record.updated_at)?;
        self.set_active(Some(old), Some(&record))?;
        Ok((record, token))
    }
}

/// Parses the JSON columns of a stored agent (both backends keep tags and metadata as
/// JSON text, so the two read them the same way).
pub fn decode_json_columns(tags: &str, metadata: &str) -> (Vec<String>, Map<String, Value>) {
    (
        serde_json::from_str(tags).unwrap_or_default(),
        serde_json::from_str(metadata).unwrap_or_default(),
    )
}

/// The JSON columns of an agent to store.
pub fn encode_json_columns(record: &AgentRecord) -> Result<(String, String)> {
    Ok((
        serde_json::to_string(&record.tags)?,
        serde_json::to_string(&record.metadata)?,
    ))
}

/// A stored token hash (a wrong length never matches a real token).
pub fn token_hash_from(bytes: &[u8]) -> [u8; 32] {
    <[u8; 32]>::try_from(bytes).unwrap_or([0; 32])
}
