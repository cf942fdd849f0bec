//! `/health` and `/metrics`: the mode, loaded policies and the Prometheus counters.

use serde_json::json;

use crate::common;
use crate::test_gateway;

#[test]
fn metrics_and_health() {
    if common::skip_in_debug("metrics_and_health") {
        return;
    }
    let gw = test_gateway(vec![]);
    let (_, token) = gw.agent("m", "verified", &["tester"]);
    gw.check(&token, "read:a", None);
    gw.check(&token, "delete:a", None);
    let h = gw.get("/health", &[]).json();
    assert_eq!(h["status"], "healthy");
    assert_eq!(h["mode"], "enforce");
    assert_eq!(h["policies"], 1);
    assert_eq!(h["policyErrors"], json!([]));
    let m = gw.get("/metrics", &[]);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    for needle in [
        "meshguard_decisions_total{effect=\"allow\"} 1",
        "meshguard_decisions_total{effect=\"deny\"} 1",
        "meshguard_decision_seconds_bucket{le=\"+Inf\"} 2",
        "meshguard_decision_seconds_count 2",
        "# TYPE meshguard_decision_seconds histogram",
        "meshguard_audit_queue_depth ",
        "meshguard_policies_loaded 1",
        "meshguard_webhook_failures_total 0",
        "meshguard_policy_reloads_total 0",
    ] {
        assert!(m.body.contains(needle), "missing {needle}:\n{}", m.body);
    }
}
