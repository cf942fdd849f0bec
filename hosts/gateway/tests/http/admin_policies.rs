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
