// The whole conformance corpus against the backend MESHGUARD_BACKEND names (`wasm` or
// `native`), with the exact case semantics of tests/src/lib.rs: each case on a freshly
// loaded set and limiter, after replaying the file's earlier cases that carry a `time`.
// Every decision must also equal, byte for byte, what the native `meshguard` CLI writes
// for the same request sequence (one CLI process per file and explain setting).
//
//   MESHGUARD_BACKEND=wasm node --test test/conformance.test.mjs

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { PolicyLoadError, PolicySet, RateLimiter, backend } from '../js/node.js';
import { caseFiles, checkDecision, checkDiagnostics, oracle, sources } from './corpus.mjs';

const files = caseFiles();
let total = 0;

test(`the corpus runs on the ${backend} backend`, () => {
  assert.equal(backend, process.env.MESHGUARD_BACKEND || 'wasm');
  assert.ok(files.length > 40, 'the corpus is there');
});

for (const { stem, file } of files) {
  describe(stem, () => {
    const srcs = sources(file);
    const fallback = file.fallback ?? 'deny';
    const cases = file.cases ?? [];
    // Requests exactly as this package sends them; the CLI gets the same bytes.
    const requests = cases.map((c) => JSON.stringify(c.request));
    let plain;
    let explained;

    if (cases.length > 0) {
      before(() => {
        plain = oracle(srcs, fallback, requests, false);
        explained = cases.some((c) => c.explain) ? oracle(srcs, fallback, requests, true) : plain;
      });
    }

    const load = () => PolicySet.load(srcs.map(({ name, text }) => ({ name, text })), { fallback });

    cases.forEach((c, i) => {
      // The earlier cases that touch the rate limiter, replayed in file order.
      const replay = cases.slice(0, i).filter((e) => e.request?.time !== undefined);
      test(c.name, () => {
        total++;
        const set = load();
        const limiter = new RateLimiter();
        for (const e of replay) set.evaluate(e.request, { limiter });
        const decision = set.evaluate(c.request, { explain: c.explain === true, limiter });
        const problems = checkDecision(decision, c);
        assert.deepEqual(problems, [], problems.join('\n'));
        const json = JSON.stringify(decision);
        assert.equal(json, (c.explain ? explained : plain)[i], 'the decision JSON differs from the native CLI');
      });
    });

    if (cases.length > 0) {
      test('evaluateJson and evaluateBatch give the native bytes for the whole file', () => {
        for (const explain of [false, true]) {
          const want = explain ? explained : plain;
          if (explain && want === plain) continue;
          // One limiter sees the file in order, like the CLI.
          const set = load();
          const limiter = new RateLimiter();
          const one = requests.map((r) => set.evaluateJson(r, { explain, limiter }));
          const batch = load().evaluateBatch(cases.map((c) => c.request), { explain, limiter: new RateLimiter() });
          cases.forEach((c, i) => {
            if (explain && !c.explain) return;
            assert.equal(one[i], want[i], `${c.name}: evaluateJson`);
            assert.equal(JSON.stringify(batch[i]), want[i], `${c.name}: evaluateBatch`);
          });
        }
      });
    }

    for (const c of file.errors ?? []) {
      test(`error: ${c.name}`, () => {
        total++;
        const name = c.file ?? 'policy.yaml';
        const err = captured(name, c.text);
        assert.ok(err instanceof PolicyLoadError, `expected a PolicyLoadError, got ${err}`);
        const problems = checkDiagnostics(err.diagnostics, c);
        assert.deepEqual(problems, [], problems.join('\n'));
        const first = err.diagnostics[0];
        assert.equal(err.code, first.code);
        assert.equal(err.line, first.line);
        assert.equal(err.column, first.column);
        assert.equal(err.file, name);
        assert.ok(err instanceof Error);
      });
    }
  });
}

/** `assert.throws` returns nothing; catch the error to inspect it. */
function captured(name, text) {
  try {
    PolicySet.load([{ name, text }]);
  } catch (e) {
    return e;
  }
  throw new Error('expected the policy to be refused, it loaded');
}

test('every case of the corpus ran', () => {
  const want = files.reduce((n, { file }) => n + (file.cases?.length ?? 0) + (file.errors?.length ?? 0), 0);
  assert.equal(total, want);
  assert.ok(total > 1000, `${total} cases ran`);
});
