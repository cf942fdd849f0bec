// The TypeScript API on the backend MESHGUARD_BACKEND names: loading and diagnostics
// (UTF-16 columns), evaluate / explain / batch, the rate limiter, the local guard, and
// bad input from JS, which must give a typed exception or an invalid-request deny.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import * as mg from '../js/node.js';
import { root } from './corpus.mjs';

const { PolicySet, RateLimiter, LocalGuard, MeshGuardError, PolicyLoadError, PolicyDeniedError, RateLimitError } = mg;
const pkg = join(root, 'bindings', 'npm');
const policy = (stem) => ({ name: `${stem}.yaml`, text: readFileSync(join(root, 'policies', `${stem}.yaml`), 'utf8') });
const email = PolicySet.load([policy('clawdbot-email')]);
const clawdbot = { id: 'agent-1', tags: ['clawdbot'] };

/** The error `fn` throws (fails when it returns). */
function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail('expected an exception');
}

const isInvalid = (d, fragment) => {
  assert.equal(d.effect, 'deny');
  assert.equal(d.allowed, false);
  assert.equal(d.policy, 'default');
  assert.equal(d.rule, 'invalid-request');
  assert.ok(d.reason.startsWith('invalid request: '), d.reason);
  if (fragment) assert.ok(d.reason.includes(fragment), `${d.reason} should mention ${fragment}`);
};

describe('lint', () => {
  test('warns on the shipped dev-assistant policy\'s weak spots, with spans', () => {
    const findings = mg.lint([policy('claude-code-dev-assistant')]);
    const warning = (code) => findings.filter((d) => d.severity === 'warning' && d.code === code);
    const git = warning('shell-allow-admits-code').find((d) => d.message.includes('`startsWith: git `'));
    assert.ok(git, JSON.stringify(findings.map((d) => d.message)));
    assert.deepEqual([git.file, git.line, git.column], ['claude-code-dev-assistant.yaml', 48, 23]);
    assert.ok(warning('broad-host-pattern').some((d) => d.message.includes('*github.com*')));
    assert.ok(warning('star-crosses-directories').some((d) => d.message.includes('./*.md')));
    assert.ok(findings.some((d) => d.severity === 'note'));
  });

  test('a clean text has no findings; columns are UTF-16 code units', () => {
    assert.deepEqual(mg.lint('name: p\nrules: [{effect: deny, actions: ["x"]}]'), []);
    const text = 'name: p\nrules: [{description: "😀", effect: allow, actions: ["execute:shell"], conditions: {resource: {startsWith: "python"}}}]\n';
    const [d] = mg.lint(text).filter((f) => f.code === 'shell-allow-admits-code');
    assert.ok(d, 'a python prefix admits `python -c`');
    assert.equal(d.line, 2);
    assert.equal(d.column, text.split('\n')[1].indexOf('"python') + 2, 'the emoji counts two code units');
  });

  test('a text that does not load throws PolicyLoadError, as load does', () => {
    const e = thrown(() => mg.lint('name: p\nrules: [{effect: maybe, actions: ["x"]}]'));
    assert.ok(e instanceof PolicyLoadError, String(e));
    assert.equal(e.code, 'invalid-value');
    assert.ok(thrown(() => mg.lint(42)) instanceof MeshGuardError);
  });
});

