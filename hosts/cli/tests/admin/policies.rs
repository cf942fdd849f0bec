//! `meshguard policy`: `apply` (refusing a bad file or directory with carets and changing
//! nothing, applying a good one), `list`, `show`, `delete`, and the dry runs `test` and
//! `allowed` against the seed policies.

use crate::common::{TempDir, json, p, repo_policies, text};
use crate::support::{Gateway, both, code};

#[test]
fn policy_apply_refuses_a_bad_file_with_carets_and_changes_nothing() {
    let gw = Gateway::start();
    let before = json(&gw.cli(&["--json", "policy", "list"]).stdout)["policies"].clone();
    assert_eq!(before.as_array().unwrap().len(), 11);

    let local = TempDir::new("admin-apply");
    let bad = local.write(
        "bad/files.yaml",
        "name: files-policy\nrules:\n  - effect: allow\n    actions: [\"read:file\"]\n    condtions:\n      resource: {matches: \"./**\"}\n",
    );
    let out = gw.cli(&["policy", "apply", p(&bad)]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("error[unknown-key]: unknown key `condtions` in rule"),
        "{err}"
    );
    assert!(err.contains(&format!("--> {}:5:5", p(&bad))), "{err}");
    assert!(err.contains(" 5 |     condtions:\n"), "{err}");
    assert!(err.contains("   |     ^^^^^^^^^\n"), "{err}");
    assert!(err.contains("did you mean `conditions`?"), "{err}");
    assert!(err.contains("nothing was applied"), "{err}");
    assert!(text(&out.stdout).is_empty(), "{}", both(&out));

    // A directory with a good file and a bad one applies neither.
    local.write(
        "bad/a-good.yaml",
        "name: good-policy\nappliesTo: {tags: [files]}\nrules:\n  - effect: allow\n    actions: [\"read:file\"]\n",
    );
    let out = gw.cli(&["policy", "apply", p(&local.path().join("bad"))]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    let after = json(&gw.cli(&["--json", "policy", "list"]).stdout)["policies"].clone();
    assert_eq!(after, before, "a refused apply changed the set");
    let files: Vec<String> = std::fs::read_dir(gw.dir.path().join("policies"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 11, "{files:?}");

    // --json: the gateway's diagnostics.
    let out = gw.cli(&["--json", "policy", "apply", p(&bad)]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    let report = json(&out.stdout);
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["refused"][0]["answer"]["diagnostics"][0]["code"],
        "unknown-key"
    );

    // A good file is applied, serves at once, and can be shown and deleted.
    let good = local.write(
        "good.yaml",
        "name: files-policy\nappliesTo: {tags: [files]}\nrules:\n  - effect: allow\n    actions: [\"read:file\"]\n    conditions:\n      resource: {matches: \"./**\"}\n",
    );
    let out = gw.cli(&["policy", "apply", p(&good)]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert!(text(&out.stdout).contains("files-policy"), "{}", both(&out));
    let out = gw.cli(&["policy", "list"]);
    assert!(text(&out.stdout).contains("files-policy"), "{}", both(&out));
    let out = gw.cli(&["policy", "show", "files-policy"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert!(
        text(&out.stdout).contains("resource: {matches: \"./**\"}"),
        "{}",
        both(&out)
    );
    let (_, token) = gw.agent("reader", &["--tags", "files"]);
    assert_eq!(
        gw.check(&token, "read:file", Some("./src/main.rs"), None).0,
        200
    );
    assert_eq!(
        gw.check(&token, "read:file", Some("/etc/passwd"), None).0,
        403
    );

    // Applying the repository's whole directory again (unchanged texts) is fine.
    let out = gw.cli(&["policy", "apply", p(&repo_policies())]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert_eq!(text(&out.stdout).lines().count(), 11, "{}", both(&out));

    let out = gw.cli(&["policy", "delete", "files-policy"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let out = gw.cli(&["policy", "show", "files-policy"]);
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("no policy `files-policy`"),
        "{}",
        both(&out)
    );

    // A path that cannot be read: exit 2, one line.
    let out = gw.cli(&["policy", "apply", "no/such/file.yaml"]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    assert_eq!(text(&out.stderr).lines().count(), 1, "{}", both(&out));
}

#[test]
fn policy_test_and_allowed_answer_like_the_seeds() {
    let gw = Gateway::start();
    let (id, _) = gw.agent("clawdbot-agent-1", &["--tags", "clawdbot,email-enabled"]);

    let out = gw.cli(&[
        "policy",
        "test",
        "clawdbot-agent-1",
        "write:email",
        "--resource",
        "user@external.com",
    ]);
    assert_eq!(code(&out), Some(4), "{}", both(&out));
    let shown = text(&out.stdout);
    assert_eq!(
        shown.lines().next().unwrap(),
        "DENY (rule: clawdbot-email-policy#3, policy: clawdbot-email-policy)"
    );
    assert!(
        shown.contains("External email requires approval"),
        "{shown}"
    );
    assert!(!shown.contains("policies:"), "{shown}");

    let out = gw.cli(&[
        "policy",
        "test",
        &id,
        "write:email",
        "--resource",
        "bob@yourcompany.com",
        "--verbose",
    ]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("ALLOW (rule: clawdbot-email-policy#2, policy: clawdbot-email-policy)\n"),
        "{shown}"
    );
    assert!(
        shown.contains("policies:\n") && shown.contains("decided"),
        "{shown}"
    );
    assert!(
        shown.contains("set-aside  deny   clawdbot-email-policy#3"),
        "{shown}"
    );

    let out = gw.cli(&[
        "--json",
        "policy",
        "test",
        &id,
        "write:calendar",
        "--context",
        r#"{"event_type":"meeting"}"#,
    ]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert_eq!(json(&out.stdout)["effect"], "allow");
    let out = gw.cli(&["policy", "test", &id, "write:calendar", "--context", "[1]"]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    let out = gw.cli(&["policy", "test", "nobody", "write:email"]);
    assert_eq!(code(&out), Some(1), "{}", both(&out));

    // A dry run: nothing reaches the audit log.
    let audit = json(&gw.cli(&["--json", "audit", "query"]).stdout);
    assert_eq!(audit["entries"].as_array().unwrap().len(), 0, "{audit}");

    // allowed: the allow rules of the applicable policies, conditions in short form.
    let out = gw.cli(&["policy", "allowed", "clawdbot-agent-1"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let shown = text(&out.stdout);
    assert!(shown.contains("POLICY"), "{shown}");
    let email = shown
        .lines()
        .find(|l| l.contains("write:email"))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(
        email.contains("resource matches \"*@yourcompany.com\""),
        "{shown}"
    );
    assert!(
        shown.contains("context.event_type in [\"meeting\", \"reminder\"]"),
        "{shown}"
    );
    assert!(!shown.contains("claude-code"), "{shown}");
    assert!(shown.contains("defaultEffect: allow"), "{shown}");
    let out = gw.cli(&["--json", "policy", "allowed", "clawdbot-agent-1"]);
    let report = json(&out.stdout);
    let names: Vec<&str> = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "clawdbot-calendar-policy",
            "clawdbot-email-policy",
            "clawdbot-file-policy",
            "clawdbot-messaging-policy",
            "clawdbot-web-policy"
        ]
    );
}
