// Benchmarks of @meshguard/policy (not tests): per-decision latency from JS with a
// pre-loaded set of the eleven example policies (the workload is bench/mix.mjs), in Node
// on both backends and in Deno and Bun (bench/runtime.mjs, the package's
// devDependencies); the .wasm size raw and gzipped; the package size (`npm pack
// --dry-run`).
//
//   node bindings/npm/bench/bench.mjs [--quick]
//
// Targets (issue 11): `evaluate` with an object ≤ 1.5 µs (wasm) and ≤ 1.0 µs (native);
// .wasm ≤ 400 KB gzipped.

import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { REQUESTS, STEMS, run } from './mix.mjs';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(pkg, '..', '..');
const quick = process.argv.includes('--quick');

const sources = STEMS.map((s) => ({ name: `${s}.yaml`, text: readFileSync(join(root, 'policies', `${s}.yaml`), 'utf8') }));
const one = (ns) => (ns < 1000 ? `${ns.toFixed(0)} ns` : `${(ns / 1000).toFixed(2)} µs`);
const kb = (b) => `${(b / 1024).toFixed(1)} KB`;
const table = []; // [runtime, backend, operation, median ns, best ns]

for (const which of ['wasm', 'native']) {
  let m;
  try {
    m = await import(`../js/${which}.js`);
  } catch (e) {
    console.error(`${which}: not available (${e.message})`);
    continue;
  }
  for (const row of run(m, sources, quick)) table.push([`Node ${process.version}`, which, ...row]);
}
// Deno and Bun (this package's devDependencies), each in its own process.
for (const [name, args] of [
  ['deno', ['run', '--allow-read', join(pkg, 'bench', 'runtime.mjs')]],
  ['bun', [join(pkg, 'bench', 'runtime.mjs')]],
]) {
  const bin = join(pkg, 'node_modules', '.bin', name);
  const r = spawnSync(bin, [...args, ...(quick ? ['--quick'] : [])], {
    cwd: pkg,
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: '1' },
  });
  try {
    const { runtime, backend, rows } = JSON.parse(r.stdout.trim().split('\n').pop());
    for (const row of rows) table.push([runtime, backend, ...row]);
  } catch {
    console.error(`${name}: did not run (${r.error ?? r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  }
}

console.log(`\nper decision, wall time over rounds: median and best (${REQUESTS.length}-request mix, 11 example policies)\n`);
console.log('| runtime | backend | operation | median | best round |\n|---|---|---|---|---|');
for (const [runtime, backend, op, median, best] of table) {
  console.log(`| ${runtime} | ${backend} | ${op} | ${one(median)} | ${one(best)} |`);
}

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
