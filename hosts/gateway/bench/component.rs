//! How long one decision takes through the Wasm component, on a warm instance (the
//! gateway's hot path minus HTTP, auth and audit), next to the native core on the same
//! requests.
//!
//! - `component/decide`: `Evaluator::decide` on the eleven example policies, a fixed mix
//!   of eight requests cycling (typed WIT records in and out, one pooled instance).
//! - `component/decide-batch-64`: `decide_batch` of 64 requests, per call.
//! - `native/decide`: `PolicySet::decide`, the same mix, for comparison.
//!
//! Target: ≤ 3 µs per component decision. Run:
//! `cargo bench -p meshguard-gateway --bench component` (criterion), or
//! `cargo bench -p meshguard-gateway --bench component -- --loop 200000`: a plain timed
//! loop, best of 7 rounds, robust on a busy machine where criterion's means wander.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use meshguard_core::{Agent, Effect, PolicySet, Request, Source};
use meshguard_gateway::engine::{Limits, Runtime};

fn example_files() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

fn requests() -> Vec<Request> {
    let agent = |tags: &[&str]| {
        Some(Agent {
            id: Some("agent_bench".to_owned()),
            name: Some("bench".to_owned()),
            trust_tier: Some("verified".to_owned()),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            org_id: None,
        })
    };
    let req = |action: &str, resource: Option<&str>, tags: &[&str]| Request {
        action: action.to_owned(),
        resource: resource.map(str::to_owned),
        agent: agent(tags),
        time: Some("2026-01-26T17:30:00.000Z".to_owned()),
        ..Request::default()
    };
    vec![
        req("write:email", Some("bob@yourcompany.com"), &["clawdbot"]),
        req("write:email", Some("user@external.com"), &["clawdbot"]),
        req("read:file", Some("/workspace/../etc/passwd"), &["clawdbot"]),
        req("browse:web", Some("https://Evil.ONION/x"), &["clawdbot"]),
        req(
            "execute:shell",
            Some("git status && rm -rf /"),
            &["claude-code"],
        ),
        req("read:file", Some("./src/main.rs"), &["claude-code"]),
        req("search:web", Some("rust wasm"), &["autogpt"]),
        req("pay:invoice", Some("INV-1"), &["autogpt", "production"]),
    ]
}

fn bench(c: &mut Criterion) {
    let files = example_files();
    let runtime = Runtime::new(Limits::default()).unwrap();
    let evaluator = runtime.load(&files, Effect::Deny).unwrap().unwrap();
    let native = PolicySet::compile(files.iter().map(|(n, t)| Source::new(n, t))).unwrap();
    let reqs = requests();
    // Warm-up and a sanity check: the component and the native core agree.
    for r in &reqs {
        assert_eq!(evaluator.decide(r, false), native.decide(r, false));
    }

    let mut g = c.benchmark_group("component");
    let mut i = 0usize;
    g.bench_function("decide", |b| {
        b.iter(|| {
            i = (i + 1) % reqs.len();
            black_box(evaluator.decide(black_box(&reqs[i]), false))
        })
    });
    let batch: Vec<Request> = reqs.iter().cycle().take(64).cloned().collect();
    g.bench_function("decide-batch-64", |b| {
        b.iter(|| black_box(evaluator.decide_batch(black_box(&batch), false)))
    });
    g.finish();

    let mut g = c.benchmark_group("native");
    let mut j = 0usize;
    g.bench_function("decide", |b| {
        b.iter(|| {
            j = (j + 1) % reqs.len();
            black_box(native.decide(black_box(&reqs[j]), false))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);

/// Best-of-rounds timing of `iters` decisions (component, then native).
fn timed_loop(iters: usize) {
    let files = example_files();
    let runtime = Runtime::new(Limits::default()).unwrap();
    let evaluator = runtime.load(&files, Effect::Deny).unwrap().unwrap();
    let native = PolicySet::compile(files.iter().map(|(n, t)| Source::new(n, t))).unwrap();
    let reqs = requests();
    let best = |f: &dyn Fn(&Request)| {
        (0..7)
            .map(|_| {
                let start = std::time::Instant::now();
                for i in 0..iters {
                    f(&reqs[i % reqs.len()]);
                }
                start.elapsed().as_nanos() as f64 / iters as f64
            })
            .fold(f64::INFINITY, f64::min)
    };
    let component = best(&|r| {
        black_box(evaluator.decide(black_box(r), false));
    });
    let owned = best(&|r| {
        black_box(evaluator.decide_owned(black_box(r.clone()), false));
    });
    let clone_only = best(&|r| {
        black_box(black_box(r).clone());
    });
    let native_ns = best(&|r| {
        black_box(native.decide(black_box(r), false));
    });
    eprintln!(
        "component decide: {:.2} µs per decision (best of 7 × {iters})",
        component / 1e3
    );
    eprintln!(
        "component decide_owned (the gateway's path): {:.2} µs per decision (excluding the {:.2} µs request clone the loop needs)",
        (owned - clone_only) / 1e3,
        clone_only / 1e3
    );
    eprintln!("native decide:    {:.2} µs per decision", native_ns / 1e3);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--loop") {
        let iters = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(200_000);
        timed_loop(iters);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
