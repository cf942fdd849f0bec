//! `GET /proxy/check` and `POST /v1/check`: every outcome (allow, deny, 400, 401) answered
//! as API.md says and audited, audit mode (allowed but recorded as decided), and an
//! evaluation interrupted by its deadline (500, audited, the gateway carries on).

use serde_json::Value;

use crate::common::{self, Gateway, Options, send};
use crate::{statuses, test_gateway};

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
            ("X-MeshGuard-Trace-ID", &"x".repeat(129)),
        ],
    );
    assert_eq!(bad_trace.status, 400);
    assert!(
        bad_trace.json()["message"]
            .as_str()
            .unwrap()
            .contains("1 to 128 characters"),
        "{}",
        bad_trace.body
    );
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
    // The agent sees the policies that apply to it, not the rest of the set.
    let listed = e["explanation"]["policies"].as_array().unwrap();
    assert!(!listed.is_empty() && listed.len() < 11, "{listed:?}");
    assert!(listed.iter().all(|p| p["applies"] == true), "{listed:?}");
    assert!(
        listed.iter().any(|p| p["policy"] == e["policy"]),
        "{listed:?}"
    );
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

/// A shell line is decided command by command: the answer names the part that decided
/// (`docs/semantics.md` §2.8), and a multi-line command whose lines are each allowed is
/// allowed (it comes as JSON: a header cannot hold a newline).
#[test]
fn a_shell_line_answers_with_its_deciding_part() {
    if common::skip_in_debug("a_shell_line_answers_with_its_deciding_part") {
        return;
    }
    let gw = Gateway::start(Options::default());
    let (_, token) = gw.agent("coder", "verified", &["claude-code", "dev-assistant"]);
    let bearer = format!("Bearer {token}");
    let check = |command: &str| {
        let body = serde_json::json!({"action": "execute:shell", "resource": command});
        gw.request(
            "POST",
            "/v1/check",
            &[
                ("Authorization", bearer.as_str()),
                ("Content-Type", "application/json"),
            ],
            Some(&body.to_string()),
        )
    };
    let smuggled = check("git status; rm -rf /");
    assert_eq!(smuggled.status, 403, "{}", smuggled.body);
    let d = smuggled.json();
    assert_eq!(d["part"], "rm -rf /", "{d}");
    assert_eq!(d["resource"], "git status; rm -rf /");
    assert!(
        d["reason"].as_str().unwrap().ends_with("(in `rm -rf /`)"),
        "{d}"
    );
    let lines = check("git add -A\ngit status");
    assert_eq!(lines.status, 200, "{}", lines.body);
    assert_eq!(lines.json()["part"], "git add -A");
    let one = check("ls -la");
    assert_eq!(one.json()["part"], "ls -la");
    // The audit log keeps the reason, part included.
    let entries = gw.audit("limit=5");
    assert!(
        entries.iter().any(|e| e["reason"]
            .as_str()
            .unwrap_or("")
            .ends_with("(in `rm -rf /`)")),
        "{entries:?}"
    );
}

/// Trace ids as the SDKs and tracing systems send them: any text without control
/// characters (spaces and non-ASCII percent-encoded), from `X-MeshGuard-Trace-ID`, the
/// configured `TRACE_HEADER` or `X-Trace-ID`, in that order.
#[test]
fn trace_ids_are_accepted_as_sent_and_kept_encoded() {
    if common::skip_in_debug("trace_ids_are_accepted_as_sent_and_kept_encoded") {
        return;
    }
    let gw = test_gateway(vec![("TRACE_HEADER", "X-Request-ID".to_owned())]);
    let (_, token) = gw.agent("tracer", "verified", &["tester"]);
    let bearer = format!("Bearer {token}");
    let agent = common::http_agent();
    let check = |headers: &[(&str, &[u8])]| {
        let mut all: Vec<(&str, &[u8])> = vec![
            ("Authorization", bearer.as_bytes()),
            ("X-MeshGuard-Action", b"read:thing"),
        ];
        all.extend_from_slice(headers);
        send(&agent, "GET", &gw.url("/proxy/check"), &all, None)
    };
    let r = check(&[("X-MeshGuard-Trace-ID", "span été 1".as_bytes())]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["traceId"], "span%20%C3%A9t%C3%A9%201");
    assert_eq!(
        r.header("x-meshguard-trace-id"),
        Some("span%20%C3%A9t%C3%A9%201")
    );
    let r = check(&[("X-Request-ID", b"req-42"), ("X-Trace-ID", b"short-42")]);
    assert_eq!(r.json()["traceId"], "req-42");
    let r = check(&[("X-Trace-ID", b"short-43")]);
    assert_eq!(r.json()["traceId"], "short-43");
    let r = check(&[("X-MeshGuard-Trace-ID", b"a\tb")]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        gw.audit("traceId=span%2520%25C3%25A9t%25C3%25A9%25201")
            .len(),
        1
    );
    assert_eq!(gw.audit("traceId=req-42").len(), 1);
}
