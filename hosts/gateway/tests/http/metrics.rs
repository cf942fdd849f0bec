//! `/health`, `/` and `/metrics`: the mode, loaded policies, the store's health and the
//! Prometheus counters.

use std::time::Duration;

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

/// `/health` is 503 `unhealthy` while the audit log cannot be written (here another
/// process holds the database's write lock), the check waiting meanwhile is answered
/// once the write goes through, and the gateway is healthy again; `GET /` says what it is.
#[test]
fn health_follows_the_audit_store() {
    if common::skip_in_debug("health_follows_the_audit_store") {
        return;
    }
    let gw = test_gateway(vec![]);
    let info = gw.get("/", &[]);
    assert_eq!(info.status, 200);
    assert_eq!(info.json()["name"], "meshguard-gateway");
    assert_eq!(info.json()["endpoints"]["check"], "/proxy/check");
    let (_, token) = gw.agent("h", "verified", &["tester"]);

    let lock = rusqlite::Connection::open(&gw.db).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let waiting = {
        let (base, token) = (gw.base.clone(), token.clone());
        std::thread::spawn(move || {
            let bearer = format!("Bearer {token}");
            common::send(
                &common::http_agent(),
                "GET",
                &format!("{base}/proxy/check"),
                &[
                    ("Authorization", bearer.as_bytes()),
                    ("X-MeshGuard-Action", b"read:during-outage"),
                ],
                None,
            )
        })
    };
    gw.wait_until(
        "health to see the failing writes",
        Duration::from_secs(60),
        || gw.get("/health", &[]).status == 503,
    );
    let h = gw.get("/health", &[]).json();
    assert_eq!(h["status"], "unhealthy");
    assert!(
        h["problems"][0]
            .as_str()
            .unwrap()
            .contains("audit write failed"),
        "{h}"
    );
    lock.execute_batch("ROLLBACK").unwrap();
    let answered = waiting.join().unwrap();
    assert_eq!(answered.status, 200, "{}", answered.body);
    gw.wait_until("health to recover", Duration::from_secs(30), || {
        gw.get("/health", &[]).status == 200
    });
    assert_eq!(gw.audit("action=read:during-outage").len(), 1);
}

/// `METRICS_ENABLED=false` takes `/metrics` away; `CORS_ORIGIN` lets the listed origins'
/// browsers call the API (preflight included) and no other.
#[test]
fn metrics_switch_and_cors_origins() {
    if common::skip_in_debug("metrics_switch_and_cors_origins") {
        return;
    }
    let gw = test_gateway(vec![
        ("METRICS_ENABLED", "false".to_owned()),
        (
            "CORS_ORIGIN",
            "https://console.example, http://localhost:5173".to_owned(),
        ),
    ]);
    assert_eq!(gw.get("/metrics", &[]).status, 404);
    let agent = common::http_agent();
    let preflight = common::send(
        &agent,
        "OPTIONS",
        &gw.url("/v1/check"),
        &[
            ("Origin", b"https://console.example"),
            ("Access-Control-Request-Method", b"POST"),
            (
                "Access-Control-Request-Headers",
                b"authorization, content-type",
            ),
        ],
        None,
    );
    assert_eq!(preflight.status, 200, "{}", preflight.body);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://console.example")
    );
    assert!(
        preflight
            .header("access-control-allow-headers")
            .unwrap()
            .contains("authorization"),
        "{:?}",
        preflight.headers
    );
    let health = gw.get("/health", &[("Origin", "http://localhost:5173")]);
    assert_eq!(
        health.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    let stranger = gw.get("/health", &[("Origin", "https://evil.example")]);
    assert_eq!(stranger.status, 200);
    assert_eq!(stranger.header("access-control-allow-origin"), None);
    // Without CORS_ORIGIN, no CORS header at all (the test gateway above is the only one
    // configured); metrics are served by default.
    let plain = test_gateway(vec![]);
    let h = plain.get("/health", &[("Origin", "https://console.example")]);
    assert_eq!(h.header("access-control-allow-origin"), None);
    assert_eq!(plain.get("/metrics", &[]).status, 200);
}
