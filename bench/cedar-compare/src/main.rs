//! The summary: how each engine decides the mix, then the time per decision of every
//! variant (see the crate docs) and the ratio.
//!
//! A plain timed loop, robust on a busy machine where criterion's estimates wander: each
//! variant runs `--rounds` rounds (default 200) of whole passes over the sixteen requests,
//! as many as last ≥ 1 ms (short, so that on a loaded machine some rounds run between
//! preemptions); it reports the best round (the least disturbed) and the median round,
//! per decision. `cargo bench` gives criterion's view of the same calls.
//!
//! Run: `cargo run --release [-- --rounds N]`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use meshguard_cedar_compare::{
    Cedar, Item, meshguard_allows, meshguard_request, meshguard_set, mix,
};

/// (best, median) nanoseconds per call of `f(i)`, `i` cycling through `0..n`.
fn time(rounds: usize, n: usize, mut f: impl FnMut(usize)) -> (f64, f64) {
    let mut round = |iters: usize| {
        let start = Instant::now();
        for i in 0..iters {
            f(i % n);
        }
        start.elapsed()
    };
    // Whole passes over the mix, doubled until one round lasts 1 ms.
    let mut iters = n;
    while round(iters) < Duration::from_millis(1) {
        iters *= 2;
    }
    let mut per_call: Vec<f64> = (0..rounds)
        .map(|_| round(iters).as_nanos() as f64 / iters as f64)
        .collect();
    per_call.sort_by(f64::total_cmp);
    (per_call[0], per_call[per_call.len() / 2])
}

fn ns(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{:.1} µs", x / 1e3)
    } else {
        format!("{x:.0} ns")
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(200);

    let items: Vec<Item> = mix();
    let set = meshguard_set();
    let requests: Vec<_> = items.iter().map(meshguard_request).collect();
    let cedar = Cedar::default();
    let prebuilt: Vec<_> = items.iter().map(|i| cedar.prebuild(i)).collect();

    let word = |allowed: bool| if allowed { "allow" } else { "deny" };
    println!("{:<58} {:>9} {:>9} {:>9}", "request", "meshguard", "cedar", "per-part");
    let mut differ = 0;
    for (item, req) in items.iter().zip(&requests) {
        let (m, c, p) = (
            meshguard_allows(&set, req),
            cedar.decide(item),
            cedar.decide_per_part(item),
        );
        differ += usize::from(m != c);
        let mark = if m != c || m != p { "  ≠" } else { "" };
        let text: String = format!("{} {}", item.action, item.resource).chars().take(58).collect();
        println!("{text:<58} {:>9} {:>9} {:>9}{mark}", word(m), word(c), word(p));
    }
    println!("({differ} of {} decisions differ between meshguard and split-free cedar)\n", items.len());

    let n = items.len();
    let variants: [(&str, Box<dyn FnMut(usize) + '_>); 5] = [
        ("meshguard (prebuilt request)", Box::new(|i| {
            black_box(set.decide(black_box(&requests[i]), false));
        })),
        ("meshguard-built (request built per call)", Box::new(|i| {
            black_box(set.decide(&meshguard_request(black_box(&items[i])), false));
        })),
        ("cedar (entities + request built per call)", Box::new(|i| {
            black_box(cedar.decide(black_box(&items[i])));
        })),
        ("cedar-prebuilt (is_authorized alone)", Box::new(|i| {
            black_box(cedar.authorize(black_box(&prebuilt[i])));
        })),
        ("cedar-per-part (host splits the shell line)", Box::new(|i| {
            black_box(cedar.decide_per_part(black_box(&items[i])));
        })),
    ];
    println!("per decision, best of {rounds} rounds (median round):");
    let mut best = Vec::new();
    for (name, mut f) in variants {
        let (b, med) = time(rounds, n, &mut f);
        println!("  {name:<45} {:>9}  ({})", ns(b), ns(med));
        best.push(b);
    }
    println!(
        "\nmeshguard {}, cedar {}, ratio {:.0}×  (meshguard-built vs cedar: {:.0}×; \
         meshguard vs cedar is_authorized alone: {:.0}×)",
        ns(best[0]),
        ns(best[2]),
        best[2] / best[0],
        best[2] / best[1],
        best[3] / best[0],
    );
}
