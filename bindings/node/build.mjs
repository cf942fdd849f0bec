// Builds the napi-rs addon: `cargo build --release -p meshguard-node`, then copies the
// shared library next to index.cjs under napi-rs's name for this platform (stripped on
// Linux when `strip` is there: the release profile keeps line tables, 10 MB of them).
// No prebuilt binaries are downloaded. Run from anywhere: `node bindings/node/build.mjs`.

import { spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

const args = ['build', '--release', '--locked', '-p', 'meshguard-node', '--message-format=json-render-diagnostics'];
console.log(`$ cargo ${args.join(' ')}`);
const out = spawnSync('cargo', args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28 });
if (out.status !== 0) {
  console.error(`cargo build failed (${out.status ?? out.signal})`);
  process.exit(1);
}
const lib = out.stdout
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l))
  .filter((m) => m.reason === 'compiler-artifact' && m.target?.name === 'meshguard_node')
  .flatMap((m) => m.filenames)
  .find((f) => /\.(so|dylib|dll)$/.test(f));
if (!lib) {
  console.error('cargo built no meshguard_node library');
  process.exit(1);
}
const { platform, arch } = process;
const libc = platform === 'linux' ? (process.report.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl') : '';
const dest = join(here, `meshguard.${platform}-${arch}${libc}.node`);
const stripped = platform === 'linux' && spawnSync('strip', ['-o', dest, lib], { stdio: 'inherit' }).status === 0;
if (!stripped) copyFileSync(lib, dest);
console.log(`wrote ${dest}`);
