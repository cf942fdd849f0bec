//! The gateway admin commands (`agent`, `policy`, `audit`, `approvals`) against the real
//! `meshguard-gateway` binary: each test starts its own gateway on 127.0.0.1 with a free
//! port, a temporary database and a copy of the example policies, drives the `meshguard`
//! binary, checks what the gateway really did, and always stops the gateway (a `Drop`
//! guard kills it, also when the test fails).
//!
//! The gateway is the release build (`target/release/meshguard-gateway`: wasmtime in a
//! debug build is very slow); when it is missing it is built first.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup failing should fail the test loudly"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{BIN, TempDir, json, p, repo_policies, text};
use serde_json::Value;

const ADMIN: &str = "cli-test-admin-token-0123456789";

/// The release gateway binary: beside this build's target directory, else under the
/// workspace root; built (once per test process) when missing.
fn gateway_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let name = format!("meshguard-gateway{}", std::env::consts::EXE_SUFFIX);
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let beside = Path::new(BIN)
                .parent()
                .and_then(Path::parent)
                .map(|target| target.join("release").join(&name));
            let candidates: Vec<PathBuf> = beside
                .into_iter()
                .chain(std::iter::once(root.join("target/release").join(&name)))
                .collect();
            if let Some(found) = candidates.iter().find(|c| c.is_file()) {
                return found.clone();
            }
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = Command::new(cargo)
                .args(["build", "--release", "-p", "meshguard-gateway"])
                .current_dir(&root)
                .status()
                .expect("running cargo build for the gateway");
            assert!(
                status.success(),
                "cargo build --release -p meshguard-gateway failed"
            );
            candidates
                .into_iter()
                .find(|c| c.is_file())
                .expect("the gateway binary after building it")
        })
        .clone()
}

/// A running gateway, killed when dropped.
struct Gateway {
    child: Child,
    url: String,
    dir: TempDir,
    log: std::sync::Arc<Mutex<String>>,
    http: ureq::Agent,
}

impl Gateway {
    /// A gateway with the admin token [`ADMIN`] and the example policies.
    fn start() -> Gateway {
        Gateway::start_with(Some(ADMIN))
    }

