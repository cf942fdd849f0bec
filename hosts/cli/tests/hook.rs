//! `meshguard hook claude-code` and `meshguard hook install`, driven as Claude Code
//! drives them: JSON on stdin, the answer on stdout, the exit status.

#![allow(
    clippy::unwrap_used,
    reason = "test setup failing should fail the test loudly"
)]

mod common;

use std::process::Output;

use common::{TempDir, json, meshguard, p, repo_policies, run, text};
use serde_json::{Value, json};

fn hook(extra: &[&str], input: &[u8]) -> Output {
    let policies = repo_policies();
    let mut args = vec!["hook", "claude-code", "--policies", p(&policies)];
    args.extend_from_slice(extra);
    run(&args, input)
}

fn call(tool: &str, input: Value, cwd: &str) -> Vec<u8> {
    json!({
        "session_id": "s-1",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": cwd,
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
    })
    .to_string()
    .into_bytes()
}

/// The permission decision and reason of a successful answer.
fn answer(out: &Output) -> (String, String) {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let a = json(&out.stdout);
    let h = &a["hookSpecificOutput"];
    assert_eq!(h["hookEventName"], "PreToolUse");
    (
        h["permissionDecision"].as_str().unwrap().to_owned(),
        h["permissionDecisionReason"].as_str().unwrap().to_owned(),
    )
}

/// A block: a deny answer, the reason on stderr, exit 2.
fn blocked(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let a = json(&out.stdout);
    assert_eq!(a["hookSpecificOutput"]["permissionDecision"], "deny");
    let reason = a["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.starts_with("MeshGuard blocked this tool call because the hook failed: "),
        "{reason}"
    );
    assert_eq!(text(&out.stderr).trim_end(), reason);
    reason
}

#[test]
fn maps_claude_code_tools_and_answers() {
    let cwd = "/home/dev/app";
    let cases = [
        (
            "Read",
            json!({"file_path": "/home/dev/app/src/main.rs"}),
            "allow",
        ),
        ("Read", json!({"file_path": "/home/dev/app/.env"}), "deny"),
        ("Read", json!({"file_path": "/etc/passwd"}), "deny"),
        ("Grep", json!({"pattern": "todo"}), "allow"),
        (
            "Glob",
            json!({"pattern": "*.rs", "path": "/home/dev/app/src"}),
            "allow",
        ),
        (
            "Write",
            json!({"file_path": "/home/dev/app/src/new.rs", "content": "x"}),
            "allow",
        ),
        (
            "Edit",
            json!({"file_path": "/home/dev/app/Cargo.toml", "old_string": "a", "new_string": "b"}),
            "deny",
        ),
        (
            "MultiEdit",
            json!({"file_path": "/home/dev/app/docs/a.md", "edits": []}),
            "allow",
        ),
        (
            "NotebookEdit",
            json!({"notebook_path": "/home/dev/app/n.ipynb", "new_source": ""}),
            "deny",
        ),
        ("Bash", json!({"command": "git status"}), "allow"),
        ("Bash", json!({"command": "git status && rm -rf /"}), "deny"),
        (
            "WebFetch",
            json!({"url": "https://docs.rs/serde", "prompt": "summarise"}),
            "allow",
        ),
        (
            "WebFetch",
            json!({"url": "https://www.reddit.com/r/rust", "prompt": "x"}),
            "deny",
        ),
        ("WebSearch", json!({"query": "rust lifetimes"}), "allow"),
        ("exec", json!({"command": "cargo test"}), "allow"),
        ("web_search", json!({"query": "x"}), "allow"),
        ("mcp__github__create_issue", json!({"title": "x"}), "deny"),
        ("TodoWrite", json!({"todos": []}), "deny"),
    ];
    for (tool, input, want) in cases {
        let out = hook(&[], &call(tool, input.clone(), cwd));
        let (decision, reason) = answer(&out);
        assert_eq!(decision, want, "{tool} {input}: {reason}");
        assert!(reason.starts_with("MeshGuard: "), "{reason}");
        assert!(reason.contains("(policy `"), "{reason}");
    }
}

