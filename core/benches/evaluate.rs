//! How long a decision and a compile take.
//!
//! - `decide/example-set`: the eleven seed policies, a fixed mix of eight requests cycling
//!   (one request per iteration, `decide(&req, false)`).
//! - `decide/generated-1000`, `decide/generated-10000`: N generated tenant policies (each
//!   selected by its own `tenant-{i}` tag, 5–10 rules over varied verbs with resource and
//!   context conditions) plus the eleven seeds; the agent carries one tenant tag and
//!   `clawdbot`.
//! - `decide/claude-code-mix`: the Claude Code dev-assistant policy alone deciding the
//!   sixteen requests of `benches/data/claude-code-mix.json` (shell lines with parts,
//!   files, URLs, a search) — the mix `bench/cedar-compare` gives Cedar too.
//! - `decide/explain`: the example set with `explain = true`, for information.
//! - `compile/example-set`, `compile/generated-1000`: `PolicySet::compile`.
//!
//! Targets (release build, one core): `decide/example-set` ≤ 200 ns median per decision;
//! `decide/generated-10000` ≤ 3 × `decide/example-set` (the tag and verb indexes must keep
//! the cost independent of how many other tenants' policies the set holds).
//!
//! Run: `cargo xtask bench` (prints a table of medians) or
//! `cargo bench -p meshguard-core --bench evaluate -- [criterion args]`.

// Benchmarks: fixtures are built before timing; a broken fixture should abort loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mixes;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use meshguard_core::{PolicySet, Request, Source};
use mixes::{agent, claude_code_mix, compile, example_requests, seed_files};

/// A small deterministic generator (Knuth's MMIX LCG); no `rand` needed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// One tenant's policy: selected by `tenant-{i}`, 5–10 rules over the common verbs and a
/// few of the tenant's own, with conditions like the seeds'.
fn tenant_policy(i: usize, rng: &mut Lcg) -> String {
    const VERBS: &[&str] = &["read", "write", "execute", "send", "browse", "delete"];
    const OBJECTS: &[&str] = &[
        "file", "email", "shell", "message", "web", "calendar", "url", "python",
    ];
    const EFFECTS: &[&str] = &["allow", "allow", "deny", "require_approval"];
    let mut s = format!(
        "name: tenant-{i}-policy\nversion: \"1.0\"\nappliesTo:\n  tags: [tenant-{i}]\nrules:\n"
    );
    let rules = 5 + rng.below(6);
    for r in 0..rules {
        let verb = if rng.below(4) == 0 {
            format!("t{i}op{}", rng.below(3))
        } else {
            rng.pick(VERBS).to_owned()
        };
        let object = rng.pick(OBJECTS);
        let action = if rng.below(8) == 0 {
            format!("{verb}:*")
        } else {
            format!("{verb}:{object}")
        };
        let effect = rng.pick(EFFECTS);
        s.push_str(&format!(
            "  - name: r{r}\n    effect: {effect}\n    actions: [\"{action}\"]\n"
        ));
        let condition = match rng.below(7) {
            0 => format!("      resource:\n        matches: \"/tenant-{i}/*\"\n"),
            1 => {
                "      resource:\n        startsWith: [\"git \", \"npm \", \"cargo \"]\n".to_owned()
            }
            2 => "      resource:\n        contains: [\"rm -rf\", \"sudo \"]\n".to_owned(),
            3 => format!(
                "      resource:\n        matches: [\"*@tenant-{i}.example\", \"*.onion*\"]\n"
            ),
            4 => "      context:\n        channel:\n          in: [slack, telegram]\n".to_owned(),
            5 => "      context:\n        ticket.sensitivity:\n          lte: 3\n".to_owned(),
            _ => String::new(),
        };
        if !condition.is_empty() {
            s.push_str("    conditions:\n");
            s.push_str(&condition);
        }
        if effect == "deny" && rng.below(2) == 0 {
            s.push_str(&format!("    reason: \"tenant {i} forbids {action}\"\n"));
        }
    }
    s.push_str(if rng.below(3) == 0 {
        "defaultEffect: allow\n"
    } else {
        "defaultEffect: deny\n"
    });
    if rng.below(4) == 0 {
        s.push_str("rateLimits:\n  requestsPerMinute: 60\n");
    }
    s
}