describe('loading', () => {
  test('texts, { name, text } objects and a single string all load', () => {
    assert.equal(PolicySet.load('name: a\nrules: [{effect: allow, actions: ["x"]}]').size, 1);
    const set = PolicySet.load(['name: a\nrules: [{effect: allow, actions: ["x"]}]', policy('clawdbot-web')]);
    assert.deepEqual(set.names, ['a', 'clawdbot-web-policy']);
    assert.equal(set.size, 2);
    const json = PolicySet.load([{ name: 'p.json', text: '{"name":"j","rules":[{"effect":"deny","actions":["*"]}]}' }]);
    assert.equal(json.evaluate({ action: 'x' }).policy, 'j');
  });

  test('the fallback applies when no policy does', () => {
    const text = 'name: tagged\nappliesTo: {tags: [t]}\nrules: [{effect: allow, actions: ["x"]}]';
    assert.equal(PolicySet.load(text).evaluate({ action: 'x' }).effect, 'deny');
    const open = PolicySet.load(text, { fallback: 'allow' }).evaluate({ action: 'x' });
    assert.equal(open.effect, 'allow');
    assert.equal(open.rule, 'default');
  });

  test('a bad policy throws PolicyLoadError with every diagnostic', () => {
    const text = 'name: p\nrules:\n  - effect: allow\n    actions: ["a"]\n    condtions: {}\n  - effect: maybe\n    actions: ["b"]\n';
    const e = thrown(() => PolicySet.load([{ name: 'p.yaml', text }]));
    assert.ok(e instanceof PolicyLoadError && e instanceof MeshGuardError && e instanceof Error);
    assert.equal(e.name, 'PolicyLoadError');
    assert.equal(e.code, 'unknown-key');
    assert.equal(e.file, 'p.yaml');
    assert.equal(e.line, 5);
    assert.equal(e.column, 5);
    assert.equal(e.diagnostics.length, 2);
    assert.deepEqual(
      e.diagnostics.map((d) => [d.code, d.line, d.column]),
      [['unknown-key', 5, 5], ['invalid-value', 6, 13]],
    );
    assert.equal(e.diagnostics[0].help, 'did you mean `conditions`?');
    assert.match(e.message, /p\.yaml:5:5: error\[unknown-key\]: unknown key `condtions` in rule\n {2}= help: did you mean `conditions`\?/);
  });

  test('columns are UTF-16 code units: an astral character before the error counts twice', () => {
    const line = 'rules: [{effect: allow, actions: ["𝒳😀:x"], condtions: {}}]';
    const chars = Array.from(line.slice(0, line.indexOf('condtions'))).length + 1;
    const units = line.indexOf('condtions') + 1;
    assert.equal(units, chars + 2, 'two astral characters, two extra code units');
    const e = thrown(() => PolicySet.load(`name: p\n${line}\n`));
    assert.equal(e.code, 'unknown-key');
    assert.equal(e.line, 2);
    assert.equal(e.column, units);
    assert.equal(e.diagnostics[0].endColumn, units + 'condtions'.length);
    // What the column points at, in JS string terms.
    assert.equal(line.slice(e.column - 1, e.diagnostics[0].endColumn - 1), 'condtions');
  });

  test('BMP characters are one code unit; each file converts with its own text', () => {
    const good = 'name: "😀😀😀"\nrules: [{effect: allow, actions: ["x"]}]\n';
    const bad = 'name: é\nrules: [{effect: allow, actions: ["x"], reazon: r}]\n';
    const e = thrown(() => PolicySet.load([{ name: 'a.yaml', text: good }, { name: 'b.yaml', text: bad }]));
    assert.equal(e.file, 'b.yaml');
    assert.equal(e.column, bad.split('\n')[1].indexOf('reazon') + 1);
  });

  test('duplicate policy names across files are one error', () => {
    const t = 'name: same\nrules: [{effect: allow, actions: ["x"]}]\n';
    const e = thrown(() => PolicySet.load([t, t]));
    assert.equal(e.code, 'duplicate-name');
    assert.equal(e.file, 'policy-2.yaml');
  });

  test('huge and hostile policy texts are refused with a diagnostic', () => {
    const big = `name: big\ndescription: "${'x'.repeat(9 * 1024 * 1024)}"\nrules: [{effect: allow, actions: ["x"]}]\n`;
    assert.equal(thrown(() => PolicySet.load(big)).code, 'too-large');
    const deep = `name: deep\nrules: ${'['.repeat(200)}${']'.repeat(200)}\n`;
    assert.equal(thrown(() => PolicySet.load(deep)).code, 'too-deep');
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const err = thrown(() => PolicySet.load(`${bomb.join('\n')}\nname: bomb\n`));
    assert.ok(err instanceof PolicyLoadError, String(err));
    assert.equal(thrown(() => PolicySet.load('')).code, 'no-policy');
  });

  test('wrong argument types throw MeshGuardError invalid-argument', () => {
    for (const bad of [42, null, undefined, {}, [42], [{ name: 1, text: 'x' }], [{ name: 'a' }]]) {
      const e = thrown(() => PolicySet.load(bad));
      assert.ok(e instanceof MeshGuardError, String(e));
      assert.equal(e.code, 'invalid-argument');
    }
    assert.equal(thrown(() => PolicySet.load('name: a', { fallback: 'maybe' })).code, 'invalid-argument');
    assert.equal(thrown(() => PolicySet.load('name: a', 'allow')).code, 'invalid-argument');
  });
});

