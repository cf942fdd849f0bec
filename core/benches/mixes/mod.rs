//! The benchmark fixtures `benches/evaluate.rs` and `examples/decide_mix.rs` share: the
//! seed policies, the example mix of eight requests and the Claude Code mix, so the
//! instructions counted and the times measured are of the same decisions.

// Fixtures: a broken one should abort loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use meshguard_core::{Agent, PolicySet, Request, Source};

/// The seed policies, in file-name order: (file name, text).
pub fn seed_files() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("policies dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 11, "the eleven seed policies");
    paths
        .into_iter()
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("policy text"))
        })
        .collect()
}

pub fn compile(files: &[(String, String)]) -> PolicySet {
    PolicySet::compile(files.iter().map(|(n, t)| Source::new(n, t)))
        .unwrap_or_else(|e| panic!("benchmark policies must compile: {e}"))
}

pub fn agent(tags: &[&str]) -> Option<Agent> {
    Some(Agent {
        id: Some("bench-agent".to_owned()),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        ..Agent::default()
    })
}

pub fn request(action: &str, resource: Option<&str>, tags: &[&str]) -> Request {
    Request {
        action: action.to_owned(),
        resource: resource.map(str::to_owned),
        agent: agent(tags),
        ..Request::default()
    }
}

/// Eight requests across the three agent families, allows and denies, conditional and
/// unconditional rules, canonicalisation and a context condition.
pub fn example_requests() -> Vec<Request> {
    const CLAWDBOT: &[&str] = &["clawdbot"];
    const CLAUDE: &[&str] = &["claude-code", "dev-assistant"];
    const AUTOGPT: &[&str] = &["autogpt", "production"];
    let mut python = request("execute:python", None, AUTOGPT);
    python.context = Some(serde_json::json!({ "sandbox": true }));
    vec![
        request("write:email", Some("bob@yourcompany.com"), CLAWDBOT),
        request("write:email", Some("eve@external.example"), CLAWDBOT),
        request("read:file", Some("/workspace/a.txt"), CLAWDBOT),
        request("execute:shell", Some("git status"), CLAUDE),
        request("execute:shell", Some("git status && rm -rf /"), CLAUDE),
        request("read:web_fetch", Some("https://docs.rs/x"), CLAUDE),
        request("browse:web", Some("evil.onion"), CLAWDBOT),
        python,
    ]
}

/// The eight requests of the JS benchmark (`bindings/npm/bench/mix.mjs`, kept equal by
/// hand), over the same eleven seeds: what one `evaluate` from JS asks of the core.
pub fn js_requests() -> Vec<Request> {
    [
        r#"{"action":"write:email","resource":"bob@yourcompany.com","agent":{"id":"c1","tags":["clawdbot"],"trustTier":"verified"}}"#,
        r#"{"action":"write:email","resource":"Eve@Elsewhere.ORG","agent":{"id":"c1","tags":["clawdbot"],"trustTier":"verified"}}"#,
        r#"{"action":"browse:web","resource":"HTTPS://Evil.ONION/x","agent":{"id":"c2","tags":["clawdbot"]}}"#,
        r#"{"action":"read:file","resource":"./src/main.rs","agent":{"id":"cc","tags":["claude-code"]}}"#,
        r#"{"action":"read:file","resource":"./src/../.env","agent":{"id":"cc","tags":["claude-code"]}}"#,
        r#"{"action":"execute:shell","resource":"git status && rm -rf /","agent":{"id":"cc","tags":["claude-code"]}}"#,
        r#"{"action":"execute:shell","resource":"cargo test","agent":{"id":"cc","tags":["claude-code","dev-agent"]}}"#,
        r#"{"action":"send:message","resource":"slack","context":{"channel":"slack"},"agent":{"id":"a1","tags":["autogpt"],"trustTier":"trusted"}}"#,
    ]
    .iter()
    .map(|json| serde_json::from_str(json).expect("a request"))
    .collect()
}

/// The Claude Code dev-assistant policy and the requests of `benches/data/claude-code-mix.json`.
pub fn claude_code_mix() -> (PolicySet, Vec<Request>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let policy = std::fs::read_to_string(format!("{dir}/policies/claude-code-dev-assistant.yaml"))
        .expect("dev-assistant policy");
    let set = compile(&[("claude-code-dev-assistant.yaml".to_owned(), policy)]);
    let mix = std::fs::read_to_string(format!("{dir}/core/benches/data/claude-code-mix.json"))
        .expect("claude-code mix");
    let items: Vec<serde_json::Value> = serde_json::from_str(&mix).expect("mix JSON");
    let requests = items
        .iter()
        .map(|v| {
            request(
                v["action"].as_str().expect("action"),
                v["resource"].as_str(),
                &["claude-code", "dev-assistant"],
            )
        })
        .collect();
    (set, requests)
}
