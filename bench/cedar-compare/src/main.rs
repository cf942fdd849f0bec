//! The summary: how each engine decides the mix, then the time per decision of every
//! variant (see the crate docs) and the ratios.
//!
//! A plain timed loop, robust on a busy machine where criterion's estimates wander. A
//! round of a variant is as many whole passes over the sixteen requests as last ≥ 1 ms
//! (short, so that on a loaded machine some rounds run between preemptions). The variants
//! take turns, one round each, `--rounds` times (default 200), so a change of load hits
//! them all alike. Reported per decision: the best round (the least disturbed) and the
//! median round; ratios are best over best, and in brackets the median over the rounds of
//! the ratio of two rounds run back to back. `cargo bench` gives criterion's view of the
//! same calls.
//!
//! Run: `cargo run --release [-- --rounds N] [--per-request]` (`--per-request`: the best
//! round of each request alone, MeshGuard and split-free Cedar, to see where time goes).

use std::hint::black_box;
use std::time::{Duration, Instant};

use meshguard_cedar_compare::{
    Cedar, Item, meshguard_allows, meshguard_request, meshguard_set, mix,
};
use meshguard_core::{PolicySet, Request};

/// Something to time: `f(i)` decides request `i` of the mix.
struct Variant<'a> {
    name: &'static str,
    f: Box<dyn FnMut(usize) + 'a>,
    /// Calls per round.
    iters: usize,
    /// Nanoseconds per call, one entry per round.
    rounds: Vec<f64>,
}

impl<'a> Variant<'a> {
    fn new(name: &'static str, f: impl FnMut(usize) + 'a) -> Self {
        Variant {
            name,
            f: Box::new(f),
            iters: 1,
            rounds: Vec::new(),
        }
    }

    /// Nanoseconds per call over one round of `iters` calls cycling through `0..n`.
    fn round(&mut self, n: usize) -> f64 {
        let start = Instant::now();
        for i in 0..self.iters {
            (self.f)(i % n);
        }
        start.elapsed().as_nanos() as f64 / self.iters as f64
    }

    /// Whole passes over the mix, doubled until one round lasts 1 ms.
    fn calibrate(&mut self, n: usize) {
        self.iters = n;
        while self.round(n) * (self.iters as f64) < Duration::from_millis(1).as_nanos() as f64 {
            self.iters *= 2;
        }
    }

    fn best(&self) -> f64 {
        self.rounds.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(200)
        .max(1);

    let items = mix();
    let n = items.len();
    let set = meshguard_set();
    let requests: Vec<_> = items.iter().map(meshguard_request).collect();
    let cedar = Cedar::default();
    let prebuilt: Vec<_> = items.iter().map(|i| cedar.prebuild(i)).collect();

    let word = |allowed: bool| if allowed { "allow" } else { "deny" };
    println!(
        "{:<58} {:>9} {:>9} {:>9}",
        "request", "meshguard", "cedar", "per-part"
    );
    let mut differ = 0;
    for (item, req) in items.iter().zip(&requests) {
        let m = meshguard_allows(&set, req);
        let (c, p) = (cedar.decide(item), cedar.decide_per_part(item));
        differ += usize::from(m != c);
        let mark = if m != c || m != p { "  ≠" } else { "" };
        let text: String = format!("{} {}", item.action, item.resource)
            .chars()
            .take(58)
            .collect();
        println!(
            "{text:<58} {:>9} {:>9} {:>9}{mark}",
            word(m),
            word(c),
            word(p)
        );
    }
    println!("({differ} of {n} decisions differ between meshguard and split-free cedar)\n");

    if args.iter().any(|a| a == "--per-request") {
        per_request(rounds, &items, &requests, &set, &cedar);
        return;
    }

    let mut variants = [
        Variant::new("meshguard (prebuilt request)", |i| {
            black_box(set.decide(black_box(&requests[i]), false));
        }),
        Variant::new("meshguard-built (request built per call)", |i| {
            black_box(set.decide(&meshguard_request(black_box(&items[i])), false));
        }),
        Variant::new("cedar (entities + request built per call)", |i| {
            black_box(cedar.decide(black_box(&items[i])));
        }),
        Variant::new("cedar-prebuilt (is_authorized alone)", |i| {
            black_box(cedar.authorize(black_box(&prebuilt[i])));
        }),
        Variant::new("cedar-per-part (host splits the shell line)", |i| {
            black_box(cedar.decide_per_part(black_box(&items[i])));
        }),
    ];
    for v in &mut variants {
        v.calibrate(n);
    }
    for _ in 0..rounds {
        for v in &mut variants {
            let t = v.round(n);
            v.rounds.push(t);
        }
    }

    println!("per decision, best of {rounds} interleaved rounds (median round):");
    for v in &variants {
        println!(
            "  {:<45} {:>9}  ({})",
            v.name,
            ns(v.best()),
            ns(median(v.rounds.clone()))
        );
    }
    // Best over best, and the median of the per-round ratios.
    let ratio = |a: &Variant, b: &Variant| {
        let paired = a.rounds.iter().zip(&b.rounds).map(|(x, y)| x / y).collect();
        format!("{:.0}× ({:.0}×)", a.best() / b.best(), median(paired))
    };
    let [mg, mg_built, cedar_built, cedar_pre, _] = &variants;
    println!(
        "\nmeshguard {}, cedar {}, ratio {}\n  meshguard vs cedar is_authorized alone: {}\n  \
         meshguard-built vs cedar: {}",
        ns(mg.best()),
        ns(cedar_built.best()),
        ratio(cedar_built, mg),
        ratio(cedar_pre, mg),
        ratio(cedar_built, mg_built),
    );
}

/// Each request alone: best round of MeshGuard (prebuilt request) and of Cedar (built
/// per call), interleaved as in `main`.
fn per_request(
    rounds: usize,
    items: &[Item],
    requests: &[Request],
    set: &PolicySet,
    cedar: &Cedar,
) {
    println!("per request, best of {rounds} interleaved rounds:");
    for (item, req) in items.iter().zip(requests) {
        let mut pair = [
            Variant::new("", |_| {
                black_box(set.decide(black_box(req), false));
            }),
            Variant::new("", |_| {
                black_box(cedar.decide(black_box(item)));
            }),
        ];
        for v in &mut pair {
            v.calibrate(1);
        }
        for _ in 0..rounds {
            for v in &mut pair {
                let t = v.round(1);
                v.rounds.push(t);
            }
        }
        let text: String = format!("{} {}", item.action, item.resource)
            .chars()
            .take(58)
            .collect();
        println!(
            "  {text:<58} {:>9} {:>9}",
            ns(pair[0].best()),
            ns(pair[1].best())
        );
    }
}