/// `n` tenant policies followed by the eleven seeds.
fn generated_files(n: usize) -> Vec<(String, String)> {
    let mut rng = Lcg(0x4d65_7368_4775_6172);
    let mut files: Vec<(String, String)> = (0..n)
        .map(|i| (format!("tenant-{i:05}.yaml"), tenant_policy(i, &mut rng)))
        .collect();
    files.extend(seed_files());
    files
}

/// The example mix, from agents tagged with one tenant tag (spread over the set) and
/// `clawdbot`.
fn tenant_requests(n: usize) -> Vec<Request> {
    example_requests()
        .into_iter()
        .enumerate()
        .map(|(k, mut r)| {
            let tenant = format!("tenant-{}", (k * 7_919 + n / 2) % n);
            r.agent = agent(&[&tenant, "clawdbot"]);
            r
        })
        .collect()
}

/// Times one decision per iteration, cycling through `requests`.
fn bench_decide(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: BenchmarkId,
    set: &PolicySet,
    requests: &[Request],
    explain: bool,
) {
    group.bench_function(id, |b| {
        let mut i = 0usize;
        b.iter(|| {
            let req = &requests[i % requests.len()];
            i = i.wrapping_add(1);
            black_box(set.decide(black_box(req), explain))
        });
    });
}

fn decide(c: &mut Criterion) {
    let seeds = seed_files();
    let example = compile(&seeds);
    let requests = example_requests();
    // Sanity: the mix decides as the seeds intend, so the benchmark measures real paths.
    let effects: Vec<String> = requests
        .iter()
        .map(|r| example.decide(r, false).effect.as_str().to_owned())
        .collect();
    assert_eq!(
        effects,
        [
            "allow", "deny", "allow", "allow", "deny", "allow", "deny", "allow"
        ],
        "example mix"
    );

    let mut group = c.benchmark_group("decide");
    bench_decide(
        &mut group,
        BenchmarkId::from_parameter("example-set"),
        &example,
        &requests,
        false,
    );
    for n in [1_000usize, 10_000] {
        let set = compile(&generated_files(n));
        assert_eq!(set.len(), n + 11);
        bench_decide(
            &mut group,
            BenchmarkId::from_parameter(format!("generated-{n}")),
            &set,
            &tenant_requests(n),
            false,
        );
    }
    let (dev_set, dev_requests) = claude_code_mix();
    bench_decide(
        &mut group,
        BenchmarkId::from_parameter("claude-code-mix"),
        &dev_set,
        &dev_requests,
        false,
    );
    bench_decide(
        &mut group,
        BenchmarkId::from_parameter("explain"),
        &example,
        &requests,
        true,
    );
    group.finish();
}

