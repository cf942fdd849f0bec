//! `meshguard_core::lint`: every finding, where it points, and the decision rule it
//! reasons with (docs/semantics.md §4: specific first within a policy, deny wins across policies).

#![allow(
    clippy::unwrap_used,
    reason = "test setup failing should fail the test loudly"
)]

use meshguard_core::{Diagnostic, Source, lint};

fn run(files: &[(&str, &str)]) -> Vec<Diagnostic> {
    lint(files.iter().map(|(n, t)| Source::new(n, t))).unwrap()
}

fn one(text: &str) -> Vec<Diagnostic> {
    run(&[("p.yaml", text)])
}

/// `code line:column` of each finding, in order.
fn places(ds: &[Diagnostic]) -> Vec<String> {
    ds.iter()
        .map(|d| format!("{} {}:{}", d.code, d.line, d.column))
        .collect()
}

fn with_code<'a>(ds: &'a [Diagnostic], code: &str) -> Vec<&'a Diagnostic> {
    ds.iter().filter(|d| d.code == code).collect()
}

#[test]
fn load_errors_are_the_compilers() {
    let bad = "name: x\nrules:\n  - {effect: allow, actoins: [a]}\n";
    let err = lint([Source::new("bad.yaml", bad)]).unwrap_err();
    let codes: Vec<String> = err.diagnostics().into_iter().map(|d| d.code).collect();
    assert!(codes.contains(&"unknown-key".to_owned()), "{codes:?}");
    let dup = lint([
        Source::new("a.yaml", "name: x\n"),
        Source::new("b.yaml", "name: x\n"),
    ])
    .unwrap_err();
    assert_eq!(dup.diagnostics()[0].code, "duplicate-name");
}

#[test]
fn a_clean_set_has_no_findings() {
    let ds = one(
        "name: clean\nrules:\n  - effect: allow\n    actions: [\"read:file\"]\n    conditions:\n      resource: {matches: \"./src/**\"}\n",
    );
    assert!(ds.is_empty(), "{ds:?}");
}

// ---------------------------------------------------------------------------------------
// The findings ported from the CLI, with spans from the model.

/// One problem of each older kind (the CLI's own test set).
const OLD: &str = r#"name: typos
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

#[test]
fn older_findings_point_at_the_text_they_are_about() {
    let ds = one(OLD);
    assert_eq!(
        places(&ds),
        [
            "rare-tag 2:20",
            "unreachable-rule 7:11",
            "rare-verb 11:16",
            "never-matches 13:5",
            "non-canonical-pattern 16:28",
            "outranked-rule 23:5",
            "action-whitespace 24:32",
            "non-canonical-pattern 25:75",
            "non-canonical-pattern 26:81",
            "overlap 33:5",
        ]
    );
    // Spans cover the text itself: the pattern without its quotes, the rule on one line.
    let verb = &ds[2];
    assert_eq!((verb.end_line, verb.end_column), (11, 25));
    let rule = &ds[5];
    assert_eq!((rule.end_line, rule.end_column), (23, 44));
    // A rule written over several lines without a name: its first entry.
    let head = &ds[3];
    assert_eq!((head.end_line, head.end_column), (13, 18));
    assert_eq!(ds[0].severity, "warning");
    assert_eq!(ds[9].severity, "note");
    assert!(
        ds[9].message.contains("specific first"),
        "{}",
        ds[9].message
    );
    assert!(
        ds[1]
            .help
            .as_deref()
            .unwrap()
            .ends_with("move it above `typos#1` (p.yaml:5:5)")
    );
}

