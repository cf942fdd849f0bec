//! `meshguard hook claude-code` and `meshguard hook install`, driven as Claude Code
//! drives them: JSON on stdin, the answer on stdout, the exit status.

#![allow(
    clippy::unwrap_used,
    reason = "test setup failing should fail the test loudly"
)]

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, TempDir, json, meshguard, p, repo, repo_policies, run, text};
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

/// The permission decision and reason of a successful answer; `none` (and no reason)
/// when the hook answered nothing, as it does for an allow unless told to answer it.
fn answer(out: &Output) -> (String, String) {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    if out.stdout.is_empty() {
        return ("none".to_owned(), String::new());
    }
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
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
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
        let input = call(tool, input.clone(), cwd);
        // By default an allow answers nothing: Claude Code's own permissions decide.
        let (decision, reason) = answer(&hook(&[], &input));
        let by_default = if want == "allow" { "none" } else { want };
        assert_eq!(decision, by_default, "{tool}: {reason}");
        // `--allow-explicitly` answers it, with the reason.
        let (decision, reason) = answer(&hook(&["--allow-explicitly"], &input));
        assert_eq!(decision, want, "{tool}: {reason}");
        assert!(reason.starts_with("MeshGuard: "), "{reason}");
        assert!(reason.contains("(policy `"), "{reason}");
    }
}

#[test]
fn an_allow_defers_to_claude_codes_permissions_unless_told() {
    let dir = TempDir::new("hook-allow");
    let log = dir.path().join("audit.jsonl");
    let input = call("Bash", json!({"command": "git status"}), "/w");
    let out = hook(&["--audit-log", p(&log)], &input);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let out = hook(&["--audit-log", p(&log), "--allow-explicitly"], &input);
    assert_eq!(answer(&out).0, "allow");
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["effect"], "allow");
    assert_eq!(lines[0]["permissionDecision"], "none");
    assert_eq!(lines[1]["permissionDecision"], "allow");
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

    // `MESHGUARD_MODE` (the SDKs' variable) sets the mode too; the flag wins over it.
    let hook = ["hook", "claude-code", "--policies", p(&policy)];
    let audit = [("MESHGUARD_MODE", "audit")];
    let out = common::run_env(&hook, &input, &audit);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let flagged = [&hook[..], &["--mode", "enforce"]].concat();
    let (decision, _) = answer(&common::run_env(&flagged, &input, &audit));
    assert_eq!(decision, "ask");
}

/// `hook claude-code` with the shipped file policy only, an audit log, and `cwd`.
struct FilePolicy {
    dir: TempDir,
}

impl FilePolicy {
    fn new(label: &str) -> FilePolicy {
        FilePolicy {
            dir: TempDir::new(label),
        }
    }

    /// The decision (`none` for an allow), its reason and the resource the policies saw.
    fn decide(&self, tool: &str, input: Value, cwd: &str) -> (String, String, String) {
        let log = self.dir.path().join("audit.jsonl");
        let _ = std::fs::remove_file(&log);
        let policy = repo("policies/claude-code-file.yaml");
        let out = run(
            &[
                "hook",
                "claude-code",
                "--policies",
                p(&policy),
                "--audit-log",
                p(&log),
            ],
            &call(tool, input, cwd),
        );
        let (decision, reason) = answer(&out);
        let line: Value =
            serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
        (
            decision,
            reason,
            line["resource"].as_str().unwrap().to_owned(),
        )
    }
}

#[test]
fn searches_are_decided_on_what_they_read() {
    let f = FilePolicy::new("hook-search");
    let app = "/home/dev/app";
    let credential = "Access to credential files is prohibited";
    let denied = [
        // The issue's examples, and their neighbours.
        (
            "Grep",
            json!({"pattern": "BEGIN", "glob": "*.pem"}),
            "./**/*.pem",
        ),
        ("Glob", json!({"pattern": "**/*.pem"}), "./**/*.pem"),
        (
            "Grep",
            json!({"pattern": "x", "path": "~/.ssh"}),
            "~/.ssh/**",
        ),
        ("LS", json!({"path": "/home/dev/.ssh"}), "/home/dev/.ssh/**"),
        (
            "Grep",
            json!({"pattern": "x", "glob": "*.{rs,key}"}),
            "./**/*.key",
        ),
        (
            "Grep",
            json!({"pattern": "x", "glob": "*.rs *.pem"}),
            "./**/*.pem",
        ),
        ("Grep", json!({"pattern": "x", "glob": ".env"}), "./**/.env"),
        (
            "Glob",
            json!({"pattern": "config/.env.*"}),
            "./config/.env.*",
        ),
        ("Glob", json!({"pattern": "~/.aws/*"}), "~/.aws/*"),
    ];
    for (tool, input, resource) in denied {
        let (decision, reason, seen) = f.decide(tool, input.clone(), app);
        assert_eq!(decision, "deny", "{tool} {input}: {reason}");
        assert!(reason.contains(credential), "{tool} {input}: {reason}");
        assert_eq!(seen, resource, "{tool} {input}");
    }
    let (decision, reason, seen) = f.decide("Grep", json!({"pattern": "x", "path": "/etc"}), app);
    assert_eq!((decision.as_str(), seen.as_str()), ("deny", "/etc/**"));
    assert!(reason.contains("System file access"), "{reason}");
    // Ordinary searches go on to Claude Code's own permissions.
    let allowed = [
        ("Grep", json!({"pattern": "todo"}), "./**"),
        (
            "Grep",
            json!({"pattern": "fn", "glob": "*.rs"}),
            "./**/*.rs",
        ),
        (
            "Grep",
            json!({"pattern": "fn", "path": "/home/dev/app/src", "type": "rust"}),
            "./src/**",
        ),
        ("Glob", json!({"pattern": "src/**/*.rs"}), "./src/**/*.rs"),
        ("LS", json!({"path": "/home/dev/app/src"}), "./src/**"),
    ];
    for (tool, input, resource) in allowed {
        let (decision, reason, seen) = f.decide(tool, input.clone(), app);
        assert_eq!(decision, "none", "{tool} {input}: {reason}");
        assert_eq!(seen, resource, "{tool} {input}");
    }
}