    /// A gateway with this admin token (`None`: it generates one into its data dir).
    fn start_with(admin: Option<&str>) -> Gateway {
        let dir = TempDir::new("admin-gw");
        for entry in std::fs::read_dir(repo_policies()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                dir.write(
                    &format!("policies/{}", path.file_name().unwrap().to_str().unwrap()),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
        let mut cmd = Command::new(gateway_binary());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("POLICIES_DIR", dir.path().join("policies"))
            .env("DB_PATH", dir.path().join("meshguard.db"))
            .env("DATA_DIR", dir.path())
            .env("RELOAD_INTERVAL_MS", "200")
            .env("LOG", "warn")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(token) = admin {
            cmd.env("ADMIN_TOKEN", token);
        }
        let mut child = cmd.spawn().expect("starting meshguard-gateway");
        let pipe = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<String>();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if let Some(addr) = line.trim().strip_prefix("meshguard-gateway listening on ")
                    {
                        let _ = tx.send(addr.to_owned());
                    }
                    log.lock().unwrap().push_str(&line);
                    log.lock().unwrap().push('\n');
                }
            });
        }
        let http: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut gw = Gateway {
            child,
            url: String::new(),
            dir,
            log,
            http,
        };
        match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(url) => gw.url = url,
            Err(_) => panic!("the gateway did not start; its log:\n{}", gw.log()),
        }
        let (status, body) = gw.get("/health", &[]);
        assert_eq!(status, 200, "{body}");
        gw
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut req = self.http.get(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.call().unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap_or_default())
    }

    /// `GET /proxy/check` as an agent: the status and the answer.
    fn check(
        &self,
        token: &str,
        action: &str,
        resource: Option<&str>,
        trace: Option<&str>,
    ) -> (u16, Value) {
        let bearer = format!("Bearer {token}");
        let mut headers = vec![
            ("Authorization", bearer.as_str()),
            ("X-MeshGuard-Action", action),
        ];
        if let Some(r) = resource {
            headers.push(("X-MeshGuard-Resource", r));
        }
        if let Some(t) = trace {
            headers.push(("X-MeshGuard-Trace-ID", t));
        }
        let (status, body) = self.get("/proxy/check", &headers);
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// The `meshguard` command pointed at this gateway with the admin token.
    fn cli(&self, args: &[&str]) -> Output {
        self.cli_env(args, &[("MESHGUARD_ADMIN_TOKEN", ADMIN)])
    }

    /// The `meshguard` command pointed at this gateway with these extra variables.
    fn cli_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("NO_COLOR", "1")
            .env("MESHGUARD_GATEWAY_URL", &self.url)
            .env_remove("MESHGUARD_ADMIN_TOKEN")
            .env_remove("DATA_DIR")
            .env_remove("DB_PATH")
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Creates an agent through the CLI (`--json`); returns (id, token).
    fn agent(&self, name: &str, args: &[&str]) -> (String, String) {
        let mut all = vec!["--json", "agent", "create", name];
        all.extend_from_slice(args);
        let out = self.cli(&all);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v = json(&out.stdout);
        (
            v["id"].as_str().unwrap().to_owned(),
            v["token"].as_str().unwrap().to_owned(),
        )
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// Output for an assertion message.
fn both(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    )
}

#[test]
fn agents_are_created_listed_updated_rotated_and_revoked() {
    let gw = Gateway::start();
    // Human output: the id and the token, once.
    let out = gw.cli(&[
        "agent",
        "create",
        "autogpt-agent",
        "--trust",
        "verified",
        "--tags",
        "autogpt,autonomous",
    ]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let shown = text(&out.stdout);
    assert!(shown.contains("created agent autogpt-agent"), "{shown}");
    let token = shown
        .lines()
        .find_map(|l| l.trim().strip_prefix("token").map(str::trim))
        .unwrap()
        .to_owned();
    assert!(token.starts_with("mg_"), "{shown}");
    assert!(shown.contains("autogpt, autonomous"), "{shown}");

    // The token works: an action the autogpt policy allows.
    let (status, answer) = gw.check(&token, "read:docs", None, None);
    assert_eq!(status, 200, "{answer}");

    // list and show.
    let out = gw.cli(&["agent", "list"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let list = text(&out.stdout);
    assert!(list.starts_with("ID "), "{list}");
    assert!(
        list.contains("autogpt-agent") && list.contains("active"),
        "{list}"
    );
    let out = gw.cli(&["--json", "agent", "show", "autogpt-agent"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let agent = json(&out.stdout);
    assert_eq!(agent["trustTier"], "verified");
    let id = agent["id"].as_str().unwrap().to_owned();

    // update: tier and tags.
    let out = gw.cli(&[
        "agent",
        "update",
        &id,
        "--trust",
        "trusted",
        "--tags",
        "autogpt,production",
    ]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let out = gw.cli(&["--json", "agent", "show", &id]);
    let agent = json(&out.stdout);
    assert_eq!(agent["trustTier"], "trusted");
    assert_eq!(agent["tags"], serde_json::json!(["autogpt", "production"]));
    let out = gw.cli(&["agent", "update", &id]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));

    // token: a new one works, the old one gets 401.
    let out = gw.cli(&["agent", "token", "autogpt-agent"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let new_token = text(&out.stdout).lines().last().unwrap().trim().to_owned();
    assert!(
        new_token.starts_with("mg_") && new_token != token,
        "{}",
        both(&out)
    );
    assert_eq!(gw.check(&token, "read:docs", None, None).0, 401);
    assert_eq!(gw.check(&new_token, "read:docs", None, None).0, 200);

    // revoke: the next request gets 401, and the list says so.
    let out = gw.cli(&["agent", "revoke", "autogpt-agent"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert!(text(&out.stdout).contains("revoked"), "{}", both(&out));
    assert_eq!(gw.check(&new_token, "read:docs", None, None).0, 401);
    let out = gw.cli(&["--json", "agent", "list"]);
    let agents = json(&out.stdout);
    assert_eq!(agents["agents"][0]["status"], "revoked");

    // A name taken by an active agent is a conflict; an unknown agent is not found.
    gw.agent("dup", &[]);
    let out = gw.cli(&["agent", "create", "dup"]);
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    assert!(text(&out.stderr).contains("conflict"), "{}", both(&out));
    let out = gw.cli(&["agent", "show", "nobody"]);
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    assert_eq!(
        text(&out.stderr).trim(),
        "error: not found: no agent `nobody`"
    );
    // --json still prints the gateway's answer on stdout.
    let out = gw.cli(&["--json", "agent", "show", "nobody"]);
    assert_eq!(json(&out.stdout)["error"], "not_found");
    // A bad tier never reaches the gateway (clap: usage, exit 2).
    let out = gw.cli(&["agent", "create", "x", "--trust", "godlike"]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
}

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

#[test]
fn audit_query_export_stats_and_trace() {
    let gw = Gateway::start();
    let (_, token) = gw.agent("clawdbot-prod", &["--tags", "clawdbot,email-enabled"]);
    assert_eq!(
        gw.check(
            &token,
            "write:email",
            Some("user@external.com"),
            Some("trace-one")
        )
        .0,
        403
    );
    assert_eq!(
        gw.check(
            &token,
            "write:email",
            Some("bob@yourcompany.com"),
            Some("trace-two")
        )
        .0,
        200
    );
    assert_eq!(
        gw.check(&token, "read:email", None, Some("trace-two")).0,
        200
    );
    assert_eq!(gw.check(&token, "delete:email", None, None).0, 403);

    let out = gw.cli(&[
        "audit",
        "query",
        "--agent",
        "clawdbot-prod",
        "--decision",
        "deny",
        "--limit",
        "20",
    ]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let shown = text(&out.stdout);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3, "{shown}");
    assert!(
        lines[0].starts_with("TIME") && lines[0].contains("DECISION"),
        "{shown}"
    );
    assert!(
        lines[1].contains("delete:email") && lines[2].contains("user@external.com"),
        "{shown}"
    );
    // Columns line up: every row's ACTION starts where the header's does.
    let at = lines[0].find("ACTION").unwrap();
    assert!(
        lines[1..]
            .iter()
            .all(|l| l[at..].starts_with("delete:email") || l[at..].starts_with("write:email")),
        "{shown}"
    );

    let out = gw.cli(&[
        "--json", "audit", "query", "--action", "write:*", "--limit", "1",
    ]);
    let page = json(&out.stdout);
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    assert_eq!(page["entries"][0]["resource"], "bob@yourcompany.com");

    // export: CSV header and one row per entry, oldest first.
    let out = gw.cli(&[
        "audit",
        "export",
        "--from",
        "2020-01-01",
        "--to",
        "2099-12-31",
        "--format",
        "csv",
    ]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let csv = text(&out.stdout);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(
        rows[0].starts_with("id,timestamp,traceId,agentId,agentName,action,resource,decision"),
        "{csv}"
    );
    assert!(
        rows[1].contains("user@external.com") && rows[1].contains(",deny,"),
        "{csv}"
    );
    let out = gw.cli(&["audit", "export", "--from", "2099-01-01", "--format", "csv"]);
    assert_eq!(text(&out.stdout).lines().count(), 1, "{}", both(&out));
    let out = gw.cli(&[
        "audit",
        "export",
        "--format",
        "json",
        "--agent",
        "clawdbot-prod",
        "--decision",
        "allow",
    ]);
    let export = json(&out.stdout);
    assert_eq!(export["entries"].as_array().unwrap().len(), 2, "{export}");

    // stats, with the hourly breakdown.
    let out = gw.cli(&[
        "--json",
        "audit",
        "stats",
        "--agent",
        "clawdbot-prod",
        "--period",
        "1",
    ]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let stats = json(&out.stdout);
    assert_eq!(stats["total"], 4);
    assert_eq!(stats["byDecision"]["deny"], 2);
    assert_eq!(stats["byDecision"]["allow"], 2);
    let out = gw.cli(&[
        "audit",
        "stats",
        "--agent",
        "clawdbot-prod",
        "--period",
        "2",
        "--breakdown",
        "hourly",
    ]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let shown = text(&out.stdout);
    assert!(shown.contains("4 decisions"), "{shown}");
    assert!(shown.contains("HOUR (UTC)"), "{shown}");
    let hourly = json(
        &gw.cli(&[
            "--json",
            "audit",
            "stats",
            "--period",
            "2",
            "--breakdown",
            "hourly",
        ])
        .stdout,
    );
    let buckets = hourly["hourly"].as_array().unwrap();
    assert!((2..=3).contains(&buckets.len()), "{hourly}");
    let sum: u64 = buckets.iter().map(|b| b["total"].as_u64().unwrap()).sum();
    assert_eq!(sum, 4, "{hourly}");

    // trace: every entry of one trace, oldest first.
    let out = gw.cli(&["audit", "trace", "trace-two"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let shown = text(&out.stdout);
    let write = shown
        .find("write:email on bob@yourcompany.com")
        .unwrap_or_else(|| panic!("{shown}"));
    let read = shown
        .find("read:email")
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(write < read, "{shown}");
    assert!(shown.contains("trace    trace-two"), "{shown}");
    let out = gw.cli(&["audit", "trace", "no-such-trace"]);
    assert_eq!(code(&out), Some(1), "{}", both(&out));

    // tail without -f: the last N, oldest first.
    let out = gw.cli(&["audit", "tail", "-n", "2"]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let shown = text(&out.stdout);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(
        lines[0].contains("read:email") && lines[1].contains("delete:email"),
        "{shown}"
    );

    // A bad filter is the gateway's 400: exit 2 with its message.
    let out = gw.cli(&["audit", "query", "--from", "someday"]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("`from` must be"),
        "{}",
        both(&out)
    );
}

#[test]
fn audit_tail_follows_new_entries() {
    let gw = Gateway::start();
    let (_, token) = gw.agent("follower", &["--tags", "clawdbot"]);
    assert_eq!(gw.check(&token, "read:email", None, None).0, 200);
    let mut child = Command::new(BIN)
        .args([
            "audit",
            "tail",
            "-f",
            "--interval",
            "0.2",
            "-n",
            "5",
            "--decision",
            "deny",
        ])
        .env("NO_COLOR", "1")
        .env("MESHGUARD_GATEWAY_URL", &gw.url)
        .env("MESHGUARD_ADMIN_TOKEN", ADMIN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let guard = Kill(child);
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // New entries: one allow (filtered out), then two denies, printed as they come.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(gw.check(&token, "read:email", None, None).0, 200);
    assert_eq!(
        gw.check(&token, "delete:email", Some("inbox/1"), None).0,
        403
    );
    assert_eq!(
        gw.check(&token, "delete:email", Some("inbox/2"), None).0,
        403
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while seen.len() < 2 && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
        }
    }
    drop(guard);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].contains("deny") && seen[0].contains("inbox/1"),
        "{seen:?}"
    );
    assert!(seen[1].contains("inbox/2"), "{seen:?}");
    assert!(seen.iter().all(|l| !l.contains("read:email")), "{seen:?}");
}

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

#[test]
fn connection_and_token_problems_are_one_line() {
    let gw = Gateway::start_with(None);
    // No ADMIN_TOKEN: the gateway wrote one to its data directory, and the CLI reads it
    // there for a gateway on this machine.
    let data_dir = p(gw.dir.path()).to_owned();
    let out = gw.cli_env(&["agent", "list"], &[("DATA_DIR", &data_dir)]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert!(text(&out.stdout).contains("no agents"), "{}", both(&out));

    // No token anywhere: usage (exit 2), one line.
    let out = gw.cli_env(
        &["agent", "list"],
        &[("DATA_DIR", "/nonexistent-meshguard-dir")],
    );
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    assert_eq!(text(&out.stderr).lines().count(), 1, "{}", both(&out));
    assert!(
        text(&out.stderr).contains("no admin token"),
        "{}",
        both(&out)
    );

    // A wrong token: 401, one line.
    let out = gw.cli_env(
        &["policy", "list"],
        &[("MESHGUARD_ADMIN_TOKEN", "wrong-token-0123456789")],
    );
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    assert_eq!(
        text(&out.stderr).lines().collect::<Vec<_>>(),
        [format!(
            "error: the gateway refused the admin token (401 from {}); check MESHGUARD_ADMIN_TOKEN or --admin-token",
            gw.url
        )]
    );
    // The flag beats the variable.
    let token = std::fs::read_to_string(gw.dir.path().join("admin-token")).unwrap();
    let out = gw.cli_env(
        &["audit", "query", "--admin-token", token.trim()],
        &[("MESHGUARD_ADMIN_TOKEN", "wrong-token-0123456789")],
    );
    assert_eq!(code(&out), Some(0), "{}", both(&out));

    // Nothing listening: one line naming the URL.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}");
    let out = gw.cli_env(
        &["agent", "--gateway-url", &url, "list"],
        &[("MESHGUARD_ADMIN_TOKEN", ADMIN)],
    );
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: cannot reach the gateway at {url}: connection refused"
        )),
        "{err}"
    );
    // https is refused before any connection (no TLS in this build).
    let out = gw.cli(&["agent", "list", "--gateway-url", "https://gateway.example"]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("https is not supported"),
        "{}",
        both(&out)
    );
    // Something that is not a gateway: an unknown route.
    let out = gw.cli_env(
        &[
            "agent",
            "list",
            "--gateway-url",
            &format!("{}/elsewhere", gw.url),
        ],
        &[("MESHGUARD_ADMIN_TOKEN", token.trim())],
    );
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    assert_eq!(text(&out.stderr).lines().count(), 1, "{}", both(&out));
}
