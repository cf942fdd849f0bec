//! The gateway's state that outlives a request: agents and their tokens, the audit log,
//! approvals (and, on PostgreSQL, the policies and the rate-limit budgets replicas share).
//!
//! This module is the storage seam. Each store is written once against a small trait of
//! row operations — [`agents::AgentRows`], [`approvals::ApprovalRows`],
//! [`audit::AuditBatches`], [`audit_query::AuditRows`] — and each backend implements
//! those traits with its own SQL:
//! - [`sqlite`]: one embedded file, the default; one gateway owns it.
//! - [`postgres`]: `DATABASE_URL=postgres://…`; any number of replicas share it and
//!   stay in step through `LISTEN/NOTIFY` (see ARCHITECTURE.md, "Several replicas").
//!
//! Every trait method is blocking: callers run them on a blocking thread (the handlers'
//! `spawn_blocking`) or on the audit writer's own thread, never on an async worker.

pub mod agents;
pub mod approvals;
pub mod audit;
pub mod audit_query;
pub mod postgres;
pub mod sqlite;

use anyhow::Result;

/// The database behind the stores, chosen at start.
#[derive(Debug)]
pub enum Backend {
    /// The embedded file (`DB_PATH`).
    Sqlite(sqlite::Db),
    /// A shared server (`DATABASE_URL`).
    Postgres(postgres::Pg),
}

impl Backend {
    /// Opens the configured database and brings its schema up to date: PostgreSQL when a
    /// database URL is given, else the SQLite file.
    pub fn open(database_url: Option<&str>, db_path: &str) -> Result<Backend> {
        Ok(match database_url {
            Some(url) => Backend::Postgres(postgres::Pg::open(url)?),
            None => Backend::Sqlite(sqlite::Db::open(db_path)?),
        })
    }

    /// Agent rows.
    pub fn agent_rows(&self) -> Result<Box<dyn agents::AgentRows>> {
        Ok(match self {
            Backend::Sqlite(db) => Box::new(sqlite::agents::Rows::new(db.connect()?)),
            Backend::Postgres(pg) => Box::new(postgres::agents::Rows::new(pg.clone())),
        })
    }

    /// Approval rows.
    pub fn approval_rows(&self) -> Result<Box<dyn approvals::ApprovalRows>> {
        Ok(match self {
            Backend::Sqlite(db) => Box::new(sqlite::approvals::Rows::new(db.connect()?)),
            Backend::Postgres(pg) => Box::new(postgres::approvals::Rows::new(pg.clone())),
        })
    }

    /// The audit writer's side (one per gateway).
    pub fn audit_batches(&self) -> Result<Box<dyn audit::AuditBatches>> {
        Ok(match self {
            Backend::Sqlite(db) => Box::new(sqlite::audit::Batches::start(db)?),
            Backend::Postgres(pg) => Box::new(postgres::audit::Batches::new(pg.clone())),
        })
    }

    /// Audit queries.
    pub fn audit_rows(&self) -> Result<Box<dyn audit_query::AuditRows>> {
        Ok(match self {
            Backend::Sqlite(db) => Box::new(sqlite::audit::Reader::new(db.connect()?)),
            Backend::Postgres(pg) => Box::new(postgres::audit::Reader::new(pg.clone())),
        })
    }

    /// Where the data lives, for the start-up log (no password).
    pub fn describe(&self) -> String {
        match self {
            Backend::Sqlite(db) => format!("sqlite:{}", db.path().display()),
            Backend::Postgres(pg) => pg.describe(),
        }
    }

    /// The shared server, when there is one.
    pub fn postgres(&self) -> Option<&postgres::Pg> {
        match self {
            Backend::Postgres(pg) => Some(pg),
            Backend::Sqlite(_) => None,
        }
    }
}

/// Locks a mutex, turning poisoning (a panic elsewhere, which the lints forbid) into an
/// error instead of a second panic.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| anyhow::anyhow!("a database lock was poisoned"))
}
