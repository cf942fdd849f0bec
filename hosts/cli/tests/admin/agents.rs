//! `meshguard agent`: create, list, show, update, token rotation and revocation, and
//! their errors (conflict, not found, a bad tier).

use crate::common::{json, text};
use crate::support::{Gateway, both, code};

#[test]
fn agents_are_created_listed_updated_rotated_and_revoked() {
    let gw = Gateway::start();
    // Human output: the id and the token, once.
    let out = gw.cli(&[
        "agent",
        "create",
        "autogpt-agent",
        "--trust",
        "verified",
        "--tags",
        "autogpt,autonomous",
    ]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let shown = text(&out.stdout);
    assert!(shown.contains("created agent autogpt-agent"), "{shown}");
    let token = shown
        .lines()
        .find_map(|l| l.trim().strip_prefix("token").map(str::trim))
        .unwrap()
        .to_owned();
    assert!(token.starts_with("mg_"), "{shown}");
    assert!(shown.contains("autogpt, autonomous"), "{shown}");

    // The token works: an action the autogpt policy allows.
    let (status, answer) = gw.check(&token, "read:docs", None, None);
    assert_eq!(status, 200, "{answer}");

    // list and show.
    let out = gw.cli(&["agent", "list"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let list = text(&out.stdout);
    assert!(list.starts_with("ID "), "{list}");
    assert!(
        list.contains("autogpt-agent") && list.contains("active"),
        "{list}"
    );
    let out = gw.cli(&["--json", "agent", "show", "autogpt-agent"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let agent = json(&out.stdout);
    assert_eq!(agent["trustTier"], "verified");
    let id = agent["id"].as_str().unwrap().to_owned();

    // update: tier and tags.
    let out = gw.cli(&[
        "agent",
        "update",
        &id,
        "--trust",
        "trusted",
        "--tags",
        "autogpt,production",
    ]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let out = gw.cli(&["--json", "agent", "show", &id]);
    let agent = json(&out.stdout);
    assert_eq!(agent["trustTier"], "trusted");
    assert_eq!(agent["tags"], serde_json::json!(["autogpt", "production"]));
    let out = gw.cli(&["agent", "update", &id]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));

    // token: a new one works, the old one gets 401.
    let out = gw.cli(&["agent", "token", "autogpt-agent"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let new_token = text(&out.stdout).lines().last().unwrap().trim().to_owned();
    assert!(
        new_token.starts_with("mg_") && new_token != token,
        "{}",
        both(&out)
    );
    assert_eq!(gw.check(&token, "read:docs", None, None).0, 401);
    assert_eq!(gw.check(&new_token, "read:docs", None, None).0, 200);

    // revoke: the next request gets 401, and the list says so.
    let out = gw.cli(&["agent", "revoke", "autogpt-agent"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert!(text(&out.stdout).contains("revoked"), "{}", both(&out));
    assert_eq!(gw.check(&new_token, "read:docs", None, None).0, 401);
    let out = gw.cli(&["--json", "agent", "list"]);
    let agents = json(&out.stdout);
    assert_eq!(agents["agents"][0]["status"], "revoked");

    // A name taken by an active agent is a conflict; an unknown agent is not found.
    gw.agent("dup", &[]);
    let out = gw.cli(&["agent", "create", "dup"]);
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    assert!(text(&out.stderr).contains("conflict"), "{}", both(&out));
    let out = gw.cli(&["agent", "show", "nobody"]);
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    assert_eq!(
        text(&out.stderr).trim(),
        "error: not found: no agent `nobody`"
    );
    // --json still prints the gateway's answer on stdout.
    let out = gw.cli(&["--json", "agent", "show", "nobody"]);
    assert_eq!(json(&out.stdout)["error"], "not_found");
    // A bad tier never reaches the gateway (clap: usage, exit 2).
    let out = gw.cli(&["agent", "create", "x", "--trust", "godlike"]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
}
