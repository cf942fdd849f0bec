// The benchmark's workload and timing, runtime-neutral (Node, Deno, Bun): the eleven
// example policies, an 8-request mix covering every agent family, and the median of
// timed rounds (wall clock, `performance.now()`). bench.mjs runs it in Node on both
// backends and in Deno and Bun (runtime.mjs) and prints one table.

export const STEMS = [
  'autogpt', 'autogpt-production', 'claude-code-dev-assistant', 'claude-code-file', 'claude-code-shell',
  'claude-code-web', 'clawdbot-calendar', 'clawdbot-email', 'clawdbot-file', 'clawdbot-messaging', 'clawdbot-web',
];

// A realistic mix: every agent family, allows and denies, canonicalised resources. The
// same eight requests are the core's `js` mix (core/benches/mixes/mod.rs), so the core's
// share of a JS decision can be counted in instructions: keep the two equal.
export const REQUESTS = [
  { action: 'write:email', resource: 'bob@yourcompany.com', agent: { id: 'c1', tags: ['clawdbot'], trustTier: 'verified' } },
  { action: 'write:email', resource: 'Eve@Elsewhere.ORG', agent: { id: 'c1', tags: ['clawdbot'], trustTier: 'verified' } },
  { action: 'browse:web', resource: 'HTTPS://Evil.ONION/x', agent: { id: 'c2', tags: ['clawdbot'] } },
  { action: 'read:file', resource: './src/main.rs', agent: { id: 'cc', tags: ['claude-code'] } },
  { action: 'read:file', resource: './src/../.env', agent: { id: 'cc', tags: ['claude-code'] } },
  { action: 'execute:shell', resource: 'git status && rm -rf /', agent: { id: 'cc', tags: ['claude-code'] } },
  { action: 'execute:shell', resource: 'cargo test', agent: { id: 'cc', tags: ['claude-code', 'dev-agent'] } },
  { action: 'send:message', resource: 'slack', context: { channel: 'slack' }, agent: { id: 'a1', tags: ['autogpt'], trustTier: 'trusted' } },
];

/** `[median, best]` ns per call over rounds of `n` calls of `op(i)` (after one warm-up
 * round). The best round is reported beside the median because this machine class's
 * speed drifts by up to 1.7× within minutes: the median says what a loaded minute costs,
 * the best round what the code costs. */
export function measure(op, n, rounds) {
  for (let i = 0; i < n; i++) op(i);
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) op(i);
    times.push(((performance.now() - t) * 1e6) / n);
  }
  times.sort((a, b) => a - b);
  return [times[Math.floor(times.length / 2)], times[0]];
}

/** `[operation, median ns, best ns]` rows (per decision) for one loaded entry point `m`. */
export function run(m, sources, quick) {
  const set = m.PolicySet.load(sources);
  const k = REQUESTS.length;
  const jsons = REQUESTS.map((r) => JSON.stringify(r));
  const n = quick ? 20_000 : 100_000;
  const rounds = quick ? 5 : 15;
  const batch = Array.from({ length: 100 }, (_, i) => REQUESTS[i % k]);
  const limiter = new m.RateLimiter();
  const now = Date.now();
  // Steady state first: engines compile wasm with a baseline tier and optimise hot
  // functions in the background, so whichever operation were timed first would pay for
  // code the later ones get optimised (it showed as `evaluate` slower than the batch of
  // the same decisions).
  for (let i = 0; i < 3 * n; i++) {
    set.evaluate(REQUESTS[i % k]);
    set.evaluateJson(jsons[i % k]);
  }
  const rows = [
    ['evaluate (object in, object out)', measure((i) => set.evaluate(REQUESTS[i % k]), n, rounds)],
    ['evaluateJson (JSON text in and out)', measure((i) => set.evaluateJson(jsons[i % k]), n, rounds)],
    ['evaluateBatch of 100, per decision', measure(() => set.evaluateBatch(batch), n / 100, rounds).map((ns) => ns / 100)],
    ['evaluate with a RateLimiter', measure((i) => set.evaluate(REQUESTS[i % k], { limiter, now: now + i }), n, rounds)],
    ['explain', measure((i) => set.explain(REQUESTS[i % k]), n / 10, rounds)],
    ['PolicySet.load (11 policies)', measure(() => m.PolicySet.load(sources), quick ? 50 : 200, rounds)],
  ];
  return rows.map(([op, [median, best]]) => [op, median, best]);
}