#[test]
fn require_approval_becomes_ask_and_audit_mode_answers_nothing() {
    let dir = TempDir::new("hook-ask");
    let policy = dir.write(
        "p.yaml",
        "name: p\nappliesTo: {tags: [claude-code]}\nrules:\n  - effect: require_approval\n    actions: [\"execute:shell\"]\n    conditions: {resource: {startsWith: \"git push\"}}\n    reason: Pushing needs a person\n",
    );
    let input = call("Bash", json!({"command": "git push origin main"}), "/w");
    let out = run(&["hook", "claude-code", "--policies", p(&policy)], &input);
    let (decision, reason) = answer(&out);
    assert_eq!(decision, "ask");
    assert!(reason.contains("Pushing needs a person"), "{reason}");

    let log = dir.path().join("audit.jsonl");
    let out = run(
        &[
            "hook",
            "claude-code",
            "--policies",
            p(&policy),
            "--mode",
            "audit",
            "--audit-log",
            p(&log),
        ],
        &input,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let line: Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
    assert_eq!(line["effect"], "require_approval");
    assert_eq!(line["permissionDecision"], "none");
    assert_eq!(line["mode"], "audit");
}

#[test]
fn workspace_paths_are_relative_and_absolute_denies_still_apply() {
    let dir = TempDir::new("hook-paths");
    let log = dir.path().join("audit.jsonl");
    let log_arg = p(&log).to_owned();
    let read = |path: &str, cwd: &str| {
        let out = hook(
            &["--audit-log", &log_arg],
            &call("Read", json!({ "file_path": path }), cwd),
        );
        answer(&out).0
    };
    assert_eq!(read("/srv/app/src/../README.md", "/srv/app"), "allow");
    assert_eq!(read("/srv/app/../other/x", "/srv/app"), "deny");
    // Claude Code running in /etc: `./passwd` is in the workspace, but the absolute
    // spelling is what `/etc/**` denies, and a deny rule may only make things stricter.
    assert_eq!(read("/etc/passwd", "/etc"), "deny");
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["resource"], "./README.md");
    assert_eq!(lines[0]["tool"], "Read");
    assert_eq!(lines[0]["action"], "read:file");
    assert_eq!(lines[0]["sessionId"], "s-1");
    assert_eq!(lines[1]["resource"], "/srv/other/x");
    assert_eq!(lines[2]["resource"], "/etc/passwd");
    assert_eq!(lines[2]["reason"], "System file access is prohibited");
}

#[test]
fn bad_input_blocks_with_exit_2() {
    let huge = vec![b' '; 1024 * 1024 + 10];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not valid", b"{\"tool_name\": ".to_vec()),
        ("is empty", Vec::new()),
        ("larger than 1 MiB", huge),
        ("missing field `tool_input`", br#"{"tool_name":"Bash","cwd":"/w"}"#.to_vec()),
        ("missing field `cwd`", br#"{"tool_name":"Bash","tool_input":{}}"#.to_vec()),
        ("`tool_input.command` is missing", call("Bash", json!({}), "/w")),
        ("`cwd` is not an absolute path", call("Bash", json!({"command": "ls"}), "work")),
        ("is a string in `tool_input`", call("Read", json!({"file_path": 7}), "/w")),
        ("not valid", b"\xff\xfe".to_vec()),
        ("`PostToolUse`", br#"{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"cwd":"/w"}"#.to_vec()),
    ];
    for (words, input) in cases {
        let reason = blocked(&hook(&[], &input));
        assert!(reason.contains(words), "{words}: {reason}");
    }
    let out = run(
        &["hook", "claude-code", "--policies", "/nonexistent/policies"],
        &call("Bash", json!({"command": "ls"}), "/w"),
    );
    assert!(blocked(&out).contains("cannot load the policies"));
    let dir = TempDir::new("hook-badpol");
    dir.write(
        "typo.yaml",
        "name: x\nrules:\n  - {effect: allow, actoins: [a]}\n",
    );
    let out = run(
        &["hook", "claude-code", "--policies", p(dir.path())],
        &call("Bash", json!({"command": "ls"}), "/w"),
    );
    assert!(blocked(&out).contains("problem(s) in the policies; first: "));
    // An audit log that cannot be written blocks too: no silent gaps in the trail.
    let out = hook(
        &["--audit-log", "/nonexistent/dir/a.jsonl"],
        &call("Bash", json!({"command": "ls "}), "/w"),
    );
    assert!(blocked(&out).contains("cannot write audit log"));
}

#[test]
fn a_multi_line_command_is_denied_not_an_error() {
    let out = hook(
        &[],
        &call("Bash", json!({"command": "git status\nshred x"}), "/w"),
    );
    let (decision, reason) = answer(&out);
    assert_eq!(decision, "deny");
    assert!(reason.contains("control character"), "{reason}");
}

#[test]
fn install_writes_and_merges_settings() {
    let dir = TempDir::new("hook-install");
    let settings = dir.write(
        ".claude/settings.json",
        r#"{"permissions":{"allow":["Read"]},"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"other-check"}]}]}}"#,
    );
    let policies = repo_policies();
    let args = [
        "hook",
        "install",
        "--policies",
        p(&policies),
        "--settings",
        p(&settings),
    ];
    let out = meshguard(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("installed: PreToolUse hook in "));
    let again = meshguard(&[&["--json"][..], &args[..]].concat());
    assert_eq!(json(&again.stdout)["replaced"], true);
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(s["permissions"]["allow"][0], "Read");
    let list = s["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{s:#}");
    assert_eq!(list[0]["hooks"][0]["command"], "other-check");
    assert_eq!(list[1]["matcher"], "*");
    let command = list[1]["hooks"][0]["command"].as_str().unwrap();
    assert!(
        command.contains(" hook claude-code --policies /"),
        "{command}"
    );
    // The installed command works as Claude Code will run it.
    let exe = command.split(' ').next().unwrap();
    let out = std::process::Command::new(exe)
        .args(command.split(' ').skip(1))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "empty stdin must block");

    let broken = dir.write("broken.json", "{not json");
    let out = meshguard(&[
        "hook",
        "install",
        "--policies",
        p(&policies),
        "--settings",
        p(&broken),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), "{not json");
    let out = meshguard(&[
        "hook",
        "install",
        "--policies",
        "/nonexistent",
        "--settings",
        p(&settings),
    ]);
    assert_eq!(out.status.code(), Some(2));
}