describe('evaluating', () => {
  test('evaluate, evaluateJson and explain agree', () => {
    const request = { action: 'write:email', resource: 'Bob@YourCompany.COM', agent: clawdbot };
    const d = email.evaluate(request);
    assert.equal(d.effect, 'allow');
    assert.equal(d.resource, 'Bob@yourcompany.com');
    assert.equal(d.explanation, undefined);
    assert.equal(email.evaluateJson(JSON.stringify(request)), JSON.stringify(d));
    const x = email.explain(request);
    assert.ok(x.explanation.rules.some((r) => r.status === 'decided'));
    assert.deepEqual({ ...x, explanation: undefined }, { ...d, explanation: undefined });
  });

  test('evaluateBatch decides in order; one bad request does not spoil the rest', () => {
    const cyclic = { action: 'write:email' };
    cyclic.self = cyclic;
    const out = email.evaluateBatch([
      { action: 'write:email', resource: 'a@yourcompany.com', agent: clawdbot },
      cyclic,
      { action: 'write:email', resource: 'a@elsewhere.org', agent: clawdbot },
      { action: 1n },
    ]);
    assert.deepEqual(out.map((d) => d.effect), ['allow', 'deny', 'deny', 'deny']);
    isInvalid(out[1], 'circular');
    assert.equal(out[2].reason, 'External email requires approval');
    isInvalid(out[3], 'BigInt');
    assert.deepEqual(email.evaluateBatch([]), []);
    assert.equal(thrown(() => email.evaluateBatch('x')).code, 'invalid-argument');
  });

  test('objects (the compact path) decide exactly as their JSON does', () => {
    const stems = ['autogpt', 'autogpt-production', 'claude-code-dev-assistant', 'clawdbot-email', 'clawdbot-web'];
    const set = PolicySet.load(stems.map(policy));
    const agents = [
      { id: 'c1', tags: ['clawdbot'], trustTier: 'verified' },
      { id: 'cc', name: 'Claude', tags: ['claude-code', 'dev-agent'], orgId: 'o' },
      { id: 'a1', tags: ['autogpt'], trustTier: 'trusted' },
      { name: 'anon', tags: [] },
      {},
      { id: 'x', tags: undefined, name: null },
      { id: 'bad', tags: ['t', 1] },
      { id: 'bad', extra: 1 },
      { id: 'é😀', tags: ['a\ud800'] },
      [],
    ];
    const requests = [];
    for (const agent of [...agents, undefined, null]) {
      for (const [action, resource] of [
        ['write:email', 'Bob@YourCompany.COM'], ['write:email', 'eve@elsewhere.org'], ['browse:web', 'HTTPS://Evil.ONION/x'],
        ['read:file', './src/../.env'], ['execute:shell', 'git status && rm -rf /'], ['send:message', 'slack'],
        ['read:file', null], ['read:file', undefined], ['read:file', 'é😀 ünï'], ['nothing:here', ''],
      ]) {
        requests.push({ action, resource, agent });
        requests.push({ agent, resource, action, context: { channel: 'slack', n: [1, 2.5, null] }, mode: 'audit' });
        requests.push({ action, resource, agent, time: '2026-01-26T10:00:00Z', mode: 'enforce', context: null });
      }
    }
    requests.push({ action: 'a', context: { s: 'a\ud800' } }, { action: 'a', context: 3 }, { action: 'a', mode: 'AUDIT' },
      { action: 'a', time: 5 }, { action: 'a', resource: 'x', mode: null, time: null, agent: undefined },
      Object.assign(Object.create({ inherited: 1 }), { action: 'a' }), Object.assign(Object.create(null), { action: 'a' }),
      { action: 'a', context: { toJSON: () => ({ channel: 'x' }) } }, { action: 'a', context: () => 1 },
      { action: 'a', context: { toJSON: (key) => ({ key }) } }, { action: 'a', context: { at: new Date(0) } });
    // The exchange buffer (64 KiB): texts past it, ASCII or not, take the JSON path; lone
    // surrogates anywhere too; ASCII then more goes half by hand, half by `encodeInto`.
    requests.push({ action: 'read:file', resource: `./${'x'.repeat(70_000)}` },
      { action: 'read:file', resource: 'é'.repeat(40_000) }, { action: 'read:file', resource: 'é'.repeat(30_000), context: { s: 'x'.repeat(9_000) } },
      { action: 'a\ud800' }, { action: 'read:file', resource: 'ab\udc00' }, { action: 'read:file', resource: './abcé😀/../d' },
      { action: 'read:file', resource: `./${'x'.repeat(60_000)}`, time: '2026-01-26T10:00:00Z' });
    const check = (set, limiter, now) => {
      for (const r of requests) {
        const want = set.evaluateJson(JSON.stringify(r) ?? 'null', { limiter: limiter?.json, now });
        const got = JSON.stringify(set.evaluate(r, { limiter: limiter?.compact, now }));
        assert.equal(got, want, JSON.stringify(r));
      }
    };
    for (let round = 0; round < 2; round++) check(set);
    check(set, { json: new RateLimiter(), compact: new RateLimiter() }, Date.parse('2026-01-26T10:00:00Z'));
    // An agent changed in place after its first request is read again, not remembered.
    const agent = { id: 'c1', tags: ['clawdbot'] };
    const r = { action: 'write:email', resource: 'bob@yourcompany.com', agent };
    assert.equal(set.evaluate(r).effect, 'allow');
    agent.tags[0] = 'autogpt';
    assert.equal(JSON.stringify(set.evaluate(r)), set.evaluateJson(JSON.stringify(r)));
    agent.tags = ['clawdbot'];
    agent.trustTier = 'nope';
    assert.equal(JSON.stringify(set.evaluate(r)), set.evaluateJson(JSON.stringify(r)));
    // More agents than slots: old ones are registered again when they come back.
    const many = Array.from({ length: 600 }, (_, i) => ({ id: `a${i}`, tags: [i % 2 ? 'clawdbot' : 'autogpt'] }));
    for (let round = 0; round < 2; round++) {
      for (const a of many) {
        const q = { action: 'write:email', resource: 'bob@yourcompany.com', agent: a };
        assert.equal(JSON.stringify(set.evaluate(q)), set.evaluateJson(JSON.stringify(q)));
      }
    }
    // Agents written afresh for every call: an equal one shares the last registered
    // slot (and the core's memo of it), any difference is seen.
    const variants = [
      { id: 'c1', tags: ['clawdbot'] }, { id: 'c1', tags: ['clawdbot'], trustTier: 'verified' },
      { id: 'c2', tags: ['clawdbot'] }, { id: 'c1', name: 'n', tags: ['clawdbot'] }, { id: 'c1', tags: ['autogpt'] },
      { id: 'c1', tags: ['clawdbot', 'autogpt'] }, { id: 'c1', tags: [] }, { id: 'c1', orgId: 'o', tags: ['clawdbot'] },
      { id: 'c1' }, { tags: ['autogpt'], trustTier: 'trusted', id: 'a1' },
    ];
    for (const v of variants) {
      for (const w of variants) {
        for (const agent of [v, w, w, v]) {
          for (const action of ['write:email', 'send:message']) {
            const q = { action, resource: 'eve@elsewhere.org', agent: structuredClone(agent) };
            assert.equal(JSON.stringify(set.evaluate(q)), set.evaluateJson(JSON.stringify(q)), JSON.stringify(q));
          }
        }
      }
    }
    // A decision is the caller's own: changing one changes no other.
    const d1 = set.evaluate({ action: 'read:file', resource: 'x', agent: agents[1] });
    d1.obligations.audit.include.push('mine');
    d1.obligations.rateLimits.push(1);
    assert.equal(JSON.stringify(set.evaluate({ action: 'read:file', resource: 'x', agent: agents[1] })),
      set.evaluateJson(JSON.stringify({ action: 'read:file', resource: 'x', agent: agents[1] })));
  });

  test('the native decider reads only an exchange ArrayBuffer, and no byte past it', { skip: mg.backend !== 'native' && 'the native backend\'s own function' }, () => {
    const addon = createRequire(import.meta.url)('@meshguard/policy-native');
    const raw = addon.PolicySet.compile(['p.yaml'], ['name: p\nrules: []\n'], 'deny');
    const limited = raw.limitedDecider(new addon.RateLimiter());
    for (const decide of [raw.decider(), limited]) {
      for (const bad of [undefined, 3, 'x', new Uint8Array(64), {}]) {
        assert.throws(() => decide(bad), { message: 'decideExchange takes the exchange ArrayBuffer' });
      }
      // Too short for a header: nothing decided, the record says "take the JSON path".
      const short = new ArrayBuffer(8);
      assert.equal(decide(short, 5), undefined);
      assert.equal(new Int32Array(short)[0], 1 << 9);
    }
    assert.throws(() => raw.limitedDecider({}));
  });

  test('bad requests from JS are invalid-request denies with a clear reason', () => {
    isInvalid(email.evaluate({ action: 42 }), 'invalid type: integer `42`, expected a string');
    isInvalid(email.evaluate({ resource: 'x' }), 'missing field `action`');
    isInvalid(email.evaluate({ action: '' }), '`action` must be a non-empty string');
    isInvalid(email.evaluate({ action: 'a', resource: ['x'] }), 'invalid type: sequence');
    isInvalid(email.evaluate({ action: 'a', context: 'slack' }), '`context` must be a JSON object');
    isInvalid(email.evaluate({ action: 'a', agent: { trustTier: 'god' } }), 'unknown trust tier');
    isInvalid(email.evaluate({ action: 'a', time: 'yesterday' }), '`time` must be an RFC 3339 instant');
    isInvalid(email.evaluate({ action: 'a', colour: 'red' }), 'unknown field `colour`');
    isInvalid(email.evaluate({ action: 'a\u0000b' }), 'control character U+0000');
    isInvalid(email.evaluate({ action: 'a\ud800' }), 'malformed request');
    isInvalid(email.evaluate(undefined), 'the request is undefined');
    isInvalid(email.evaluate(() => 1), 'the request is function');
    isInvalid(email.evaluate(null), 'a request must be a JSON object');
    isInvalid(email.evaluate('write:email'), 'a request must be a JSON object');
    isInvalid(email.evaluate([{ action: 'a' }]), 'a request must be a JSON object');
    isInvalid(email.evaluate(['write:email', 'bob@yourcompany.com', null, clawdbot]), 'a request must be a JSON object');
    const cyclic = { action: 'a', context: {} };
    cyclic.context.loop = cyclic;
    isInvalid(email.evaluate(cyclic), 'cannot be written as JSON (Converting circular structure to JSON)');
    const getter = { action: 'a', get resource() { throw new Error('boom'); } };
    isInvalid(email.evaluate(getter), 'boom');
    isInvalid(JSON.parse(email.evaluateJson('{"action":')), 'EOF while parsing');
    isInvalid(JSON.parse(email.evaluateJson('not json')), 'expected ident');
  });

  test('huge requests are refused before they reach the evaluator', () => {
    const d = email.evaluate({ action: 'write:email', resource: 'x'.repeat(2 * 1024 * 1024) });
    isInvalid(d, 'exceeds the limit of 1048576');
    isInvalid(JSON.parse(email.evaluateJson(JSON.stringify({ action: 'a', context: { x: 'y'.repeat(1 << 21) } }))), 'exceeds');
    // Just under the cap still decides.
    const ok = email.evaluate({ action: 'write:email', resource: `${'x'.repeat(1000 * 1000)}@yourcompany.com`, agent: clawdbot });
    assert.equal(ok.effect, 'allow');
    // Deep context objects: refused by the evaluator's JSON reader, or by JS itself.
    let deep = {};
    for (let i = 0; i < 1_000; i++) deep = { d: deep };
    isInvalid(email.evaluate({ action: 'write:email', context: deep }), 'recursion limit exceeded');
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    isInvalid(email.evaluate({ action: 'write:email', context: deep }), 'cannot be written as JSON');
  });

  test('an invalid request is never allowed, not by an allow fallback, not in audit mode', () => {
    const open = PolicySet.load('name: t\nappliesTo: {tags: [t]}\nrules: [{effect: allow, actions: ["*"]}]', { fallback: 'allow' });
    assert.equal(open.evaluate({ action: 'x' }).allowed, true);
    for (const bad of [{ action: 42, mode: 'audit' }, { action: 'x', mode: 'audit', context: [] }, { mode: 'audit' }]) {
      const d = open.evaluate(bad);
      assert.equal(d.allowed, false, JSON.stringify(d));
      assert.equal(d.rule, 'invalid-request');
    }
  });

  test('wrong option types throw invalid-argument', () => {
    const r = { action: 'x' };
    for (const o of [{ explain: 'yes' }, { now: Number.NaN, limiter: new RateLimiter() }, { limiter: {} }, 7]) {
      const e = thrown(() => email.evaluate(r, o));
      assert.equal(e.code, 'invalid-argument', `${JSON.stringify(o)}: ${e}`);
    }
    assert.equal(thrown(() => email.evaluateJson({ action: 'x' })).code, 'invalid-argument');
    assert.equal(thrown(() => new RateLimiter().prune(Number.POSITIVE_INFINITY)).code, 'invalid-argument');
  });
});

