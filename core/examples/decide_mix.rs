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
//! and action select, as the JS hosts decide (`js+memo`); the count is decisions, then
//! optionally the index of the one request to repeat. Callgrind's
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

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "example".to_owned());
    let (mix, remember) = match name.strip_suffix("+memo") {
        Some(mix) => (mix.to_owned(), true),
        None => (name.clone(), false),
    };
    let n: usize = args.next().map_or(10_000, |s| s.parse().expect("a count"));
    let single: Option<usize> = args.next().map(|s| s.parse().expect("a request index"));
    let (set, mut requests, explain) = match mix.as_str() {
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
    // The requests' agents differ or not, but one memo per request is always right.
    let mut memos: Vec<Selections> = if remember {
        requests.iter().map(|_| Selections::new()).collect()
    } else {
        Vec::new()
    };
    run_mix(&set, &requests, n, explain, &mut memos);
    println!("{n} decisions ({name})");
}
