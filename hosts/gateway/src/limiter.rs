//! Rate limits: the core's exact limiter on one gateway, leased budgets across replicas.
//!
//! One gateway (SQLite) counts in memory with [`meshguard_core::RateLimiter`], the code
//! every host shares (docs/semantics.md §5.1). Replicas on PostgreSQL must count as one:
//! each spends permits leased from the database ([`crate::store::postgres::rates`], where
//! the bound is proven) and goes back to the database only when a lease is spent or
//! expired, or after the database said the budget is exhausted and the wait it named has
//! passed. A deny is worded exactly as the core's ([`meshguard_core::mark_rate_limited`]).
//! When the database cannot be asked, the request is denied as rate limited (fail
//! closed) with a one-second `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meshguard_core::{Decision, Effect, RateLimiter, mark_rate_limited};

use crate::store::postgres::rates::{Grant, LEASE_MS, Leases, Limit};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// The gateway's limiter.
#[derive(Debug)]
pub enum Limiter {
    /// In memory (one gateway).
    Local(Mutex<RateLimiter>),
    /// Leased from the shared database (replicas).
    Shared(Box<Shared>),
}

/// Leased budgets and what is left of them on this replica.
#[derive(Debug)]
pub struct Shared {
    leases: Leases,
    slots: Mutex<HashMap<(String, i64), Slot>>,
}

/// One limit's local state.
#[derive(Debug, Default)]
struct Slot {
    /// The current lease's row and how many of its permits were spent.
    lease: Option<(i64, u32)>,
    /// Permits left to spend.
    left: u32,
    /// When the lease's permits may no longer be spent.
    expires: Option<Instant>,
    /// The database said the budget is exhausted until then.
    blocked_until: Option<Instant>,
    /// Last time a request looked at it (for pruning).
    seen: Option<Instant>,
    /// Held while this slot's lease is asked for: two requests that both find it empty
    /// take one lease, not two (other limits are leased meanwhile).
    leasing: Arc<tokio::sync::Mutex<()>>,
}

impl Slot {
    fn usable(&self, now: Instant) -> bool {
        self.left > 0 && self.expires.is_some_and(|e| e > now)
    }
}

/// One window of one obligation.
#[derive(Debug, Clone)]
struct Window {
    key: String,
    window_ms: i64,
    limit: u32,
    policy: Arc<str>,
    rule: Arc<str>,
}

fn windows(d: &Decision, agent: &str) -> Vec<Window> {
    let mut out = Vec::new();
    for o in &d.obligations.rate_limits {
        let key = format!("{agent}\u{1f}{}\u{1f}{}", o.policy, o.rule);
        for (limit, window_ms) in [
            (o.requests_per_minute, MINUTE_MS),
            (o.requests_per_hour, HOUR_MS),
        ] {
            if let Some(limit) = limit {
                out.push(Window {
                    key: key.clone(),
                    window_ms,
                    limit,
                    policy: o.policy.clone(),
                    rule: o.rule.clone(),
                });
            }
        }
    }
    out
}

impl Limiter {
    /// Counts a decided request against its rate-limit obligations, as
    /// [`RateLimiter::apply`] does: `Some(ms until a permit frees)` when it turned the
    /// decision into a rate-limit deny.
    pub async fn apply(&self, d: &mut Decision, agent: &str, now_ms: i64) -> Option<u64> {
        match self {
            Limiter::Local(m) => match m.lock() {
                Ok(mut limiter) => limiter.apply(d, agent, now_ms),
                Err(_) => fail_closed(d, "the rate limiter is unavailable"),
            },
            Limiter::Shared(s) => s.apply(d, agent).await,
        }
    }

    /// Forgets what no window needs any more, bounding memory.
    pub fn prune(&self, now_ms: i64) {
        match self {
            Limiter::Local(m) => {
                if let Ok(mut l) = m.lock() {
                    l.prune(now_ms);
                }
            }
            Limiter::Shared(s) => s.prune(),
        }
    }
}

/// Denies as rate limited when the limiter itself failed.
fn fail_closed(d: &mut Decision, why: &str) -> Option<u64> {
    tracing::error!("{why}: the request is denied as rate limited");
    let (policy, rule) = d
        .obligations
        .rate_limits
        .first()
        .map(|o| (o.policy.clone(), o.rule.clone()))
        .unwrap_or_else(|| (d.policy.clone(), d.rule.clone()));
    mark_rate_limited(d, policy, rule);
    Some(1000)
}

fn lock<T>(m: &Mutex<T>) -> Option<std::sync::MutexGuard<'_, T>> {
    m.lock().ok()
}

impl Shared {
    /// Leases from `leases`.
    pub fn new(leases: Leases) -> Shared {
        Shared {
            leases,
            slots: Mutex::new(HashMap::new()),
        }
    }