describe('rate limits and the guard', () => {
  const limited = PolicySet.load(
    'name: limited\nrateLimits: {requestsPerMinute: 2}\nrules:\n  - {effect: allow, actions: ["send:*"]}\n  - {effect: allow, actions: ["approve:*"], reason: needs a person}\n  - {effect: deny, actions: ["delete:*"], reason: never}\nhumanInTheLoop: {requireApproval: ["approve:*"]}\n',
  );

  test('the limiter counts timed requests, or requests at `now`', () => {
    const limiter = new RateLimiter();
    const at = (s) => ({ action: 'send:x', agent: { id: 'a' }, time: `2026-01-26T10:00:${s}Z` });
    assert.equal(limited.evaluate(at('00'), { limiter }).effect, 'allow');
    assert.equal(limited.evaluate(at('01'), { limiter }).effect, 'allow');
    const third = limited.evaluate(at('02'), { limiter });
    assert.equal(third.effect, 'deny');
    assert.equal(third.reason, 'rate limit exceeded');
    assert.equal(third.rule, 'rateLimits');
    // Untimed without `now`: not counted, as in every host.
    assert.equal(limited.evaluate({ action: 'send:x', agent: { id: 'a' } }, { limiter }).effect, 'allow');
    // Untimed with `now`: counted at that instant.
    const now = Date.parse('2026-01-26T10:00:03Z');
    assert.equal(limited.evaluate({ action: 'send:x', agent: { id: 'a' } }, { limiter, now }).effect, 'deny');
    // Another agent has its own window; a minute later the first is free again.
    assert.equal(limited.evaluate({ ...at('04'), agent: { id: 'b' } }, { limiter }).effect, 'allow');
    limiter.prune(now + 120_000);
    assert.equal(limited.evaluate({ ...at('04'), time: '2026-01-26T10:02:00Z' }, { limiter }).effect, 'allow');
    // Batches count in order.
    const batch = limited.evaluateBatch([at('00'), at('01'), at('02')], { limiter: new RateLimiter() });
    assert.deepEqual(batch.map((d) => d.effect), ['allow', 'allow', 'deny']);
  });

  test('one limiter counts across every path and set that uses it, each limiter apart', () => {
    const again = PolicySet.load('name: again\nrateLimits: {requestsPerMinute: 2}\nrules:\n  - {effect: allow, actions: ["send:*"]}\n');
    const r = { action: 'send:x', agent: { id: 'a' }, time: '2026-01-26T10:00:00Z' };
    const shared = new RateLimiter();
    const other = new RateLimiter();
    assert.equal(limited.evaluate(r, { limiter: shared }).effect, 'allow');
    assert.equal(JSON.parse(limited.evaluateJson(JSON.stringify(r), { limiter: shared })).effect, 'allow');
    assert.equal(limited.evaluate(r, { limiter: other }).effect, 'allow');
    assert.equal(limited.evaluate(r, { limiter: shared }).effect, 'deny');
    assert.equal(limited.evaluateBatch([r], { limiter: shared })[0].effect, 'deny');
    // The other set's policy has its own name, so its own count, in the same limiter.
    assert.equal(again.evaluate(r, { limiter: shared }).effect, 'allow');
    assert.equal(limited.evaluate(r, { limiter: other }).effect, 'allow');
    assert.equal(limited.evaluate(r, { limiter: other }).effect, 'deny');
  });

  test('check has the SDK shape and never throws on deny', async () => {
    const guard = email.guard({ agent: clawdbot });
    assert.ok(guard instanceof LocalGuard);
    const ok = await guard.check('write:email', 'bob@yourcompany.com');
    assert.equal(ok.allowed, true);
    assert.equal(ok.decision, 'allow');
    assert.equal(ok.action, 'write:email');
    const no = await guard.check('write:email', 'eve@elsewhere.org');
    assert.equal(no.allowed, false);
    assert.equal(no.decision, 'deny');
    assert.equal(no.reason, 'External email requires approval');
    const bad = await guard.check(42);
    assert.equal(bad.rule, 'invalid-request');
  });

  test('enforce throws PolicyDeniedError with action, policy, rule and reason', async () => {
    const guard = new LocalGuard(email, { agent: clawdbot });
    await guard.enforce('write:email', 'bob@yourcompany.com');
    await assert.rejects(guard.enforce('write:email', 'eve@elsewhere.org'), (e) => {
      assert.ok(e instanceof PolicyDeniedError && e instanceof MeshGuardError && e instanceof Error);
      assert.equal(e.name, 'PolicyDeniedError');
      assert.equal(e.code, 'policy-denied');
      assert.equal(e.action, 'write:email');
      assert.equal(e.policy, 'clawdbot-email-policy');
      assert.equal(e.rule, 'clawdbot-email-policy#3');
      assert.equal(e.reason, 'External email requires approval');
      assert.equal(e.message, "Action 'write:email' denied by policy 'clawdbot-email-policy' (rule: clawdbot-email-policy#3): External email requires approval");
      return true;
    });
    assert.throws(() => guard.enforceSync('write:email', 'eve@elsewhere.org'), PolicyDeniedError);
    // Approval required is not allowed either.
    const g = limited.guard({ agent: { id: 'z' } });
    await assert.rejects(g.enforce('approve:payment'), (e) => e instanceof PolicyDeniedError && e.effect === 'require_approval' && e.rule === 'humanInTheLoop');
  });

  test('govern runs the function only when allowed', async () => {
    const guard = email.guard({ agent: clawdbot });
    let ran = 0;
    assert.equal(await guard.govern('write:email', () => ++ran, 'bob@yourcompany.com'), 1);
    assert.equal(await guard.govern('write:email', async () => (++ran) * 10, 'bob@yourcompany.com'), 20);
    await assert.rejects(guard.govern('write:email', () => ++ran, 'eve@elsewhere.org'), PolicyDeniedError);
    await assert.rejects(guard.govern('delete:all', () => ++ran), PolicyDeniedError);
    assert.equal(ran, 2);
    await assert.rejects(guard.govern('write:email', 'not a function'), (e) => e.code === 'invalid-argument');
  });

  test('the guard sends its clock as the time: rate limits and time conditions work', async () => {
    let now = Date.parse('2026-01-26T10:00:00Z');
    const guard = limited.guard({ agent: { id: 'g' }, now: () => now });
    await guard.enforce('send:a');
    await guard.enforce('send:b');
    await assert.rejects(guard.enforce('send:c'), (e) => {
      // As in the official SDK: a MeshGuardError, not a PolicyDeniedError.
      assert.ok(e instanceof RateLimitError && e instanceof MeshGuardError && !(e instanceof PolicyDeniedError));
      assert.equal(e.rule, 'rateLimits');
      assert.equal(e.code, 'rate-limited');
      assert.equal(e.reason, 'rate limit exceeded');
      return true;
    });
    now += 61_000;
    await guard.enforce('send:d');
    const office = PolicySet.load('name: hours\nrules: [{effect: allow, actions: ["work"], conditions: {time: {between: "09:00-17:00"}}}]');
    const at = (iso) => office.guard({ now: () => Date.parse(iso) });
    assert.equal((await at('2026-01-26T10:00:00Z').check('work')).allowed, true);
    assert.equal((await at('2026-01-26T20:00:00Z').check('work')).allowed, false);
  });

  test('audit mode allows but reports the effect', async () => {
    const d = await email.guard({ agent: clawdbot, mode: 'audit' }).enforce('write:email', 'eve@elsewhere.org');
    assert.equal(d.allowed, true);
    assert.equal(d.effect, 'deny');
    assert.equal(d.mode, 'audit');
  });

  test('guard options are checked', () => {
    assert.equal(thrown(() => new LocalGuard({})).code, 'invalid-argument');
    assert.equal(thrown(() => email.guard({ now: 5 })).code, 'invalid-argument');
    assert.equal(thrown(() => email.guard({ limiter: {} })).code, 'invalid-argument');
  });
});

