// Real runtimes, driven from Node:
// - the edge-worker example (examples/worker) served by standalone workerd on a free
//   127.0.0.1 port, driven over HTTP;
// - headless Debian Chromium (playwright-core, never a downloaded browser) loading the
//   web build from a tiny static server and evaluating policies in the page.
// Both must answer byte for byte what this package answers in Node (which the
// conformance suite holds to the native CLI). Every wait is bounded; every process
// started here is stopped in `after`.
//
// Chromium must be at /usr/bin/chromium (scripts/ensure-chromium.mjs installs it with
// apt-get); without it the browser test is skipped, unless MESHGUARD_REQUIRE_BROWSER=1
// (CI), where that is a failure.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { extname, join, normalize, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { PolicySet, RateLimiter } from '../js/wasm.js';
import { caseFiles, root } from './corpus.mjs';
import { browserSkip, launchChromium } from './browser.mjs';
import { freePort } from './gateway.mjs';

const pkg = join(root, 'bindings', 'npm');
const require = createRequire(import.meta.url);

/** The eleven example policies in file-name order, as the worker loads them. */
const examples = () =>
  [
    'autogpt', 'autogpt-production', 'claude-code-dev-assistant', 'claude-code-file', 'claude-code-shell',
    'claude-code-web', 'clawdbot-calendar', 'clawdbot-email', 'clawdbot-file', 'clawdbot-messaging', 'clawdbot-web',
  ].map((stem) => ({ name: `${stem}.yaml`, text: readFileSync(join(root, 'policies', `${stem}.yaml`), 'utf8') }));

/** Every request of the corpus, as JSON text, in corpus order. */
const corpusRequests = () => caseFiles().flatMap(({ file }) => (file.cases ?? []).map((c) => JSON.stringify(c.request)));

/** A policy whose error sits after two astral characters on its line. */
const astral = 'name: p\nrules: [{effect: allow, actions: ["𝒳😀:x"], condtions: {}}]\n';


/** Stops a child: SIGTERM, then SIGKILL after 5 s. */
async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

describe('workerd serves the edge-worker example', () => {
  let child;
  let base;
  let log = '';

  before(async () => {
    const workerd = require('workerd').default;
    // A port can be taken between the probe and workerd's bind: a few bounded tries.
    for (let attempt = 1; attempt <= 3 && !base; attempt++) {
      const port = await freePort();
      child = spawn(workerd, ['serve', 'config.capnp', `--socket-addr=http=127.0.0.1:${port}`], {
        cwd: join(pkg, 'examples', 'worker'),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (d) => (log += d));
      child.stderr.on('data', (d) => (log += d));
      // Ready when /health answers: at most 30 s.
      for (let i = 0; i < 300; i++) {
        if (child.exitCode !== null) break;
        try {
          const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
          if (r.ok) {
            base = `http://127.0.0.1:${port}`;
            break;
          }
        } catch {
          // not listening yet
        }
        await sleep(100);
      }
      if (!base) await stop(child);
    }
    assert.ok(base, `workerd did not become ready:\n${log}`);
  });

  after(() => stop(child));

  const post = async (path, body) => {
    const r = await fetch(`${base}${path}`, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
    return { status: r.status, text: await r.text() };
  };

  test('health lists the eleven example policies', async () => {
    const r = await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) });
    const body = await r.json();
    assert.equal(body.ok, true);
    assert.equal(body.policies.length, 11);
    assert.deepEqual(body.policies, PolicySet.load(examples()).names);
  });

  test('every corpus request gets the bytes Node gets (one limiter each, same order)', async () => {
    const set = PolicySet.load(examples());
    const limiter = new RateLimiter();
    const requests = corpusRequests();
    assert.ok(requests.length > 500);
    for (const [i, request] of requests.entries()) {
      const explain = i % 7 === 0;
      const got = await post(explain ? '/evaluate?explain=1' : '/evaluate', request);
      assert.equal(got.status, 200);
      assert.equal(got.text, set.evaluateJson(request, { explain, limiter }), `request ${i}: ${request}`);
    }
  });

  test('batches, bad bodies and bad policies', async () => {
    const set = PolicySet.load(examples());
    const requests = corpusRequests().slice(0, 50).map((r) => JSON.parse(r));
    const batch = await post('/batch', JSON.stringify(requests));
    assert.equal(batch.status, 200);
    assert.equal(batch.text, JSON.stringify(set.evaluateBatch(requests, { limiter: new RateLimiter() })));
    const bad = JSON.parse((await post('/evaluate', '{"action": 42')).text);
    assert.equal(bad.rule, 'invalid-request');
    assert.equal(bad.allowed, false);
    const invalid = await post('/validate', astral);
    assert.equal(invalid.status, 422);
    const [d] = JSON.parse(invalid.text).diagnostics;
    assert.equal(d.code, 'unknown-key');
    assert.equal(d.column, astral.split('\n')[1].indexOf('condtions') + 1);
    assert.equal((await post('/validate', examples()[0].text)).status, 200);
  });
});

describe('headless Chromium runs the web build', () => {
  const skip = browserSkip;
  let server;
  let chromium;
  let context;
  let base;

  before(async () => {
    if (skip) return;
    const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html', '.yaml': 'text/plain' };
    server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>meshguard</title>');
        return;
      }
      // Only the package's js/ and pkg/web/ are served.
      const file = normalize(join(pkg, path));
      const allowed = [join(pkg, 'js') + sep, join(pkg, 'pkg', 'web') + sep].some((d) => file.startsWith(d));
      if (!allowed || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${server.address().port}`;
    chromium = await launchChromium();
    context = chromium.context;
  });

  after(async () => {
    await chromium?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  });

  test('a page loads the web build, evaluates and reports diagnostics', { skip, timeout: 120_000 }, async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${base}/`);
    const sources = examples();
    const requests = corpusRequests();
    const got = await page.evaluate(
      async ({ sources, requests, astral }) => {
        const m = await import('/js/web.js');
        let early = null;
        try {
          m.PolicySet.load('name: a');
        } catch (e) {
          early = e.code;
        }
        await m.init();
        const set = m.PolicySet.load(sources);
        const limiter = new m.RateLimiter();
        const decisions = requests.map((r, i) => set.evaluateJson(r, { explain: i % 5 === 0, limiter }));
        let error = null;
        try {
          m.PolicySet.load(astral);
        } catch (e) {
          error = { isError: e instanceof Error, name: e.name, code: e.code, line: e.line, column: e.column };
        }
        const cyclic = { action: 'a' };
        cyclic.self = cyclic;
        return { early, backend: m.backend, decisions, error, cyclic: set.evaluate(cyclic), ua: navigator.userAgent };
      },
      { sources, requests, astral },
    );
    assert.equal(got.early, 'not-initialized');
    assert.equal(got.backend, 'wasm');
    assert.match(got.ua, /Chrome\//);
    const set = PolicySet.load(sources);
    const limiter = new RateLimiter();
    const want = requests.map((r, i) => set.evaluateJson(r, { explain: i % 5 === 0, limiter }));
    assert.equal(got.decisions.length, want.length);
    got.decisions.forEach((d, i) => assert.equal(d, want[i], `request ${i}: ${requests[i]}`));
    assert.deepEqual(got.error, {
      isError: true,
      name: 'PolicyLoadError',
      code: 'unknown-key',
      line: 2,
      column: astral.split('\n')[1].indexOf('condtions') + 1,
    });
    assert.equal(got.cyclic.rule, 'invalid-request');
  });
});