fn compile_sets(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    let seeds = seed_files();
    group.bench_function(BenchmarkId::from_parameter("example-set"), |b| {
        b.iter(|| black_box(compile(black_box(&seeds))));
    });
    let generated = generated_files(1_000);
    group.sample_size(10);
    group.bench_function(BenchmarkId::from_parameter("generated-1000"), |b| {
        b.iter(|| black_box(compile(black_box(&generated))));
    });
    group.finish();

    // The analysis the gateway runs on every load: near linear in the set (policies are
    // only compared with those sharing their audience; 2,000 tenant policies took 46 s
    // when every rule was compared with every other).
    let mut group = c.benchmark_group("lint");
    group.sample_size(10);
    for (id, files) in [("example-set", &seeds), ("generated-1000", &generated)] {
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| {
                let sources = files.iter().map(|(n, t)| Source::new(n, t));
                black_box(meshguard_core::lint(sources).map(|f| f.len()))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, decide, compile_sets, substrings, wild_globs);
criterion_main!(benches);

// --- Bounded work of the any-of searches (`substrings/`, `glob/`) ---
//
// - `substrings/contains-60000/1MiB`: a `contains` list of 60,000 random fragments (8–15
//   bytes of `[a-z0-9]`) against 1 MiB of random words that holds none of them: the whole
//   resource is read. A first-byte table compares ~1,700 candidates a position here.
// - `substrings/contains-a10000b/1MiB`: one fragment of 10,000 `a`s then `b` against 1 MiB
//   of `a`s: a position-by-position comparison reads 10,000 bytes a position.
// - `substrings/contains-10/1MiB`: the seeds' ten shell fragments against a 1 MiB command.
// - `substrings/contains-10/short` and `substrings/infix-8/short`: the common case, the
//   seeds' shell fragments and URL infixes (`*github.com*`) against the bench requests'
//   resources (10 to 40 bytes), cycling.
// - `glob/wild-*a*a*a*a*b/1MiB`, `glob/wild-*a1000?b*/1MiB`: the general glob matcher
//   against 1 MiB of `a`s (many stars; one long segment with a `?`).

/// The seeds' shell fragments (`contains`) and web infixes (`matches: "*...*"`).
const SHELL_FRAGMENTS: &[&str] = &[
    "rm -rf",
    "sudo ",
    "chmod 777",
    "npm publish",
    "> /dev/",
    "curl ",
    "wget ",
    "nc ",
    "ssh ",
    "scp ",
];
const URL_INFIXES: &[&str] = &[
    "*docs.*",
    "*github.com*",
    "*stackoverflow.com*",
    "*npmjs.com*",
    "*pypi.org*",
    "*twitter.com*",
    "*facebook.com*",
    "*reddit.com*",
];

fn substrings(c: &mut Criterion) {
    use criterion::SamplingMode;
    use meshguard_core::glob::{Glob, GlobSet};
    use meshguard_core::substrings::Substrings;

    let mut rng = Lcg(0x5375_6273_7472_696e);
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let big: Vec<String> = (0..60_000)
        .map(|_| {
            let len = 8 + rng.below(8);
            (0..len)
                .map(|_| char::from(ALNUM[rng.below(ALNUM.len())]))
                .collect()
        })
        .collect();
    let mut words = String::with_capacity(1 << 20);
    while words.len() < 1 << 20 {
        let len = 2 + rng.below(7);
        words.extend((0..len).map(|_| char::from(b'a' + rng.below(26) as u8)));
        words.push(' ');
    }
    let big = Substrings::new(big);
    assert!(!big.any_in(&words), "the random text holds no fragment");

    let a_run = "a".repeat(1 << 20);
    let a10000b = Substrings::new(vec![format!("{}b", "a".repeat(10_000))]);
    assert!(!a10000b.any_in(&a_run));

    let shell = Substrings::new(SHELL_FRAGMENTS.iter().map(|s| (*s).to_owned()).collect());
    let long_command = "git status && cargo build --release; ".repeat((1 << 20) / 38);
    assert!(!shell.any_in(&long_command));
    let commands = [
        "git status",
        "git status && rm -rf /",
        "cargo test --workspace --all-features",
        "ls -la /workspace/src",
    ];
    let urls = GlobSet::new(URL_INFIXES.iter().map(|p| Glob::new(p).unwrap()).collect());
    let addresses = [
        "https://docs.rs/x",
        "https://evil.example/some/path?q=1",
        "https://github.com/rust-lang/rust",
        "evil.onion",
    ];

    let mut group = c.benchmark_group("substrings");
    group.bench_function(BenchmarkId::from_parameter("contains-10/short"), |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = i.wrapping_add(1);
            black_box(shell.any_in(black_box(commands[i % commands.len()])))
        });
    });
    group.bench_function(BenchmarkId::from_parameter("infix-8/short"), |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = i.wrapping_add(1);
            black_box(urls.matches(black_box(addresses[i % addresses.len()])))
        });
    });
    // One pass over 1 MiB is milliseconds, a quadratic one seconds: ten flat samples.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(BenchmarkId::from_parameter("contains-10/1MiB"), |b| {
        b.iter(|| black_box(shell.any_in(black_box(&long_command))));
    });
    group.bench_function(BenchmarkId::from_parameter("contains-a10000b/1MiB"), |b| {
        b.iter(|| black_box(a10000b.any_in(black_box(&a_run))));
    });
    group.bench_function(BenchmarkId::from_parameter("contains-60000/1MiB"), |b| {
        b.iter(|| black_box(big.any_in(black_box(&words))));
    });
    group.finish();
}

fn wild_globs(c: &mut Criterion) {
    use criterion::SamplingMode;
    use meshguard_core::glob::Glob;

    let a_run = "a".repeat(1 << 20);
    let mut group = c.benchmark_group("glob");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    for pattern in ["*a*a*a*a*b", &format!("*{}?b*", "a".repeat(1_000))] {
        let glob = Glob::new(pattern).unwrap();
        assert!(!glob.matches(&a_run));
        let name = if pattern.len() > 20 {
            "*a1000?b*"
        } else {
            pattern
        };
        group.bench_function(
            BenchmarkId::from_parameter(format!("wild-{name}/1MiB")),
            |b| {
                b.iter(|| black_box(glob.matches(black_box(&a_run))));
            },
        );
    }
    group.finish();
}
