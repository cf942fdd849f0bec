// x86 instructions per call from JS, counted by valgrind (not a test): the wall clock of
// a shared 2-core VM varies 2× between runs, an instruction count does not. For each
// backend and operation, this runs the benchmark mix (bench/mix.mjs) twice under
// callgrind, for N and 3N calls, and prints the difference divided by 2N: the marginal
// cost of a call, without Node's start-up and the set's loading.
//
//   node bindings/npm/bench/instructions.mjs [N]     (default 100000; needs valgrind)
//
// Compare with the core's share: `decide_mix js` (core/examples/decide_mix.rs).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { REQUESTS, STEMS } from './mix.mjs';

const here = fileURLToPath(import.meta.url);
const root = join(dirname(here), '..', '..', '..');

if (process.argv[2] === '--child') {
  // The measured process: load the set, then `n` calls of one operation.
  const [, , , backend, op, count] = process.argv;
  const m = await import(`../js/${backend}.js`);
  const sources = STEMS.map((s) => ({ name: `${s}.yaml`, text: readFileSync(join(root, 'policies', `${s}.yaml`), 'utf8') }));
  const set = m.PolicySet.load(sources);
  const jsons = REQUESTS.map((r) => JSON.stringify(r));
  const k = REQUESTS.length;
  const n = Number(count);
  if (op === 'evaluate') for (let i = 0; i < n; i++) set.evaluate(REQUESTS[i % k]);
  else for (let i = 0; i < n; i++) set.evaluateJson(jsons[i % k]);
} else {
  const n = Number(process.argv[2] ?? 100_000);
  /** Instructions of one child run of `calls` calls. */
  const count = (backend, op, calls) => {
    const r = spawnSync(
      'valgrind',
      ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, here, '--child', backend, op, String(calls)],
      { encoding: 'utf8', timeout: 1_800_000 },
    );
    const refs = r.stderr?.match(/refs:\s+([\d,]+)/)?.[1];
    if (r.status !== 0 || !refs) throw new Error(`valgrind did not run (${r.error ?? r.status}): ${r.stderr?.slice(-500)}`);
    return Number(refs.replaceAll(',', ''));
  };
  console.log('| backend | operation | instructions a call |\n|---|---|---|');
  for (const backend of ['wasm', 'native']) {
    for (const op of ['evaluate', 'evaluateJson']) {
      const per = (count(backend, op, 3 * n) - count(backend, op, n)) / (2 * n);
      console.log(`| ${backend} | ${op} | ${Math.round(per).toLocaleString('en')} |`);
    }
  }
}
