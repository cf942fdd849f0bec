//! `meshguard hook claude-code --gateway URL`: the gateway decides (its audit log, its
//! revocations), `PostToolUse` is recorded there, and an unreachable gateway means the
//! local policies or a block as configured, never an allow by accident.

use serde_json::{Value, json};

use crate::common::{json, p, repo_policies, run_env, text};
use crate::support::{Gateway, both, code};

fn event(name: &str, tool: &str, input: Value, response: Option<Value>) -> Vec<u8> {
    let mut e = json!({
        "session_id": "s-gw",
        "cwd": "/home/dev/app",
        "hook_event_name": name,
        "tool_name": tool,
        "tool_input": input,
    });
    if let Some(r) = response {
        e["tool_response"] = r;
    }
    e.to_string().into_bytes()
}

fn bash(command: &str) -> Vec<u8> {
    event("PreToolUse", "Bash", json!({"command": command}), None)
}

/// The permission decision of an answer (`none` when nothing was answered).
fn decision(out: &std::process::Output) -> String {
    assert_eq!(code(out), Some(0), "{}", both(out));
    if out.stdout.is_empty() {
        return "none".to_owned();
    }
    json(&out.stdout)["hookSpecificOutput"]["permissionDecision"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn audit(gw: &Gateway, filter: &[&str]) -> Vec<Value> {
    let mut args = vec!["--json", "audit", "query", "--limit", "100"];
    args.extend_from_slice(filter);
    let out = gw.cli(&args);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    json(&out.stdout)["entries"].as_array().unwrap().clone()
}

#[test]
fn the_gateway_decides_records_and_its_absence_never_allows() {
    let gw = Gateway::start();
    let (id, token) = gw.agent("claude", &["--tags", "claude-code", "--trust", "verified"]);
    let policies = repo_policies();
    let local = ["--policies", p(&policies)];
    let hook = |extra: &[&str], input: &[u8], env: &[(&str, &str)]| {
        let mut args = vec!["hook", "claude-code", "--gateway", gw.url.as_str()];
        args.extend_from_slice(extra);
        run_env(&args, input, env)
    };
    let key = ("MESHGUARD_API_KEY", token.as_str());

    // Decided by the gateway, and in its audit log under the agent.
    let denied = hook(&[], &bash("git status && rm -rf /"), &[key]);
    assert_eq!(decision(&denied), "deny", "{}", both(&denied));
    let reason = json(&denied.stdout)["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("(in `rm -rf /`)") && reason.contains("policy `claude-code"),
        "{reason}"
    );
    let allowed = hook(
        &[],
        &bash("git status"),
        &[("MESHGUARD_AGENT_TOKEN", &token)],
    );
    assert_eq!(decision(&allowed), "none", "{}", both(&allowed));
    let entries = audit(&gw, &["--agent", &id]);
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries.iter().all(|e| e["endpoint"] == "v1"), "{entries:?}");
    assert!(
        entries
            .iter()
            .any(|e| e["decision"] == "deny" && e["resource"] == "git status && rm -rf /")
    );

    // PostToolUse: recorded with the outcome, nothing answered.
    let ran = event(
        "PostToolUse",
        "Bash",
        json!({"command": "git status"}),
        Some(json!({"stdout": "nothing to commit", "stderr": "", "interrupted": false})),
    );
    let out = hook(&[], &ran, &[key]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        both(&out)
    );
    let records: Vec<Value> = audit(&gw, &["--agent", &id])
        .into_iter()
        .filter(|e| e["endpoint"] == "record")
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["action"], "execute:shell");
    assert_eq!(records[0]["outcome"], "success");
    assert!(
        records[0]["result"]
            .as_str()
            .unwrap()
            .contains("nothing to commit")
    );

    // A token the gateway refuses blocks, even with local policies to fall back on.
    let revoked = gw.cli(&["agent", "revoke", &id]);
    assert_eq!(code(&revoked), Some(0), "{}", both(&revoked));
    let out = hook(&local, &bash("git status"), &[key]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    assert!(text(&out.stderr).contains("401"), "{}", both(&out));
    // No token at all: a block that says where the token goes.
    let out = hook(&local, &bash("git status"), &[("MESHGUARD_API_KEY", "")]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("MESHGUARD_API_KEY"),
        "{}",
        both(&out)
    );

    // Unreachable: the local policies decide (said on stderr), or the call is blocked.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let away = |extra: &[&str], input: &[u8]| {
        let mut args = vec!["hook", "claude-code", "--gateway", closed.as_str()];
        args.extend_from_slice(extra);
        run_env(&args, input, &[key])
    };
    let out = away(&local, &bash("rm -rf /"));
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert_eq!(
        json(&out.stdout)["hookSpecificOutput"]["permissionDecision"],
        "deny"
    );
    assert!(
        text(&out.stderr).contains("deciding with the local policies"),
        "{}",
        both(&out)
    );
    let out = away(&local, &bash("git status"));
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert!(out.stdout.is_empty(), "{}", both(&out));
    for extra in [
        &[][..],
        &["--policies", p(&policies), "--on-unreachable", "block"][..],
    ] {
        let out = away(extra, &bash("git status"));
        assert_eq!(code(&out), Some(2), "{extra:?}: {}", both(&out));
        assert!(
            text(&out.stderr).contains("cannot reach the gateway"),
            "{}",
            both(&out)
        );
    }
    let out = away(&["--on-unreachable", "local"], &bash("git status"));
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("needs --policies"),
        "{}",
        both(&out)
    );
}
