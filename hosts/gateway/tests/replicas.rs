//! Several gateway processes on one real PostgreSQL server act as one gateway: agents
//! and tokens, the audit log, policies, approvals and rate limits are shared; a replica
//! killed with SIGKILL under load loses no acknowledged audit entry while the others keep
//! serving; a database outage is answered with 503, never with an unaudited decision.
//!
//! Each test starts its own server (`common::postgres`: initdb on a temporary directory,
//! 127.0.0.1 and a free port, as the `postgres` user when run as root) and stops it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::postgres::Postgres;
use common::{Gateway, Options};
use serde_json::{Value, json};

const POLICY: &str = r#"
name: replica-policy
appliesTo:
  tags: [tester]
rules:
  - name: read-ok
    effect: allow
    actions: ["read:*"]
  - name: pay-approval
    effect: require_approval
    actions: ["pay:*"]
    reason: Payments need a person
  - name: ping
    effect: allow
    actions: ["ping:*"]
    conditions:
      rateLimit: {requestsPerMinute: 10}
defaultEffect: deny
"#;

/// A server, or `None` (skipped, said on stderr) in a debug build or without the binaries.
fn server(test: &str) -> Option<Postgres> {
    if common::skip_in_debug(test) {
        return None;
    }
    Postgres::start()
}

