//! How long splitting an `execute:shell` command line into its simple commands takes
//! (`core/src/kinds/shell/mod.rs`), next to brush-parser reading the same lines.
//!
//! - `shell/split/<line>`: `split` on one line of the mix, one line per iteration.
//! - `shell/split/mix`: the six lines in turn, one per iteration (the per-line average).
//! - `shell/brush/<line>`: brush-parser 0.4.0 tokenizing (uncached) and parsing the same
//!   line into its AST, for comparison. It does less than `split`: it neither parses the
//!   inside of `$( … )` (a separate `word::parse` per word) nor normalises words.
//!
//! Targets (release build, one core): a plain command of one to five words well under
//! 100 ns; a typical compound line a few hundred ns (the whole decision budget is about
//! 300 ns).
//!
//! The splitter is `pub(crate)`; like the property test, this bench compiles its source
//! file as a module of its own.
//!
//! Run: `cargo bench -p meshguard-core --bench shell -- [criterion args]`.

// Benchmarks: fixtures are built before timing; a broken fixture should abort loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

#[allow(dead_code)]
#[path = "../src/kinds/shell/mod.rs"]
mod shell;

/// The mix: (name, command line).
const MIX: &[(&str, &str)] = &[
    ("git-status", "git status"),
    ("cargo-test-workspace", "cargo test --workspace"),
    ("add-and-commit", "git add -A && git commit -m \"msg\""),
    (
        "heredoc-commit",
        "git commit -m \"$(cat <<'EOF'\nfix: split shell lines\n\nThe evaluator decides every simple command.\nEOF\n)\"",
    ),
    ("substitution-pipe", "ls $(pwd) | grep x"),
    ("env-timeout", "RUST_LOG=debug timeout 60 cargo test"),
];

fn brush(line: &str) -> brush_parser::ast::Program {
    // The uncached tokenizer: `tokenize_str` memoises its last 64 inputs, which would turn
    // a benchmark loop into a cache lookup.
    let tokens =
        brush_parser::uncached_tokenize_str(line, &brush_parser::TokenizerOptions::default())
            .expect("brush tokenizes the mix");
    brush_parser::parse_tokens(&tokens, &brush_parser::ParserOptions::default())
        .expect("brush parses the mix")
}

fn split(c: &mut Criterion) {
    for (_, line) in MIX {
        assert!(shell::split(line).is_ok(), "the mix must split: {line:?}");
    }
    let mut group = c.benchmark_group("shell");
    for (name, line) in MIX {
        group.bench_function(BenchmarkId::new("split", name), |b| {
            b.iter(|| black_box(shell::split(black_box(line)).map(|p| p.len())));
        });
    }
    group.bench_function(BenchmarkId::new("split", "mix"), |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = i.wrapping_add(1);
            let (_, line) = MIX[i % MIX.len()];
            black_box(shell::split(black_box(line)).map(|p| p.len()))
        });
    });
    for (name, line) in MIX {
        group.bench_function(BenchmarkId::new("brush", name), |b| {
            b.iter(|| black_box(brush(black_box(line))));
        });
    }
    group.finish();
}

criterion_group!(benches, split);
criterion_main!(benches);
