//! Drives the benchmark mixes of `benches/evaluate.rs` for instruction counting:
//!
//! ```text
//! cargo build --release -p meshguard-core --example decide_mix
//! valgrind --tool=callgrind --toggle-collect='*run_mix*' \
//!     target/release/examples/decide_mix example 10000
//! ```
//!
//! The mix is `example` (the eleven seeds, eight requests cycling), `claude` (the
//! dev-assistant policy, the sixteen requests of `benches/data/claude-code-mix.json`),
//! `explain` (the example set with explanations) or `js` (the eleven seeds and the JS
//! benchmark's eight requests), with `+memo` for decisions that reuse what each agent
//! and action select (`js+memo`), or `+compact` for the whole of the JS hosts' Rust
//! side: agents in slots, the request built from flat parts, the memo, the decision
//! encoded as a record (`js+compact`), or `+json` for requests read from JSON and
//! decisions written as JSON (`evaluateJson`, the gateway's component); the count is
//! decisions, then optionally the index of the one request to repeat. Callgrind's
//! total for `run_mix` divided by the count is the instructions a decision.

// A driver: a broken fixture should abort loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::hint::black_box;

#[path = "../benches/mixes/mod.rs"]
mod mixes;

use meshguard_core::compact::{Compact, Parts, RECORD_LEN};
use meshguard_core::{PolicySet, Request, Selections};
use mixes::{claude_code_mix, compile, example_requests, js_requests, seed_files};

/// The measured loop: `n` decisions cycling through `requests`, with one memo per
/// request when `memos` has them.
#[inline(never)]
fn run_mix(
    set: &PolicySet,
    requests: &[Request],
    n: usize,
    explain: bool,
    memos: &mut [Selections],
) {
    for i in 0..n {
        let at = i % requests.len();
        let req = black_box(&requests[at]);
        match memos.get_mut(at) {
            Some(memo) => black_box(set.decide_remembering(req, explain, memo)),
            None => black_box(set.decide(req, explain)),
        };
    }
}

/// The measured loop of `+json`: `n` decisions cycling through `texts`.
#[inline(never)]
fn run_json(set: &PolicySet, texts: &[String], n: usize) {
    for i in 0..n {
        let text = black_box(&texts[i % texts.len()]);
        black_box(set.decide_json(text, false).to_json());
    }
}

/// The measured loop of `+compact`: `n` decisions cycling through `parts` (texts from
/// `contexts`) on a host whose slot `i` holds request `i`'s agent.
#[inline(never)]
fn run_compact(set: &PolicySet, host: &mut Compact, parts: &[Parts<'_>], n: usize) {
    let mut record = [0; RECORD_LEN];
    for i in 0..n {
        let p = black_box(parts[i % parts.len()]);
        black_box(host.decide_on(set, p, &mut record));
    }
}

/// The compact host and flat parts of `requests` (agent `i` in slot `i`).
fn compact_parts<'r>(
    requests: &'r [Request],
    contexts: &'r [Option<String>],
) -> (Compact, Vec<Parts<'r>>) {
    let mut host = Compact::new();
    let parts = requests
        .iter()
        .zip(contexts)
        .enumerate()
        .map(|(i, (r, context))| {
            let slot = r.agent.clone().map(|a| {
                host.set_agent(i as u32, a);
                i as u32
            });
            Parts {
                action: &r.action,
                resource: r.resource.as_deref(),
                agent: slot,
                context: context.as_deref(),
                time: r.time.as_deref(),
                mode: r.mode,
            }
        })
        .collect();
    (host, parts)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "example".to_owned());
    let (mix, how) = name.split_once('+').unwrap_or((name.as_str(), ""));
    let n: usize = args.next().map_or(10_000, |s| s.parse().expect("a count"));
    let single: Option<usize> = args.next().map(|s| s.parse().expect("a request index"));
    let (set, mut requests, explain) = match mix {
        "example" => (compile(&seed_files()), example_requests(), false),
        "explain" => (compile(&seed_files()), example_requests(), true),
        "js" => (compile(&seed_files()), js_requests(), false),
        "claude" => {
            let (s, r) = claude_code_mix();
            (s, r, false)
        }
        other => panic!("unknown mix `{other}` (example, explain, claude, js)"),
    };
    if let Some(i) = single {
        requests = vec![requests[i].clone()];
    }
    match how {
        "" => run_mix(&set, &requests, n, explain, &mut []),
        "memo" => {
            // The requests' agents differ or not, but one memo per request is always right.
            let mut memos: Vec<Selections> = requests.iter().map(|_| Selections::new()).collect();
            run_mix(&set, &requests, n, explain, &mut memos);
        }
        "compact" => {
            let contexts: Vec<Option<String>> = requests
                .iter()
                .map(|r| r.context.as_ref().map(|c| c.to_string()))
                .collect();
            let (mut host, parts) = compact_parts(&requests, &contexts);
            run_compact(&set, &mut host, &parts, n);
        }
        "json" => {
            let texts: Vec<String> = requests
                .iter()
                .map(|r| serde_json::to_string(r).expect("a request's JSON"))
                .collect();
            run_json(&set, &texts, n);
        }
        other => panic!("unknown way `+{other}` (memo, compact, json)"),
    }
    println!("{n} decisions ({name})");
}
