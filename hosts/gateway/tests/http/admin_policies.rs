//! `/admin/policies`: list and show, `validate` (diagnostics with positions, duplicate
//! names), `test` (a dry run with the explanation), `PUT` (serves at once; a bad text
//! changes nothing) and `DELETE`.

use serde_json::json;

use crate::common::{self, ADMIN, Gateway, Options};

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
        email["id"], "clawdbot-email-policy",
        "the JS SDK's `Policy.id`"
    );
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
    // The admin sees the whole set, the policies that do not apply included.
    let all = t["explanation"]["policies"].as_array().unwrap();
    assert!(all.iter().any(|p| p["applies"] == false), "{all:?}");
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

/// The core's analysis runs on every load: `status` lists its findings about the loaded
/// set, and `validate` and `PUT` answer with the findings about the text they take.
#[test]
fn lint_findings_on_load_validate_and_apply() {
    if common::skip_in_debug("lint_findings_on_load_validate_and_apply") {
        return;
    }
    let gw = Gateway::start(Options::default());
    let status = gw.admin("GET", "/admin/policies/status", None).json();
    let findings = status["findings"].as_array().unwrap();
    let admits_code = findings
        .iter()
        .find(|d| {
            d["code"] == "shell-allow-admits-code"
                && d["file"]
                    .as_str()
                    .unwrap()
                    .ends_with("claude-code-dev-assistant.yaml")
        })
        .unwrap_or_else(|| panic!("no shell finding in {status}"));
    assert_eq!(admits_code["severity"], "warning");
    assert!(admits_code["line"].as_u64().unwrap() > 0);
    assert_eq!(
        status["findingMessages"].as_array().unwrap().len(),
        findings.len()
    );

    let weak = "name: weak-web\nrules:\n  - effect: allow\n    actions: [\"read:web_fetch\"]\n    conditions:\n      resource:\n        matches: \"*github.com*\"\n";
    let v = gw
        .admin(
            "POST",
            "/admin/policies/validate",
            Some(json!({"text": weak})),
        )
        .json();
    assert_eq!(v["ok"], true, "{v}");
    let of_code = |answer: &serde_json::Value, code: &str| {
        answer["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("no `{code}` finding in {answer}"))
    };
    let host = of_code(&v, "broad-host-pattern");
    assert_eq!(host["severity"], "warning");
    assert_eq!(host["line"], 7);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["file"].as_str().unwrap().ends_with("/weak-web.yaml")),
        "only the validated text's findings: {v}"
    );
    let put = gw.request(
        "PUT",
        "/admin/policies/weak-web",
        &[("X-Admin-Token", ADMIN)],
        Some(weak),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let put = put.json();
    assert_eq!(of_code(&put, "broad-host-pattern")["line"], 7);
    assert!(
        put["findingMessages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m.as_str().unwrap().contains("`*github.com*`")),
        "{put}"
    );
}
