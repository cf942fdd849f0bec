//! `meshguard test`: policy unit tests, the shipped examples, failures and bad files.

#![allow(
    clippy::unwrap_used,
    reason = "test setup failing should fail the test loudly"
)]

mod common;

use common::{TempDir, json, meshguard, p, repo, repo_policies, text};

#[test]
fn the_shipped_example_tests_pass() {
    let cc = repo("policies/tests/claude-code.tests.yaml");
    let cb = repo("policies/tests/clawdbot.tests.yaml");
    let out = meshguard(&["test", p(&cc), p(&cb)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let s = text(&out.stdout);
    assert!(
        s.contains("  ok    never reads .env, even inside the workspace\n"),
        "{s}"
    );
    let last = s.lines().last().unwrap();
    assert_eq!(last, "35 passed, 0 failed");
}

#[test]
fn the_tests_directory_is_not_loaded_as_policies() {
    // validate is not recursive: the example tests live beside the policies safely.
    let out = meshguard(&["validate", p(&repo_policies())]);
    assert_eq!(text(&out.stdout), "ok: 11 policies in 11 files\n");
}

#[test]
fn failures_show_the_explanation_and_exit_1() {
    let dir = TempDir::new("unit-fail");
    let policy = p(&repo_policies().join("clawdbot-email.yaml")).to_owned();
    let tests = dir.write(
        "t.yaml",
        format!(
            "policies: [{policy}]\ntests:\n  - name: passes\n    agent: {{tags: [clawdbot]}}\n    action: read:email\n    expect: allow\n  - name: wrong\n    agent: {{tags: [clawdbot]}}\n    action: write:email\n    resource: eve@elsewhere.com\n    expect: {{effect: allow, rule: x}}\n  - name: typo in the tier\n    agent: {{tags: [clawdbot], trustTier: godlike}}\n    action: read:email\n    expect: deny\n"
        ),
    );
    let out = meshguard(&["test", p(&tests)]);
    assert_eq!(out.status.code(), Some(1));
    let s = text(&out.stdout);
    assert!(s.contains("  ok    passes\n"), "{s}");
    assert!(s.contains("  FAIL  wrong\n"), "{s}");
    assert!(
        s.contains("expected effect `allow`, got `deny`; rule `x`, got `clawdbot-email-policy#3`"),
        "{s}"
    );
    assert!(
        s.contains("decided    deny   clawdbot-email-policy#3"),
        "{s}"
    );
    // An invalid request never passes as a deny.
    assert!(s.contains("  FAIL  typo in the tier\n"), "{s}");
    assert!(s.contains("unknown trust tier `godlike`"), "{s}");
    assert!(s.ends_with("\n1 passed, 2 failed\n"), "{s}");

    let out = meshguard(&["test", "--json", p(&tests)]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out.stdout);
    assert_eq!(
        (report["passed"].as_u64(), report["failed"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(
        report["results"][1]["decision"]["rule"],
        "clawdbot-email-policy#3"
    );
    assert!(report["results"][1]["decision"]["explanation"].is_object());
    assert!(
        report["results"][0]["decision"]
            .get("explanation")
            .is_none()
    );
}

#[test]
fn bad_tests_files_exit_2_with_one_line() {
    let dir = TempDir::new("unit-bad");
    let typo = dir.write(
        "typo.yaml",
        "policies: [x]\ntests:\n  - name: a\n    action: b\n    expct: allow\n",
    );
    let out = meshguard(&["test", p(&typo)]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("typo.yaml:5:5: tests[0]: unknown field `expct`"),
        "{err}"
    );

    let effect = dir.write(
        "effect.yaml",
        "policies: [x]\ntests:\n  - {name: a, action: b, expect: alow}\n",
    );
    let err = text(&meshguard(&["test", p(&effect)]).stderr);
    assert!(err.contains("unknown variant `alow`"), "{err}");

    let missing_policies = dir.write(
        "nopol.yaml",
        "policies: [nowhere.yaml]\ntests:\n  - {name: a, action: b, expect: deny}\n",
    );
    let out = meshguard(&["test", p(&missing_policies)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nowhere.yaml"));

    let out = meshguard(&["test", p(&dir.path().join("absent.yaml"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read"));

    let latin1 = dir.write("latin1.yaml", b"policies: [caf\xE9]\n");
    let out = meshguard(&["test", p(&latin1)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not UTF-8"));
}