describe('entry points and backends', () => {
  const sample = { action: 'write:email', resource: 'Eve@Elsewhere.ORG', agent: clawdbot };
  const want = email.evaluateJson(JSON.stringify(sample), { explain: true });

  test('the explicit wasm and native entries give the same bytes', async () => {
    for (const which of ['wasm', 'native']) {
      const m = await import(`../js/${which}.js`);
      assert.equal(m.backend, which);
      const set = m.PolicySet.load([policy('clawdbot-email')]);
      assert.equal(set.evaluateJson(JSON.stringify(sample), { explain: true }), want, which);
      assert.equal(m.version(), mg.version());
      // Classes of one backend are refused by the other.
      if (which !== mg.backend) assert.equal(thrown(() => email.evaluate(sample, { limiter: new m.RateLimiter() })).code, 'invalid-argument');
    }
  });

  test('the web build needs init, then runs from a compiled module', async () => {
    const web = await import('../js/web.js');
    assert.equal(thrown(() => web.PolicySet.load('name: a')).code, 'not-initialized');
    const bytes = readFileSync(join(pkg, 'pkg', 'web', 'meshguard_wasm_bg.wasm'));
    web.initSync({ module: new WebAssembly.Module(bytes) });
    await web.init();
    const set = web.PolicySet.load([policy('clawdbot-email')]);
    assert.equal(set.evaluateJson(JSON.stringify(sample), { explain: true }), want);
  });

  test('the bundler build runs where .wasm imports work (node --experimental-wasm-modules)', () => {
    const code = `
      import { PolicySet } from '@meshguard/policy/bundler';
      const set = PolicySet.load([${JSON.stringify(policy('clawdbot-email'))}]);
      process.stdout.write(set.evaluateJson(${JSON.stringify(JSON.stringify(sample))}, { explain: true }));`;
    const r = spawnSync(process.execPath, ['--experimental-wasm-modules', '--no-warnings', '--input-type=module', '-e', code], {
      cwd: pkg,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, want);
  });

  test('the package resolves by name, and MESHGUARD_BACKEND picks the backend', () => {
    for (const [env, expect] of [['wasm', 'wasm'], ['native', 'native'], ['', 'wasm']]) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', "import { backend } from '@meshguard/policy'; process.stdout.write(backend)"], {
        cwd: pkg,
        env: { ...process.env, MESHGUARD_BACKEND: env },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, expect);
    }
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', "import('@meshguard/policy').catch((e) => { process.stdout.write(e.name + ' ' + e.code); })"], {
      cwd: pkg,
      env: { ...process.env, MESHGUARD_BACKEND: 'java' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.stdout, 'MeshGuardError invalid-argument');
  });
});

test('the TypeScript declarations type-check a usage file (tsc -p test/types)', { skip: mg.backend !== 'wasm' && 'backend-independent: runs once' }, () => {
  const tsc = join(pkg, 'node_modules', '.bin', process.platform === 'win32' ? 'tsc.cmd' : 'tsc');
  const r = spawnSync(tsc, ['-p', join('test', 'types')], { cwd: pkg, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
