// Benchmarks of @meshguard/policy (not tests): per-decision latency from JS with a
// pre-loaded set of the eleven example policies, on both backends; the .wasm size raw
// and gzipped; the package size (`npm pack --dry-run`).
//
//   node bindings/npm/bench/bench.mjs [--quick]
//
// Targets (issue 4): wasm ≤ 2 µs and napi ≤ 1 µs per decision; .wasm ≤ 400 KB gzipped.

import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(pkg, '..', '..');
const quick = process.argv.includes('--quick');

const stems = [
  'autogpt', 'autogpt-production', 'claude-code-dev-assistant', 'claude-code-file', 'claude-code-shell',
  'claude-code-web', 'clawdbot-calendar', 'clawdbot-email', 'clawdbot-file', 'clawdbot-messaging', 'clawdbot-web',
];
const sources = stems.map((s) => ({ name: `${s}.yaml`, text: readFileSync(join(root, 'policies', `${s}.yaml`), 'utf8') }));

// A realistic mix: every agent family, allows and denies, canonicalised resources.
const requests = [
  { action: 'write:email', resource: 'bob@yourcompany.com', agent: { id: 'c1', tags: ['clawdbot'], trustTier: 'verified' } },
  { action: 'write:email', resource: 'Eve@Elsewhere.ORG', agent: { id: 'c1', tags: ['clawdbot'], trustTier: 'verified' } },
  { action: 'browse:web', resource: 'HTTPS://Evil.ONION/x', agent: { id: 'c2', tags: ['clawdbot'] } },
  { action: 'read:file', resource: './src/main.rs', agent: { id: 'cc', tags: ['claude-code'] } },
  { action: 'read:file', resource: './src/../.env', agent: { id: 'cc', tags: ['claude-code'] } },
  { action: 'execute:shell', resource: 'git status && rm -rf /', agent: { id: 'cc', tags: ['claude-code'] } },
  { action: 'execute:shell', resource: 'cargo test', agent: { id: 'cc', tags: ['claude-code', 'dev-agent'] } },
  { action: 'send:message', resource: 'slack', context: { channel: 'slack' }, agent: { id: 'a1', tags: ['autogpt'], trustTier: 'trusted' } },
];
const jsons = requests.map((r) => JSON.stringify(r));

/** Median ns per operation over rounds of `n` calls of `op(i)`: wall-clock time, and the
 * CPU time this process used (user + system), which stays meaningful when other jobs
 * share the cores. */
function measure(op, n) {
  for (let i = 0; i < n; i++) op(i); // warm-up
  const rounds = quick ? 5 : 15;
  const wall = [];
  const cpu = [];
  for (let r = 0; r < rounds; r++) {
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) op(i);
    wall.push(Number(process.hrtime.bigint() - t) / n);
    const used = process.cpuUsage(c);
    cpu.push(((used.user + used.system) * 1000) / n);
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return [median(wall), median(cpu)];
}

const one = (ns) => (ns < 1000 ? `${ns.toFixed(0)} ns` : `${(ns / 1000).toFixed(2)} µs`);
const fmt = ([wall, cpu]) => `${one(wall)} | ${one(cpu)}`;
const kb = (b) => `${(b / 1024).toFixed(1)} KB`;
const rows = [];

for (const which of ['wasm', 'native']) {
  let m;
  try {
    m = await import(`../js/${which}.js`);
  } catch (e) {
    console.error(`${which}: not available (${e.message})`);
    continue;
  }
  const set = m.PolicySet.load(sources);
  const k = requests.length;
  const n = quick ? 20_000 : 100_000;
  rows.push([which, 'evaluate (object in, object out)', fmt(measure((i) => set.evaluate(requests[i % k]), n))]);
  rows.push([which, 'evaluateJson (JSON text in and out)', fmt(measure((i) => set.evaluateJson(jsons[i % k]), n))]);
  const batch = Array.from({ length: 100 }, (_, i) => requests[i % k]);
  rows.push([which, 'evaluateBatch of 100, per decision', fmt(measure(() => set.evaluateBatch(batch), n / 100).map((t) => t / 100))]);
  const limiter = new m.RateLimiter();
  const now = Date.now();
  rows.push([which, 'evaluate with a RateLimiter', fmt(measure((i) => set.evaluate(requests[i % k], { limiter, now: now + i }), n))]);
  rows.push([which, 'explain', fmt(measure((i) => set.explain(requests[i % k]), n / 10))]);
  rows.push([which, 'PolicySet.load (11 policies)', fmt(measure(() => m.PolicySet.load(sources), quick ? 50 : 200))]);
}

console.log(`\nper decision, median (Node ${process.version}, ${requests.length}-request mix, 11 example policies)\n`);
console.log('| backend | operation | wall | CPU |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

console.log('\nsizes\n');
console.log('| artifact | raw | gzipped |\n|---|---|---|');
{
  // One module, shared by the nodejs, web and bundler glues.
  const f = join(pkg, 'pkg', 'web', 'meshguard_wasm_bg.wasm');
  const bytes = readFileSync(f);
  console.log(`| meshguard_wasm_bg.wasm (wasm-opt -Oz) | ${kb(bytes.length)} | ${kb(gzipSync(bytes, { level: 9 }).length)} |`);
}
try {
  const native = spawnSync(process.execPath, ['-p', "require.resolve('@meshguard/policy-native/package.json')"], { cwd: pkg, encoding: 'utf8' });
  const dir = dirname(native.stdout.trim());
  const { platform, arch } = process;
  const libc = platform === 'linux' ? (process.report.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl') : '';
  const node = join(dir, `meshguard.${platform}-${arch}${libc}.node`);
  console.log(`| ${node.slice(root.length + 1)} | ${kb(statSync(node).size)} | ${kb(gzipSync(readFileSync(node), { level: 9 }).length)} |`);
} catch {
  console.log('| native addon | not built | |');
}
const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkg, encoding: 'utf8', timeout: 120_000 });
try {
  const [p] = JSON.parse(pack.stdout);
  console.log(`| npm pack ${p.filename} (${p.entryCount} files) | ${kb(p.unpackedSize)} | ${kb(p.size)} (tarball) |`);
} catch {
  console.log(`| npm pack | failed: ${pack.stderr.trim().split('\n').pop()} | |`);
}