#[test]
fn approval_patterns_and_agent_tags_have_spans() {
    let ds = one(
        "name: a\nappliesTo: {tags: [dev, dev]}\nrules:\n  - {effect: allow, actions: [\"x:y\"], conditions: {agent: {tags: [Dev]}}}\nhumanInTheLoop:\n  requireApproval: [\"send: mail\"]\n",
    );
    assert_eq!(
        places(&ds),
        ["rare-tag 4:67", "action-whitespace 6:22"],
        "{ds:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// The decision rule: specific first within a policy, deny wins across policies.

#[test]
fn across_policies_an_allow_cannot_lift_a_deny() {
    let guard = "name: guard\nappliesTo: {tags: [agent]}\nrules:\n  - {effect: deny, actions: [\"execute:shell\"]}\n";
    let team = "name: team\nappliesTo: {tags: [agent]}\nrules:\n  - {effect: allow, actions: [\"execute:shell\"], conditions: {resource: {equals: \"ls\"}}}\n";
    for (files, team_file) in [
        ([("1.yaml", guard), ("2.yaml", team)], "2.yaml"),
        ([("1.yaml", team), ("2.yaml", guard)], "1.yaml"),
    ] {
        let ds = run(&files);
        let out = with_code(&ds, "outranked-rule");
        assert_eq!(out.len(), 1, "{ds:#?}");
        assert!(
            out[0].message.starts_with(
                "rule `team#1` (allow) can never decide: whenever it matches, rule `guard#1` of \
                 policy `guard` (deny) matches too; across policies deny beats allow"
            ),
            "{}",
            out[0].message
        );
        assert_eq!(out[0].file, team_file);
    }
}

#[test]
fn within_a_policy_the_conditional_rule_is_specific() {
    let ds = one(
        "name: email\nrules:\n  - {effect: allow, actions: [\"write:email\"], conditions: {resource: {matches: \"*@corp.com\"}}}\n  - {effect: deny, actions: [\"write:email\"]}\n",
    );
    assert_eq!(places(&ds), ["overlap 3:5"]);
    assert!(
        ds[0]
            .message
            .contains("specific first, docs/semantics.md §4 step 2")
    );
}

#[test]
fn a_deny_its_own_policy_may_set_aside_is_not_proof() {
    // `guard#1` is unconditional; `guard#2`, a conditional allow, sets it aside in its own
    // policy when it matches, so `guard` may decide allow and `team#1` may decide.
    let guard = "name: guard\nrules:\n  - {effect: deny, actions: [\"execute:shell\"]}\n  - {effect: allow, actions: [\"execute:shell\"], conditions: {resource: {startsWith: \"ls\"}}}\n";
    let team = "name: team\nrules:\n  - {effect: allow, actions: [\"execute:shell\"], conditions: {resource: {equals: \"ls\"}}}\n";
    let ds = run(&[("1.yaml", guard), ("2.yaml", team)]);
    assert!(with_code(&ds, "outranked-rule").is_empty(), "{ds:#?}");
    let note = with_code(&ds, "overlap")
        .into_iter()
        .find(|d| {
            d.message
                .starts_with("allow rule `team#1` and deny rule `guard#1`")
        })
        .unwrap();
    assert!(
        note.message
            .contains("wins unless a conditional rule of policy `guard` sets it aside"),
        "{}",
        note.message
    );
}

#[test]
fn equal_effects_across_policies_tie_to_the_earliest_policy() {
    let a = "name: a\nrules:\n  - {effect: allow, actions: [\"read:web\"]}\n";
    let b = "name: b\nrules:\n  - {effect: allow, actions: [\"read:web\"]}\n";
    let ds = run(&[("a.yaml", a), ("b.yaml", b)]);
    assert_eq!(places(&ds), ["redundant-rule 3:5"]);
    assert_eq!(ds[0].file, "b.yaml");
    assert!(ds[0].message.contains("of the earlier policy `a`"));
    assert!(
        ds[0]
            .message
            .contains("ties go to the earliest policy (docs/semantics.md §4 step 3)")
    );
    assert_eq!(
        ds[0].help.as_deref(),
        Some("`a#1` is at a.yaml:3:5; remove one of them, or narrow `a#1`")
    );
}

#[test]
fn policies_for_other_agents_prove_nothing() {
    let guard = "name: guard\nappliesTo: {tags: [other]}\nrules:\n  - {effect: deny, actions: [\"execute:shell\"]}\n";
    let team = "name: team\nappliesTo: {tags: [agent]}\nrules:\n  - {effect: allow, actions: [\"execute:shell\"], conditions: {resource: {equals: \"ls\"}}}\n";
    assert!(run(&[("1.yaml", guard), ("2.yaml", team)]).is_empty());
}

// ---------------------------------------------------------------------------------------
// shell-allow-admits-code

fn shell(operands: &str) -> String {
    format!(
        "name: shell\nrules:\n  - effect: allow\n    actions: [\"execute:shell\"]\n    conditions:\n      resource:\n        startsWith: [{operands}]\n"
    )
}

#[test]
fn shell_allows_that_admit_code_are_named() {
    let ds = one(&shell(
        "\"python \", \"git \", \"find ./src\", \"npm run \", \"env \", \"node\", \"bash \", \"make \", \"npx \", \"cargo \"",
    ));
    let got: Vec<(&str, &str)> = ds
        .iter()
        .map(|d| (d.severity.as_str(), d.message.as_str()))
        .collect();
    assert_eq!(ds.len(), 10, "{got:#?}");
    assert!(ds.iter().all(|d| d.code == "shell-allow-admits-code"));
    assert_eq!(
        ds[0].message,
        "`startsWith: python ` admits `python -c …`, which runs any code given on the command line"
    );
    assert_eq!(
        ds[0].help.as_deref(),
        Some(
            "narrow it to the commands meant (such as `python -m pytest`), or add a deny for `python -c`"
        )
    );
    assert_eq!((ds[0].line, ds[0].column, ds[0].end_column), (7, 23, 30));
    assert!(
        ds[1]
            .message
            .starts_with("`startsWith: git ` admits `git -c core.pager=… log`")
    );
    assert!(
        ds[2]
            .message
            .starts_with("`startsWith: find ./src` admits `find … -exec … {} ;`")
    );
    assert!(ds[3].message.contains("runs any script in `package.json`"));
    assert!(
        ds[4]
            .message
            .starts_with("`startsWith: env ` admits `env … sh -c …`")
    );
    assert!(
        ds[5]
            .message
            .starts_with("`startsWith: node` admits `node -e …`")
    );
    assert!(ds[6].message.contains("runs whatever the script file says"));
    assert!(
        ds[7]
            .message
            .starts_with("`startsWith: make ` admits `make --eval=…`")
    );
    assert!(ds[8].message.contains("downloads and runs any package"));
    assert_eq!(ds[9].severity, "note");
    assert!(
        ds[9]
            .message
            .starts_with("`startsWith: cargo ` admits `cargo run`")
    );
}

#[test]
fn narrow_shell_allows_are_left_alone() {
    let ds = one(&shell(
        "\"git status\", \"git diff\", \"npm test\", \"make test\", \"cargo test\", \"ls \", \"python -m pytest\"",
    ));
    assert!(ds.is_empty(), "{ds:#?}");
    let exact = "name: shell\nrules:\n  - {effect: allow, actions: [\"execute:shell\"], conditions: {resource: {equals: [\"find . -name x\", \"python manage.py test\"]}}}\n";
    assert!(one(exact).is_empty());
    // Every resource test must admit the dangerous command.
    let both = "name: shell\nrules:\n  - {effect: allow, actions: [\"execute:shell\"], conditions: {resource: {startsWith: \"git \", endsWith: \" status\"}}}\n";
    assert!(one(both).is_empty(), "{:#?}", one(both));
    // Not a shell action.
    let file = "name: f\nrules:\n  - {effect: allow, actions: [\"read:file\"], conditions: {resource: {startsWith: \"python \"}}}\n";
    assert!(one(file).is_empty());
}

#[test]
fn a_matches_pattern_and_a_wildcard_action_count_too() {
    let ds = one(
        "name: s\nrules:\n  - {effect: allow, actions: [\"execute:*\"], conditions: {resource: {matches: \"git *\"}}}\n",
    );
    assert_eq!(places(&ds), ["shell-allow-admits-code 3:79"]);
    assert!(ds[0].message.starts_with("`matches: git *` admits"));
}

#[test]
fn a_deny_for_the_dangerous_form_settles_it() {
    let mut text = shell("\"git \", \"python \", \"node \"");
    text.push_str("  - {effect: deny, actions: [\"execute:shell\"], conditions: {resource: {startsWith: \"git -c\"}}}\n");
    let ds = one(&text);
    let codes: Vec<&str> = ds
        .iter()
        .filter(|d| d.code == "shell-allow-admits-code")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(codes.len(), 2, "{codes:#?}");
    assert!(codes[0].starts_with("`startsWith: python `"));
    assert!(codes[1].starts_with("`startsWith: node `"));

    // A guard-rail policy for the same agents settles it too (deny wins across policies);
    // one for other agents does not.
    let team = shell("\"git \"").replace("rules:", "appliesTo: {tags: [dev]}\nrules:");
    let guard = |tag: &str| {
        format!(
            "name: guard\nappliesTo: {{tags: [{tag}]}}\nrules:\n  - {{effect: deny, actions: [\"execute:*\"], conditions: {{resource: {{contains: \" -c \"}}}}}}\n"
        )
    };
    let same = guard("dev");
    let ds = run(&[("team.yaml", &team), ("guard.yaml", &same)]);
    assert!(
        with_code(&ds, "shell-allow-admits-code").is_empty(),
        "{ds:#?}"
    );
    let other = guard("ops");
    let ds = run(&[("team.yaml", &team), ("guard.yaml", &other)]);
    assert_eq!(with_code(&ds, "shell-allow-admits-code").len(), 1);

    // A policy for the same agents that denies every shell command: the allow never
    // decides (`outranked-rule`), so it admits nothing.
    let no_shell = "name: guard\nappliesTo: {tags: [dev]}\nrules:\n  - {effect: deny, actions: [\"execute:shell\"]}\n";
    let ds = run(&[("team.yaml", &team), ("guard.yaml", no_shell)]);
    assert_eq!(places(&ds), ["outranked-rule 4:5"], "{ds:#?}");
}

#[test]
fn an_approval_for_every_shell_command_settles_it() {
    let team = shell("\"python \"").replace("rules:", "appliesTo: {tags: [dev]}\nrules:");
    let hitl = "name: hitl\nappliesTo: {tags: [dev]}\nhumanInTheLoop:\n  requireApproval: [\"execute:*\"]\n";
    let ds = run(&[("team.yaml", &team), ("hitl.yaml", hitl)]);
    assert!(
        with_code(&ds, "shell-allow-admits-code").is_empty(),
        "{ds:#?}"
    );
    let ds = run(&[("team.yaml", &team)]);
    assert_eq!(with_code(&ds, "shell-allow-admits-code").len(), 1);
}

// ---------------------------------------------------------------------------------------
// broad-host-pattern

fn web(effect: &str, conditions: &str) -> String {
    format!(
        "name: web\nrules:\n  - effect: {effect}\n    actions: [\"read:web_fetch\"]\n    conditions:\n      resource: {conditions}\n"
    )
}

#[test]
fn host_patterns_open_on_a_side_are_broad() {
    let ds = one(&web(
        "allow",
        "{matches: [\"*github.com*\", \"*.rust-lang.org\", \"docs.rs\", \"*pypi.org\", \"crates.io*\", \"*docs.*\", \"*.npmjs.com*\"]}",
    ));
    let got: Vec<&str> = ds.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(ds.len(), 5, "{got:#?}");
    assert!(
        ds.iter()
            .all(|d| d.code == "broad-host-pattern" && d.severity == "warning")
    );
    assert_eq!(
        ds[0].message,
        "host pattern `*github.com*` also matches `github.com.evil.com` and `evilgithub.com`: its `*` runs into the name, so it admits any host that merely contains `github.com`"
    );
    assert_eq!(
        ds[0].help.as_deref(),
        Some("write `github.com` or `*.github.com` (both if needed)")
    );
    assert_eq!((ds[0].line, ds[0].column), (6, 29));
    assert!(got[1].starts_with("host pattern `*pypi.org` also matches `evilpypi.org`:"));
    assert!(got[2].starts_with("host pattern `crates.io*` also matches `crates.io.evil.com`:"));
    assert!(got[3].starts_with("host pattern `*docs.*` also matches `evildocs.com`:"));
    assert!(got[4].starts_with("host pattern `*.npmjs.com*` also matches `x.npmjs.com.evil.com`:"));
    assert_eq!(ds[4].help.as_deref(), Some("write `*.npmjs.com`"));
}

#[test]
fn url_fragments_and_open_url_prefixes_are_broad() {
    let ds = one(&web(
        "allow",
        "{contains: [\"github.com\", \"https://docs.rs\", \"/api/\"], startsWith: [\"https://github.com\", \"https://docs.rs/\"]}",
    ));
    let got: Vec<&str> = ds.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(ds.len(), 3, "{got:#?}");
    assert!(
        got[0].starts_with(
            "`contains: github.com` matches any URL that mentions `github.com` anywhere"
        )
    );
    assert_eq!(
        ds[0].help.as_deref(),
        Some(
            "match the host instead: `matches: github.com` or `matches: \"*.github.com\"` (both if needed)"
        )
    );
    assert!(got[1].starts_with("`contains: https://docs.rs` matches any URL that mentions it"));
    assert_eq!(
        ds[1].help.as_deref(),
        Some("write `startsWith: https://docs.rs/`")
    );
    assert_eq!(
        got[2],
        "`startsWith: https://github.com` stops right after the host, so it also matches `https://github.com.evil.com/` and `https://github.com-evil.com/`, hosts other than `github.com`"
    );
    assert_eq!(
        ds[2].help.as_deref(),
        Some("end the prefix with `/`: `https://github.com/`")
    );
}

#[test]
fn denies_and_path_rules_are_not_judged_for_hosts() {
    assert!(one(&web("deny", "{matches: \"*twitter.com*\"}")).is_empty());
    let file = "name: f\nrules:\n  - {effect: allow, actions: [\"read:file\"], conditions: {resource: {matches: \"*github.com*\"}}}\n";
    assert!(one(file).is_empty());
}

// ---------------------------------------------------------------------------------------
// star-crosses-directories

#[test]
fn a_star_after_a_slash_crosses_directories() {
    let text = "name: files\nrules:\n  - {effect: allow, actions: [\"read:file\"], conditions: {resource: {matches: \"/workspace/*\"}}}\n  - {effect: deny, actions: [\"read:file\"], conditions: {resource: {matches: [\"/etc/*\", \"/var/**\", \"**/*.pem\"]}}}\n  - {effect: allow, actions: [\"write:doc\"], conditions: {resource: {matches: [\"./*.md\", \"https://x.com/*\", \"*.md\"]}}}\n";
    let ds = one(text);
    let stars = with_code(&ds, "star-crosses-directories");
    assert_eq!(stars.len(), 3, "{ds:#?}");
    let allow = stars[0];
    assert_eq!(
        (allow.severity.as_str(), allow.line, allow.column),
        ("warning", 3, 79)
    );
    assert_eq!(
        allow.message,
        "`*` in `/workspace/*` also matches `/`, so the pattern matches `/workspace/a/b` too: `*` crosses directories in this language"
    );
    assert_eq!(
        allow.help.as_deref(),
        Some(
            "if any depth is meant, write `/workspace/**` to say so; for one level only, add a deny for `/workspace/*/*`"
        )
    );
    let deny = stars[1];
    assert_eq!(deny.severity, "note");
    assert_eq!(
        deny.help.as_deref(),
        Some("this deny covers every depth already, the safe side; write `/etc/**` to say so")
    );
    // A path-looking pattern is judged whatever the action.
    assert!(
        stars[2]
            .message
            .starts_with("`*` in `./*.md` also matches `/`")
    );
}

#[test]
fn an_impossible_pattern_has_only_its_own_finding() {
    let ds = one(
        "name: f\nrules:\n  - {effect: allow, actions: [\"read:file\"], conditions: {resource: {matches: \"/a/../b/*\"}}}\n",
    );
    assert_eq!(places(&ds), ["non-canonical-pattern 3:79"]);
}

#[test]
fn findings_are_ordered_by_file_then_position_warnings_first() {
    let a = "name: a\nrules:\n  - {effect: deny, actions: [\"read:file\"], conditions: {resource: {matches: \"/etc/*\"}}}\n";
    let b = "name: b\nrules:\n  - {effect: allow, actions: [\"read:file\"], conditions: {resource: {matches: \"/srv/*\"}}}\n";
    let ds = run(&[("z.yaml", a), ("a.yaml", b)]);
    let files: Vec<(&str, &str)> = ds
        .iter()
        .map(|d| (d.file.as_str(), d.severity.as_str()))
        .collect();
    assert_eq!(
        files,
        [("z.yaml", "note"), ("a.yaml", "warning")],
        "load order, not name order"
    );
}
