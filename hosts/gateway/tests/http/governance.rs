//! The AutoGPT guide's endpoints: `/proxy/governance/check` answers only 200 or 403 (the
//! guide's wrapper treats anything else as allowed), `/proxy/governance/record` and
//! `/v1/audit` store what agents report in the audit log, bounded.

use serde_json::{Value, json};

use crate::common::{self, Gateway, Options};

/// POSTs `body` (JSON text) to `path` with the agent's token (none when `token` is empty)
/// and extra headers.
fn post(gw: &Gateway, path: &str, token: &str, extra: &[(&str, &str)], body: &str) -> common::Resp {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![("Content-Type", "application/json")];
    if !token.is_empty() {
        headers.push(("Authorization", bearer.as_str()));
    }
    headers.extend_from_slice(extra);
    gw.request("POST", path, &headers, Some(body))
}

#[test]
fn governance_check_refuses_with_403_only() {
    if common::skip_in_debug("governance_check_refuses_with_403_only") {
        return;
    }
    let gw = Gateway::start(Options::default());
    let (_, token) = gw.agent("autogpt-1", "verified", &["autogpt"]);
    let check = |token: &str, body: &str| post(&gw, "/proxy/governance/check", token, &[], body);

    let allowed = check(
        &token,
        r#"{"action": "browse:web", "resource": "https://example.com"}"#,
    );
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert_eq!(allowed.json()["allowed"], true);

    // The guide's own test: a shell command is denied, and the reason says so.
    let denied = check(
        &token,
        r#"{"action": "execute:shell", "resource": "rm -rf /"}"#,
    );
    assert_eq!(denied.status, 403, "{}", denied.body);
    let d = denied.json();
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("denied"),
        "{d}"
    );

    // Everything that is not an allow is a 403, with the cause in `error`: a request the
    // gateway cannot read, a missing or unknown token.
    for (token, body, error) in [
        (token.as_str(), "{}", "bad_request"),
        (token.as_str(), "not json", "bad_request"),
        (token.as_str(), r#"{"action": ""}"#, "bad_request"),
        (
            token.as_str(),
            r#"{"action": "read:x", "extra": 1}"#,
            "bad_request",
        ),
        ("", r#"{"action": "browse:web"}"#, "unauthorized"),
        ("mg_unknown", r#"{"action": "browse:web"}"#, "unauthorized"),
    ] {
        let r = check(token, body);
        assert_eq!(r.status, 403, "{body}: {}", r.body);
        assert_eq!(r.json()["error"], error, "{body}: {}", r.body);
    }

    // The docs' gateway class sends `X-Trace-ID`; the answer and the audit log keep it.
    let traced = post(
        &gw,
        "/proxy/governance/check",
        &token,
        &[("X-Trace-ID", "autogpt-trace-1")],
        r#"{"action": "read:file", "resource": "/workspace/notes.md"}"#,
    );
    assert_eq!(traced.status, 200, "{}", traced.body);
    assert_eq!(traced.json()["traceId"], "autogpt-trace-1");
    let entries = gw.audit("traceId=autogpt-trace-1");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["endpoint"], "governance");

    // Denials are audited with the status the agent got.
    let shell = gw.audit("action=execute:shell");
    assert_eq!(shell[0]["status"], 403);
    assert_eq!(shell[0]["decision"], "deny");

    // The rate limit (30 a minute for autogpt) is a 403 too, with `Retry-After`.
    let (_, busy) = gw.agent("autogpt-2", "verified", &["autogpt"]);
    let mut limited = None;
    for i in 0..40 {
        let r = check(
            &busy,
            &format!(r#"{{"action": "browse:web", "resource": "https://example.com/{i}"}}"#),
        );
        if r.status != 200 {
            limited = Some(r);
            break;
        }
    }
    let limited = limited.expect("the rate limit stops the loop");
    assert_eq!(limited.status, 403, "{}", limited.body);
    let l = limited.json();
    assert_eq!(l["error"], "rate_limited");
    assert!(l["reason"].as_str().unwrap().contains("rate"), "{l}");
    assert!(limited.header("retry-after").is_some());
}

#[test]
fn reports_are_audited_bounded_and_need_a_token() {
    if common::skip_in_debug("reports_are_audited_bounded_and_need_a_token") {
        return;
    }
    let gw = Gateway::start(Options::default());
    let (id, token) = gw.agent("autogpt-1", "verified", &["autogpt"]);

    let long = "x".repeat(10_000);
    let body = json!({"action": "execute:python", "resource": "print(1)", "status": "success", "result": long});
    let r = post(
        &gw,
        "/proxy/governance/record",
        &token,
        &[("X-Trace-ID", "rec-1")],
        &body.to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["traceId"], "rec-1");
    gw.wait_until(
        "the record is written",
        std::time::Duration::from_secs(10),
        || !gw.audit("traceId=rec-1").is_empty(),
    );
    let e = &gw.audit("traceId=rec-1")[0];
    assert_eq!(e["endpoint"], "record");
    assert_eq!(e["decision"], "recorded");
    assert_eq!(e["allowed"], false);
    assert_eq!(e["agentId"], id.as_str());
    assert_eq!(e["outcome"], "success");
    let result = e["result"].as_str().unwrap();
    assert!(
        result.len() < 4_200 && result.starts_with("xxxx") && result.contains("bytes cut"),
        "{}",
        result.len()
    );
    // A report is not a decision: the decision filter does not mistake it for one.
    assert!(
        gw.audit("decision=allow")
            .iter()
            .all(|e| e["endpoint"] != "record")
    );

    // The SDKs' audit_log() shape.
    let report = json!({"action": "custom:data-export", "decision": "allow", "metadata": {"rows": 1500, "format": "csv"}, "traceId": "rep-1"});
    let r = post(&gw, "/v1/audit", &token, &[], &report.to_string());
    assert_eq!(r.status, 201, "{}", r.body);
    gw.wait_until(
        "the report is written",
        std::time::Duration::from_secs(10),
        || !gw.audit("traceId=rep-1").is_empty(),
    );
    let e = &gw.audit("traceId=rep-1")[0];
    assert_eq!(e["endpoint"], "report");
    assert_eq!(e["decision"], "allow");
    assert_eq!(e["context"], json!({"rows": 1500, "format": "csv"}));

    // Bad reports are refused with the reason; nothing without a token.
    let bad =
        |path: &str, token: &str, body: &Value| post(&gw, path, token, &[], &body.to_string());
    let r = bad(
        "/v1/audit",
        &token,
        &json!({"action": "a", "decision": "maybe"}),
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("`maybe`"));
    let big = json!({"action": "a", "decision": "allow", "metadata": {"blob": "y".repeat(20_000)}});
    let r = bad("/v1/audit", &token, &big);
    assert_eq!(r.status, 400);
    let message = r.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("`metadata` is 200") && message.ends_with("at most 16384 are kept"),
        "{message}"
    );
    let r = bad(
        "/proxy/governance/record",
        &token,
        &json!({"resource": "r"}),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("missing field `action`"),
        "{}",
        r.body
    );
    assert_eq!(
        bad("/proxy/governance/record", "", &json!({"action": "a"})).status,
        401
    );
    assert_eq!(
        bad(
            "/v1/audit",
            "mg_unknown",
            &json!({"action": "a", "decision": "allow"})
        )
        .status,
        401
    );
}
