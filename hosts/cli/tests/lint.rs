//! `meshguard lint`: findings with positions and carets, JSON, exit codes.

#![allow(
    clippy::unwrap_used,
    reason = "test setup failing should fail the test loudly"
)]

mod common;

use common::{TempDir, json, meshguard, p, repo_policies, text};
use serde_json::Value;

/// A set with one problem of each kind lint knows (and one overlap).
const BAD: &str = r#"name: typos
appliesTo: {tags: [claude_code], trustTiers: [untrusted]}
ruleOrder: first-match
rules:
  - effect: allow
    actions: ["read:*"]
  - name: never-reached
    effect: deny
    actions: ["read:file"]
  - effect: allow
    actions: ["raed:file"]
    conditions: {resource: {startsWith: "./x"}}
  - effect: allow
    actions: [write:file]
    conditions:
      resource: {matches: "/workspace/../etc/*"}
      agent: {trustTier: {atLeast: trusted}}
---
name: other
appliesTo: {tags: [claude-code]}
rules:
  - {effect: deny, actions: ["read:file", "read:x"]}
  - {effect: allow, actions: ["read:file"]}
  - {effect: allow, actions: ["send: mail"]}
  - {effect: deny, actions: ["write:x"], conditions: {resource: {equals: "/a/./b"}}}
  - {effect: allow, actions: ["write:email"], conditions: {resource: {matches: "*@Corp.COM"}}}
---
name: third
appliesTo: {tags: [claude-code]}
rules:
  - {effect: allow, actions: ["read:z"], conditions: {context: {channel: {in: [a, b]}}}}
  - {effect: deny, actions: ["read:z"], conditions: {context: {channel: c}}}
  - {effect: allow, actions: ["write:email"], conditions: {resource: {matches: "*@corp.com"}}}
  - {effect: deny, actions: ["write:*"]}
"#;

