//! Property tests for the core: canonical resources are idempotent, the glob matcher agrees
//! with a regex oracle built from SPEC §2, parsing and evaluation never panic whatever the
//! input, decisions fail closed, and the rate limiter never lets more than its limit through
//! any window.
//!
//! Every property is bounded (256 cases, small inputs, a shrink time limit) so the whole
//! file runs in a few seconds in a debug build. Failures are not persisted to disk: a
//! failing case is printed with its minimal input; copy it into a unit test.

// Tests: a broken fixture (unreadable policy files) should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::OnceLock;

use meshguard_core::glob::Glob;
use meshguard_core::{
    Agent, Decision, Effect, Mode, PolicySet, RateLimiter, Request, Source, canonicalize,
    parse_policies, rate_key,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use regex::Regex;
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------
// Configuration and fixtures
// ---------------------------------------------------------------------------------------

/// 256 cases, no regression files written next to the sources, and shrinking capped so a
/// failure reports within seconds instead of minutes.
fn config() -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        max_shrink_time: 10_000,
        max_shrink_iters: 4_096,
        ..Config::default()
    }
}

/// The seed policies in `policies/`, in file-name order: (file name, text).
fn seed_files() -> &'static [(String, String)] {
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
const JSON_SEEDS: &[&str] = &[
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
fn seed_set() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| {
        let files = seed_files();
        PolicySet::compile(files.iter().map(|(n, t)| Source::new(n, t)))
            .unwrap_or_else(|e| panic!("seed policies must compile: {e}"))
    })
}

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

fn join(prefix: &str, segs: &[&str], trailing: bool) -> String {
    let mut s = String::from(prefix);
    s.push_str(&segs.join("/"));
    if trailing {
        s.push('/');
    }
    s
}

const SEGMENTS: &[&str] = &[
    "a", ".", "..", "", "Ab", "%2e", "%2E", ".%2e", "%2e%2E", "...", "..a", "a.", "~", "b c",
];

fn segments() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(SEGMENTS), 0..8)
}

/// Path-shaped resources: `/`, `./`, `../`, `~` starts and dot segments.
fn path_like() -> impl Strategy<Value = String> {
    let prefix =
        prop::sample::select(&["/", "//", "./", "../", "~/", "~", "~user/", "", "/./"][..]);
    (prefix, segments(), any::<bool>()).prop_map(|(p, s, t)| join(p, &s, t))
}

/// URL-shaped resources: mixed-case schemes and hosts, ports (default or not), user info,
/// IPv6 literals, trailing dots, dot segments (also percent-encoded), query and fragment.
fn url_like() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(
        &[
            "https://Host.COM:443/",
            "HTTPS://Evil.ONION/",
            "http://a.b.:80/",
            "http://x:8080",
            "ftp://F.example:21/",
            "wss://[::1]:443/",
            "http://[::1]",
            "https://github.com@Evil.onion/",
            "https://user:pw@Docs.RS./",
            "x-y+z.w://Q/",
        ][..],
    )
    .prop_map(str::to_owned);
    let generated = (
        prop::sample::select(&["http", "HTTPS", "ftp", "ws", "Wss", "git+ssh", "a"][..]),
        "[A-Za-z0-9.@\\[\\]:-]{0,10}",
        prop::option::of(prop::sample::select(
            &[":443", ":80", ":21", ":8080", ":", ":443:443", ":x"][..],
        )),
    )
        .prop_map(|(scheme, host, port)| format!("{scheme}://{host}{}", port.unwrap_or("")));
    let tail = prop::sample::select(&["", "?q=A/../b", "#F/./x", "?a#b", "?"][..]);
    (
        prop_oneof![fixed, generated],
        prop::option::of(segments()),
        any::<bool>(),
        tail,
    )
        .prop_map(|(start, segs, trailing, tail)| {
            let mut s = start;
            if let Some(segs) = segs {
                if !s.ends_with('/') {
                    s.push('/');
                }
                s.push_str(&join("", &segs, trailing));
            }
            s.push_str(tail);
            s
        })
}

/// Email-shaped resources: mixed-case domains, trailing dots.
fn email_like() -> impl Strategy<Value = String> {
    (
        "[A-Za-z0-9._%+-]{1,8}",
        "[A-Za-z0-9.-]{1,12}",
        prop::sample::select(&["", ".", "..", ".COM", "Ä.de"][..]),
    )
        .prop_map(|(local, domain, end)| format!("{local}@{domain}{end}"))
}

