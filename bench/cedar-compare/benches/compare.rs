//! Criterion, for the record: the variants of the crate docs in one run, group
//! `claude-code-mix`, one request per iteration cycling through the sixteen of
//! `core/benches/data/claude-code-mix.json`.
//!
//! - `claude-code-mix/meshguard`: `PolicySet::decide(&req, false)`, prebuilt requests.
//! - `claude-code-mix/cedar`: Cedar entities and request built per call, `is_authorized`.
//! - `claude-code-mix/cedar-prebuilt`: `is_authorized` alone.
//! - `claude-code-mix/meshguard-built`, `claude-code-mix/cedar-per-part`: the request built
//!   per call; the shell line split by the host, one Cedar call per part.
//!
//! Run: `cargo bench` (from `bench/cedar-compare`), or `cargo bench -- meshguard` for one.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use meshguard_cedar_compare::{Cedar, meshguard_request, meshguard_set, mix};

/// Times `f(i)` once per iteration, `i` cycling through `0..n`.
fn cycle(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    n: usize,
    mut f: impl FnMut(usize),
) {
    c.bench_function(name, |b| {
        let mut i = 0;
        b.iter(|| {
            f(i);
            i = (i + 1) % n;
        })
    });
}

fn compare(c: &mut Criterion) {
    let items = mix();
    let n = items.len();
    let set = meshguard_set();
    let requests: Vec<_> = items.iter().map(meshguard_request).collect();
    let cedar = Cedar::default();
    let prebuilt: Vec<_> = items.iter().map(|i| cedar.prebuild(i)).collect();

    let mut g = c.benchmark_group("claude-code-mix");
    cycle(&mut g, "meshguard", n, |i| {
        black_box(set.decide(black_box(&requests[i]), false));
    });
    cycle(&mut g, "cedar", n, |i| {
        black_box(cedar.decide(black_box(&items[i])));
    });
    cycle(&mut g, "cedar-prebuilt", n, |i| {
        black_box(cedar.authorize(black_box(&prebuilt[i])));
    });
    cycle(&mut g, "meshguard-built", n, |i| {
        black_box(set.decide(&meshguard_request(black_box(&items[i])), false));
    });
    cycle(&mut g, "cedar-per-part", n, |i| {
        black_box(cedar.decide_per_part(black_box(&items[i])));
    });
    g.finish();
}

criterion_group!(benches, compare);
criterion_main!(benches);
