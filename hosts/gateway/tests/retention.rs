//! The audit log's housekeeping: retention (RETENTION_DAYS, and a policy's own
//! `audit.retention_days` for the entries it decided) runs at start and hourly; a
//! `:memory:` database is a temporary file that is gone after exit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Gateway, Options};

const POLICIES: &str = r#"
name: keep-policy
appliesTo:
  tags: [keep]
rules:
  - effect: allow
    actions: ["read:*"]
audit:
  enabled: true
  retention_days: 30
"#;

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn retention_deletes_old_entries_but_honours_a_policys_own_days() {
    if common::skip_in_debug("retention_deletes_old_entries_but_honours_a_policys_own_days") {
        return;
    }
    let keep = common::temp_dir("retention");
    let db = keep.join("audit.db");
    let options = || Options {
        policies: Some(vec![("keep.yaml", POLICIES.to_owned())]),
        env: vec![("RETENTION_DAYS", "7".to_owned())],
        db: Some(db.clone()),
    };
    // A first run creates the database; then old entries are added behind its back.
    let mut first = Gateway::start(options());
    assert!(first.stop().success());
    drop(first);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let insert = |ts: i64, policy: &str| {
        conn.execute(
            "INSERT INTO audit (ts, trace_id, action, decision, allowed, policy, mode, status, \
             latency_us, endpoint) VALUES (?1, 't', 'read:x', 'allow', 1, ?2, 'enforce', 200, 1, 'check')",
            rusqlite::params![ts, policy],
        )
        .unwrap();
    };
    let now = now_ms();
    insert(now - 100 * DAY_MS, "keep-policy"); // older than its 30 days: deleted
    insert(now - 10 * DAY_MS, "keep-policy"); // older than 7, younger than 30: kept
    insert(now - 10 * DAY_MS, "other-policy"); // older than 7: deleted
    insert(now - 10 * DAY_MS, "default"); // deleted
    insert(now - DAY_MS, "other-policy"); // kept
    drop(conn);

    let gw = Gateway::start(options());
    gw.wait_until("retention at start", Duration::from_secs(30), || {
        gw.audit("limit=100").len() == 2
    });
    let left = gw.audit("limit=100");
    let policies: Vec<&str> = left.iter().map(|e| e["policy"].as_str().unwrap()).collect();
    assert_eq!(policies, vec!["other-policy", "keep-policy"]);
    let metrics = gw.get("/metrics", &[]).body;
    assert!(
        metrics.contains("meshguard_audit_entries_expired_total 3"),
        "{metrics}"
    );
    drop(gw);
    let _ = std::fs::remove_dir_all(&keep);
}

#[test]
fn a_memory_database_works_and_leaves_nothing_behind() {
    if common::skip_in_debug("a_memory_database_works_and_leaves_nothing_behind") {
        return;
    }
    let mut gw = Gateway::start(Options {
        policies: Some(vec![("keep.yaml", POLICIES.to_owned())]),
        env: vec![("DB_PATH", ":memory:".to_owned())],
        db: None,
    });
    let pid = gw.pid();
    let (_, token) = gw.agent("m", "verified", &["keep"]);
    assert_eq!(gw.check(&token, "read:x", None).status, 200);
    assert_eq!(gw.audit("").len(), 1);
    let prefix = format!("meshguard-{pid}-");
    let temp_files = || {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .count()
    };
    assert_eq!(
        temp_files(),
        1,
        "the database lives in one temporary directory"
    );
    assert!(gw.stop().success());
    assert_eq!(temp_files(), 0, "and it is removed at exit");
}
