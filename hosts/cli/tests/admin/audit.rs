//! `meshguard audit`: `query`, `export` (CSV and JSON), `stats` with the hourly
//! breakdown, `trace`, and `tail` with and without `-f`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{BIN, json, text};
use crate::support::{ADMIN, Gateway, both, code};

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