#[test]
fn a_grep_of_a_file_reads_that_file() {
    let f = FilePolicy::new("hook-grep-file");
    let work = TempDir::new("hook-grep-work");
    let cwd = p(work.path()).to_owned();
    let notes = work.write("notes.txt", "todo");
    let key = work.write("keys/server.pem", "-----BEGIN");
    let grep = |path: &str, glob: Option<&str>| {
        let mut input = json!({"pattern": "x", "path": path});
        if let Some(g) = glob {
            input["glob"] = Value::from(g);
        }
        let (decision, _, seen) = f.decide("Grep", input, &cwd);
        (decision, seen)
    };
    assert_eq!(grep(p(&notes), None), ("none".into(), "./notes.txt".into()));
    // The glob does not hide the file ripgrep is given.
    assert_eq!(
        grep(p(&key), Some("*.txt")),
        ("deny".into(), "./keys/server.pem".into())
    );
    let keys = work.path().join("keys");
    assert_eq!(grep(p(&keys), None), ("none".into(), "./keys/**".into()));
    assert_eq!(
        grep(p(&keys), Some("*.pem")),
        ("deny".into(), "./keys/**/*.pem".into())
    );
    // A path that is not there yet is decided as a file and as a directory.
    let later = work.path().join("later.pem");
    assert_eq!(grep(p(&later), None).0, "deny");
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
    assert_eq!(read("/srv/app/src/../README.md", "/srv/app"), "none");
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
        ("`Stop`", br#"{"hook_event_name":"Stop","tool_name":"Bash","tool_input":{"command":"ls"},"cwd":"/w"}"#.to_vec()),
    ];
    for (words, input) in cases {
        let reason = blocked(&hook(&[], &input));
        assert!(reason.contains(words), "{words}: {reason}");
    }
    // PostToolUse is a record, never a block: the tool has run. Without a gateway it
    // only goes to the audit log.
    let dir = TempDir::new("hook-post");
    let log = dir.path().join("post.jsonl");
    let ran = br#"{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"cwd":"/w","tool_response":{"stdout":"a","stderr":"","interrupted":false}}"#;
    let out = hook(&["--audit-log", p(&log)], ran);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        text(&out.stderr)
    );
    let record = json(std::fs::read_to_string(&log).unwrap().trim().as_bytes());
    assert_eq!(record["effect"], "recorded");
    assert_eq!(record["action"], "execute:shell");
    assert_eq!(record["reason"], "success");
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
fn a_multi_line_command_is_decided_line_by_line() {
    // Newlines separate commands: the second one has no allow, and the reason names it.
    let out = hook(
        &[],
        &call("Bash", json!({"command": "git status\nshred x"}), "/w"),
    );
    let (decision, reason) = answer(&out);
    assert_eq!(decision, "deny");
    assert!(reason.contains("(in `shred x`)"), "{reason}");
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
    assert!(s["hooks"].get("PostToolUse").is_none(), "{s:#}");

    // Through a gateway: the command names it, and finished calls are recorded too; a
    // later install without it takes the PostToolUse entry away again.
    let out = meshguard(&[&args[..], &["--gateway", "http://127.0.0.1:3100/"][..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("updated: PreToolUse and PostToolUse hook in "),
        "{}",
        text(&out.stdout)
    );
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    let pre = s["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(pre.len(), 2, "{s:#}");
    let command = pre[1]["hooks"][0]["command"].as_str().unwrap();
    assert!(
        command.ends_with(" --gateway http://127.0.0.1:3100"),
        "{command}"
    );
    assert_eq!(s["hooks"]["PostToolUse"][0]["hooks"][0]["command"], command);
    let out = meshguard(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert!(s["hooks"].get("PostToolUse").is_none(), "{s:#}");

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

/// Runs the hook (repository policies) through `sh -c script`, with `env` set: for
/// `ulimit`, which must apply to the hook's processes and not to the test's.
fn hook_in_shell(script: &str, env: &[(&str, &str)], extra: &[&str], input: &[u8]) -> Output {
    let policies = repo_policies();
    let mut child = Command::new("sh")
        .args(["-c", script, "sh", BIN, "hook", "claude-code"])
        .args(["--policies", p(&policies)])
        .args(extra)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

const FAULT: &str = "MESHGUARD_HOOK_TEST_FAULT";

/// The hook under an address-space limit of `kib` KiB.
fn limited(kib: u32, env: &[(&str, &str)], input: &[u8]) -> Output {
    let script = format!("ulimit -v {kib} && exec \"$@\"");
    hook_in_shell(&script, env, &[], input)
}

#[test]
fn a_panic_blocks_with_exit_2() {
    let dir = TempDir::new("hook-panic");
    let log = dir.path().join("audit.jsonl");
    let input = call("Bash", json!({"command": "ls"}), "/w");
    let out = hook_in_shell(
        "exec \"$@\"",
        &[(FAULT, "panic")],
        &["--audit-log", p(&log)],
        &input,
    );
    let reason = blocked(&out);
    assert!(reason.contains("the hook panicked at "), "{reason}");
    assert!(
        reason.contains("injected by MESHGUARD_HOOK_TEST_FAULT"),
        "{reason}"
    );
    let line: Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
    assert_eq!(line["rule"], "hook-error");
    assert_eq!(line["permissionDecision"], "deny");
    // An unknown fault is an error like any other: a block, not a way around the hook.
    let out = hook_in_shell("exec \"$@\"", &[(FAULT, "nothing")], &[], &input);
    assert!(blocked(&out).contains("unknown MESHGUARD_HOOK_TEST_FAULT value"));
}

#[test]
fn running_out_of_memory_blocks_with_exit_2() {
    let ordinary = call("Bash", json!({"command": "git status"}), "/w");
    // The smallest address space (in steps of 8 MiB) in which the hook answers an ordinary
    // call, and one step more: the input below still cannot be decided in it.
    let kib = (2..=16)
        .map(|step| step * 8 * 1024)
        .find(|&kib| limited(kib, &[], &ordinary).status.code() == Some(0))
        .expect("the hook answers nothing even with 128 MiB of address space")
        + 8 * 1024;
    // 1 MiB of JSON holding half a million numbers takes tens of MiB once parsed: the
    // worker's allocation fails and Rust aborts it; nothing is injected.
    let mut numbers = vec!["0"; 500_000].join(",");
    numbers.truncate(1000 * 1000);
    let numbers = numbers.trim_end_matches(',');
    let big = format!(
        r#"{{"cwd":"/w","hook_event_name":"PreToolUse","tool_name":"Task","tool_input":{{"a":[{numbers}]}}}}"#
    );
    assert!(big.len() < 1024 * 1024);
    let reason = blocked(&limited(kib, &[], big.as_bytes()));
    assert!(
        reason.contains("the hook's worker process ended abnormally: killed by signal 6 (SIGABRT"),
        "{reason}"
    );
    assert!(reason.contains(": memory allocation of "), "{reason}");
    // The same with an allocation loop, in a quarter of a GiB.
    let reason = blocked(&limited(256 * 1024, &[(FAULT, "oom")], &ordinary));
    assert!(reason.contains(": memory allocation of "), "{reason}");
}

#[test]
fn a_stack_overflow_blocks_with_exit_2() {
    let input = call("Bash", json!({"command": "ls"}), "/w");
    let out = hook_in_shell("exec \"$@\"", &[(FAULT, "stack-overflow")], &[], &input);
    let reason = blocked(&out);
    assert!(reason.contains("killed by signal 6"), "{reason}");
    assert!(reason.contains("has overflowed its stack"), "{reason}");
    // Deeply nested input never gets that far: serde_json stops at 128 levels.
    let deep = format!(
        r#"{{"cwd":"/w","tool_name":"Task","tool_input":{{"a":{}}}}}"#,
        "[".repeat(100_000)
    );
    let reason = blocked(&hook(&[], deep.as_bytes()));
    assert!(reason.contains("recursion limit exceeded"), "{reason}");
}

#[test]
fn input_that_never_ends_blocks_at_the_deadline() {
    let policies = repo_policies();
    let mut child = Command::new(BIN)
        .args(["hook", "claude-code", "--policies", p(&policies)])
        .args(["--timeout", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Half an event, and stdin stays open.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(br#"{"tool_name": "Bash", "#).unwrap();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let waited = started.elapsed();
    drop(stdin);
    let reason = blocked(&out);
    assert!(
        reason.contains("the hook did not decide within 1 s"),
        "{reason}"
    );
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    // An endless stream is cut at 1 MiB.
    let endless = vec![b' '; 3 * 1024 * 1024];
    assert!(blocked(&hook(&[], &endless)).contains("larger than 1 MiB"));
}
