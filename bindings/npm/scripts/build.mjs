// Builds the wasm side of @meshguard/policy, offline, from the project's own files:
//
// 1. `cargo build --profile wasm --target wasm32-unknown-unknown -p meshguard-wasm`;
// 2. the glue for the `nodejs`, `web` and `bundler` targets into pkg/<target>/ by
//    `cargo xtask wasm-bindgen`: the wasm-bindgen CLI's library, pinned in Cargo.toml to
//    exactly the `wasm-bindgen` crate's version (no wasm-pack, no CLI to install);
// 3. `wasm-opt -Oz` from the npm `binaryen` package (never Debian's: see TOOLCHAIN.md),
//    on the one module all three glues share.
//
// Run: `npm run build:wasm` (after `npm ci`) in bindings/npm.

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(pkgDir, '..', '..');
const TARGETS = ['nodejs', 'web', 'bundler'];

function run(cmd, args, opts = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed (${r.error?.message ?? r.status ?? r.signal})`);
  }
  return r;
}

function output(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

// 1. The module, with the workspace's size-first profile.
output('rustup', ['target', 'add', 'wasm32-unknown-unknown']);
const build = run(
  'cargo',
  [
    'build',
    '--locked',
    '--profile',
    'wasm',
    '--target',
    'wasm32-unknown-unknown',
    '-p',
    'meshguard-wasm',
    // The gateway's build script builds this very module (for the console's playground)
    // in target/component with the same profile: one shared directory builds it once.
    '--target-dir',
    join(root, 'target', 'component'),
    '--message-format=json-render-diagnostics',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28 },
);
const wasm = build.stdout
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l))
  .filter((m) => m.reason === 'compiler-artifact' && m.target?.name === 'meshguard_wasm')
  .flatMap((m) => m.filenames)
  .find((f) => f.endsWith('.wasm'));
if (!wasm) throw new Error('cargo built no meshguard_wasm.wasm');
console.log(`built ${wasm} (${statSync(wasm).size} bytes)`);

// 2. Glue per target.
for (const target of TARGETS) rmSync(join(pkgDir, 'pkg', target), { recursive: true, force: true });
run('cargo', ['xtask', 'wasm-bindgen', wasm, join(pkgDir, 'pkg')]);
// The nodejs glue is CommonJS inside a "type": "module" package.
writeFileSync(join(pkgDir, 'pkg', 'nodejs', 'package.json'), '{ "type": "commonjs" }\n');

// 3. The optimiser. wasm-bindgen writes the same module for every target: optimise it
// once. The nodejs glue reads pkg/web's copy (the one the package also exports as
// `./meshguard.wasm`); the bundler glue keeps its own, because a bundler resolves the
// module's imports (`./meshguard_wasm_bg.js`) next to it.
const wasmOpt = join(pkgDir, 'node_modules', '.bin', process.platform === 'win32' ? 'wasm-opt.cmd' : 'wasm-opt');
if (!existsSync(wasmOpt)) throw new Error('wasm-opt is missing: run `npm ci` in bindings/npm first');
const moduleOf = (target) => join(pkgDir, 'pkg', target, 'meshguard_wasm_bg.wasm');
const web = readFileSync(moduleOf('web'));
const shared = TARGETS.every((t) => readFileSync(moduleOf(t)).equals(web));
for (const target of shared ? ['web'] : TARGETS) {
  run(wasmOpt, [process.env.MESHGUARD_WASM_OPT ?? '-Oz', '--strip-debug', '--strip-producers', moduleOf(target), '-o', moduleOf(target)]);
  console.log(`pkg/${target}/meshguard_wasm_bg.wasm: ${statSync(moduleOf(target)).size} bytes`);
}
if (shared) {
  copyFileSync(moduleOf('web'), moduleOf('bundler'));
  const glue = join(pkgDir, 'pkg', 'nodejs', 'meshguard_wasm.js');
  const [from, to] = ['`${__dirname}/meshguard_wasm_bg.wasm`', '`${__dirname}/../web/meshguard_wasm_bg.wasm`'];
  const text = readFileSync(glue, 'utf8');
  if (text.split(from).length !== 2) throw new Error(`pkg/nodejs: expected one reference ${from} in the glue`);
  writeFileSync(glue, text.replace(from, to));
  rmSync(moduleOf('nodejs'));
}
