//! The state every handler shares, built once at start.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::Mutex as AsyncMutex;

use crate::auth::AdminToken;
use crate::config::Config;
use crate::engine::Runtime;
use crate::http::proxy::Upstream;
use crate::limiter::Limiter;
use crate::metrics::Metrics;
use crate::reload::{PolicySnapshot, PolicySource, PolicyStatus};
use crate::signing::BundleSigner;
use crate::store::agents::AgentStore;
use crate::store::approvals::ApprovalRows;
use crate::store::audit::AuditSink;
use crate::store::audit_query::AuditReader;
use crate::webhooks::Alerts;

/// Shared by every request (behind an `Arc`).
#[derive(Debug)]
pub struct AppState {
    /// Checked configuration.
    pub config: Config,
    /// The admin token's hash.
    pub admin: AdminToken,
    /// The compiled component.
    pub runtime: Runtime,
    /// The policy set being served; swapped whole on reload.
    pub policies: ArcSwap<PolicySnapshot>,
    /// Where the policies come from (the directory, or the shared database).
    pub policy_source: PolicySource,
    /// Woken when another replica changed the shared policy set.
    pub policy_changed: tokio::sync::Notify,
    /// The last reload's problems.
    pub policy_status: ArcSwap<PolicyStatus>,
    /// Serialises reloads (the poller and policy writes through the admin API).
    pub reload_lock: AsyncMutex<()>,
    /// Agents and their tokens.
    pub agents: AgentStore,
    /// Approvals.
    pub approvals: Box<dyn ApprovalRows>,
    /// The audit writer's queue.
    pub audit: AuditSink,
    /// Audit queries.
    pub audit_reader: AuditReader,
    /// Rate limits (docs/semantics.md §5): in memory, or leased from the shared database.
    pub limiter: Limiter,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Alert delivery, when a webhook is configured.
    pub alerts: Option<Alerts>,
    /// Signs policy bundles.
    pub signer: BundleSigner,
    /// The proxy upstream, when configured.
    pub upstream: Option<Upstream>,
    /// Becomes `true` when the gateway begins to shut down: endless answers (the
    /// console's audit stream) end then, so in-flight requests can drain.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Audit streams open (`GET /admin/audit/stream`).
    pub live_streams: std::sync::atomic::AtomicUsize,
}
