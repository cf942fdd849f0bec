//! Alerts reach a webhook with a valid HMAC signature, and are retried after a 500;
//! `/proxy/*` forwards allowed requests to the upstream and nothing else.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Gateway, Options, TestServer};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

const POLICY: &str = r#"
name: proxy-policy
appliesTo:
  tags: [app]
rules:
  - name: contacts
    effect: allow
    actions: ["read:contacts", "write:contacts"]
  - name: no-email
    effect: deny
    actions: ["send:email"]
    reason: No email from here
  - name: pay
    effect: require_approval
    actions: ["pay:*"]
defaultEffect: deny
"#;

const SECRET: &str = "whsec_test_secret";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn alerts_are_signed_and_retried() {
    if common::skip_in_debug("alerts_are_signed_and_retried") {
        return;
    }
    // The first delivery fails with 500; the retry succeeds.
    let hook = TestServer::start(vec![500, 200], "ok");
    let gw = Gateway::start(Options {
        db: None,
        policies: Some(vec![("p.yaml", POLICY.to_owned())]),
        env: vec![
            ("ALERT_WEBHOOK_URL", hook.url("/meshguard/alerts")),
            ("ALERT_WEBHOOK_SECRET", SECRET.to_owned()),
            ("ALERT_WEBHOOK_BACKOFF_MS", "50".to_owned()),
            ("ALERT_EVENTS", "deny,rate_limit,error".to_owned()),
        ],
    });
    let (id, token) = gw.agent("mailer", "verified", &["app"]);
    let bearer = format!("Bearer {token}");
    let r = gw.get(
        "/proxy/check",
        &[
            ("Authorization", &bearer),
            ("X-MeshGuard-Action", "send:email"),
            ("X-MeshGuard-Resource", "user@external.com"),
            ("X-MeshGuard-Trace-ID", "trace_xyz789"),
            ("X-MeshGuard-Context", r#"{"subject":"Sales outreach"}"#),
        ],
    );
    assert_eq!(r.status, 403);
    // Allowed decisions and events not configured (require_approval) raise nothing.
    assert_eq!(gw.check(&token, "read:contacts", None).status, 200);
    assert_eq!(gw.check(&token, "pay:bill", None).status, 403);

    gw.wait_until("two delivery attempts", Duration::from_secs(30), || {
        hook.requests().len() >= 2
    });
    std::thread::sleep(Duration::from_millis(300));
    let got = hook.requests();
    assert_eq!(
        got.len(),
        2,
        "only the deny alert, delivered twice: {got:?}"
    );
    assert_eq!(got[0].body, got[1].body, "a retry sends the same bytes");
    for req in &got {
        assert_eq!(req.method, "POST");
        assert_eq!(req.target, "/meshguard/alerts");
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(req.header("x-meshguard-event"), Some("deny"));
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(&req.body);
        let expected = format!("sha256={}", hex(&mac.finalize().into_bytes()));
        assert_eq!(req.header("x-meshguard-signature"), Some(expected.as_str()));
    }
    assert_eq!(got[0].header("x-meshguard-attempt"), Some("1"));
    assert_eq!(got[1].header("x-meshguard-attempt"), Some("2"));
    let payload: Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(payload["event"], "deny");
    assert_eq!(payload["agent"]["id"], id.as_str());
    assert_eq!(payload["agent"]["name"], "mailer");
    assert_eq!(payload["agent"]["trustTier"], "verified");
    assert_eq!(payload["action"], "send:email");
    assert_eq!(payload["resource"], "user@external.com");
    assert_eq!(payload["policy"], "proxy-policy");
    assert_eq!(payload["rule"], "no-email");
    assert_eq!(payload["reason"], "No email from here");
    assert_eq!(payload["traceId"], "trace_xyz789");
    assert_eq!(payload["context"]["subject"], "Sales outreach");
    assert!(payload["timestamp"].as_str().unwrap().ends_with('Z'));

    let metrics = gw.get("/metrics", &[]).body;
    assert!(
        metrics.contains("meshguard_webhook_delivered_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("meshguard_webhook_retries_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("meshguard_webhook_failures_total 0"),
        "{metrics}"
    );
}

#[test]
fn a_dead_webhook_never_slows_or_breaks_decisions() {
    if common::skip_in_debug("a_dead_webhook_never_slows_or_breaks_decisions") {
        return;
    }
    // Nothing listens on this port: every attempt fails; decisions go on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", dead.local_addr().unwrap());
    drop(dead);
    let gw = Gateway::start(Options {
        db: None,
        policies: Some(vec![("p.yaml", POLICY.to_owned())]),
        env: vec![
            ("ALERT_WEBHOOK_URL", url),
            ("ALERT_WEBHOOK_ATTEMPTS", "2".to_owned()),
            ("ALERT_WEBHOOK_BACKOFF_MS", "10".to_owned()),
            ("ALERT_QUEUE", "4".to_owned()),
        ],
    });
    let (_, token) = gw.agent("m", "verified", &["app"]);
    for _ in 0..50 {
        assert_eq!(gw.check(&token, "send:email", None).status, 403);
    }
    gw.wait_until("failed deliveries", Duration::from_secs(30), || {
        let m = gw.get("/metrics", &[]).body;
        !m.contains("meshguard_webhook_failures_total 0\n")
    });
    assert_eq!(gw.audit("limit=100").len(), 50);
}

#[test]
fn the_proxy_forwards_allowed_requests_only() {
    if common::skip_in_debug("the_proxy_forwards_allowed_requests_only") {
        return;
    }
    let upstream = TestServer::start(vec![201], "created upstream");
    let gw = Gateway::start(Options {
        db: None,
        policies: Some(vec![("p.yaml", POLICY.to_owned())]),
        env: vec![("PROXY_TARGET", upstream.url("/base"))],
    });
    let (id, token) = gw.agent("app", "verified", &["app"]);
    let bearer = format!("Bearer {token}");
    let r = gw.request(
        "POST",
        "/proxy/api/contacts?page=2",
        &[
            ("Authorization", &bearer),
            ("X-MeshGuard-Action", "write:contacts"),
            ("Content-Type", "application/json"),
            ("X-Custom", "kept"),
        ],
        Some(r#"{"name":"Ada"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body, "created upstream");
    assert_eq!(r.header("x-upstream"), Some("yes"));
    let trace = r.header("x-meshguard-trace-id").unwrap().to_owned();

    let got = upstream.requests();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.target, "/base/api/contacts?page=2");
    assert_eq!(req.body, br#"{"name":"Ada"}"#);
    assert_eq!(req.header("x-custom"), Some("kept"));
    assert_eq!(
        req.header("authorization"),
        None,
        "the agent token is not forwarded"
    );
    assert_eq!(req.header("x-meshguard-action"), None);
    assert_eq!(req.header("x-meshguard-trace-id"), Some(trace.as_str()));
    assert_eq!(req.header("x-meshguard-agent-id"), Some(id.as_str()));

    // Denied: 403 and the upstream sees nothing.
    let denied = gw.request(
        "GET",
        "/proxy/api/mail",
        &[
            ("Authorization", &bearer),
            ("X-MeshGuard-Action", "send:email"),
        ],
        None,
    );
    assert_eq!(denied.status, 403);
    assert_eq!(
        gw.request(
            "GET",
            "/proxy/api/contacts",
            &[("X-MeshGuard-Action", "read:contacts")],
            None
        )
        .status,
        401
    );
    assert_eq!(upstream.requests().len(), 1);
    // The audited resource is the forwarded path when no resource header is sent.
    let entries = gw.audit("action=send:email");
    assert_eq!(entries[0]["resource"], "/api/mail");
    assert_eq!(entries[0]["endpoint"], "proxy");

    // A dead upstream is a 502, after the (audited) decision.
    drop(upstream);
    std::thread::sleep(Duration::from_millis(50));
    let dead = gw.request(
        "GET",
        "/proxy/api/contacts",
        &[
            ("Authorization", &bearer),
            ("X-MeshGuard-Action", "read:contacts"),
        ],
        None,
    );
    assert_eq!(dead.status, 502, "{}", dead.body);
    assert_eq!(dead.json()["error"], "bad_gateway");
}

/// The decision is bound to what is forwarded (API.md, "The proxy"): the method and the
/// decoded path are in the context whatever the agent's headers say, a path that could
/// be read two ways is refused, and no `X-MeshGuard-*` spelling reaches the upstream.
#[test]
fn the_proxy_decides_on_what_it_forwards() {
    if common::skip_in_debug("the_proxy_decides_on_what_it_forwards") {
        return;
    }
    let upstream = TestServer::start(vec![200, 200, 200], "ok");
    let policy = include_str!("../examples/proxy-policy.yaml");
    let gw = Gateway::start(Options {
        db: None,
        policies: Some(vec![("proxy-policy.yaml", policy.to_owned())]),
        env: vec![("PROXY_TARGET", upstream.url("/base"))],
    });
    let (_, token) = gw.agent("api", "verified", &["api-client"]);
    let bearer = format!("Bearer {token}");
    let call = |method: &str, path: &str, extra: &[(&str, &str)]| {
        let mut headers = vec![("Authorization", bearer.as_str())];
        headers.extend_from_slice(extra);
        gw.request(method, path, &headers, None)
    };
    let read = ("X-MeshGuard-Action", "read:contacts");

    // The issue's attack: an innocent action header on a destructive request.
    let r = call("DELETE", "/proxy/admin/users/1", &[read]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["rule"], "no-admin");
    // The method decides even with the resource the agent names and an `http` context
    // of its own.
    let r = call(
        "DELETE",
        "/proxy/api/contacts/7",
        &[
            read,
            ("X-MeshGuard-Resource", "/api/contacts/7"),
            ("X-MeshGuard-Context", r#"{"http":{"method":"GET"}}"#),
        ],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // Paths that could be read two ways never reach a decision, let alone the upstream.
    for path in [
        "/proxy/api/contacts/%2e%2e/%2e%2e/admin/users",
        "/proxy/api/contacts/../../admin/users",
        "/proxy/api/contacts%2f..%2f..%2fadmin",
    ] {
        let r = call("GET", path, &[read]);
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .contains("path segment"),
            "{}",
            r.body
        );
    }
    assert_eq!(upstream.requests().len(), 0);

    // Allowed: forwarded with the path the policy saw, re-encoded, and without any header
    // the upstream could take for the gateway's.
    let r = call(
        "GET",
        "/proxy//api/contacts/%41da%20L?page=2",
        &[
            read,
            ("X-MeshGuard_Agent-ID", "forged"),
            ("x_meshguard_trace_id", "forged"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(
        "POST",
        "/proxy/api/contacts",
        &[("X-MeshGuard-Action", "write:contacts")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let got = upstream.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].target, "/base/api/contacts/Ada%20L?page=2");
    assert_eq!(got[1].method, "POST");
    for req in &got {
        let spoofed: Vec<_> = req
            .headers
            .iter()
            .filter(|(k, v)| k.to_ascii_lowercase().contains("meshguard") && v == "forged")
            .collect();
        assert!(spoofed.is_empty(), "{spoofed:?}");
    }
    let entry = &gw.audit("action=read:contacts&decision=allow")[0];
    assert_eq!(entry["resource"], "/api/contacts/Ada L");
    assert_eq!(entry["context"]["http"]["method"], "GET");
    assert_eq!(entry["context"]["http"]["path"], "/api/contacts/Ada L");
    assert_eq!(entry["context"]["http"]["query"], "page=2");
}

/// The docs' webhook vocabulary: a require_approval decision alerts as `escalation`, and
/// the configured `headers` go with every delivery.
#[test]
fn escalations_carry_the_docs_event_name_and_custom_headers() {
    if common::skip_in_debug("escalations_carry_the_docs_event_name_and_custom_headers") {
        return;
    }
    let hook = TestServer::start(vec![200], "ok");
    let gw = Gateway::start(Options {
        db: None,
        policies: Some(vec![("p.yaml", POLICY.to_owned())]),
        env: vec![
            ("ALERT_WEBHOOK_URL", hook.url("/alerts")),
            ("ALERT_EVENTS", "escalation".to_owned()),
            (
                "ALERT_WEBHOOK_HEADERS",
                r#"{"X-Custom-Header": "value", "Authorization": "Bearer hook-token"}"#.to_owned(),
            ),
        ],
    });
    let (_, token) = gw.agent("payer", "verified", &["app"]);
    assert_eq!(gw.check(&token, "send:email", None).status, 403);
    assert_eq!(gw.check(&token, "pay:bill", None).status, 403);
    gw.wait_until("the escalation alert", Duration::from_secs(30), || {
        !hook.requests().is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    let got = hook.requests();
    assert_eq!(got.len(), 1, "only the escalation is configured: {got:?}");
    assert_eq!(got[0].header("x-meshguard-event"), Some("escalation"));
    assert_eq!(got[0].header("x-custom-header"), Some("value"));
    assert_eq!(got[0].header("authorization"), Some("Bearer hook-token"));
    let payload: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(payload["event"], "escalation");
    assert_eq!(payload["action"], "pay:bill");
    assert!(payload["approvalId"].as_str().is_some(), "{payload}");
}
