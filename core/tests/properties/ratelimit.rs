//! The rate limiter keeps its windows: policy-wide or per rule, per minute and per hour, it
//! never lets more than the limit through any window and refuses a request only when a
//! window is already full (pruning along the way changes no answer).

use std::collections::HashMap;

use meshguard_core::{Agent, Effect, PolicySet, RateLimiter, Request, Source, rate_key};
use proptest::prelude::*;

/// Runs `deltas` (ms between requests, from `start`) through a limiter in front of a
/// policy limiting to `per_minute` (and maybe `per_hour`), either policy-wide or as the
/// deciding rule's `conditions.rateLimit`. Returns the timestamps and whether each was
/// allowed.
fn run_limiter(
    per_minute: u32,
    per_hour: Option<u32>,
    rule_level: bool,
    start: i64,
    deltas: &[u32],
) -> Vec<(i64, bool)> {
    let hour = per_hour.map_or(String::new(), |h| format!(", requestsPerHour: {h}"));
    let limit = format!("{{requestsPerMinute: {per_minute}{hour}}}");
    let text = if rule_level {
        format!(
            "name: limited\nrules:\n  - effect: allow\n    actions: [\"*\"]\n    conditions:\n      rateLimit: {limit}\n"
        )
    } else {
        format!(
            "name: limited\nrateLimits: {limit}\nrules:\n  - effect: allow\n    actions: [\"*\"]\n"
        )
    };
    let set = PolicySet::compile([Source::new("limited.yaml", &text)])
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let req = Request {
        action: "send:message".to_owned(),
        agent: Some(Agent {
            id: Some("agent-1".to_owned()),
            ..Agent::default()
        }),
        ..Request::default()
    };
    let mut limiter = RateLimiter::new();
    let mut t = start;
    let mut out = Vec::with_capacity(deltas.len());
    for (i, &d) in deltas.iter().enumerate() {
        t += i64::from(d);
        let mut decision = set.decide(&req, false);
        assert_eq!(decision.effect, Effect::Allow);
        assert!(!decision.obligations.rate_limits.is_empty());
        limiter.apply(&mut decision, rate_key(&req), t);
        out.push((t, decision.allowed));
        if i % 7 == 6 {
            // Pruning is an optimisation; it must not change any answer.
            limiter.prune(t);
        }
    }
    out
}

/// How many allowed requests fall in the window `(t - window, t]`.
fn allowed_in_window(log: &[(i64, bool)], upto: usize, t: i64, window: i64) -> usize {
    log[..upto]
        .iter()
        .filter(|(s, ok)| *ok && *s > t - window && *s <= t)
        .count()
}

fn deltas() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(
        prop_oneof![3 => 0u32..2_000, 2 => 0u32..20_000, 1 => 55_000u32..65_000],
        1..80,
    )
}

proptest! {
    #![proptest_config(crate::config())]

    #[test]
    fn rate_limiter_never_exceeds_its_window(
        per_minute in 1u32..6,
        per_hour in prop::option::of(1u32..20),
        rule_level in any::<bool>(),
        start in 0i64..4_000_000_000_000,
        deltas in deltas(),
    ) {
        let log = run_limiter(per_minute, per_hour, rule_level, start, &deltas);
        let windows: Vec<(i64, usize)> = std::iter::once((60_000, per_minute as usize))
            .chain(per_hour.map(|h| (3_600_000, h as usize)))
            .collect();
        for (i, &(t, ok)) in log.iter().enumerate() {
            if !ok {
                continue;
            }
            for &(window, limit) in &windows {
                // Every window of this length that ends at an allowed request (the only
                // places the count can peak) holds at most `limit` allowed requests.
                let n = allowed_in_window(&log, i + 1, t, window);
                prop_assert!(n <= limit, "{n} allowed in the {window} ms window ending at {t} (limit {limit}): {log:?}");
            }
        }
    }

    /// The limiter is exact: a request is refused only when a window is already full.
    #[test]
    fn rate_limiter_refuses_only_when_full(
        per_minute in 1u32..6,
        per_hour in prop::option::of(1u32..20),
        rule_level in any::<bool>(),
        start in 0i64..4_000_000_000_000,
        deltas in deltas(),
    ) {
        let log = run_limiter(per_minute, per_hour, rule_level, start, &deltas);
        let mut windows = HashMap::new();
        windows.insert(60_000i64, per_minute as usize);
        if let Some(h) = per_hour {
            windows.insert(3_600_000, h as usize);
        }
        for (i, &(t, ok)) in log.iter().enumerate() {
            if ok {
                continue;
            }
            let full = windows
                .iter()
                .any(|(&window, &limit)| allowed_in_window(&log, i, t, window) >= limit);
            prop_assert!(full, "request {i} at {t} refused with no full window: {log:?}");
        }
    }
}