/// Short strings with a good share of control characters, unicode and separators.
fn nasty_string() -> impl Strategy<Value = String> {
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

const SEED_TAGS: &[&str] = &[
    "clawdbot",
    "email-enabled",
    "messaging",
    "claude-code",
    "dev-agent",
    "dev-assistant",
    "autogpt",
    "production",
];

const SEED_ACTIONS: &[&str] = &[
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

const SEED_RESOURCES: &[&str] = &[
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

fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(SEED_ACTIONS).prop_map(str::to_owned),
        2 => "[a-z]{1,6}:[a-z_/]{0,8}",
        2 => nasty_string(),
        1 => Just(String::new()),
    ]
}

fn resource() -> impl Strategy<Value = String> {
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
fn context() -> impl Strategy<Value = Value> {
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

fn agent() -> impl Strategy<Value = Agent> {
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

/// RFC 3339-shaped instants with out-of-range fields, leap seconds, odd offsets and
/// fractions, plus arbitrary text.
fn time() -> impl Strategy<Value = String> {
    let shaped = (
        0u32..=10_000,
        0u32..=13,
        0u32..=32,
        0u32..=24,
        0u32..=60,
        0u32..=61,
        prop::sample::select(&["", ".5", ".999999999", ".0000000001", "."][..]),
        prop::sample::select(
            &[
                "Z", "z", "+00:00", "-00:00", "+02:00", "-23:59", "+24:00", "+99:99", "",
            ][..],
        ),
        prop::sample::select(&["T", "t", " "][..]),
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, off, sep)| {
            format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{frac}{off}")
        });
    prop_oneof![
        4 => shaped,
        1 => prop::sample::select(
            &["9999-12-31T23:59:59.999999999-23:59", "0000-01-01T00:00:00+23:59",
              "1970-01-01T00:00:00Z", "2026-11-20T12:00:00+02:00"][..]
        )
        .prop_map(str::to_owned),
        1 => nasty_string(),
    ]
}

fn mode() -> impl Strategy<Value = Option<Mode>> {
    prop::option::of(prop_oneof![Just(Mode::Enforce), Just(Mode::Audit)])
}

/// Anything goes: most of these are invalid requests (control characters, bad tiers,
/// bad times, non-object contexts) or concern no policy.
fn wild_request() -> impl Strategy<Value = Request> {
    (
        action(),
        prop::option::of(resource()),
        prop::option::of(context()),
        prop::option::of(agent()),
        prop::option::of(time()),
        mode(),
    )
        .prop_map(|(action, resource, context, agent, time, mode)| Request {
            action,
            resource,
            context,
            agent,
            time,
            mode,
        })
}

/// Valid requests the seed policies have opinions about: seed actions and tags, valid
/// tiers and times, contexts with the keys the seeds test.
fn plausible_request() -> impl Strategy<Value = Request> {
    let seed_value = prop_oneof![
        prop::sample::select(
            &[
                "slack", "sms", "telegram", "discord", "meeting", "all-day", "reminder"
            ][..]
        )
        .prop_map(|s| Value::String(s.to_owned())),
        any::<bool>().prop_map(Value::Bool),
        (0i64..6).prop_map(Value::from),
    ];
    let seed_context = prop::collection::vec(
        (
            prop::sample::select(&["channel", "event_type", "sandbox", "ticket"][..]),
            seed_value,
        ),
        0..3,
    )
    .prop_map(|kv| {
        Value::Object(
            kv.into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<Map<_, _>>(),
        )
    });
    let valid_time = (1970u32..2100, 1u32..=12, 1u32..=28, 0u32..24, 0u32..60)
        .prop_map(|(y, mo, d, h, mi)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:00Z"));
    let seed_agent = (
        prop::collection::vec(prop::sample::select(SEED_TAGS), 1..4),
        prop::option::of(prop::sample::select(
            &[
                "untrusted",
                "verified",
                "trusted",
                "privileged",
                "sandboxed",
            ][..],
        )),
    )
        .prop_map(|(tags, tier)| Agent {
            id: Some("agent-1".to_owned()),
            trust_tier: tier.map(str::to_owned),
            tags: tags.into_iter().map(str::to_owned).collect(),
            ..Agent::default()
        });
    (
        prop::sample::select(SEED_ACTIONS),
        prop::option::of(prop_oneof![
            3 => prop::sample::select(SEED_RESOURCES).prop_map(str::to_owned),
            1 => path_like(),
            1 => url_like(),
            1 => email_like(),
        ]),
        prop::option::of(seed_context),
        prop::option::weighted(0.9, seed_agent),
        prop::option::of(valid_time),
        mode(),
    )
        .prop_map(|(action, resource, context, agent, time, mode)| Request {
            action: action.to_owned(),
            resource,
            context,
            agent,
            time,
            mode,
        })
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![wild_request(), plausible_request()]
}

// ---------------------------------------------------------------------------------------
// Checks shared by several properties
// ---------------------------------------------------------------------------------------

/// The fail-closed invariant and the decision's own consistency.
fn check_decision(
    req_mode: Option<Mode>,
    d: &Decision,
    explain: bool,
) -> Result<(), TestCaseError> {
    if d.rule.as_ref() == "invalid-request" {
        prop_assert!(!d.allowed, "an invalid request was allowed: {d:?}");
        prop_assert_eq!(d.effect, Effect::Deny);
        prop_assert!(d.explanation.is_none());
    } else {
        prop_assert_eq!(
            d.allowed,
            d.effect == Effect::Allow || d.mode == Mode::Audit,
            "allowed disagrees with effect and mode: {:?}",
            d
        );
        prop_assert_eq!(d.explanation.is_some(), explain);
    }
    prop_assert_eq!(d.mode, req_mode.unwrap_or_default());
    prop_assert!(!d.policy.is_empty() && !d.rule.is_empty() && !d.reason.is_empty());
    // The boundary JSON is stable: serialising, reading back and serialising again gives
    // the same bytes (what every host must print).
    let json = serde_json::to_string(d).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: Decision =
        serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
    let again = serde_json::to_string(&back).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(json, again);
    Ok(())
}

/// `canonicalize(canonicalize(s)) == canonicalize(s)`.
fn check_idempotent(s: &str) -> Result<(), TestCaseError> {
    let once = canonicalize(s).into_owned();
    let twice = canonicalize(&once).into_owned();
    prop_assert_eq!(&twice, &once, "input {:?}", s);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Glob oracle
// ---------------------------------------------------------------------------------------

/// SPEC §2 as a regex: runs of `*` → `.*`, `?` → one character, everything else literal;
/// a leading `**/` may also match nothing.
fn glob_oracle(pattern: &str) -> Regex {
    fn translate(p: &str) -> String {
        let mut out = String::new();
        let mut prev_star = false;
        for c in p.chars() {
            match c {
                '*' if prev_star => {}
                '*' => out.push_str(".*"),
                '?' => out.push('.'),
                c => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            }
            prev_star = c == '*';
        }
        out
    }
    let body = match pattern.strip_prefix("**/") {
        Some(rest) => format!("(?:.*/)?{}", translate(rest)),
        None => translate(pattern),
    };
    Regex::new(&format!("(?s)^(?:{body})$")).expect("oracle regex")
}

const GLOB_ALPHABET: &[&str] = &["a", "b", "/", ":", ".", "*", "?"];
const TEXT_ALPHABET: &[&str] = &["a", "b", "/", ":", "."];

fn glob_pattern() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec(prop::sample::select(GLOB_ALPHABET), 0..12),
    )
        .prop_map(|(double_star, toks)| {
            let mut p = if double_star {
                String::from("**/")
            } else {
                String::new()
            };
            p.push_str(&toks.concat());
            p
        })
}

fn text_from(alphabet: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(alphabet), 0..max).prop_map(|v| v.concat())
}

/// A text likely to match `pattern`: each `*` replaced by a short filler, each `?` by one
/// character, then optionally one character dropped or inserted to probe the edges.
fn instantiate(pattern: &str, fills: &[String], edit: Option<(usize, char)>) -> String {
    let mut out = String::new();
    let mut k = 0;
    for c in pattern.chars() {
        match c {
            '*' => {
                out.push_str(&fills[k % fills.len()]);
                k += 1;
            }
            '?' => {
                let f = &fills[k % fills.len()];
                out.push(f.chars().next().unwrap_or('a'));
                k += 1;
            }
            c => out.push(c),
        }
    }
    if let Some((at, c)) = edit {
        let mut chars: Vec<char> = out.chars().collect();
        let at = at % (chars.len() + 1);
        if c == '-' && at < chars.len() {
            chars.remove(at);
        } else {
            chars.insert(at, c);
        }
        out = chars.into_iter().collect();
    }
    out
}

// ---------------------------------------------------------------------------------------
// Policy-text mutation
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    /// Flip one bit of the byte at the position.
    Flip(usize, u8),
    /// Insert a byte (biased towards YAML/JSON syntax).
    Insert(usize, u8),
    /// Delete up to n bytes.
    Delete(usize, usize),
    /// Copy the line at the first position to before the second (duplicate keys, items).
    DupLine(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let syntax = prop::sample::select(
        &[
            b':', b'-', b' ', b'\n', b'"', b'\'', b'{', b'}', b'[', b']', b',', b'&', b'*', b'!',
            b'|', b'>', b'#', b'\t', b'%', b'@', b'`', b'\\', b'?', b'0', b'a', 0u8, 0xff, 0xc3,
        ][..],
    );
    prop_oneof![
        any::<(usize, u8)>().prop_map(|(p, b)| Mutation::Flip(p, b % 8)),
        (any::<usize>(), prop_oneof![syntax, any::<u8>()])
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), 1usize..12).prop_map(|(p, n)| Mutation::Delete(p, n)),
        any::<(usize, usize)>().prop_map(|(a, b)| Mutation::DupLine(a, b)),
    ]
}

