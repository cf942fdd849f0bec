// Where a JS decision's time goes (not a test): the pieces of `evaluate` and of the JSON
// path timed apart, on both Node backends, over bench/mix.mjs's workload. Times are the
// process's CPU time per call, the best of several rounds, which a loaded machine
// disturbs less than wall time; compare rows of one run, not runs.
//
//   node bindings/npm/bench/split.mjs

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadBackend } from '../js/node-backend.js';
import { REQUESTS, STEMS } from './mix.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sources = STEMS.map((s) => ({ name: `${s}.yaml`, text: readFileSync(join(root, 'policies', `${s}.yaml`), 'utf8') }));
const k = REQUESTS.length;
const jsons = REQUESTS.map((r) => JSON.stringify(r));

/** Best CPU ns per call of `op(i)` over rounds of `n` calls. */
function cpu(op, n = 20_000, rounds = 9) {
  for (let i = 0; i < n; i++) op(i);
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) op(i);
    const d = process.cpuUsage(t);
    best = Math.min(best, ((d.user + d.system) * 1000) / n);
  }
  return best;
}

console.log('| backend | piece | CPU time per call |\n|---|---|---|');
for (const which of ['wasm', 'native']) {
  let raw, backend, m;
  try {
    backend = loadBackend(which);
    m = await import(`../js/${which}.js`);
    raw = backend.PolicySet.compile(sources.map((s) => s.name), sources.map((s) => s.text), 'deny');
  } catch (e) {
    console.error(`${which}: not available (${e.message})`);
    continue;
  }
  const set = m.PolicySet.load(sources);
  const outs = jsons.map((j) => raw.decide(j, false));
  // The raw exchange call on the bytes `evaluate` writes (see js/compact.js), each agent
  // in its slot: one buffer per request, its header restored before each call (the
  // record overwrites it).
  const textAt = 4 * backend.recordLen();
  const native = typeof raw.exchangePtr !== 'function';
  const decider = native ? raw.decider() : null;
  const buffer = native ? new ArrayBuffer(backend.exchangeLen()) : null;
  const view = () => (native ? new Uint8Array(buffer) : new Uint8Array(backend.wasmMemory().buffer, raw.exchangePtr(), backend.exchangeLen()));
  const encoder = new TextEncoder();
  const exchanges = REQUESTS.map((r, i) => {
    const a = r.agent;
    raw.setAgent(i, a.id, a.name, a.trustTier, a.tags ?? [], a.orgId);
    const texts = [r.action, r.resource, r.context && JSON.stringify(r.context), r.time];
    const bytes = new Uint8Array(textAt + 4096);
    const header = new Int32Array(bytes.buffer, 0, 10);
    let at = textAt;
    texts.forEach((t, f) => {
      header[2 * f + 1] = -1;
      if (t === undefined) return;
      const { written } = encoder.encodeInto(t, bytes.subarray(at));
      header[2 * f] = at;
      header[2 * f + 1] = written;
      at += written;
    });
    header[8] = i;
    header[9] = 0;
    return bytes.subarray(0, at);
  });
  let bytes = view();
  const exchange = (i) => {
    if (bytes.length === 0) bytes = view();
    bytes.set(exchanges[i % k]);
    return native ? decider(buffer) : raw.decideExchange();
  };
  const rows = [
    ['`evaluate` (object in, object out)', cpu((i) => set.evaluate(REQUESTS[i % k]))],
    ['`evaluateJson`', cpu((i) => set.evaluateJson(jsons[i % k]))],
    ['raw exchange call (bytes in, record out)', cpu(exchange)],
    ['raw `decide` (JSON text in and out)', cpu((i) => raw.decide(jsons[i % k], false))],
    ['raw `invalidDecision` (a decision made and crossed as JSON)', cpu(() => backend.invalidDecision('x'))],
    ['V8 `JSON.stringify(request)`', cpu((i) => JSON.stringify(REQUESTS[i % k]))],
    ['V8 `JSON.parse(decision)`', cpu((i) => JSON.parse(outs[i % k]))],
  ];
  for (const [piece, ns] of rows) console.log(`| ${which} | ${piece} | ${(ns / 1000).toFixed(2)} µs |`);
}