    async fn apply(&self, d: &mut Decision, agent: &str) -> Option<u64> {
        if d.effect == Effect::Deny || d.obligations.rate_limits.is_empty() {
            return None;
        }
        let windows = windows(d, agent);
        // Each round either decides from local state or fills one more empty slot; a
        // request needs at most one round per window plus the deciding one.
        for _ in 0..=windows.len() {
            let missing = {
                let Some(mut slots) = lock(&self.slots) else {
                    return fail_closed(d, "the rate limiter is unavailable");
                };
                let now = Instant::now();
                let mut exceeded: Option<(u64, &Window)> = None;
                let mut missing = None;
                for w in &windows {
                    let slot = slots.entry((w.key.clone(), w.window_ms)).or_default();
                    slot.seen = Some(now);
                    if slot.usable(now) {
                        continue;
                    }
                    match slot.blocked_until.filter(|u| *u > now) {
                        Some(until) => {
                            let wait = u64::try_from((until - now).as_millis()).unwrap_or(0);
                            if exceeded.is_none_or(|(w0, _)| wait > w0) {
                                exceeded = Some((wait.max(1), w));
                            }
                        }
                        None => missing = missing.or(Some(w.clone())),
                    }
                }
                if let Some((wait, w)) = exceeded {
                    mark_rate_limited(d, w.policy.clone(), w.rule.clone());
                    return Some(wait);
                }
                match missing {
                    Some(w) => w,
                    None => {
                        // Every window has a permit: spend one of each.
                        for w in &windows {
                            if let Some(slot) = slots.get_mut(&(w.key.clone(), w.window_ms)) {
                                slot.left = slot.left.saturating_sub(1);
                                if let Some((_, used)) = slot.lease.as_mut() {
                                    *used += 1;
                                }
                            }
                        }
                        return None;
                    }
                }
            };
            if let Err(why) = self.refill(&missing).await {
                return fail_closed(d, &why);
            }
        }
        fail_closed(
            d,
            "the rate-limit budget kept running out while it was leased",
        )
    }

    /// Takes a lease for one window's slot (unless another request just did).
    async fn refill(&self, w: &Window) -> Result<(), String> {
        let slot_key = (w.key.clone(), w.window_ms);
        let leasing = {
            let mut slots = lock(&self.slots).ok_or("the rate limiter is unavailable")?;
            slots.entry(slot_key.clone()).or_default().leasing.clone()
        };
        let _one = leasing.lock().await;
        let previous = {
            let slots = lock(&self.slots).ok_or("the rate limiter is unavailable")?;
            let slot = slots.get(&slot_key);
            let now = Instant::now();
            if slot.is_some_and(|s| s.usable(now) || s.blocked_until.is_some_and(|u| u > now)) {
                return Ok(());
            }
            slot.and_then(|s| s.lease)
        };
        let leases = self.leases.clone();
        let (key, window_ms, limit) = (w.key.clone(), w.window_ms, w.limit);
        // Counted from before the request: the database's grant instant is later, so the
        // permits are never spent past `grant + LEASE_MS` (the bound in rates.rs).
        let asked = Instant::now();
        let grant = tokio::task::spawn_blocking(move || {
            leases.acquire(
                &Limit {
                    key: &key,
                    window_ms,
                    limit,
                },
                previous,
            )
        })
        .await
        .map_err(|e| format!("the rate-limit task failed: {e}"))?
        .map_err(|e| format!("cannot lease rate-limit budget: {e:#}"))?;
        let mut slots = lock(&self.slots).ok_or("the rate limiter is unavailable")?;
        let slot = slots.entry(slot_key).or_default();
        match grant {
            Grant::Lease { id, permits } => {
                slot.lease = Some((id, 0));
                slot.left = permits;
                slot.expires = Some(asked + Duration::from_millis(LEASE_MS.unsigned_abs()));
                slot.blocked_until = None;
            }
            Grant::Exhausted { wait_ms } => {
                // The previous lease was written back; nothing is held now.
                slot.lease = None;
                slot.left = 0;
                slot.expires = None;
                slot.blocked_until = Some(Instant::now() + Duration::from_millis(wait_ms));
            }
        }
        Ok(())
    }

    /// Drops slots nobody looked at for longer than the longest window: their leases
    /// have left every window the database counts.
    fn prune(&self) {
        let horizon = Duration::from_millis((HOUR_MS + LEASE_MS).unsigned_abs());
        if let Some(mut slots) = lock(&self.slots) {
            let now = Instant::now();
            slots.retain(|_, s| s.seen.is_some_and(|t| now.duration_since(t) < horizon));
        }
    }
}
