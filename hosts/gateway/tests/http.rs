//! The real gateway binary over HTTP: every outcome of a check (allow, deny, 400, 401,
//! 413, 429, require_approval) is answered as API.md says and audited; agents, policies,
//! approvals, audit export and metrics through the admin API.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use common::{ADMIN, Gateway, Options, send};
use serde_json::{Value, json};

/// A small set for tests that need approvals and a tight rate limit.
const TEST_POLICY: &str = r#"
name: test-policy
appliesTo:
  tags: [tester]
rules:
  - name: read-ok
    effect: allow
    actions: ["read:*"]
  - name: pay-approval
    effect: require_approval
    actions: ["pay:*"]
    reason: Payments need a person
  - name: no-delete
    effect: deny
    actions: ["delete:*"]
    reason: Deletion is prohibited
  - name: ping
    effect: allow
    actions: ["ping:*"]
    conditions:
      rateLimit: {requestsPerMinute: 3}
defaultEffect: deny
"#;

fn test_gateway(env: Vec<(&'static str, String)>) -> Gateway {
    Gateway::start(Options {
        db: None,
        policies: Some(vec![("test.yaml", TEST_POLICY.to_owned())]),
        env,
    })
}

fn statuses(entries: &[Value]) -> HashMap<u64, usize> {
    let mut m = HashMap::new();
    for e in entries {
        *m.entry(e["status"].as_u64().unwrap()).or_default() += 1;
    }
    m
}

#[test]
fn every_check_outcome_is_answered_and_audited() {
    if common::skip_in_debug("every_check_outcome_is_answered_and_audited") {
        return;
    }
    let gw = Gateway::start(Options::default());
    let (id, token) = gw.agent("claw", "verified", &["clawdbot"]);
    let bearer = format!("Bearer {token}");

    let allow = gw.check(&token, "write:email", Some("Bob@YourCompany.COM"));
    assert_eq!(allow.status, 200, "{}", allow.body);
    let a = allow.json();
    assert_eq!(a["allowed"], true);
    assert_eq!(a["decision"], "allow");
    assert_eq!(a["policy"], "clawdbot-email-policy");
    assert_eq!(a["resource"], "Bob@yourcompany.com");
    assert!(allow.header("x-meshguard-trace-id").is_some());

    let deny = gw.check(&token, "write:email", Some("user@external.com"));
    assert_eq!(deny.status, 403);
    let d = deny.json();
    assert_eq!(d["message"], "External email requires approval");
    assert_eq!(d["rule"], "clawdbot-email-policy#3");
    assert_eq!(d["action"], "write:email");

    // The caller's trace id is kept and echoed.
    let traced = gw.get(
        "/proxy/check",
        &[
            ("Authorization", &bearer),
            ("X-MeshGuard-Action", "read:calendar"),
            ("X-MeshGuard-Trace-ID", "trace-abc-1"),
        ],
    );
    assert_eq!(traced.status, 200, "{}", traced.body);
    assert_eq!(traced.json()["traceId"], "trace-abc-1");
    assert_eq!(traced.header("x-meshguard-trace-id"), Some("trace-abc-1"));

    // 401: unknown token, missing token, not a Bearer header.
    assert_eq!(gw.check("mg_unknown", "read:email", None).status, 401);
    let missing = gw.get("/proxy/check", &[("X-MeshGuard-Action", "read:email")]);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json()["error"], "unauthorized");
    let basic = gw.get(
        "/proxy/check",
        &[
            ("Authorization", "Basic Zm9vOmJhcg=="),
            ("X-MeshGuard-Action", "read:email"),
        ],
    );
    assert_eq!(basic.status, 401);

    // 400: no action, a resource that is not UTF-8, malformed context, a control
    // character (refused by the core itself), a bad trace id, a repeated action header.
    let no_action = gw.get("/proxy/check", &[("Authorization", &bearer)]);
    assert_eq!(no_action.status, 400);
    assert!(
        no_action.json()["message"]
            .as_str()
            .unwrap()
            .contains("X-MeshGuard-Action")
    );
    let raw = send(
        &common::http_agent(),
        "GET",
        &gw.url("/proxy/check"),
        &[
            ("Authorization", bearer.as_bytes()),
            ("X-MeshGuard-Action", b"read:file"),
            ("X-MeshGuard-Resource", b"/workspace/caf\xe9"),
        ],
        None,
    );
    assert_eq!(raw.status, 400, "{}", raw.body);
    assert!(
        raw.json()["message"]
            .as_str()
            .unwrap()
            .contains("not valid UTF-8")
    );
    let ctx = gw.get(
        "/proxy/check",
        &[
            ("Authorization", &bearer),
            ("X-MeshGuard-Action", "send:message"),
            ("X-MeshGuard-Context", "{not json"),
        ],
    );
    assert_eq!(ctx.status, 400);
    let control = gw.request(
        "POST",
        "/v1/check",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        Some(r#"{"action":"read:file","resource":"/workspace/a\u0007b"}"#),
    );
    assert_eq!(control.status, 400, "{}", control.body);
    let c = control.json();
    assert_eq!(c["rule"], "invalid-request");
    assert_eq!(c["message"], "control character U+0007 in `resource`");
    let bad_trace = gw.get(
        "/proxy/check",
        &[
            ("Authorization", &bearer),
            ("X-MeshGuard-Action", "read:email"),
            ("X-MeshGuard-Trace-ID", "has space"),
        ],
    );
    assert_eq!(bad_trace.status, 400);
    let twice = send(
        &common::http_agent(),
        "GET",
        &gw.url("/proxy/check"),
        &[
            ("Authorization", bearer.as_bytes()),
            ("X-MeshGuard-Action", b"read:email"),
            ("X-MeshGuard-Action", b"delete:email"),
        ],
        None,
    );
    assert_eq!(twice.status, 400, "{}", twice.body);

    // Context conditions through the header, and POST /v1/check with an explanation.
    let slack = gw.get(
        "/proxy/check",
        &[
            ("Authorization", &bearer),
            ("X-MeshGuard-Action", "write:calendar"),
            ("X-MeshGuard-Context", r#"{"event_type":"meeting"}"#),
        ],
    );
    assert_eq!(slack.status, 200, "{}", slack.body);
    let explained = gw.request(
        "POST",
        "/v1/check",
        &[("Authorization", &bearer)],
        Some(r#"{"action":"read:file","resource":"/workspace/../etc/passwd","explain":true}"#),
    );
    assert_eq!(explained.status, 403, "{}", explained.body);
    let e = explained.json();
    assert_eq!(e["resource"], "/etc/passwd");
    assert_eq!(e["reason"], "System file access is prohibited");
    assert!(e["explanation"]["rules"].as_array().unwrap().len() > 3);
    let unknown_field = gw.request(
        "POST",
        "/v1/check",
        &[("Authorization", &bearer)],
        Some(r#"{"action":"read:file","agent":{"tags":["admin"]}}"#),
    );
    assert_eq!(unknown_field.status, 400, "{}", unknown_field.body);
    // A JSON array is not read as the body's fields in order.
    let array = gw.request(
        "POST",
        "/v1/check",
        &[("Authorization", &bearer)],
        Some(r#"["read:calendar"]"#),
    );
    assert_eq!(array.status, 400, "{}", array.body);
    assert_eq!(
        array.json()["message"],
        "the request body must be a JSON object"
    );

    // Everything above is in the audit log, each with its status.
    let entries = gw.audit("limit=1000");
    let by_status = statuses(&entries);
    assert_eq!(by_status.get(&200), Some(&3), "{by_status:?}");
    assert_eq!(by_status.get(&403), Some(&2), "{by_status:?}");
    assert_eq!(by_status.get(&401), Some(&3), "{by_status:?}");
    assert_eq!(by_status.get(&400), Some(&8), "{by_status:?}");
    assert_eq!(entries.len(), 16);
    let unauth = entries.iter().find(|e| e["status"] == 401).unwrap();
    assert_eq!(unauth["agentId"], Value::Null);
    assert_eq!(unauth["decision"], "deny");
    let ok = entries.iter().find(|e| e["status"] == 200).unwrap();
    assert_eq!(ok["agentId"], id.as_str());
    assert_eq!(ok["agentName"], "claw");
    let denied = gw.audit("decision=deny&limit=100");
    assert_eq!(denied.len(), 13);
    assert!(denied.iter().all(|e| e["decision"] == "deny"));
    let traced = gw.audit("traceId=trace-abc-1");
    assert_eq!(traced.len(), 1);
    assert_eq!(traced[0]["action"], "read:calendar");
    let ctx_entry = gw.audit("action=write:calendar");
    assert_eq!(ctx_entry[0]["context"]["event_type"], "meeting");
    let globbed = gw.audit("action=write:*&limit=100");
    assert!(globbed.len() >= 3);
    let by_agent = gw.audit("agent=claw&limit=100");
    assert_eq!(by_agent.len(), 13);

    let stats = gw.admin("GET", "/admin/audit/stats?period=1", None).json();
    assert_eq!(stats["total"], 16);
    assert_eq!(stats["byStatus"]["401"], 3);
}

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
fn revocation_and_rotation_take_effect_on_the_next_request() {
    if common::skip_in_debug("revocation_and_rotation_take_effect_on_the_next_request") {
        return;
    }
    let gw = Gateway::start(Options::default());
    let (id, token) = gw.agent("autogpt-agent", "verified", &["autogpt"]);
    assert_eq!(gw.check(&token, "read:news", None).status, 200);

    // Rotation: the old token stops at once, the new one works.
    let rotated = gw.admin("POST", &format!("/admin/agents/{id}/token"), None);
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_token = rotated.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(gw.check(&token, "read:news", None).status, 401);
    assert_eq!(gw.check(&new_token, "read:news", None).status, 200);

    // Patch: tags select policies, so removing `autogpt` leaves only the fallback (deny).
    let patched = gw.admin(
        "PATCH",
        &format!("/admin/agents/{id}"),
        Some(json!({"tags": ["other"], "metadata": {"team": "ops"}})),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.json()["metadata"]["team"], "ops");
    let fallback = gw.check(&new_token, "read:news", None);
    assert_eq!(fallback.status, 403);
    assert_eq!(fallback.json()["policy"], "default");

    // Revocation by name, as the docs' CLI does.
    let revoked = gw.admin("DELETE", "/admin/agents/autogpt-agent", None);
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.json()["revoked"], true);
    let after = gw.check(&new_token, "read:news", None);
    assert_eq!(after.status, 401);
    assert_eq!(after.json()["message"], "invalid or expired token");
    let list = gw.admin("GET", "/admin/agents", None).json();
    let agent = &list["agents"][0];
    assert_eq!(agent["id"], id.as_str());
    assert_eq!(agent["status"], "revoked");
    assert!(agent["revokedAt"].is_string());
    assert!(agent.get("token").is_none());
    assert_eq!(
        gw.admin(
            "PATCH",
            &format!("/admin/agents/{id}"),
            Some(json!({"tags": []}))
        )
        .status,
        409
    );

    // Validation of agent fields.
    let bad = gw.admin(
        "POST",
        "/admin/agents",
        Some(json!({"name": "x", "trustTier": "root"})),
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["message"]
            .as_str()
            .unwrap()
            .contains("unknown trust tier")
    );
    assert_eq!(
        gw.admin("POST", "/admin/agents", Some(json!({"nme": "x"})))
            .status,
        400
    );
    assert_eq!(
        gw.admin("GET", "/admin/agents/agent_nope", None).status,
        404
    );
    let (_, _) = gw.agent("dup", "trusted", &[]);
    assert_eq!(
        gw.admin("POST", "/admin/agents", Some(json!({"name": "dup"})))
            .status,
        409
    );
}

#[test]
fn approvals_let_one_identical_request_through() {
    if common::skip_in_debug("approvals_let_one_identical_request_through") {
        return;
    }
    let gw = test_gateway(vec![]);
    let (id, token) = gw.agent("payer", "trusted", &["tester"]);
    let first = gw.check(&token, "pay:invoice", Some("INV-1"));
    assert_eq!(first.status, 403, "{}", first.body);
    let v = first.json();
    assert_eq!(v["decision"], "require_approval");
    assert_eq!(v["message"], "Payments need a person");
    let approval = v["approvalId"].as_str().unwrap().to_owned();
    assert!(approval.starts_with("apr_"));
    // A retry gets the same pending approval, not a new one.
    let again = gw.check(&token, "pay:invoice", Some("INV-1")).json();
    assert_eq!(again["approvalId"], approval.as_str());
    let other = gw.check(&token, "pay:invoice", Some("INV-2")).json();
    assert_ne!(other["approvalId"], approval.as_str());

    let pending = gw
        .admin("GET", "/admin/approvals?status=pending", None)
        .json();
    assert_eq!(pending["approvals"].as_array().unwrap().len(), 2);
    let ok = gw.admin(
        "POST",
        &format!("/admin/approvals/{approval}/approve"),
        Some(json!({"by": "alice", "note": "expected invoice"})),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["status"], "approved");
    assert_eq!(ok.json()["agentId"], id.as_str());
    assert_eq!(
        gw.admin("POST", &format!("/admin/approvals/{approval}/deny"), None)
            .status,
        409
    );

    let through = gw.check(&token, "pay:invoice", Some("INV-1"));
    assert_eq!(through.status, 200, "{}", through.body);
    let t = through.json();
    assert_eq!(t["decision"], "allow");
    assert_eq!(t["approvalId"], approval.as_str());
    assert!(t["reason"].as_str().unwrap().contains("approved by alice"));
    // Once only.
    let next = gw.check(&token, "pay:invoice", Some("INV-1"));
    assert_eq!(next.status, 403);
    assert_ne!(next.json()["approvalId"], approval.as_str());
    let used = gw
        .admin("GET", &format!("/admin/approvals/{approval}"), None)
        .json();
    assert_eq!(used["status"], "used");

    let denied_id = other["approvalId"].as_str().unwrap();
    let denied = gw.admin("POST", &format!("/admin/approvals/{denied_id}/deny"), None);
    assert_eq!(denied.status, 200);
    assert_eq!(denied.json()["status"], "denied");
    assert_eq!(gw.check(&token, "pay:invoice", Some("INV-2")).status, 403);
    assert_eq!(
        gw.admin("POST", "/admin/approvals/apr_nope/approve", None)
            .status,
        404
    );

    let audited = gw.audit("decision=require_approval&limit=100");
    assert_eq!(audited.len(), 5);
    assert!(audited.iter().all(|e| e["approvalId"].is_string()));
}

#[test]
fn admin_api_requires_the_admin_token() {
    if common::skip_in_debug("admin_api_requires_the_admin_token") {
        return;
    }
    let gw = test_gateway(vec![]);
    assert_eq!(gw.get("/admin/agents", &[]).status, 401);
    let wrong = gw.get(
        "/admin/agents",
        &[("X-Admin-Token", "not-the-token-at-all")],
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["error"], "unauthorized");
    assert_eq!(
        gw.get("/admin/agents", &[("X-Admin-Token", ADMIN)]).status,
        200
    );
    assert_eq!(gw.get("/nope", &[]).status, 404);
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

#[test]
fn audit_exports_csv_and_json() {
    if common::skip_in_debug("audit_exports_csv_and_json") {
        return;
    }
    let gw = test_gateway(vec![]);
    let (_, token) = gw.agent("exporter", "verified", &["tester"]);
    for i in 0..30 {
        let action = if i % 3 == 0 {
            "delete:thing"
        } else {
            "read:thing"
        };
        gw.check(&token, action, Some(&format!("=cmd|{i},\"x\"")));
    }
    let csv = gw.admin("GET", "/admin/audit?format=csv", None);
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 31, "{}", csv.body);
    assert!(
        lines[0].starts_with("id,timestamp,traceId,agentId,agentName,action,resource,decision")
    );
    // Agent-chosen text is quoted and cannot start a spreadsheet formula.
    assert!(lines[1].contains("\"'=cmd|29,\"\"x\"\"\""), "{}", lines[1]);
    let deny_csv = gw.admin(
        "GET",
        "/admin/audit?format=csv&decision=deny&order=asc",
        None,
    );
    let deny_lines: Vec<&str> = deny_csv
        .body
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(deny_lines.len(), 11);
    assert!(deny_lines[1].contains("=cmd|0,"));
    let json = gw.admin("GET", "/admin/audit?format=json&limit=7", None);
    assert_eq!(json.status, 200);
    assert_eq!(json.json()["entries"].as_array().unwrap().len(), 7);
    let today = gw.admin(
        "GET",
        "/admin/audit?from=2020-01-01&to=2999-12-31&limit=100",
        None,
    );
    assert_eq!(today.json()["entries"].as_array().unwrap().len(), 30);
    let none = gw.admin("GET", "/admin/audit?to=2020-01-01", None);
    assert_eq!(none.json()["entries"].as_array().unwrap().len(), 0);
    assert_eq!(
        gw.admin("GET", "/admin/audit?decision=maybe", None).status,
        400
    );
    assert_eq!(
        gw.admin("GET", "/admin/audit?from=yesterday", None).status,
        400
    );
    assert_eq!(gw.admin("GET", "/admin/audit?format=xml", None).status, 400);
    assert_eq!(gw.admin("GET", "/admin/audit?bogus=1", None).status, 400);
}

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

#[test]
fn audit_mode_allows_but_records_what_would_have_happened() {
    if common::skip_in_debug("audit_mode_allows_but_records_what_would_have_happened") {
        return;
    }
    let gw = test_gateway(vec![("MODE", "audit".to_owned())]);
    let (_, token) = gw.agent("a", "verified", &["tester"]);
    let r = gw.check(&token, "delete:everything", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["allowed"], true);
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["mode"], "audit");
    let e = &gw.audit("")[0];
    assert_eq!(e["decision"], "deny");
    assert_eq!(e["allowed"], true);
    assert_eq!(e["mode"], "audit");
    // Invalid requests are never let through, not even in audit mode.
    let bearer = format!("Bearer {token}");
    let bad = gw.request(
        "POST",
        "/v1/check",
        &[("Authorization", &bearer)],
        Some(r#"{"action":"read:\u0000"}"#),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(gw.get("/health", &[]).json()["mode"], "audit");
}

#[test]
fn policies_through_the_admin_api() {
    if common::skip_in_debug("policies_through_the_admin_api") {
        return;
    }
    let gw = Gateway::start(Options::default());
    let list = gw.admin("GET", "/admin/policies", None).json();
    let policies = list["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 11);
    let email = policies
        .iter()
        .find(|p| p["name"] == "clawdbot-email-policy")
        .unwrap();
    assert_eq!(email["rules"].as_array().unwrap().len(), 4);
    assert_eq!(
        email["appliesTo"]["tags"],
        json!(["clawdbot", "email-enabled"])
    );
    let one = gw
        .admin("GET", "/admin/policies/clawdbot-email-policy", None)
        .json();
    assert!(
        one["source"]
            .as_str()
            .unwrap()
            .contains("External email requires approval")
    );
    assert_eq!(gw.admin("GET", "/admin/policies/nope", None).status, 404);

    // Validate: a typo is an error with its position; a good text is ok.
    let bad_text = "name: typo-policy\nrules:\n  - effect: allow\n    actions: [\"read:*\"]\n    condtions:\n      sandbox: true\n";
    let v = gw.request(
        "POST",
        "/admin/policies/validate",
        &[("X-Admin-Token", ADMIN)],
        Some(bad_text),
    );
    assert_eq!(v.status, 200);
    let v = v.json();
    assert_eq!(v["ok"], false);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "unknown-key");
    assert_eq!(d["line"], 5);
    assert_eq!(d["column"], 5);
    assert!(d["file"].as_str().unwrap().ends_with(".yaml"));
    let good_text = "name: extra-policy\nappliesTo:\n  tags: [extra]\nrules:\n  - name: hello\n    effect: allow\n    actions: [\"say:hello\"]\n";
    let ok = gw
        .admin(
            "POST",
            "/admin/policies/validate",
            Some(json!({"text": good_text})),
        )
        .json();
    assert_eq!(ok["ok"], true, "{ok}");
    // Duplicate names are caught against the loaded set.
    let dup = gw
        .admin(
            "POST",
            "/admin/policies/validate",
            Some(json!({"text": "name: autogpt-policy\nrules:\n  - effect: allow\n    actions: [\"x\"]\n", "name": "other"})),
        )
        .json();
    assert_eq!(dup["ok"], false, "{dup}");

    // Test: a dry run with the explanation, for an inline agent or a stored one.
    let t = gw
        .admin(
            "POST",
            "/admin/policies/test",
            Some(json!({"agent": {"tags": ["clawdbot"]}, "action": "write:email", "resource": "user@external.com", "explain": true})),
        )
        .json();
    assert_eq!(t["effect"], "deny");
    assert_eq!(t["rule"], "clawdbot-email-policy#3");
    assert!(t["explanation"]["policies"].is_array());
    assert_eq!(
        gw.admin(
            "POST",
            "/admin/policies/test",
            Some(json!({"agentId": "agent_x", "action": "a"}))
        )
        .status,
        404
    );

    // Apply a new policy: it serves at once.
    let (_, token) = gw.agent("extra", "verified", &["extra"]);
    assert_eq!(gw.check(&token, "say:hello", None).status, 403);
    let put = gw.request(
        "PUT",
        "/admin/policies/extra-policy",
        &[("X-Admin-Token", ADMIN)],
        Some(good_text),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.json()["created"], true);
    assert!(gw.policies.join("extra-policy.yaml").exists());
    assert_eq!(gw.check(&token, "say:hello", None).status, 200);
    // A bad text is refused and changes nothing.
    let broken = gw.request(
        "PUT",
        "/admin/policies/extra-policy",
        &[("X-Admin-Token", ADMIN)],
        Some("name: extra-policy\nrules:\n  - effect: alow\n    actions: [\"say:hello\"]\n"),
    );
    assert_eq!(broken.status, 400, "{}", broken.body);
    assert_eq!(broken.json()["ok"], false);
    assert_eq!(broken.json()["diagnostics"][0]["line"], 3);
    assert_eq!(gw.check(&token, "say:hello", None).status, 200);
    assert_eq!(
        std::fs::read_to_string(gw.policies.join("extra-policy.yaml")).unwrap(),
        good_text
    );
    // The text must define the policy named in the path.
    let wrong = gw.request(
        "PUT",
        "/admin/policies/other-name",
        &[("X-Admin-Token", ADMIN)],
        Some(good_text),
    );
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert_eq!(
        gw.request(
            "PUT",
            "/admin/policies/..%2Fescape",
            &[("X-Admin-Token", ADMIN)],
            Some(good_text)
        )
        .status,
        400
    );
    // Delete: gone from the set and from disk.
    let del = gw.admin("DELETE", "/admin/policies/extra-policy", None);
    assert_eq!(del.status, 200, "{}", del.body);
    assert!(!gw.policies.join("extra-policy.yaml").exists());
    assert_eq!(gw.check(&token, "say:hello", None).status, 403);
    assert_eq!(
        gw.admin("GET", "/admin/policies", None).json()["policies"]
            .as_array()
            .unwrap()
            .len(),
        11
    );
}

#[test]
fn a_generated_admin_token_is_written_with_mode_0600() {
    if common::skip_in_debug("a_generated_admin_token_is_written_with_mode_0600") {
        return;
    }
    let gw = Gateway::start(Options {
        db: None,
        policies: Some(vec![("test.yaml", TEST_POLICY.to_owned())]),
        env: vec![
            ("ADMIN_TOKEN", String::new()),
            ("DATA_DIR", "data".to_owned()),
        ],
    });
    let path = gw.dir.join("data/admin-token");
    let token = std::fs::read_to_string(&path).unwrap().trim().to_owned();
    assert!(token.starts_with("mgadm_") && token.len() == 70, "{token}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(
        gw.log().contains(&token),
        "the token is printed once at start"
    );
    assert_eq!(
        gw.get("/admin/agents", &[("X-Admin-Token", &token)]).status,
        200
    );
    assert_eq!(
        gw.get("/admin/agents", &[("X-Admin-Token", ADMIN)]).status,
        401
    );
}

#[test]
fn an_interrupted_evaluation_is_denied_audited_and_the_gateway_carries_on() {
    if common::skip_in_debug(
        "an_interrupted_evaluation_is_denied_audited_and_the_gateway_carries_on",
    ) {
        return;
    }
    // A 5 ms deadline, and a context of several megabytes for the component to parse:
    // the call is interrupted (a trap inside wasmtime), the instance thrown away.
    let gw = test_gateway(vec![
        ("DECIDE_DEADLINE_MS", "5".to_owned()),
        ("MAX_BODY_BYTES", (64 << 20).to_string()),
    ]);
    let (_, token) = gw.agent("heavy", "verified", &["tester"]);
    let bearer = format!("Bearer {token}");
    let numbers: Vec<String> = (0..1_500_000).map(|i| i.to_string()).collect();
    let body = format!(
        r#"{{"action":"read:x","context":{{"big":[{}]}}}}"#,
        numbers.join(",")
    );
    let r = gw.request(
        "POST",
        "/v1/check",
        &[("Authorization", &bearer)],
        Some(&body),
    );
    assert_eq!(r.status, 500, "{}", &r.body[..r.body.len().min(300)]);
    let v = r.json();
    assert_eq!(v["error"], "evaluation_error");
    assert_eq!(v["allowed"], false);
    assert_eq!(v["rule"], "evaluation-error");
    assert!(v["message"].as_str().unwrap().contains("deadline"), "{v}");
    let e = &gw.audit("status=500")[0];
    assert_eq!(e["rule"], "evaluation-error");
    assert!(
        gw.get("/metrics", &[])
            .body
            .contains("meshguard_evaluation_errors_total 1")
    );
    // The gateway is fine: the next requests get a fresh instance. (A retry tolerates a
    // thread descheduled for 5 ms on a busy machine, which the short deadline would also
    // count.)
    let ok = (0..3).any(|_| gw.check(&token, "read:x", None).status == 200);
    assert!(ok, "{}", gw.log());
}
