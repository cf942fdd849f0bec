//! Signed policy bundles and locally made decisions shipped back: `GET
//! /v1/policies/bundle` (ETag, 304, Ed25519 signature over the body's bytes, a new version
//! when the set changes), its key, and `POST /v1/audit/batch`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{ED25519, UnparsedPublicKey};
use serde_json::{Value, json};

use crate::common::{self, Gateway, Options};

#[test]
fn bundles_are_signed_versioned_and_decisions_come_back() {
    if common::skip_in_debug("bundles_are_signed_versioned_and_decisions_come_back") {
        return;
    }
    let gw = Gateway::start(Options::default());
    let (agent, token) = gw.agent("edge-1", "verified", &["clawdbot"]);
    let bearer = format!("Bearer {token}");

    let key = gw.get("/v1/policies/bundle/key", &[]).json();
    assert_eq!(key["algorithm"], "Ed25519");
    let public = STANDARD.decode(key["publicKey"].as_str().unwrap()).unwrap();
    assert_eq!(public.len(), 32);

    assert_eq!(gw.get("/v1/policies/bundle", &[]).status, 401);
    let first = gw.get("/v1/policies/bundle", &[("Authorization", &bearer)]);
    assert_eq!(first.status, 200, "{}", first.body);
    let signature = STANDARD
        .decode(first.header("X-MeshGuard-Signature").unwrap())
        .unwrap();
    let verifier = UnparsedPublicKey::new(&ED25519, &public);
    assert!(
        verifier.verify(first.body.as_bytes(), &signature).is_ok(),
        "the body verifies"
    );
    let mut tampered = first.body.clone().into_bytes();
    tampered[10] ^= 1;
    assert!(verifier.verify(&tampered, &signature).is_err());
    let b = first.json();
    let version = b["version"].as_str().unwrap().to_owned();
    assert_eq!(
        first.header("ETag"),
        Some(format!("\"{version}\"").as_str())
    );
    assert_eq!(b["policies"].as_array().unwrap().len(), 11);
    assert_eq!(b["policies"][0]["name"], "autogpt-production.yaml");
    assert_eq!(
        (b["mode"].as_str(), b["fallback"].as_str()),
        (Some("enforce"), Some("deny"))
    );

    let etag = format!("\"{version}\"");
    let same = gw.get(
        "/v1/policies/bundle",
        &[("Authorization", &bearer), ("If-None-Match", &etag)],
    );
    assert_eq!(same.status, 304);
    assert!(same.body.is_empty());

    let text = "name: extra\nrules:\n  - effect: allow\n    actions: [\"ping:*\"]\n";
    let put = gw.admin(
        "PUT",
        "/admin/policies/extra",
        Some(json!({ "text": text })),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let changed = gw.get(
        "/v1/policies/bundle",
        &[("Authorization", &bearer), ("If-None-Match", &etag)],
    );
    assert_eq!(changed.status, 200);
    let c = changed.json();
    assert_ne!(c["version"], version.as_str());
    assert!(
        c["policies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "extra.yaml")
    );

    // Decisions made locally come back as audit rows under the agent that sent them.
    let post = |body: &str| {
        gw.request(
            "POST",
            "/v1/audit/batch",
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
            ],
            Some(body),
        )
    };
    let sent = json!({"decisions": [
        {"action": "write:email", "resource": "bob@yourcompany.com", "decision": "allow", "allowed": true,
         "policy": "clawdbot-email", "rule": "internal", "reason": "internal mail", "traceId": "edge-trace-1",
         "bundleVersion": version},
        {"action": "write:email", "resource": "eve@else.org", "decision": "deny", "allowed": false,
         "traceId": "edge-trace-2", "timestamp": 1}
    ]});
    let r = post(&sent.to_string());
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["recorded"], 2);
    let rows = gw.audit("traceId=edge-trace-1");
    assert_eq!(rows.len(), 1);
    let row: &Value = &rows[0];
    assert_eq!(row["endpoint"], "local");
    assert_eq!(row["agentId"], agent.as_str());
    assert_eq!(row["decision"], "allow");
    assert_eq!(row["outcome"], format!("bundle {version}"));
    assert_eq!(
        gw.audit("traceId=edge-trace-2")[0]["timestamp"],
        "1970-01-01T00:00:00.001Z"
    );

    let bad = post(r#"{"decisions": [{"action": "a:b", "decision": "maybe", "allowed": true}]}"#);
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json()["message"],
        "decisions[0]: `decision` must be `allow`, `deny` or `require_approval`, not `maybe`"
    );
    let anonymous = gw.request("POST", "/v1/audit/batch", &[], Some(&sent.to_string()));
    assert_eq!(anonymous.status, 401);
}
