//! The sliding-window rate limiter hosts own (docs/semantics.md §5).
//!
//! The core stays pure: a decision lists the limits that apply as obligations, and the
//! host passes it through its own [`RateLimiter`] value with the current time. Every host
//! uses this same code, so a burst of requests is throttled identically everywhere.
//!
//! Windows are exact sliding logs: one timestamp per counted request, at most the limit
//! (limits are capped at 1,000,000 when policies load), so memory per agent and policy is
//! bounded and no approximation makes two hosts disagree.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::boundary::{Decision, Mode, Request};
use crate::model::Effect;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// Per-agent request logs for every rate-limit obligation seen.
#[derive(Debug, Default, Clone)]
pub struct RateLimiter {
    logs: HashMap<(String, Arc<str>, Arc<str>), Log>,
}

#[derive(Debug, Default, Clone)]
struct Log {
    minute: VecDeque<i64>,
    hour: VecDeque<i64>,
}

impl Log {
    fn prune(&mut self, now_ms: i64) {
        while self
            .minute
            .front()
            .is_some_and(|&t| t <= now_ms - MINUTE_MS)
        {
            self.minute.pop_front();
        }
        while self.hour.front().is_some_and(|&t| t <= now_ms - HOUR_MS) {
            self.hour.pop_front();
        }
    }
}

/// Turns a decision into the limiter's deny (docs/semantics.md §5.1): reason `rate limit
/// exceeded` from the limiting policy and rule, still allowed in audit mode. Shared with
/// hosts that count elsewhere (the gateway's replicas count in their database), so every
/// limiter words the deny the same way.
pub fn mark_rate_limited(decision: &mut Decision, policy: Arc<str>, rule: Arc<str>) {
    decision.effect = Effect::Deny;
    decision.allowed = decision.mode == Mode::Audit;
    decision.policy = policy;
    decision.rule = rule;
    decision.reason = Arc::from("rate limit exceeded");
    decision.origin = crate::boundary::Origin::RateLimit;
}

/// The key requests are counted under: the agent's id, else its name, else `anonymous`.
pub fn rate_key(request: &Request) -> &str {
    request
        .agent
        .as_ref()
        .and_then(|a| a.id.as_deref().or(a.name.as_deref()))
        .unwrap_or("anonymous")
}

impl RateLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a decided request against its rate-limit obligations at `now_ms`
    /// (milliseconds since the Unix epoch).
    ///
    /// Denied requests are not counted. When any window is full the decision becomes a
    /// deny with reason `rate limit exceeded` from the limiting policy (still allowed in
    /// audit mode) and is not counted; the return value is then the milliseconds until
    /// the oldest counted request leaves the full window (for `Retry-After`).
    pub fn apply(&mut self, decision: &mut Decision, agent: &str, now_ms: i64) -> Option<u64> {
        if decision.effect == Effect::Deny || decision.obligations.rate_limits.is_empty() {
            return None;
        }
        let mut exceeded: Option<(u64, Arc<str>, Arc<str>)> = None;
        for o in &decision.obligations.rate_limits {
            let log = self
                .logs
                .entry((agent.to_owned(), o.policy.clone(), o.rule.clone()))
                .or_default();
            log.prune(now_ms);
            let full = |q: &VecDeque<i64>, limit: Option<u32>, window: i64| {
                let limit = limit? as usize;
                let oldest = *q.front()?;
                (q.len() >= limit).then(|| u64::try_from(oldest + window - now_ms).unwrap_or(0))
            };
            let wait = full(&log.minute, o.requests_per_minute, MINUTE_MS)
                .into_iter()
                .chain(full(&log.hour, o.requests_per_hour, HOUR_MS))
                .max();
            if let Some(wait) = wait
                && exceeded.as_ref().is_none_or(|(w, _, _)| wait > *w)
            {
                exceeded = Some((wait, o.policy.clone(), o.rule.clone()));
            }
        }
        if let Some((wait, policy, rule)) = exceeded {
            mark_rate_limited(decision, policy, rule);
            return Some(wait);
        }
        for o in &decision.obligations.rate_limits {
            if let Some(log) =
                self.logs
                    .get_mut(&(agent.to_owned(), o.policy.clone(), o.rule.clone()))
            {
                if o.requests_per_minute.is_some() {
                    log.minute.push_back(now_ms);
                }
                if o.requests_per_hour.is_some() {
                    log.hour.push_back(now_ms);
                }
            }
        }
        None
    }

    /// Counts a decided request at the instant it says it was made (its `time`), else at
    /// the host's `now_ms`; without either it is not counted. This is how every host of
    /// the conformance corpus counts, so they agree on every throttled request.
    pub fn count(
        &mut self,
        decision: &mut Decision,
        request: &Request,
        now_ms: Option<i64>,
    ) -> Option<u64> {
        let now = match request.time.as_deref() {
            Some(t) => crate::matching::parse_instant_ms(t).ok(),
            None => now_ms,
        }?;
        self.apply(decision, rate_key(request), now)
    }

    /// Drops the logs with nothing left in their windows at `now_ms`, to bound memory
    /// when many agents come and go.
    pub fn prune(&mut self, now_ms: i64) {
        self.logs.retain(|_, log| {
            log.prune(now_ms);
            !(log.minute.is_empty() && log.hour.is_empty())
        });
    }
}