fn findings(report: &Value) -> Vec<(String, u64, u64)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn finds_each_kind_of_problem_where_it_is() {
    let dir = TempDir::new("lint-bad");
    let file = dir.write("bad.yaml", BAD);
    let out = meshguard(&["lint", "--json", p(&file)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out.stdout);
    assert_eq!(report["ok"], false);
    assert_eq!(report["policies"], 3);
    let got = findings(&report);
    let want = [
        ("rare-tag", 2, 20),
        ("unreachable-rule", 7, 11),
        ("rare-verb", 11, 16),
        ("never-matches", 13, 5),
        ("non-canonical-pattern", 16, 28),
        ("outranked-rule", 23, 5),
        ("action-whitespace", 24, 32),
        ("non-canonical-pattern", 25, 75),
        ("non-canonical-pattern", 26, 81),
        ("overlap", 33, 5),
    ];
    let want: Vec<(String, u64, u64)> = want
        .iter()
        .map(|(c, l, k)| ((*c).to_owned(), *l, *k))
        .collect();
    assert_eq!(got, want, "{report:#}");
    let severity = |i: usize| report["diagnostics"][i]["severity"].clone();
    assert_eq!(severity(0), "warning");
    assert_eq!(severity(9), "note");
    let overlap = report["diagnostics"][9]["message"].as_str().unwrap();
    assert!(
        overlap.contains("can both match `write:email`"),
        "{overlap}"
    );
    assert!(overlap.contains("specific first"), "{overlap}");
    // The calendar-like pair (`in: [a, b]` against `c`) can never both match: no note.
    assert!(!text(&out.stdout).contains("third#2`"), "{report:#}");
}

#[test]
fn text_output_has_carets_help_and_a_summary() {
    let dir = TempDir::new("lint-text");
    let file = dir.write("bad.yaml", BAD);
    let out = meshguard(&["lint", p(&file)]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    assert!(
        s.contains("warning[rare-verb]: action verb `raed:` is used nowhere else"),
        "{s}"
    );
    assert!(s.contains(&format!("--> {}:11:16\n", p(&file))), "{s}");
    assert!(s.contains("\n 11 |     actions: [\"raed:file\"]\n"), "{s}");
    assert!(s.contains("\n    |                ^^^^^^^^^\n"), "{s}");
    assert!(s.contains("= help: did you mean `read:`?"), "{s}");
    assert!(s.contains("write `/etc/*`"), "{s}");
    assert!(
        s.ends_with("lint: 9 warnings, 1 note in 3 policies\n"),
        "{s}"
    );

    let out = meshguard(&["lint", "--no-notes", "--deny-warnings", p(&file)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).ends_with("lint: 9 warnings, 0 notes in 3 policies\n"));
}

#[test]
fn the_example_policies_have_two_redundant_rules_and_weak_spots() {
    let out = meshguard(&["lint", "--json", p(&repo_policies())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out.stdout);
    assert_eq!(report["policies"], 11);
    let diagnostics = report["diagnostics"].as_array().unwrap();
    let warnings: Vec<String> = diagnostics
        .iter()
        .filter(|d| d["severity"] == "warning")
        .map(|d| {
            format!(
                "{} {} {}",
                d["file"].as_str().unwrap().rsplit('/').next().unwrap(),
                d["code"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(report["warnings"], warnings.len());
    let found = |file: &str, code: &str, start: &str| {
        warnings
            .iter()
            .any(|w| w.starts_with(&format!("{file} {code} {start}")))
    };
    // `npm test` and friends start with prefixes claude-code-dev-assistant#5 allows first;
    // plain web search is allowed by claude-code-dev-assistant#8 first, for the same agents
    // (across policies, ties go to the earliest policy).
    let redundant: Vec<&String> = warnings
        .iter()
        .filter(|w| w.contains(" redundant-rule "))
        .collect();
    assert_eq!(redundant.len(), 2, "{warnings:#?}");
    assert!(found(
        "claude-code-shell.yaml",
        "redundant-rule",
        "rule `claude-code-shell-policy#2` never decides"
    ));
    assert!(found(
        "claude-code-web.yaml",
        "redundant-rule",
        "rule `claude-code-web-policy#2` never decides"
    ));
    // The shell policy's prefixes that admit any code.
    for prefix in [
        "python ", "python3 ", "git ", "find ", "npm ", "npm run ", "npx ", "make ",
    ] {
        assert!(
            found(
                "claude-code-shell.yaml",
                "shell-allow-admits-code",
                &format!("`startsWith: {prefix}` admits")
            ),
            "{prefix}: {warnings:#?}"
        );
    }
    // The web policies' host patterns open on both sides.
    for file in ["claude-code-web.yaml", "claude-code-dev-assistant.yaml"] {
        assert!(
            found(
                file,
                "broad-host-pattern",
                "host pattern `*github.com*` also matches"
            ),
            "{file}: {warnings:#?}"
        );
    }
    // Allowed paths whose `*` crosses directories.
    assert!(found(
        "clawdbot-file.yaml",
        "star-crosses-directories",
        "`*` in `/workspace/*` also matches `/`"
    ));
    // The seeds' own examples of docs/semantics.md §4 are explained as notes.
    let notes = text(&out.stdout);
    assert!(notes.contains("allow rule `clawdbot-email-policy#2` and deny rule `clawdbot-email-policy#3` can both match `write:email`"));
    assert!(notes.contains("allow rule `clawdbot-web-policy#1` and deny rule `clawdbot-web-policy#2` can both match `browse:web`"));

    let out = meshguard(&["lint", "--deny-warnings", p(&repo_policies())]);
    assert_eq!(out.status.code(), Some(1));
    let clean = meshguard(&[
        "lint",
        "--deny-warnings",
        p(&repo_policies().join("clawdbot-email.yaml")),
    ]);
    assert_eq!(clean.status.code(), Some(0));
    assert_eq!(text(&clean.stdout), "policies/clawdbot-email.yaml:17:5: note[overlap]: allow rule `clawdbot-email-policy#2` and deny rule `clawdbot-email-policy#3` can both match `write:email`; when its conditions hold it decides, because a matching conditional rule sets the unconditional `clawdbot-email-policy#3` aside (specific first, docs/semantics.md §4 step 2); otherwise `clawdbot-email-policy#3` wins\n  = help: `clawdbot-email-policy#3` is at policies/clawdbot-email.yaml:25:5\n\nlint: 0 warnings, 1 note in 1 policy\n".replace("policies/", &format!("{}/", p(&repo_policies()))));
}

/// A set with one weak spot of each resource kind.
const KINDS: &str = r#"name: kinds
rules:
  - effect: allow
    actions: ["execute:shell"]
    conditions:
      resource:
        startsWith: ["ls ", "python ", "cargo "]
  - effect: allow
    actions: ["read:web_fetch"]
    conditions:
      resource: {matches: "*github.com*"}
  - {effect: allow, actions: ["read:file"], conditions: {resource: {matches: "/workspace/*"}}}
  - {effect: deny, actions: ["read:file"], conditions: {resource: {matches: "/etc/*"}}}
"#;

#[test]
fn kind_findings_render_with_carets_and_notes_on_one_line() {
    let dir = TempDir::new("lint-kinds");
    let file = dir.write("kinds.yaml", KINDS);
    let out = meshguard(&["lint", p(&file)]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    let f = p(&file);
    assert!(
        s.contains(&format!(
            "warning[shell-allow-admits-code]: `startsWith: python ` admits `python -c …`, which runs any code given on the command line\n  --> {f}:7:30\n   |\n 7 |         startsWith: [\"ls \", \"python \", \"cargo \"]\n   |                              ^^^^^^^\n   = help: narrow it to the commands meant (such as `python -m pytest`), or add a deny for `python -c`\n"
        )),
        "{s}"
    );
    assert!(
        s.contains(&format!(
            "{f}:7:41: note[shell-allow-admits-code]: `startsWith: cargo ` admits `cargo run`"
        )),
        "{s}"
    );
    assert!(
        s.contains("warning[broad-host-pattern]: host pattern `*github.com*` also matches `github.com.evil.com` and `evilgithub.com`"),
        "{s}"
    );
    assert!(s.contains("\n 11 |       resource: {matches: \"*github.com*\"}\n    |                            ^^^^^^^^^^^^\n"), "{s}");
    assert!(
        s.contains("= help: write `github.com` or `*.github.com` (both if needed)"),
        "{s}"
    );
    assert!(
        s.contains("warning[star-crosses-directories]: `*` in `/workspace/*` also matches `/`"),
        "{s}"
    );
    assert!(
        s.contains(&format!(
            "{f}:13:78: note[star-crosses-directories]: `*` in `/etc/*` also matches `/`"
        )),
        "{s}"
    );
    assert!(
        s.ends_with("lint: 3 warnings, 2 notes in 1 policy\n"),
        "{s}"
    );

    let out = meshguard(&["lint", "--json", "--no-notes", "--deny-warnings", p(&file)]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out.stdout);
    assert_eq!(report["ok"], false);
    assert_eq!(report["warnings"], 3);
    assert_eq!(report["notes"], 0);
    let codes: Vec<(&str, &str)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].as_str().unwrap(), d["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            ("shell-allow-admits-code", "warning"),
            ("broad-host-pattern", "warning"),
            ("star-crosses-directories", "warning"),
        ]
    );
}

#[test]
fn bad_policies_and_paths_exit_2() {
    let dir = TempDir::new("lint-refused");
    let file = dir.write(
        "typo.yaml",
        "name: x\nrules:\n  - {effect: allow, actoins: [a]}\n",
    );
    let out = meshguard(&["lint", p(&file)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error[unknown-key]"));
    let out = meshguard(&["lint", "--json", p(&file)]);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out.stdout);
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"unknown-key"), "{codes:?}");
    let out = meshguard(&["lint", p(&dir.path().join("missing.yaml"))]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr).lines().count(), 1);
}
