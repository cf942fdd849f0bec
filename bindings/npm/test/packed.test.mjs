// The package as users get it: `npm pack` tarballs of @meshguard/policy and of its native
// addon installed into an empty project, then the same consumer code — a plain
// `import { PolicySet } from '@meshguard/policy'`, no init call — run in every runtime:
// Node (ESM, CommonJS, the native backend), Deno, Bun, standalone workerd (which forbids
// compiling WebAssembly, so it takes the `initSync({ module })` path), headless Chromium
// loading the package directly and a Vite build of an app. Each must answer the corpus
// requests byte for byte as this package does in Node from the source tree (which the
// conformance suite holds to the native CLI). An example consumer in TypeScript is
// type-checked with `tsc --strict` against the installed declarations.
//
// The runtimes are this package's devDependencies (deno, bun, workerd, vite from npm;
// Chromium from Debian, see runtimes.test.mjs). Every child process has a time limit and
// is stopped in `after`.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { PolicySet, RateLimiter } from '../js/wasm.js';
import { caseFiles, root } from './corpus.mjs';
import { browserSkip, launchChromium } from './browser.mjs';
import { freePort } from './gateway.mjs';

const pkg = join(root, 'bindings', 'npm');
const bin = (name) => join(pkg, 'node_modules', '.bin', name);
const require = createRequire(import.meta.url);

const sources = [
  'autogpt', 'autogpt-production', 'claude-code-dev-assistant', 'claude-code-file', 'claude-code-shell',
  'claude-code-web', 'clawdbot-calendar', 'clawdbot-email', 'clawdbot-file', 'clawdbot-messaging', 'clawdbot-web',
].map((stem) => ({ name: `${stem}.yaml`, text: readFileSync(join(root, 'policies', `${stem}.yaml`), 'utf8') }));
const requests = caseFiles()
  .flatMap(({ file }) => (file.cases ?? []).map((c) => JSON.stringify(c.request)))
  .slice(0, 300);

/** What every consumer prints: the backend, then every decision as JSON text (one limiter,
 * every fifth explained), then one decision through `evaluate` with an object. */
const CONSUMER_BODY = `
const set = m.PolicySet.load(f.sources);
const limiter = new m.RateLimiter();
const decisions = f.requests.map((r, i) => set.evaluateJson(r, { explain: i % 5 === 0, limiter }));
const object = set.evaluate(JSON.parse(f.requests[0]));
const result = JSON.stringify({ backend: m.backend, decisions, object });
`;

function expected() {
  const set = PolicySet.load(sources);
  const limiter = new RateLimiter();
  const decisions = requests.map((r, i) => set.evaluateJson(r, { explain: i % 5 === 0, limiter }));
  return { decisions, object: set.evaluate(JSON.parse(requests[0])) };
}

/** Asserts a consumer's printed result. */
function check(what, text, backend) {
  let got;
  try {
    got = JSON.parse(text);
  } catch {
    assert.fail(`${what} printed no result:\n${text}`);
  }
  const want = expected();
  assert.equal(got.backend, backend, what);
  assert.equal(got.decisions.length, want.decisions.length, what);
  got.decisions.forEach((d, i) => assert.equal(d, want.decisions[i], `${what}, request ${i}: ${requests[i]}`));
  assert.deepEqual(got.object, want.object, what);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20, ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.error ?? r.signal ?? r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}


/** A static file server for `dir` on 127.0.0.1 (only files under it). */
async function serve(dir) {
  const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir + sep) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

