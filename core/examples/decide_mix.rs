//! Drives the benchmark mixes of `benches/evaluate.rs` for instruction counting:
//!
//! ```text
//! cargo build --release -p meshguard-core --example decide_mix
//! valgrind --tool=callgrind --toggle-collect='*run_mix*' \
//!     target/release/examples/decide_mix example 10000
//! ```
//!
//! The mix is `example` (the eleven seeds, eight requests cycling), `claude` (the
//! dev-assistant policy, the sixteen requests of `benches/data/claude-code-mix.json`) or
//! `explain` (the example set with explanations); the count is decisions. Callgrind's
//! total for `run_mix` divided by the count is the instructions a decision.

// A driver: a broken fixture should abort loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::hint::black_box;

use meshguard_core::{Agent, PolicySet, Request, Source};

fn compile(files: &[(String, String)]) -> PolicySet {
    PolicySet::compile(files.iter().map(|(n, t)| Source::new(n, t)))
        .unwrap_or_else(|e| panic!("policies must compile: {e}"))
}

fn seed_files() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("policies dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("policy text"))
        })
        .collect()
}

fn request(action: &str, resource: Option<&str>, tags: &[&str]) -> Request {
    Request {
        action: action.to_owned(),
        resource: resource.map(str::to_owned),
        agent: Some(Agent {
            id: Some("bench-agent".to_owned()),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            ..Agent::default()
        }),
        ..Request::default()
    }
}

/// The eight requests of `decide/example-set`.
fn example_requests() -> Vec<Request> {
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

fn claude_code_mix() -> (PolicySet, Vec<Request>) {
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

/// The measured loop: `n` decisions cycling through `requests`.
#[inline(never)]
fn run_mix(set: &PolicySet, requests: &[Request], n: usize, explain: bool) {
    for i in 0..n {
        let req = &requests[i % requests.len()];
        black_box(set.decide(black_box(req), explain));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mix = args.next().unwrap_or_else(|| "example".to_owned());
    let n: usize = args.next().map_or(10_000, |s| s.parse().expect("a count"));
    let single: Option<usize> = args.next().map(|s| s.parse().expect("a request index"));
    let (set, mut requests, explain) = match mix.as_str() {
        "example" => (compile(&seed_files()), example_requests(), false),
        "explain" => (compile(&seed_files()), example_requests(), true),
        "claude" => {
            let (s, r) = claude_code_mix();
            (s, r, false)
        }
        other => panic!("unknown mix `{other}` (example, explain, claude)"),
    };
    if let Some(i) = single {
        requests = vec![requests[i].clone()];
    }
    run_mix(&set, &requests, n, explain);
    println!("{n} decisions ({mix})");
}
