//! What both JavaScript bindings do with the core, written once: the wasm-bindgen crate
//! compiles this file as a module, the napi-rs crate includes it by path. Each binding
//! only registers these functions with its own macros, so the two cannot drift.
//!
//! Requests and decisions cross the boundary two ways: as the core's `boundary` JSON,
//! serialised by `serde_json` exactly as the CLI and the gateway do, or (`evaluate` with
//! a plain object, the hot path) as texts the JS side writes into an exchange buffer and
//! a compact record back in the same buffer ([`meshguard_core::compact`]), which the JS
//! side turns into the same decision.

pub use meshguard_core::compact::{Compact, RECORD_LEN, exchange};
use meshguard_core::{
    Agent, Decision, Effect, PolicySet, RateLimiter, Request, RequestError, Source, parse_request,
};

/// Compiles `(name, text)` sources in load order with the set's fallback (`allow`, or
/// `deny` for anything else: fail closed). On failure returns every diagnostic as a JSON
/// array (the core's `Diagnostic`s: character columns, converted for JS by the caller).
pub fn compile(names: &[String], texts: &[String], fallback: &str) -> Result<PolicySet, String> {
    let sources = names.iter().zip(texts).map(|(n, t)| Source::new(n, t));
    let fallback = if fallback == "allow" {
        Effect::Allow
    } else {
        Effect::Deny
    };
    match PolicySet::compile(sources) {
        Ok(set) => Ok(set.with_fallback(fallback)),
        // Cannot fail in practice; an empty string makes the JS side's `JSON.parse` throw.
        Err(e) => Err(serde_json::to_string(&e.diagnostics()).unwrap_or_default()),
    }
}

/// Lints `(name, text)` sources loaded as one set: the findings as a JSON array of the
/// core's `Diagnostic`s (warnings and notes); when the set does not load, its errors as
/// [`compile`] gives them.
pub fn lint(names: &[String], texts: &[String]) -> Result<String, String> {
    let sources = names.iter().zip(texts).map(|(n, t)| Source::new(n, t));
    match meshguard_core::lint(sources) {
        Ok(findings) => Ok(serde_json::to_string(&findings).unwrap_or_default()),
        Err(e) => Err(serde_json::to_string(&e.diagnostics()).unwrap_or_default()),
    }
}

/// The clock a rate limiter counts with: the request's own `time` when it has one,
/// else the host's `now_ms`; without either the request is not counted (like the CLI
/// and the conformance harness, which count only timed requests).
#[derive(Debug)]
pub struct Limit<'a> {
    /// The limiter the host owns.
    pub limiter: &'a mut RateLimiter,
    /// The host's clock reading (milliseconds since the Unix epoch), if it passed one.
    pub now_ms: Option<f64>,
}

/// Decides one request given as JSON, then counts it against `limit`.
pub fn decide(set: &PolicySet, json: &str, explain: bool, limit: Option<Limit<'_>>) -> Decision {
    let request = match parse_request(json) {
        Ok(r) => r,
        Err(e) => return Decision::invalid(&Request::default(), &e),
    };
    let mut decision = set.decide(&request, explain);
    count(limit, &mut decision, &request);
    decision
}

/// Counts a decided request against `limit`, when there is one.
fn count(limit: Option<Limit<'_>>, decision: &mut Decision, request: &Request) {
    if let Some(Limit { limiter, now_ms }) = limit {
        // `as` saturates; the JS side passes only finite numbers.
        limiter.count(decision, request, now_ms.map(|ms| ms as i64));
    }
}

/// Decides the request the JS side wrote into the exchange buffer `buf`, without
/// explanation, then counts it against `limit`: the decision as `host`'s compact record
/// over the buffer's header, and the text it points into (see
/// [`meshguard_core::compact::exchange`]). The same decision as [`decide`] with the
/// request's JSON.
pub fn decide_exchange(
    set: &PolicySet,
    host: &mut Compact,
    buf: &mut [u8],
    limit: Option<Limit<'_>>,
) -> Option<String> {
    match limit {
        None => host.decide_exchange_on(set, buf),
        Some(_) => host.decide_exchange(buf, |request, memo| {
            let mut decision = set.decide_remembering(request, false, memo);
            count(limit, &mut decision, request);
            decision
        }),
    }
}

/// An agent as the JS side registers it (fields `null` when absent).
pub fn agent(
    id: Option<String>,
    name: Option<String>,
    trust_tier: Option<String>,
    tags: Vec<String>,
    org_id: Option<String>,
) -> Agent {
    Agent {
        id,
        name,
        trust_tier,
        tags,
        org_id,
    }
}

/// Decides requests in order (one limiter sees them in that order); a JSON array of
/// the decisions, each exactly as [`Decision::to_json`] writes it.
pub fn decide_batch(
    set: &PolicySet,
    requests: &[String],
    explain: bool,
    mut limit: Option<Limit<'_>>,
) -> String {
    let mut out = String::from("[");
    for (i, json) in requests.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let limit = limit.as_mut().map(|l| Limit {
            limiter: &mut *l.limiter,
            now_ms: l.now_ms,
        });
        out.push_str(&decide(set, json, explain, limit).to_json());
    }
    out.push(']');
    out
}