describe('the packed package installed into an empty project', () => {
  let dir;
  let project;
  let tarballs;
  const children = [];
  const servers = [];
  let chromium;
  let browser;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshguard-packed-'));
    tarballs = [join(root, 'bindings', 'node'), pkg].map((from) => {
      const out = run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: from });
      return join(dir, JSON.parse(out)[0].filename);
    });
    project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // The addon first: the package's optional dependency on it is a workspace path, so the
    // project names the addon's own tarball.
    run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], { cwd: project });
    const fixtures = `export const sources = ${JSON.stringify(sources)};\nexport const requests = ${JSON.stringify(requests)};\n`;
    writeFileSync(join(project, 'fixtures.mjs'), fixtures);
    writeFileSync(join(project, 'fixtures.cjs'), fixtures.replaceAll('export const ', 'exports.'));
    writeFileSync(
      join(project, 'consumer.mjs'),
      `import * as m from '@meshguard/policy';\nimport * as f from './fixtures.mjs';\n${CONSUMER_BODY}console.log(result);\n`,
    );
    writeFileSync(
      join(project, 'consumer.cjs'),
      `const m = require('@meshguard/policy');\nconst f = require('./fixtures.cjs');\n${CONSUMER_BODY}console.log(result);\n`,
    );
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await chromium?.close();
    for (const s of servers) await new Promise((resolve) => s.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the tarball holds the builds and nothing of the source tree', () => {
    const top = new Set(
      run('tar', ['tzf', tarballs[1]])
        .split('\n')
        .filter(Boolean)
        .map((f) => f.split('/').slice(1, f.startsWith('package/pkg/') ? 3 : 2).join('/')),
    );
    assert.deepEqual([...top].sort(), [
      'README.md', 'index.d.ts', 'js', 'package.json', 'pkg/bundler', 'pkg/nodejs', 'pkg/web',
    ]);
  });

  test('Node, ESM', () => check('node consumer.mjs', run('node', ['consumer.mjs'], { cwd: project }), 'wasm'));

  test('Node, CommonJS', () => check('node consumer.cjs', run('node', ['consumer.cjs'], { cwd: project }), 'wasm'));

  test('Node, the native backend', () => {
    const env = { ...process.env, MESHGUARD_BACKEND: 'native' };
    check('native', run('node', ['consumer.mjs'], { cwd: project, env }), 'native');
  });

  test('Deno: the plain import, no init and no permissions', () => {
    const env = { ...process.env, DENO_DIR: join(dir, 'deno'), DENO_NO_UPDATE_CHECK: '1' };
    check('deno', run(bin('deno'), ['run', '--no-prompt', 'consumer.mjs'], { cwd: project, env }), 'wasm');
  });

  test('Bun', () => {
    const env = { ...process.env, BUN_INSTALL_CACHE_DIR: join(dir, 'bun') };
    check('bun', run(bin('bun'), ['consumer.mjs'], { cwd: project, env }), 'wasm');
  });

  test('workerd: the worker condition and initSync with the compiled module', async () => {
    const worker = join(project, 'worker');
    mkdirSync(worker);
    // What a Workers bundler makes of `import … from '@meshguard/policy'` and of
    // `'@meshguard/policy/meshguard.wasm'`: the files the installed package's `workerd`
    // condition and `./meshguard.wasm` export name. workerd names modules by path, so
    // the package's files keep their own relative imports.
    const installed = join(project, 'node_modules', '@meshguard', 'policy');
    const { exports } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    const at = (file) => `node_modules/@meshguard/policy/${file.replace(/^\.\//, '')}`;
    const entry = at(exports['.'].workerd);
    const wasmFile = at(exports['./meshguard.wasm']);
    writeFileSync(
      join(worker, 'worker.mjs'),
      `import wasm from './${wasmFile}';\nimport * as m from './${entry}';\nimport * as f from './fixtures.mjs';\n` +
        `m.initSync({ module: wasm });\nexport default { fetch() {\n${CONSUMER_BODY}return new Response(result);\n} };\n`,
    );
    writeFileSync(join(worker, 'fixtures.mjs'), readFileSync(join(project, 'fixtures.mjs')));
    const modules = [
      ['worker.mjs', 'esModule', 'worker.mjs'],
      ['fixtures.mjs', 'esModule', 'fixtures.mjs'],
      [wasmFile, 'wasm', `../${wasmFile}`],
      ...['js/web.js', 'js/api.js', 'js/errors.js', 'js/sync.js', 'js/client.js', 'js/compact.js', 'pkg/web/meshguard_wasm.js'].map((f) => [at(f), 'esModule', `../${at(f)}`]),
    ];
    writeFileSync(
      join(worker, 'config.capnp'),
      `using Workerd = import "/workerd/workerd.capnp";\n` +
        `const config :Workerd.Config = (services = [(name = "main", worker = .w)], ` +
        `sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")]);\n` +
        `const w :Workerd.Worker = (modules = [\n${modules
          .map(([name, kind, file]) => `  (name = "${name}", ${kind} = embed "${file}")`)
          .join(',\n')}\n], compatibilityDate = "2025-01-01");\n`,
    );
    const workerd = require('workerd').default;
    let out = '';
    let got;
    for (let attempt = 1; attempt <= 3 && got === undefined; attempt++) {
      const port = await freePort();
      const child = spawn(workerd, ['serve', 'config.capnp', `--socket-addr=http=127.0.0.1:${port}`], {
        cwd: worker,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      for (let i = 0; i < 300 && child.exitCode === null && got === undefined; i++) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) });
          got = await r.text();
        } catch {
          await sleep(100);
        }
      }
      child.kill('SIGTERM');
    }
    assert.ok(got !== undefined, `workerd did not answer:\n${out}`);
    check('workerd', got, 'wasm');
  });

  test('tsc --strict type-checks an example consumer against the installed declarations', () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      `import { PolicySet, RateLimiter, PolicyLoadError, type Decision, type Request } from '@meshguard/policy';\n` +
        `const set: PolicySet = PolicySet.load([{ name: 'a.yaml', text: 'name: a' }]);\n` +
        `const request: Request = { action: 'read:file', resource: '/tmp/x', agent: { id: 'a', tags: ['t'] } };\n` +
        `const d: Decision = set.evaluate(request, { limiter: new RateLimiter(), explain: true });\n` +
        `const allowed: boolean = d.allowed;\n` +
        `try { PolicySet.load('name: [') } catch (e) { if (e instanceof PolicyLoadError) { const n: number = e.diagnostics.length; void n; } }\n` +
        `void allowed;\n`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', types: [] },
        files: ['consumer.ts'],
      }),
    );
    run(bin('tsc'), ['-p', 'tsconfig.json'], { cwd: project });
    // And misuse is a compile error, not a run-time surprise.
    writeFileSync(join(project, 'consumer.ts'), `import { PolicySet } from '@meshguard/policy';\nPolicySet.load(42);\n`);
    const bad = spawnSync(bin('tsc'), ['-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8', timeout: 120_000 });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout, /consumer\.ts\(2,16\): error TS2345/);
  });

  describe('in headless Chromium', () => {
    const skip = browserSkip;

    before(async () => {
      if (skip) return;
      chromium = await launchChromium();
      browser = chromium.context;
    });

    /** Opens `url` and waits (30 s at most) for the page to publish `window.meshguardResult`. */
    async function resultOf(url) {
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(url);
      try {
        await page.waitForFunction(() => window.meshguardResult !== undefined, null, { timeout: 30_000 });
      } catch {
        assert.fail(`no result from ${url}: ${errors.join('\n')}`);
      }
      const got = await page.evaluate(() => window.meshguardResult);
      await page.close();
      return got;
    }

    test('the installed package imported directly (an import map, no bundler, no init)', { skip, timeout: 120_000 }, async () => {
      writeFileSync(
        join(project, 'index.html'),
        `<!doctype html><script type="importmap">{"imports": {"@meshguard/policy": "/node_modules/@meshguard/policy/js/auto.js"}}</script>\n` +
          `<script type="module">import * as m from '@meshguard/policy';\nimport * as f from '/fixtures.mjs';\n${CONSUMER_BODY}window.meshguardResult = result;</script>\n`,
      );
      const { server, base } = await serve(project);
      servers.push(server);
      check('chromium', await resultOf(`${base}/index.html`), 'wasm');
    });

    test('a Vite build of an app that imports the package', { skip, timeout: 300_000 }, async () => {
      const app = join(project, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'index.html'), `<!doctype html><script type="module" src="./main.js"></script>\n`);
      writeFileSync(
        join(app, 'main.js'),
        `import * as m from '@meshguard/policy';\nimport * as f from '../fixtures.mjs';\n${CONSUMER_BODY}window.meshguardResult = result;\n`,
      );
      writeFileSync(
        join(app, 'vite.config.mjs'),
        `export default { logLevel: 'warn', build: { target: 'esnext', outDir: 'dist', emptyOutDir: true } };\n`,
      );
      run(bin('vite'), ['build'], { cwd: app });
      const assets = readdirSync(join(app, 'dist', 'assets'));
      assert.ok(assets.some((a) => a.endsWith('.wasm')), `the build carries the .wasm: ${assets}`);
      const { server, base } = await serve(join(app, 'dist'));
      servers.push(server);
      check('vite build in chromium', await resultOf(`${base}/index.html`), 'wasm');
    });
  });
});
