//! Limits: a rule's rate limit answers 429 with `Retry-After`; bodies over `MAX_BODY_BYTES`
//! are refused with 413; both are audited.

use crate::common::{self, ADMIN};
use crate::test_gateway;

#[test]
fn rate_limits_answer_429_with_retry_after() {
    if common::skip_in_debug("rate_limits_answer_429_with_retry_after") {
        return;
    }
    let gw = test_gateway(vec![]);
    let (_, token) = gw.agent("pinger", "verified", &["tester"]);
    for i in 0..3 {
        let r = gw.check(&token, "ping:x", None);
        assert_eq!(r.status, 200, "request {i}: {}", r.body);
    }
    let limited = gw.check(&token, "ping:x", None);
    assert_eq!(limited.status, 429, "{}", limited.body);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let v = limited.json();
    assert_eq!(v["error"], "rate_limited");
    assert_eq!(v["retry_after"], retry);
    assert_eq!(v["message"], "rate limit exceeded");
    assert_eq!(v["policy"], "test-policy");
    assert_eq!(v["rule"], "ping");
    // Other actions are not limited by that rule.
    assert_eq!(gw.check(&token, "read:x", None).status, 200);
    let entries = gw.audit("status=429");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["reason"], "rate limit exceeded");
    let metrics = gw.get("/metrics", &[]).body;
    assert!(
        metrics.contains("meshguard_rate_limited_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("meshguard_responses_total{status=\"429\"} 1"));
}

#[test]
fn bodies_over_the_limit_are_refused_with_413_and_audited() {
    if common::skip_in_debug("bodies_over_the_limit_are_refused_with_413_and_audited") {
        return;
    }
    let gw = test_gateway(vec![("MAX_BODY_BYTES", "4096".to_owned())]);
    let (_, token) = gw.agent("big", "verified", &["tester"]);
    let bearer = format!("Bearer {token}");
    let huge = format!(
        r#"{{"action":"read:x","resource":"{}"}}"#,
        "a".repeat(100_000)
    );
    let r = gw.request(
        "POST",
        "/v1/check",
        &[("Authorization", &bearer)],
        Some(&huge),
    );
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.json()["error"], "payload_too_large");
    let admin = gw.request(
        "POST",
        "/admin/agents",
        &[("X-Admin-Token", ADMIN)],
        Some(&format!(r#"{{"name":"{}"}}"#, "n".repeat(10_000))),
    );
    assert_eq!(admin.status, 413);
    let entries = gw.audit("status=413");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["rule"], "payload-too-large");
    // The gateway is still fine.
    assert_eq!(gw.check(&token, "read:x", None).status, 200);
}