/// The core's fail-closed answer to a request the JS side could not even serialise (a
/// cyclic or BigInt-holding object, a request over the size cap): deny, rule
/// `invalid-request`, reason `invalid request: malformed request: <problem>`.
pub fn invalid(problem: &str) -> Decision {
    Decision::invalid(
        &Request::default(),
        &RequestError::Malformed(problem.to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITED: &str =
        "name: p\nrateLimits: {requestsPerMinute: 1}\nrules: [{effect: allow, actions: [\"a\"]}]\n";

    fn set(text: &str) -> PolicySet {
        compile(&["p.yaml".to_owned()], &[text.to_owned()], "deny").unwrap()
    }

    /// An exchange buffer holding action `a` at `time`, as the JS side writes it.
    fn exchange_buffer(time: &str) -> Vec<u8> {
        let mut buf = vec![0; exchange::LEN];
        let at = exchange::TEXT_AT;
        buf[at] = b'a';
        buf[at + 1..at + 1 + time.len()].copy_from_slice(time.as_bytes());
        let header = [
            at as i32,
            1,
            0,
            -1,
            0,
            -1,
            at as i32 + 1,
            time.len() as i32,
            -1,
            0,
        ];
        for (i, v) in header.into_iter().enumerate() {
            buf[4 * i..4 * i + 4].copy_from_slice(&v.to_ne_bytes());
        }
        buf
    }

    #[test]
    fn exchanged_decisions_count_like_json_ones() {
        let s = set(LIMITED);
        let mut host = Compact::new();
        let mut limiter = RateLimiter::new();
        let mut run = || {
            let mut buf = exchange_buffer("2026-01-26T10:00:00Z");
            let limit = Limit {
                limiter: &mut limiter,
                now_ms: None,
            };
            decide_exchange(&s, &mut host, &mut buf, Some(limit));
            buf[0] as i32 & meshguard_core::compact::head::EFFECT
        };
        assert_eq!(run(), 0);
        assert_eq!(run(), 1);
    }

    #[test]
    fn decisions_are_the_cores_json() {
        let s = set(LIMITED);
        let json = r#"{"action":"a"}"#;
        let want = serde_json::to_string(&s.decide_json(json, true)).unwrap();
        assert_eq!(decide(&s, json, true, None).to_json(), want);
    }

    #[test]
    fn bad_policies_give_every_diagnostic_as_json() {
        let names = ["a.yaml".to_owned(), "b.yaml".to_owned()];
        let texts = [
            "name: a\nrulez: []\n".to_owned(),
            "name: b\nrules: 3\n".to_owned(),
        ];
        let err = compile(&names, &texts, "deny").unwrap_err();
        let diags: Vec<serde_json::Value> = serde_json::from_str(&err).unwrap();
        assert_eq!(diags.len(), 2, "{err}");
        assert_eq!(diags[0]["file"], "a.yaml");
        assert_eq!(diags[0]["code"], "unknown-key");
        assert_eq!(diags[1]["file"], "b.yaml");
    }

    #[test]
    fn the_fallback_is_deny_unless_allow() {
        let text = "name: p\nappliesTo: {tags: [t]}\nrules: [{effect: allow, actions: [\"a\"]}]\n";
        for (fallback, effect) in [
            ("allow", Effect::Allow),
            ("deny", Effect::Deny),
            ("Allow", Effect::Deny),
        ] {
            let s = compile(&["p.yaml".to_owned()], &[text.to_owned()], fallback).unwrap();
            assert_eq!(decide(&s, r#"{"action":"a"}"#, false, None).effect, effect);
        }
    }

    #[test]
    fn the_limiter_counts_at_the_request_time_else_at_now_else_not() {
        let s = set(LIMITED);
        let mut limiter = RateLimiter::new();
        let mut run = |json: &str, now_ms: Option<f64>| {
            let limit = Limit {
                limiter: &mut limiter,
                now_ms,
            };
            decide(&s, json, false, Some(limit)).effect
        };
        // Untimed without a clock: not counted, however many.
        assert_eq!(run(r#"{"action":"a"}"#, None), Effect::Allow);
        assert_eq!(run(r#"{"action":"a"}"#, None), Effect::Allow);
        let timed = r#"{"action":"a","time":"2026-01-26T10:00:00Z"}"#;
        assert_eq!(run(timed, None), Effect::Allow);
        assert_eq!(run(timed, None), Effect::Deny);
        // The request's own time wins over the host's clock.
        let later = r#"{"action":"a","time":"2026-01-26T10:05:00Z"}"#;
        assert_eq!(run(later, Some(0.0)), Effect::Allow);
        // Untimed with a clock: counted at the clock (10:05:30, same window).
        assert_eq!(
            run(r#"{"action":"a"}"#, Some(1_769_421_930_000.0)),
            Effect::Deny
        );
    }

    #[test]
    fn batches_are_a_json_array_in_order() {
        let s = set(LIMITED);
        let reqs = [
            r#"{"action":"a"}"#.to_owned(),
            "nope".to_owned(),
            String::new(),
        ];
        let out = decide_batch(&s, &reqs, false, None);
        let parsed: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0]["effect"], "allow");
        assert_eq!(parsed[1]["rule"], "invalid-request");
        assert_eq!(decide_batch(&s, &[], false, None), "[]");
    }

    #[test]
    fn invalid_is_the_cores_fail_closed_shape() {
        let d = invalid("the request is an array");
        assert_eq!(d.effect, Effect::Deny);
        assert!(!d.allowed);
        assert_eq!(&*d.rule, "invalid-request");
        assert_eq!(
            &*d.reason,
            "invalid request: malformed request: the request is an array"
        );
    }
}
