//! Shared fixtures and strategies: the seed policies (loaded once, in file-name order, plus
//! two hand-written JSON seeds) and the generators several properties draw from: nasty
//! strings, actions, resources, JSON contexts and agents.

use std::sync::OnceLock;

use meshguard_core::{Agent, PolicySet, Source};
use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::canon::{email_like, path_like, url_like};

// ---------------------------------------------------------------------------------------
// Seed policies
// ---------------------------------------------------------------------------------------

/// The seed policies in `policies/`, in file-name order: (file name, text).
pub(crate) fn seed_files() -> &'static [(String, String)] {
    static FILES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies");
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .expect("policies dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            })
            .collect();
        paths.sort();
        assert!(paths.len() >= 11, "expected the eleven seed policies");
        paths
            .into_iter()
            .map(|p| {
                let name = p.file_name().expect("name").to_string_lossy().into_owned();
                let text = std::fs::read_to_string(&p).expect("policy text");
                (name, text)
            })
            .collect()
    })
}

/// JSON policies to mutate (the seeds are all YAML): two seeds written as JSON by hand.
pub(crate) const JSON_SEEDS: &[&str] = &[
    r#"{"name": "email-json", "version": "1.0",
  "appliesTo": {"tags": ["clawdbot", "email-enabled"]},
  "rules": [
    {"effect": "allow", "actions": ["read:email"]},
    {"effect": "allow", "actions": ["write:email"],
     "conditions": {"resource": {"matches": "*@yourcompany.com"}}},
    {"effect": "deny", "actions": ["write:email"], "reason": "External email requires approval"}
  ],
  "defaultEffect": "deny"}"#,
    r#"{"name": "prod-json", "appliesTo": {"tags": ["autogpt"], "trustTiers": ["trusted"]},
  "ruleOrder": "first-match",
  "rules": [
    {"name": "web", "effect": "allow", "actions": ["browse:web"],
     "conditions": {"rateLimit": {"requestsPerMinute": 10}}},
    {"id": "py", "effect": "allow", "actions": ["execute:python"], "conditions": {"sandbox": true}},
    {"effect": "allow", "actions": ["send:message"],
     "conditions": {"context": {"channel": {"in": ["slack"]}, "ticket.sensitivity": {"lte": 2}},
                    "time": {"between": "09:00-18:00", "days": ["mon", "fri"], "utcOffset": "+02:00"},
                    "agent": {"trustTier": {"atLeast": "trusted"}, "tags": ["autogpt"]}}},
    {"effect": "deny", "actions": ["delete:*", "pay:*"]}
  ],
  "rateLimits": {"requestsPerMinute": 30, "requestsPerHour": 300},
  "humanInTheLoop": {"requireApproval": ["send:email"]},
  "audit": {"enabled": true, "log_level": "info", "include": ["action"], "retention_days": 30}}"#,
];

/// All seed policies compiled into one set, in load order.
pub(crate) fn seed_set() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| {
        let files = seed_files();
        PolicySet::compile(files.iter().map(|(n, t)| Source::new(n, t)))
            .unwrap_or_else(|e| panic!("seed policies must compile: {e}"))
    })
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

/// Short strings with a good share of control characters, unicode and separators.
pub(crate) fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[a-z:/.*?@ \\-]{0,16}",
        1 => prop::collection::vec(
            prop::sample::select(
                &['\0', '\u{7f}', '\n', '\t', '\u{1b}', '\u{85}', '\u{200b}', 'é', 'İ', '\u{feff}',
                  'a', ':', '/', '*', '.', '"', '\\', '\u{10ffff}', '\u{fffd}'][..],
            ),
            0..12,
        )
        .prop_map(|v| v.into_iter().collect()),
    ]
}

pub(crate) const SEED_TAGS: &[&str] = &[
    "clawdbot",
    "email-enabled",
    "messaging",
    "claude-code",
    "dev-agent",
    "dev-assistant",
    "autogpt",
    "production",
];

pub(crate) const SEED_ACTIONS: &[&str] = &[
    "write:email",
    "read:email",
    "delete:email",
    "send:email",
    "read:calendar",
    "write:calendar",
    "delete:calendar",
    "read:message",
    "send:message",
    "read:file",
    "write:file",
    "delete:file",
    "browse:web",
    "fetch:url",
    "search:web",
    "execute:shell",
    "execute:python",
    "execute:javascript",
    "read:web_search",
    "read:web_fetch",
    "read:web_browse",
    "post:social",
    "pay:invoice",
    "admin:users",
    "read:workspace/a.txt",
    "write:system/boot",
    "*",
    "read:*",
    "read",
    ":",
];

pub(crate) const SEED_RESOURCES: &[&str] = &[
    "bob@yourcompany.com",
    "Bob@YourCompany.COM",
    "eve@evil.com",
    "/workspace/a.txt",
    "/workspace/../etc/passwd",
    "./src/main.rs",
    "./.env",
    "~/.ssh/id_rsa",
    "git status",
    "git status && rm -rf /",
    "https://docs.rs/x",
    "HTTPS://Evil.ONION/x",
    "http://twitter.com/home",
];

pub(crate) fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(SEED_ACTIONS).prop_map(str::to_owned),
        2 => "[a-z]{1,6}:[a-z_/]{0,8}",
        2 => nasty_string(),
        1 => Just(String::new()),
    ]
}

pub(crate) fn resource() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(SEED_RESOURCES).prop_map(str::to_owned),
        2 => path_like(),
        2 => url_like(),
        1 => email_like(),
        2 => nasty_string(),
    ]
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(
            &["channel", "event_type", "sandbox", "ticket", "sensitivity", "a.b", ""][..]
        )
        .prop_map(str::to_owned),
        1 => nasty_string(),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(
            &[
                "slack", "sms", "telegram", "meeting", "all-day", "reminder", ""
            ][..]
        )
        .prop_map(|s| Value::String(s.to_owned())),
        nasty_string().prop_map(Value::String),
    ]
}

/// Arbitrary JSON, at most four levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Mostly objects (valid contexts), sometimes anything else (an invalid request).
pub(crate) fn context() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::vec((json_key(), json_value()), 0..5)
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        1 => json_value(),
    ]
}

fn tier() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(
            &["untrusted", "verified", "trusted", "privileged", "anonymous", "unverified",
              "basic", "sandboxed", "Trusted", "root", ""][..]
        )
        .prop_map(str::to_owned),
        1 => nasty_string(),
    ]
}

fn tags() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(SEED_TAGS).prop_map(str::to_owned),
            1 => nasty_string(),
        ],
        0..4,
    )
}

pub(crate) fn agent() -> impl Strategy<Value = Agent> {
    (
        prop::option::of(prop_oneof![Just("agent-1".to_owned()), nasty_string()]),
        prop::option::of(nasty_string()),
        prop::option::of(tier()),
        tags(),
        prop::option::of(prop_oneof![Just("org-1".to_owned()), nasty_string()]),
    )
        .prop_map(|(id, name, trust_tier, tags, org_id)| Agent {
            id,
            name,
            trust_tier,
            tags,
            org_id,
        })
}