/// A replica on `url`, seeded (if the database is new) with [`POLICY`].
fn replica(url: &str, extra: Vec<(&'static str, String)>) -> Gateway {
    let mut env = vec![("DATABASE_URL", url.to_owned())];
    env.extend(extra);
    Gateway::start(Options {
        policies: Some(vec![("replica.yaml", POLICY.to_owned())]),
        env,
        db: None,
    })
}

/// Polls `f` every 20 ms for at most `limit`; returns how long it took to hold.
fn within(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if f() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An agent created, rotated or revoked through any replica counts on every replica
/// within a second; names stay unique across replicas.
#[test]
fn agents_and_tokens_are_shared() {
    let Some(pg) = server("agents_and_tokens_are_shared") else {
        return;
    };
    let url = pg.create_database();
    let (mut a, b) = (replica(&url, vec![]), replica(&url, vec![]));

    let (id, token) = a.agent("worker", "verified", &["tester"]);
    within(
        "a token created on A works on B",
        Duration::from_secs(1),
        || b.check(&token, "read:doc", None).status == 200,
    );
    let dup = b.admin(
        "POST",
        "/admin/agents",
        Some(json!({"name": "worker", "tags": ["tester"]})),
    );
    assert_eq!(dup.status, 409, "{}", dup.body);

    let rotated = b.admin("POST", &format!("/admin/agents/{id}/token"), None);
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_token = rotated.json()["token"].as_str().unwrap().to_owned();
    within(
        "the rotated token fails on A",
        Duration::from_secs(1),
        || a.check(&token, "read:doc", None).status == 401,
    );
    assert_eq!(a.check(&new_token, "read:doc", None).status, 200);

    assert_eq!(
        a.admin("DELETE", &format!("/admin/agents/{id}"), None)
            .status,
        200
    );
    let took = within(
        "the revoked token fails on B",
        Duration::from_secs(1),
        || b.check(&new_token, "read:doc", None).status == 401,
    );
    eprintln!("revocation reached the other replica in {took:?}");

    // Every connection to the database dropped (a server restart, a failover): the
    // replicas reconnect, and a revocation made meanwhile still reaches them.
    let (_, other) = a.agent("second", "verified", &["tester"]);
    within("the second agent on B", Duration::from_secs(1), || {
        b.check(&other, "read:doc", None).status == 200
    });
    pg.terminate_connections(&url);
    let revoked = a.admin("DELETE", "/admin/agents/second", None);
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    within(
        "B refuses the revoked token after reconnecting",
        Duration::from_secs(10),
        || b.check(&other, "read:doc", None).status == 401,
    );
    let (_, fresh) = a.agent("third", "verified", &["tester"]);
    within(
        "B hears of new agents again",
        Duration::from_secs(10),
        || b.check(&fresh, "read:doc", None).status == 200,
    );
    let names = |gw: &Gateway| -> Vec<Value> {
        gw.admin("GET", "/admin/agents", None).json()["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| json!([x["id"], x["status"]]))
            .collect()
    };
    assert_eq!(names(&a), names(&b));

    // A replica stops cleanly (its pooled connections close off the async runtime).
    let status = a.stop();
    assert!(status.success(), "{status:?}\n{}", a.log());
    assert!(!a.log().contains("panicked"), "{}", a.log());
}

/// One audit table; a policy applied on one replica is served by the others within five
/// seconds (and deleted likewise); an approval opened on one replica is approved on a
/// second and used, once, on a third.
#[test]
fn audit_policies_and_approvals_are_shared() {
    let Some(pg) = server("audit_policies_and_approvals_are_shared") else {
        return;
    };
    let url = pg.create_database();
    let (a, b, c) = (
        replica(&url, vec![]),
        replica(&url, vec![]),
        replica(&url, vec![]),
    );
    let (_, token) = a.agent("auditor", "verified", &["tester"]);
    within("the agent on C", Duration::from_secs(1), || {
        c.check(&token, "read:x", None).status == 200
    });

    // Audit: what A and B decided is read back, whole, from C.
    let traced = |gw: &Gateway, trace: &str| {
        let bearer = format!("Bearer {token}");
        gw.get(
            "/proxy/check",
            &[
                ("Authorization", bearer.as_str()),
                ("X-MeshGuard-Action", "read:report"),
                ("X-MeshGuard-Trace-ID", trace),
            ],
        )
        .status
    };
    assert_eq!(traced(&a, "trace-from-a"), 200);
    assert_eq!(traced(&b, "trace-from-b"), 200);
    for trace in ["trace-from-a", "trace-from-b"] {
        let rows = c.audit(&format!("traceId={trace}"));
        assert_eq!(rows.len(), 1, "{trace}: {rows:?}");
        assert_eq!(rows[0]["decision"], "allow");
    }

    // A NUL in a refused request (PostgreSQL text cannot hold U+0000) is still audited,
    // and does not hold up the entries batched with it.
    let bearer = format!("Bearer {token}");
    let nul = a.request(
        "POST",
        "/v1/check",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        Some(r#"{"action":"read:file","resource":"/a\u0000b"}"#),
    );
    assert_eq!(nul.status, 400, "{}", nul.body);
    let nul_trace = nul.json()["traceId"].as_str().unwrap().to_owned();
    let rows = b.audit(&format!("traceId={nul_trace}"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["resource"], "/a\u{FFFD}b");
    // Wildcard filters and statistics read the same on PostgreSQL.
    let reads = c.audit("action=read:*");
    assert!(reads.len() >= 3, "{reads:?}");
    assert!(
        reads
            .iter()
            .all(|r| r["action"].as_str().unwrap().starts_with("read:"))
    );
    let stats = b.admin("GET", "/admin/audit/stats?period=1", None).json();
    assert!(stats["byStatus"]["200"].as_u64().unwrap() >= 3, "{stats}");
    assert_eq!(stats["byStatus"]["400"], 1, "{stats}");

    // Policies: applied through B, live on A and C; deleted through C, gone from A.
    assert_eq!(a.check(&token, "deploy:prod", None).status, 403);
    let text = "name: deploys\nappliesTo:\n  tags: [tester]\nrules:\n  - name: ok\n    \
                effect: allow\n    actions: [\"deploy:*\"]\n";
    let put = b.admin(
        "PUT",
        "/admin/policies/deploys",
        Some(json!({"text": text})),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let took = within("the new policy on A and C", Duration::from_secs(5), || {
        a.check(&token, "deploy:prod", None).status == 200
            && c.check(&token, "deploy:prod", None).status == 200
    });
    eprintln!("a policy applied on B was live on A and C after {took:?}");
    let listed = |gw: &Gateway| gw.admin("GET", "/admin/policies", None).json()["policies"].clone();
    assert_eq!(listed(&a), listed(&b));
    assert_eq!(
        c.admin("DELETE", "/admin/policies/deploys", None).status,
        200
    );
    within("the deletion on A", Duration::from_secs(5), || {
        a.check(&token, "deploy:prod", None).status == 403
    });

    // Approvals: opened on A, approved on B, used once on C.
    let first = a.check(&token, "pay:invoice", Some("INV-7"));
    assert_eq!(first.status, 403, "{}", first.body);
    let approval = first.json()["approvalId"].as_str().unwrap().to_owned();
    let again = c.check(&token, "pay:invoice", Some("INV-7")).json();
    assert_eq!(
        again["approvalId"],
        approval.as_str(),
        "one pending approval, not two"
    );
    let ok = b.admin(
        "POST",
        &format!("/admin/approvals/{approval}/approve"),
        None,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    let twice = a.admin(
        "POST",
        &format!("/admin/approvals/{approval}/approve"),
        None,
    );
    assert_eq!(twice.status, 409, "{}", twice.body);
    let used = c.check(&token, "pay:invoice", Some("INV-7"));
    assert_eq!(used.status, 200, "{}", used.body);
    let next = a.check(&token, "pay:invoice", Some("INV-7")).json();
    assert_ne!(
        next["approvalId"],
        approval.as_str(),
        "an approval is used once"
    );
}

/// A set in the database that does not load (written around the admin API, which would
/// refuse it) leaves every replica on its last good set and reporting the problem; fixed,
/// it loads everywhere.
#[test]
fn a_bad_set_keeps_every_replica_on_its_last_good_set() {
    let Some(pg) = server("a_bad_set_keeps_every_replica_on_its_last_good_set") else {
        return;
    };
    let url = pg.create_database();
    let (a, b) = (replica(&url, vec![]), replica(&url, vec![]));
    let (_, token) = a.agent("steady", "verified", &["tester"]);
    within("the agent on B", Duration::from_secs(1), || {
        b.check(&token, "read:x", None).status == 200
    });
    let broken = "name: broken\nrules:\n  - effect: allow\n    actionz: [\"read:*\"]\n";
    pg.sql(
        &url,
        &format!(
            "INSERT INTO policy_files (name, source, updated_at) VALUES ('broken.yaml', \
             '{}', 0); UPDATE policy_generation SET generation = generation + 1; \
             SELECT pg_notify('meshguard', 'policies')",
            broken.replace('\'', "''")
        ),
    );
    for gw in [&a, &b] {
        within(
            "the refused reload reported",
            Duration::from_secs(5),
            || {
                let s = gw.admin("GET", "/admin/policies/status", None).json();
                s["ok"] == false && s["errors"][0]["file"] == "db:broken.yaml"
            },
        );
        assert_eq!(
            gw.check(&token, "read:x", None).status,
            200,
            "the last good set serves"
        );
        assert_eq!(gw.get("/health", &[]).status, 503);
    }
    pg.sql(
        &url,
        "DELETE FROM policy_files WHERE name = 'broken.yaml'; \
         UPDATE policy_generation SET generation = generation + 1",
    );
    // No notification this time: the poll of the generation finds it.
    for gw in [&a, &b] {
        within("the fixed set loaded", Duration::from_secs(5), || {
            gw.admin("GET", "/admin/policies/status", None).json()["ok"] == true
        });
    }
}

/// A limit of 10 a minute is 10 a minute however requests spread over replicas.
#[test]
fn rate_limits_are_one_limit_across_replicas() {
    let Some(pg) = server("rate_limits_are_one_limit_across_replicas") else {
        return;
    };
    let url = pg.create_database();
    let (a, b) = (replica(&url, vec![]), replica(&url, vec![]));
    let (_, token) = a.agent("pinger", "verified", &["tester"]);
    within("the agent on B", Duration::from_secs(1), || {
        b.check(&token, "read:x", None).status == 200
    });
    let allowed = Arc::new(Mutex::new(0));
    let limited = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for gw in [&a, &b, &a, &b] {
            let (token, allowed, limited) = (&token, allowed.clone(), limited.clone());
            s.spawn(move || {
                for _ in 0..10 {
                    let r = gw.check(token, "ping:host", None);
                    match r.status {
                        200 => *allowed.lock().unwrap() += 1,
                        429 => limited.lock().unwrap().push(r),
                        other => panic!("unexpected {other}: {}", r.body),
                    }
                }
            });
        }
    });
    let limited = limited.lock().unwrap();
    assert_eq!(
        *allowed.lock().unwrap(),
        10,
        "exactly the limit across replicas"
    );
    assert_eq!(limited.len(), 30);
    let retry: u64 = limited[0].header("Retry-After").unwrap().parse().unwrap();
    assert!((1..=61).contains(&retry), "Retry-After {retry}");
    assert_eq!(limited[0].json()["reason"], "rate limit exceeded");
}

/// Three replicas under load; one is killed with SIGKILL. Every decision any replica
/// answered is in the shared audit table, and the other two never stop answering.
#[test]
fn a_killed_replica_loses_no_acknowledged_entry() {
    let Some(pg) = server("a_killed_replica_loses_no_acknowledged_entry") else {
        return;
    };
    let url = pg.create_database();
    let gws: Vec<Arc<Mutex<Gateway>>> = (0..3)
        .map(|_| Arc::new(Mutex::new(replica(&url, vec![]))))
        .collect();
    let bases: Vec<String> = gws.iter().map(|g| g.lock().unwrap().base.clone()).collect();
    let (_, token) = gws[0]
        .lock()
        .unwrap()
        .agent("loader", "verified", &["tester"]);
    within("the agent everywhere", Duration::from_secs(1), || {
        gws.iter()
            .all(|g| g.lock().unwrap().check(&token, "read:x", None).status == 200)
    });

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let after_kill = Arc::new(Mutex::new([0usize; 3]));
    let killed = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..6)
        .map(|w| {
            let (base, token) = (bases[w % 3].clone(), token.clone());
            let (stop, answered, after_kill, killed) = (
                stop.clone(),
                answered.clone(),
                after_kill.clone(),
                killed.clone(),
            );
            std::thread::spawn(move || {
                let http = common::http_agent();
                let bearer = format!("Bearer {token}");
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let trace = format!("kill-{w}-{n}");
                    let r = http
                        .get(format!("{base}/proxy/check"))
                        .header("Authorization", &bearer)
                        .header("X-MeshGuard-Action", "read:load")
                        .header("X-MeshGuard-Trace-ID", &trace)
                        .call();
                    if let Ok(resp) = r
                        && resp.status() == 200
                    {
                        answered.lock().unwrap().push(trace);
                        if killed.load(Ordering::SeqCst) {
                            after_kill.lock().unwrap()[w % 3] += 1;
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    gws[1].lock().unwrap().kill();
    killed.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    let served = *after_kill.lock().unwrap();
    assert!(
        served[0] > 0 && served[2] > 0,
        "the survivors kept serving: {served:?}"
    );
    let answered: HashSet<String> = answered.lock().unwrap().iter().cloned().collect();
    let stored: HashSet<String> = pg
        .sql(
            &url,
            "SELECT trace_id FROM audit WHERE trace_id LIKE 'kill-%'",
        )
        .lines()
        .map(str::to_owned)
        .collect();
    let lost: Vec<&String> = answered.difference(&stored).collect();
    assert!(answered.len() > 100, "too little load: {}", answered.len());
    assert!(
        lost.is_empty(),
        "{} of {} answered decisions lost: {:?}",
        lost.len(),
        answered.len(),
        &lost[..lost.len().min(5)]
    );
    eprintln!(
        "{} answered decisions, all in the audit table",
        answered.len()
    );
}

/// While PostgreSQL is down, checks are refused with 503 (never allowed unaudited);
/// once it is back, the replica serves again without a restart.
#[test]
fn a_database_outage_fails_closed() {
    let Some(mut pg) = server("a_database_outage_fails_closed") else {
        return;
    };
    let url = pg.create_database();
    let gw = replica(&url, vec![]);
    let (_, token) = gw.agent("outage", "verified", &["tester"]);
    assert_eq!(gw.check(&token, "read:x", None).status, 200);
    pg.stop();
    let mut statuses = Vec::new();
    within("a 503 during the outage", Duration::from_secs(30), || {
        let r = gw.check(&token, "read:x", None);
        statuses.push(r.status);
        r.status == 503
    });
    assert!(
        statuses.iter().all(|s| *s == 503 || *s == 200)
            && statuses.iter().filter(|s| **s == 200).count() <= 1,
        "during the outage: {statuses:?}"
    );
    // (At most the first request may have been written before the server stopped.)
    pg.restart();
    within(
        "serving again after the outage",
        Duration::from_secs(30),
        || gw.check(&token, "read:x", None).status == 200,
    );
    let h = gw.get("/health", &[]);
    assert_eq!(h.status, 200, "{}", h.body);
}

/// A database written by a newer gateway is refused at start, with the reason.
#[test]
fn a_newer_schema_is_refused() {
    let Some(pg) = server("a_newer_schema_is_refused") else {
        return;
    };
    let url = pg.create_database();
    drop(replica(&url, vec![]));
    pg.sql(&url, "UPDATE meshguard_schema SET version = 99");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meshguard-gateway"))
        .env_clear()
        .env("DATABASE_URL", &url)
        .env("PORT", "0")
        .env("ADMIN_TOKEN", common::ADMIN)
        .env("POLICIES_DIR", common::example_policies())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("schema version 99"), "{stderr}");
    assert!(stderr.contains("newer gateway"), "{stderr}");
}

/// An empty database is seeded only from a directory that loads: a bad one stops the
/// start with its diagnostics, and the database stays unseeded.
#[test]
fn a_bad_directory_does_not_seed_the_database() {
    let Some(pg) = server("a_bad_directory_does_not_seed_the_database") else {
        return;
    };
    let url = pg.create_database();
    let dir = common::temp_dir("seed");
    std::fs::write(
        dir.join("bad.yaml"),
        "name: bad\nrules:\n  - effct: allow\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meshguard-gateway"))
        .env_clear()
        .env("DATABASE_URL", &url)
        .env("PORT", "0")
        .env("ADMIN_TOKEN", common::ADMIN)
        .env("POLICIES_DIR", &dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = dir.join("bad.yaml").display().to_string();
    assert!(
        stderr.contains(&format!("{file}:3:5: error[unknown-key]")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "3 problem(s) in the policy directory `{}`, which would seed the empty database; \
             not starting",
            dir.display()
        )),
        "{stderr}"
    );
    assert_eq!(
        pg.sql(&url, "SELECT generation FROM policy_generation"),
        "0"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