fn mutate(text: &str, muts: &[Mutation]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for m in muts {
        let len = bytes.len();
        match *m {
            Mutation::Flip(p, bit) if len > 0 => bytes[p % len] ^= 1 << bit,
            Mutation::Insert(p, b) => bytes.insert(p % (len + 1), b),
            Mutation::Delete(p, n) if len > 0 => {
                let start = p % len;
                bytes.drain(start..(start + n).min(len));
            }
            Mutation::DupLine(a, b) if len > 0 => {
                let starts: Vec<usize> = std::iter::once(0)
                    .chain(
                        bytes
                            .iter()
                            .enumerate()
                            .filter(|&(_, &c)| c == b'\n')
                            .map(|(i, _)| i + 1),
                    )
                    .filter(|&i| i < len)
                    .collect();
                let from = starts[a % starts.len()];
                let end = bytes[from..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(len, |i| from + i + 1);
                let line = bytes[from..end].to_vec();
                let to = starts[b % starts.len()];
                bytes.splice(to..to, line);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Parses `text` as YAML and as JSON; whatever compiles is also evaluated.
fn parse_everything(text: &str) -> Result<(), TestCaseError> {
    for name in ["x.yaml", "x.json"] {
        let parsed = parse_policies(&Source::new(name, text));
        match parsed {
            Ok(policies) => {
                prop_assert!(!policies.is_empty());
                if let Ok(set) = PolicySet::compile([Source::new(name, text)]) {
                    for action in ["write:email", "browse:web", "execute:python", "*"] {
                        let req = Request {
                            action: action.to_owned(),
                            resource: Some("bob@yourcompany.com".to_owned()),
                            agent: Some(Agent {
                                tags: SEED_TAGS.iter().map(|t| (*t).to_owned()).collect(),
                                trust_tier: Some("trusted".to_owned()),
                                ..Agent::default()
                            }),
                            ..Request::default()
                        };
                        let d = set.decide(&req, true);
                        check_decision(None, &d, true)?;
                    }
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty(), "an error result must hold an error");
                for e in &errors {
                    // Diagnostics render and carry 1-based positions.
                    let diag = meshguard_core::Diagnostic::new(name, e);
                    prop_assert!(diag.line >= 1 && diag.column >= 1, "{diag:?}");
                    prop_assert!(!diag.to_string().is_empty());
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Rate limiter
// ---------------------------------------------------------------------------------------

/// Runs `deltas` (ms between requests, from `start`) through a limiter in front of a
/// policy limiting to `per_minute` (and maybe `per_hour`), either policy-wide or as the
/// deciding rule's `conditions.rateLimit`. Returns the timestamps and whether each was
/// allowed.
fn run_limiter(
    per_minute: u32,
    per_hour: Option<u32>,
    rule_level: bool,
    start: i64,
    deltas: &[u32],
) -> Vec<(i64, bool)> {
    let hour = per_hour.map_or(String::new(), |h| format!(", requestsPerHour: {h}"));
    let limit = format!("{{requestsPerMinute: {per_minute}{hour}}}");
    let text = if rule_level {
        format!(
            "name: limited\nrules:\n  - effect: allow\n    actions: [\"*\"]\n    conditions:\n      rateLimit: {limit}\n"
        )
    } else {
        format!(
            "name: limited\nrateLimits: {limit}\nrules:\n  - effect: allow\n    actions: [\"*\"]\n"
        )
    };
    let set = PolicySet::compile([Source::new("limited.yaml", &text)])
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let req = Request {
        action: "send:message".to_owned(),
        agent: Some(Agent {
            id: Some("agent-1".to_owned()),
            ..Agent::default()
        }),
        ..Request::default()
    };
    let mut limiter = RateLimiter::new();
    let mut t = start;
    let mut out = Vec::with_capacity(deltas.len());
    for (i, &d) in deltas.iter().enumerate() {
        t += i64::from(d);
        let mut decision = set.decide(&req, false);
        assert_eq!(decision.effect, Effect::Allow);
        assert!(!decision.obligations.rate_limits.is_empty());
        limiter.apply(&mut decision, rate_key(&req), t);
        out.push((t, decision.allowed));
        if i % 7 == 6 {
            // Pruning is an optimisation; it must not change any answer.
            limiter.prune(t);
        }
    }
    out
}

/// How many allowed requests fall in the window `(t - window, t]`.
fn allowed_in_window(log: &[(i64, bool)], upto: usize, t: i64, window: i64) -> usize {
    log[..upto]
        .iter()
        .filter(|(s, ok)| *ok && *s > t - window && *s <= t)
        .count()
}

fn deltas() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(
        prop_oneof![3 => 0u32..2_000, 2 => 0u32..20_000, 1 => 55_000u32..65_000],
        1..80,
    )
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    // --- canonicalize is idempotent -----------------------------------------------------

    #[test]
    fn canonicalize_idempotent_arbitrary(s in nasty_string()) {
        check_idempotent(&s)?;
    }

    #[test]
    fn canonicalize_idempotent_paths(s in path_like()) {
        check_idempotent(&s)?;
    }

    #[test]
    fn canonicalize_idempotent_urls(s in url_like()) {
        check_idempotent(&s)?;
    }

    #[test]
    fn canonicalize_idempotent_emails(s in email_like()) {
        check_idempotent(&s)?;
    }

    // --- glob agrees with the regex oracle ----------------------------------------------

    #[test]
    fn glob_matches_like_regex_oracle(
        pattern in glob_pattern(),
        random_text in text_from(TEXT_ALPHABET, 16),
        fills in prop::collection::vec(text_from(TEXT_ALPHABET, 4), 1..4),
        edit in prop::option::of((any::<usize>(), prop::sample::select(&['-', 'a', '/', '.', ':'][..]))),
        use_random in any::<bool>(),
    ) {
        let glob = match Glob::new(&pattern) {
            Ok(g) => g,
            Err(e) => {
                // In this alphabet only the empty pattern may be refused.
                prop_assert!(pattern.is_empty(), "{:?} refused: {:?}", pattern, e);
                return Ok(());
            }
        };
        let text = if use_random { random_text } else { instantiate(&pattern, &fills, edit) };
        let oracle = glob_oracle(&pattern);
        prop_assert_eq!(
            glob.matches(&text),
            oracle.is_match(&text),
            "pattern {:?} text {:?} (oracle {})", pattern, text, oracle.as_str()
        );
    }

    /// Unicode and newlines in the text: `?` is one character, `*` crosses newlines.
    #[test]
    fn glob_matches_like_regex_oracle_unicode_text(
        pattern in glob_pattern(),
        text in text_from(&["a", "b", "/", ":", ".", "é", "\n", "日", "\u{10ffff}"], 10),
    ) {
        let Ok(glob) = Glob::new(&pattern) else { return Ok(()) };
        let oracle = glob_oracle(&pattern);
        prop_assert_eq!(glob.matches(&text), oracle.is_match(&text),
            "pattern {:?} text {:?}", pattern, text);
    }

    // --- parsing never panics -----------------------------------------------------------

    #[test]
    fn parse_never_panics_on_arbitrary_text(s in prop_oneof![
        any::<String>(),
        "[a-zA-Z:\\-\\[\\]{}\"', \n&*!|>#%@?]{0,80}",
    ]) {
        parse_everything(&s)?;
    }

    #[test]
    fn parse_never_panics_on_deep_nesting(
        opener in prop::sample::select(&["[", "{\"a\": ", "- ", "a:\n  ", "&x [", "? "][..]),
        depth in prop_oneof![3 => 0usize..300, 1 => 0usize..20_000],
        close in any::<bool>(),
    ) {
        let mut s = opener.repeat(depth);
        if close {
            s.push_str(&"]".repeat(depth));
        }
        parse_everything(&s)?;
    }

    #[test]
    fn parse_never_panics_on_mutated_seed_policies(
        file in any::<prop::sample::Index>(),
        json in any::<bool>(),
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        let text = if json {
            JSON_SEEDS[file.index(JSON_SEEDS.len())]
        } else {
            let files = seed_files();
            files[file.index(files.len())].1.as_str()
        };
        let mutated = mutate(text, &muts);
        parse_everything(&mutated)?;
    }

    // --- evaluation never panics and fails closed ---------------------------------------

    #[test]
    fn decide_never_panics_and_fails_closed(req in request(), explain in any::<bool>()) {
        let set = seed_set();
        let d = set.decide(&req, explain);
        check_decision(req.mode, &d, explain)?;
        if d.rule.as_ref() != "invalid-request" {
            // The decision reports the canonical resource.
            let canonical = req.resource.as_deref().map(|r| canonicalize(r).into_owned());
            prop_assert_eq!(d.resource.as_deref(), canonical.as_deref());
            // The mode changes `allowed`, never what the policies say (SPEC §6).
            let mut other = req.clone();
            other.mode = Some(match req.mode.unwrap_or_default() {
                Mode::Enforce => Mode::Audit,
                Mode::Audit => Mode::Enforce,
            });
            let o = set.decide(&other, false);
            prop_assert_eq!((o.effect, &o.policy, &o.rule, &o.reason), (d.effect, &d.policy, &d.rule, &d.reason));
        }
        // The JSON entry point agrees with the typed one (what every host sends).
        let json = serde_json::to_string(&req).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let via_json = set.decide_json(&json, explain);
        prop_assert_eq!(&via_json, &d, "request JSON {}", json);
    }

    #[test]
    fn decide_json_never_panics_and_fails_closed(
        s in prop_oneof![
            any::<String>(),
            "[{}\\[\\]\":,a-z0-9 ]{0,60}",
            (request(), prop::collection::vec(mutation(), 0..4)).prop_map(|(r, m)| {
                mutate(&serde_json::to_string(&r).unwrap_or_default(), &m)
            }),
        ],
        explain in any::<bool>(),
    ) {
        let d = seed_set().decide_json(&s, explain);
        let mode = match &d.rule {
            r if r.as_ref() == "invalid-request" => d.mode,
            _ => serde_json::from_str::<Request>(&s).ok().and_then(|r| r.mode).unwrap_or_default(),
        };
        check_decision(Some(mode), &d, explain)?;
    }

    // --- rate limiter -------------------------------------------------------------------

    #[test]
    fn rate_limiter_never_exceeds_its_window(
        per_minute in 1u32..6,
        per_hour in prop::option::of(1u32..20),
        rule_level in any::<bool>(),
        start in 0i64..4_000_000_000_000,
        deltas in deltas(),
    ) {
        let log = run_limiter(per_minute, per_hour, rule_level, start, &deltas);
        let windows: Vec<(i64, usize)> = std::iter::once((60_000, per_minute as usize))
            .chain(per_hour.map(|h| (3_600_000, h as usize)))
            .collect();
        for (i, &(t, ok)) in log.iter().enumerate() {
            if !ok {
                continue;
            }
            for &(window, limit) in &windows {
                // Every window of this length that ends at an allowed request (the only
                // places the count can peak) holds at most `limit` allowed requests.
                let n = allowed_in_window(&log, i + 1, t, window);
                prop_assert!(n <= limit, "{n} allowed in the {window} ms window ending at {t} (limit {limit}): {log:?}");
            }
        }
    }

    /// The limiter is exact: a request is refused only when a window is already full.
    #[test]
    fn rate_limiter_refuses_only_when_full(
        per_minute in 1u32..6,
        per_hour in prop::option::of(1u32..20),
        rule_level in any::<bool>(),
        start in 0i64..4_000_000_000_000,
        deltas in deltas(),
    ) {
        let log = run_limiter(per_minute, per_hour, rule_level, start, &deltas);
        let mut windows = HashMap::new();
        windows.insert(60_000i64, per_minute as usize);
        if let Some(h) = per_hour {
            windows.insert(3_600_000, h as usize);
        }
        for (i, &(t, ok)) in log.iter().enumerate() {
            if ok {
                continue;
            }
            let full = windows
                .iter()
                .any(|(&window, &limit)| allowed_in_window(&log, i, t, window) >= limit);
            prop_assert!(full, "request {i} at {t} refused with no full window: {log:?}");
        }
    }
}
