//! `meshguard approvals`: pending approvals are listed, approved (the agent's retry goes
//! through) and denied, with the errors for a decided or unknown approval.

use crate::common::{TempDir, json, p, text};
use crate::support::{Gateway, both, code};

#[test]
fn approvals_are_listed_approved_and_denied() {
    let gw = Gateway::start();
    let local = TempDir::new("admin-approvals");
    let policy = local.write(
        "deploy.yaml",
        "name: deploy-policy\nappliesTo: {tags: [deployer]}\nrules:\n  - name: prod-needs-a-person\n    effect: require_approval\n    actions: [\"deploy:*\"]\n    reason: production deploys need a person\n",
    );
    let out = gw.cli(&["policy", "apply", p(&policy)]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let (_, token) = gw.agent("deployer", &["--tags", "deployer"]);

    let (status, answer) = gw.check(&token, "deploy:prod", Some("v1.2.3"), None);
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["decision"], "require_approval");
    let first = answer["approvalId"].as_str().unwrap().to_owned();
    let (_, answer) = gw.check(&token, "deploy:staging", Some("v1.2.3"), None);
    let second = answer["approvalId"].as_str().unwrap().to_owned();

    let out = gw.cli(&["approvals", "list", "--status", "pending"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let shown = text(&out.stdout);
    assert!(shown.contains(&first) && shown.contains(&second), "{shown}");
    assert!(
        shown.contains("pending") && shown.contains("deploy:prod"),
        "{shown}"
    );

    let out = gw.cli(&[
        "approvals",
        "approve",
        &first,
        "--by",
        "alice",
        "--note",
        "release day",
    ]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert!(text(&out.stdout).starts_with("approved"), "{}", both(&out));
    let (status, answer) = gw.check(&token, "deploy:prod", Some("v1.2.3"), None);
    assert_eq!(status, 200, "{answer}");

    let out = gw.cli(&["--json", "approvals", "deny", &second]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert_eq!(json(&out.stdout)["status"], "denied");
    let out = gw.cli(&["approvals", "deny", &second]);
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("already denied"),
        "{}",
        both(&out)
    );
    let out = gw.cli(&["approvals", "approve", "no-such-approval"]);
    assert_eq!(code(&out), Some(1), "{}", both(&out));
}
