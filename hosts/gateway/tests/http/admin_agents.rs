//! `/admin/agents`: token rotation, patching tags and metadata, and revocation take effect
//! on the next request; agent fields are validated.

use serde_json::json;

use crate::common::{self, Gateway, Options};

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
