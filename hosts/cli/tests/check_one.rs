//! `meshguard check --action ...`: one decision from flags, exit 0 allow / 4 otherwise.

#![allow(
    clippy::unwrap_used,
    reason = "test setup failing should fail the test loudly"
)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{json, meshguard, p, repo_policies, text};

/// Runs `meshguard check --policies POLICIES args...`.
fn check(policies: &Path, args: &[&str]) -> Output {
    meshguard(&[&["check", "--policies", p(policies)], args].concat())
}

#[test]
fn allows_with_exit_0_and_json() {
    let out = check(
        &repo_policies(),
        &[
            "--json",
            "--agent-tags",
            "clawdbot,x",
            "--action",
            "write:email",
            "--resource",
            "Bob@YourCompany.COM",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let d = json(&out.stdout);
    assert_eq!(d["effect"], "allow");
    assert_eq!(d["resource"], "Bob@yourcompany.com");
    assert_eq!(d["rule"], "clawdbot-email-policy#2");
    assert!(d.get("explanation").is_none());
}

#[test]
fn denies_with_exit_4_and_explains_rule_by_rule() {
    let out = check(
        &repo_policies(),
        &[
            "--agent-tags",
            "clawdbot",
            "--action",
            "write:email",
            "--resource",
            "eve@elsewhere.com",
            "--explain",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.starts_with("deny: write:email on eve@elsewhere.com\n"),
        "{s}"
    );
    assert!(s.contains("  rule    clawdbot-email-policy#3\n"), "{s}");
    assert!(
        s.contains("  reason  External email requires approval\n"),
        "{s}"
    );
    assert!(
        s.contains("not applied  autogpt-policy: the agent has none of the tags `autogpt`"),
        "{s}"
    );
    let line = |rule: &str| {
        s.lines()
            .find(|l| l.contains(rule) && !l.contains("rule    "))
            .unwrap_or_else(|| panic!("no line for {rule}: {s}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("clawdbot-email-policy#3"),
        "decided deny clawdbot-email-policy#3"
    );
    assert_eq!(
        line("clawdbot-email-policy#2"),
        "no-match allow clawdbot-email-policy#2 resource `eve@elsewhere.com` fails `matches`"
    );
    assert!(!s.contains('\u{1b}'), "no colour on a pipe: {s}");
}

#[test]
fn require_approval_is_not_an_allow() {
    let dir = common::TempDir::new("approval");
    let policy = dir.write(
        "p.yaml",
        "name: p\nrules:\n  - {effect: allow, actions: [\"pay:*\"]}\nhumanInTheLoop:\n  requireApproval: [\"pay:*\"]\n",
    );
    let out = check(&policy, &["--action", "pay:invoice", "--json"]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(json(&out.stdout)["effect"], "require_approval");
    // Audit mode lets the caller through whatever the effect.
    let out = check(&policy, &["--action", "pay:x", "--mode", "audit"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn context_trust_tier_and_time_are_checked() {
    let base = ["--agent-tags", "clawdbot", "--action", "send:message"];
    let with = |extra: &[&str]| check(&repo_policies(), &[&base[..], extra].concat());
    assert_eq!(
        with(&["--context", r#"{"channel":"slack"}"#]).status.code(),
        Some(0)
    );
    assert_eq!(
        with(&["--context", r#"{"channel":"sms"}"#]).status.code(),
        Some(4)
    );
    for bad in [
        vec!["--context", "[1]"],
        vec!["--context", "{not json"],
        vec!["--trust-tier", "godlike"],
        vec!["--time", "yesterday"],
    ] {
        let out = with(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(out.stdout.is_empty());
    }
    // A control character is an invalid request: shown, and exit 2.
    let out = with(&["--resource", "a\u{7}b"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn request_flags_need_an_action() {
    let out = check(&repo_policies(), &["--resource", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--action"));
}
