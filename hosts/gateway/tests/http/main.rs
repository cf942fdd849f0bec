//! The real gateway binary over HTTP: every outcome of a check (allow, deny, 400, 401,
//! 413, 429, require_approval) is answered as API.md says and audited; agents, policies,
//! approvals, audit export and metrics through the admin API.
//!
//! One module per endpoint family; the small policy set and helpers they share are here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod admin_agents;
mod admin_auth;
mod admin_policies;
mod approvals;
mod audit;
mod bundle;
mod check;
mod connections;
mod console;
mod governance;
mod limits;
mod metrics;

use std::collections::HashMap;

use common::{Gateway, Options};
use serde_json::Value;

/// A small set for tests that need approvals and a tight rate limit.
const TEST_POLICY: &str = r#"
name: test-policy
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
  - name: no-delete
    effect: deny
    actions: ["delete:*"]
    reason: Deletion is prohibited
  - name: ping
    effect: allow
    actions: ["ping:*"]
    conditions:
      rateLimit: {requestsPerMinute: 3}
defaultEffect: deny
"#;

fn test_gateway(env: Vec<(&'static str, String)>) -> Gateway {
    Gateway::start(Options {
        db: None,
        policies: Some(vec![("test.yaml", TEST_POLICY.to_owned())]),
        env,
    })
}

fn statuses(entries: &[Value]) -> HashMap<u64, usize> {
    let mut m = HashMap::new();
    for e in entries {
        *m.entry(e["status"].as_u64().unwrap()).or_default() += 1;
    }
    m
}
