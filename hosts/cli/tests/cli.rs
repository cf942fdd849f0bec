//! The `meshguard` binary, driven as users and other hosts' test runners drive it: as a
//! subprocess, with files on disk and requests on stdin.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot set itself up should fail loudly, at the failing line"
)]

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{BIN, TempDir, meshguard, p, repo_policies, text};
use serde_json::Value;

/// Runs `meshguard check args...` with `stdin` as input.
fn check(args: &[&str], stdin: &[u8]) -> Output {
    common::run(&[&["check"], args].concat(), stdin)
}

/// The JSON decisions `check` wrote, one per line.
fn decisions(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const TYPO: &str = "\
name: typo
rules:
  - effect: allow
    actions: [\"write:email\"]
    condtions:
      resource:
        matches: \"*@yourcompany.com\"
";

#[test]
fn validates_the_repository_policies() {
    let out = meshguard(&["validate", p(&repo_policies())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ok: 11 policies in 11 files\n");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

/// A directory loads exactly the files the gateway would load from it (one shared
/// predicate): upper-case extensions count, hidden files (editors' lock files) do not.
#[test]
fn a_directory_loads_the_files_the_gateway_loads() {
    let dir = TempDir::new("dir-scan");
    dir.write(
        "A.YAML",
        "name: upper\nrules: [{effect: allow, actions: [x]}]\n",
    );
    dir.write(
        "b.yml",
        "name: short\nrules: [{effect: allow, actions: [x]}]\n",
    );
    dir.write(".#b.yaml", "this: is not a policy: [\n");
    dir.write(".hidden.json", "{");
    dir.write("notes.txt", "not a policy");
    let out = meshguard(&["validate", p(dir.path())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ok: 2 policies in 2 files\n");
}

#[test]
fn typo_is_reported_with_position_caret_and_suggestion() {
    let dir = TempDir::new("typo");
    let file = dir.write("typo.yaml", TYPO);
    let out = meshguard(&["validate", p(&file)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(
        err.contains("error[unknown-key]: unknown key `condtions` in rule"),
        "{err}"
    );
    assert!(err.contains(&format!("--> {}:5:5\n", p(&file))), "{err}");
    assert!(err.contains("\n 5 |     condtions:\n"), "{err}");
    assert!(err.contains("\n   |     ^^^^^^^^^\n"), "{err}");
    assert!(err.contains("= help: did you mean `conditions`?"), "{err}");
    // NO_COLOR (and a pipe) mean no escape sequences.
    assert!(!err.contains('\u{1b}'), "{err}");
}

#[test]
fn json_report_shape() {
    let dir = TempDir::new("json");
    let file = dir.write("typo.yaml", TYPO);
    let out = meshguard(&["validate", "--json", p(&file)]);
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 4, "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(report["policies"], 0);
    assert_eq!(report["files"], 1);
    let diags = report["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1);
    let d = &diags[0];
    assert_eq!(d["code"], "unknown-key");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], p(&file));
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(
        (d["endLine"].as_u64(), d["endColumn"].as_u64()),
        (Some(5), Some(14))
    );
    assert_eq!(d["help"], "did you mean `conditions`?");
    // Nothing for people on stderr in JSON mode.
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));

    let ok = meshguard(&["validate", "--json", p(&repo_policies())]);
    assert_eq!(ok.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(
        report,
        serde_json::json!({"ok": true, "policies": 11, "files": 11, "diagnostics": []})
    );
    // Field order as documented.
    assert!(text(&ok.stdout).starts_with("{\"ok\":true,\"policies\":11,\"files\":11,"));
}

#[test]
fn missing_path_is_named_and_exits_2() {
    let dir = TempDir::new("missing");
    let missing = dir.path().join("nope.yaml");
    let out = meshguard(&["validate", p(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("`{}`", p(&missing))), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(meshguard(&["validate"]).status.code(), Some(2));
    assert_eq!(meshguard(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(meshguard(&["check"]).status.code(), Some(2));
    let dir = TempDir::new("usage");
    let out = meshguard(&["check", "--policies", p(dir.path()), "--fallback", "maybe"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn version_is_the_cores() {
    let out = meshguard(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    // The core's version is the workspace version, as is this crate's.
    assert_eq!(
        text(&out.stdout).trim(),
        format!("meshguard {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn directory_loads_policy_files_in_name_order_only() {
    let dir = TempDir::new("order");
    // Written out of order; `b` and `a` both allow `x`, so the earliest (by file name)
    // decides the tie, and the explanation lists policies in load order.
    dir.write(
        "b.yml",
        "name: bee\nrules:\n  - {effect: allow, actions: [x]}\n",
    );
    dir.write(
        "a.json",
        r#"{"name": "ay", "rules": [{"effect": "allow", "actions": ["x"]}]}"#,
    );
    dir.write(
        "c.YAML",
        "name: sea\nrules:\n  - {effect: allow, actions: [y]}\n",
    );
    dir.write("notes.txt", "not a policy: [");
    dir.write("README.md", "# not a policy either");
    fs::create_dir(dir.path().join("sub.yaml")).unwrap();
    fs::write(dir.path().join("sub.yaml/d.yaml"), "broken: [").unwrap();

    let out = meshguard(&["validate", p(dir.path())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ok: 3 policies in 3 files\n");

    let out = check(
        &["--policies", p(dir.path()), "--explain"],
        b"{\"action\":\"x\"}\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let d = &decisions(&out)[0];
    assert_eq!(d["policy"], "ay");
    let order: Vec<&str> = d["explanation"]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["policy"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["ay", "bee", "sea"]);

    // A file named explicitly is read whatever its extension (here YAML by default).
    let txt = dir.write(
        "extra.txt",
        "name: extra\nrules:\n  - {effect: deny, actions: [z]}\n",
    );
    let out = meshguard(&["validate", p(&txt)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ok: 1 policy in 1 file\n");
}

#[test]
fn empty_directory_is_an_error() {
    let dir = TempDir::new("empty");
    dir.write("notes.txt", "nothing here");
    let out = meshguard(&["validate", p(dir.path())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(p(dir.path())));
    let out = check(&["--policies", p(dir.path())], b"{\"action\":\"x\"}\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn duplicate_policy_names_across_files() {
    let dir = TempDir::new("dup");
    let first = dir.write(
        "one.yaml",
        "name: same\nrules:\n  - {effect: allow, actions: [a]}\n",
    );
    let second = dir.write(
        "two.yaml",
        "# the same name again\nname: same\nrules:\n  - {effect: deny, actions: [a]}\n",
    );
    let out = meshguard(&["validate", "--json", p(&first), p(&second)]);
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &report["diagnostics"][0];
    assert_eq!(report["diagnostics"].as_array().unwrap().len(), 1);
    assert_eq!(d["code"], "duplicate-name");
    assert_eq!(d["file"], p(&second));
    assert_eq!(d["line"], 2);
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{}:1:", p(&first))),
        "{d}"
    );

    let out = meshguard(&["validate", p(&first), p(&second)]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("error[duplicate-name]"), "{err}");
    assert!(err.contains(&format!("--> {}:2:", p(&second))), "{err}");
}

#[test]
fn diagnostics_of_several_files_come_in_file_order() {
    let dir = TempDir::new("many");
    dir.write(
        "a.yaml",
        "name: a\nrules:\n  - {effect: maybe, actions: [x]}\n",
    );
    dir.write("b.yaml", TYPO);
    dir.write("c.yaml", b"name: c\nrules: [\xFF]\n");
    let out = meshguard(&["validate", "--json", p(dir.path())]);
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap())
        .collect();
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            Path::new(f)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["a.yaml", "b.yaml", "c.yaml"]);
    assert_eq!(report["files"], 3);
}

#[test]
fn non_utf8_policy_file_is_one_line_naming_it() {
    let dir = TempDir::new("utf8");
    let file = dir.write("latin1.yaml", b"name: caf\xE9\nrules: []\n");
    let out = meshguard(&["validate", p(&file)]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let first = err.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "{}:1:10: error[syntax]: not valid UTF-8",
            p(&file)
        )),
        "{err}"
    );
    // The problem line, a blank separator and the summary; no snippet.
    assert_eq!(err.lines().count(), 3, "{err}");
}

#[test]
fn check_answers_every_line_in_order() {
    let input = concat!(
        r#"{"action":"write:email","resource":"Bob@YourCompany.COM","agent":{"id":"a1","tags":["clawdbot"]}}"#,
        "\n",
        r#"{"action":"write:email","resource":"eve@elsewhere.com","agent":{"id":"a1","tags":["clawdbot"]}}"#,
        "\n",
        "\n",
        "   \r\n",
        "this is not json\n",
        r#"{"action":"","agent":{"tags":["clawdbot"]}}"#,
        "\n",
        r#"{"action":"read:email","agent":{"id":"a1","tags":["clawdbot"]},"mode":"audit"}"#,
        "\n",
        r#"{"action":"launch:rocket"}"#,
        "\r\n",
        r#"{"action":"write:email","resource":"x@yourcompany.com","agent":{"tags":["clawdbot"]}}"#,
    );
    let out = check(
        &[
            "--policies",
            p(&repo_policies().join("clawdbot-email.yaml")),
        ],
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ds = decisions(&out);
    assert_eq!(ds.len(), 7, "{}", text(&out.stdout));

    assert_eq!(ds[0]["effect"], "allow");
    assert_eq!(ds[0]["allowed"], true);
    assert_eq!(ds[0]["resource"], "Bob@yourcompany.com");
    assert_eq!(ds[0]["policy"], "clawdbot-email-policy");
    assert_eq!(ds[0]["rule"], "clawdbot-email-policy#2");
    assert!(ds[0].get("explanation").is_none());

    assert_eq!(ds[1]["effect"], "deny");
    assert_eq!(ds[1]["rule"], "clawdbot-email-policy#3");
    assert_eq!(ds[1]["reason"], "External email requires approval");

    // Malformed JSON: denied, never a crash, and the next lines still answered.
    assert_eq!(ds[2]["effect"], "deny");
    assert_eq!(ds[2]["allowed"], false);
    assert_eq!(ds[2]["policy"], "default");
    assert_eq!(ds[2]["rule"], "invalid-request");
    assert!(
        ds[2]["reason"]
            .as_str()
            .unwrap()
            .starts_with("invalid request: malformed request:")
    );

    assert_eq!(ds[3]["rule"], "invalid-request");
    assert!(ds[3]["reason"].as_str().unwrap().contains("`action`"));

    assert_eq!(ds[4]["effect"], "allow");
    assert_eq!(ds[4]["mode"], "audit");

    // No policy applies: the default fallback denies.
    assert_eq!(ds[5]["effect"], "deny");
    assert_eq!(ds[5]["policy"], "default");
    assert_eq!(ds[5]["rule"], "default");

    // The last line had no line break.
    assert_eq!(ds[6]["effect"], "allow");
}

#[test]
fn check_explains_and_honours_the_fallback() {
    let input = concat!(
        r#"{"action":"delete:email","agent":{"tags":["clawdbot"]}}"#,
        "\n",
        r#"{"action":"launch:rocket"}"#,
        "\n",
    );
    let policies = repo_policies().join("clawdbot-email.yaml");
    let out = check(
        &[
            "--policies",
            p(&policies),
            "--explain",
            "--fallback",
            "allow",
        ],
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ds = decisions(&out);
    assert_eq!(ds.len(), 2);

    let d = &ds[0];
    assert_eq!(d["effect"], "deny");
    assert_eq!(d["reason"], "Email deletion is prohibited");
    let rules = d["explanation"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 4);
    assert_eq!(rules[3]["rule"], "clawdbot-email-policy#4");
    assert_eq!(rules[3]["status"], "decided");
    assert_eq!(rules[3]["matched"], true);
    assert_eq!(rules[0]["status"], "no-match");
    assert_eq!(rules[0]["matched"], false);
    assert_eq!(d["explanation"]["policies"][0]["applies"], true);

    assert_eq!(ds[1]["effect"], "allow");
    assert_eq!(ds[1]["policy"], "default");
    assert_eq!(ds[1]["explanation"]["policies"][0]["applies"], false);
}

#[test]
fn check_applies_rate_limits_per_process() {
    let dir = TempDir::new("rate");
    let file = dir.write(
        "limited.yaml",
        "name: limited\nrules:\n  - {effect: allow, actions: [ping]}\nrateLimits:\n  requestsPerMinute: 2\n",
    );
    let line = |agent: &str, time: &str| {
        format!(r#"{{"action":"ping","agent":{{"id":"{agent}"}},"time":"{time}"}}"#) + "\n"
    };
    let input = [
        line("a", "2026-01-26T10:00:00Z"),
        line("a", "2026-01-26T10:00:10Z"),
        line("a", "2026-01-26T10:00:20Z"),
        line("b", "2026-01-26T10:00:20Z"),
        line("a", "2026-01-26T10:01:05Z"),
        // Without a time nothing is counted.
        r#"{"action":"ping","agent":{"id":"a"}}"#.to_owned() + "\n",
    ]
    .concat();
    let out = check(&["--policies", p(&file)], input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let effects: Vec<String> = decisions(&out)
        .iter()
        .map(|d| {
            format!(
                "{}/{}",
                d["effect"].as_str().unwrap(),
                d["reason"].as_str().unwrap()
            )
        })
        .collect();
    let allow = "allow/allowed by rule `limited#1` of policy `limited`";
    assert_eq!(
        effects,
        [
            allow,
            allow,
            "deny/rate limit exceeded",
            allow,
            allow,
            allow
        ]
    );
}

#[test]
fn check_rejects_oversized_and_non_utf8_lines_and_keeps_going() {
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"action\":\"read:email\",\"resource\":\"caf\xE9\"}\n");
    input.extend_from_slice(b"{\"action\":\"");
    input.extend(std::iter::repeat_n(b'a', 1024 * 1024 + 1));
    input.extend_from_slice(b"\"}\n");
    input.extend_from_slice(b"{\"action\":\"read:email\",\"agent\":{\"tags\":[\"clawdbot\"]}}\n");
    let policies = repo_policies().join("clawdbot-email.yaml");
    let out = check(&["--policies", p(&policies)], &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ds = decisions(&out);
    assert_eq!(ds.len(), 3);
    assert_eq!(ds[0]["rule"], "invalid-request");
    assert_eq!(
        ds[0]["reason"],
        "invalid request: malformed request: line is not valid UTF-8"
    );
    assert_eq!(ds[1]["rule"], "invalid-request");
    assert_eq!(ds[1]["allowed"], false);
    assert_eq!(
        ds[1]["reason"],
        "invalid request: malformed request: line longer than 1048576 bytes"
    );
    assert_eq!(ds[2]["effect"], "allow");
}

#[test]
fn check_answers_each_line_before_the_next_arrives() {
    // Drive it the way another host's test runner does: one request, one answer.
    let policies = repo_policies().join("clawdbot-email.yaml");
    let mut child = Command::new(BIN)
        .args(["check", "--policies", p(&policies)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for (request, effect) in [
        (
            r#"{"action":"read:email","agent":{"tags":["clawdbot"]}}"#,
            "allow",
        ),
        (
            r#"{"action":"delete:email","agent":{"tags":["clawdbot"]}}"#,
            "deny",
        ),
    ] {
        writeln!(stdin, "{request}").unwrap();
        stdin.flush().unwrap();
        let mut answer = String::new();
        stdout.read_line(&mut answer).unwrap();
        let d: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(d["effect"], effect);
    }
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn check_refuses_bad_policies() {
    let dir = TempDir::new("checkbad");
    dir.write("typo.yaml", TYPO);
    let out = check(
        &["--policies", p(dir.path())],
        b"{\"action\":\"write:email\"}\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("error[unknown-key]"), "{err}");
    assert!(err.contains("typo.yaml:5:5"), "{err}");

    let out = check(
        &["--policies", p(&dir.path().join("absent"))],
        b"{\"action\":\"x\"}\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("absent"));
}

#[test]
fn several_policies_flags_load_in_order() {
    let dir = TempDir::new("multi");
    let z = dir.write(
        "z.yaml",
        "name: zed\nrules:\n  - {effect: allow, actions: [x]}\n",
    );
    let a = dir.write(
        "a.yaml",
        "name: ay\nrules:\n  - {effect: allow, actions: [x]}\n",
    );
    let out = check(
        &["--policies", p(&z), "--policies", p(&a)],
        b"{\"action\":\"x\"}\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Tie between two allows: the earliest loaded (as given, not by name) decides.
    assert_eq!(decisions(&out)[0]["policy"], "zed");
}
