// GatewaySync against the real gateway (target/release/meshguard-gateway, started here on
// 127.0.0.1 with a temporary database and the example policies): local decisions agree
// with the gateway's, a policy change reaches the client, a bundle whose signature does
// not verify is refused (last good set kept), a gateway that is down leaves the client
// deciding and buffering until it is back, and a full buffer fails closed. Runs on the
// backend MESHGUARD_BACKEND names. Every wait is bounded; the gateway is always stopped.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import * as mg from '../js/node.js';
import { root } from './corpus.mjs';
import { ADMIN, GATEWAY, freePort, startGateway, stopGateway } from './gateway.mjs';

const require = createRequire(import.meta.url);

describe('GatewaySync with the real gateway', { skip: !existsSync(GATEWAY) && `${GATEWAY} is missing (cargo build --release -p meshguard-gateway)` }, () => {
  let dir;
  let port;
  let base;
  let gateway;
  let token;
  let publicKey;
  const closers = [];

  const admin = async (method, path, body) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { 'x-admin-token': ADMIN, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: r.status, body: await r.json().catch(() => null) };
  };
  const connect = async (extra = {}) => {
    const sync = await mg.GatewaySync.connect({ url: base, token, publicKey, intervalMs: 0, flushMs: 0, ...extra });
    closers.push(() => sync.close());
    return sync;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshguard-sync-'));
    cpSync(join(root, 'policies'), join(dir, 'policies'), { recursive: true });
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gateway = await startGateway(dir, port);
    const created = await admin('POST', '/admin/agents', { name: 'edge', trustTier: 'verified', tags: ['clawdbot'] });
    assert.equal(created.status, 201);
    token = created.body.token;
    publicKey = (await (await fetch(`${base}/v1/policies/bundle/key`)).json()).publicKey;
  });

  after(async () => {
    for (const close of closers) await close().catch(() => {});
    await stopGateway(gateway);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('decides locally as the gateway does, and the decisions reach its audit log', async () => {
    const sync = await connect();
    assert.match(sync.version, /^[0-9a-f]{64}$/);
    const requests = [
      { action: 'write:email', resource: 'bob@yourcompany.com', traceId: 'sync-1' },
      { action: 'write:email', resource: 'Eve@Elsewhere.ORG', traceId: 'sync-2' },
      { action: 'browse:web', resource: 'HTTPS://Evil.ONION/x', traceId: 'sync-3' },
      { action: 'delete:email', resource: 'inbox/42', traceId: 'sync-4' },
    ];
    for (const r of requests) {
      const local = sync.evaluate(r);
      const res = await fetch(`${base}/v1/check`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: r.action, resource: r.resource }),
      });
      const remote = await res.json();
      assert.deepEqual(
        [local.effect, local.allowed, local.policy, local.rule, local.reason],
        [remote.decision, remote.allowed, remote.policy, remote.rule, remote.reason],
        JSON.stringify(r),
      );
    }
    assert.equal(sync.pending, 4);
    await sync.flush();
    assert.equal(sync.pending, 0);
    assert.equal(sync.lastError, null);
    const rows = (await admin('GET', '/admin/audit?traceId=sync-2')).body.entries;
    assert.equal(rows.length, 1);
    assert.equal(rows[0].endpoint, 'local');
    assert.equal(rows[0].decision, 'deny');
    assert.equal(rows[0].agentName, 'edge');
    assert.equal(rows[0].outcome, `bundle ${sync.version}`);
  });

  test('a policy change reaches the client; unchanged polls are 304s', async () => {
    const sync = await connect();
    assert.equal(await sync.refresh(), false, 'unchanged');
    assert.equal(sync.evaluate({ action: 'ping:host' }).allowed, false);
    const before = sync.version;
    const text = 'name: pings\nappliesTo:\n  tags: [clawdbot]\nrules:\n  - name: ok\n    effect: allow\n    actions: ["ping:*"]\n';
    assert.equal((await admin('PUT', '/admin/policies/pings', { text })).status, 200);
    assert.equal(await sync.refresh(), true);
    assert.notEqual(sync.version, before);
    const d = sync.evaluate({ action: 'ping:host', agent: { id: 'x', tags: ['clawdbot'] } });
    assert.equal(d.allowed, true);
    assert.equal(d.policy, 'pings');
    // Polling by itself (the timer) also sees the next change.
    const polled = await connect({ intervalMs: 100 });
    assert.equal((await admin('DELETE', '/admin/policies/pings')).status, 200);
    for (let i = 0; i < 100 && polled.set.names.includes('pings'); i++) await sleep(50);
    assert.ok(!polled.set.names.includes('pings'), 'the poll loaded the deletion');
  });

  test('a bundle that does not verify is refused and the last good set keeps deciding', async () => {
    // A proxy in front of the gateway that flips one byte of the bundle when told to.
    let tamper = false;
    const proxy = createServer(async (req, res) => {
      const upstream = await fetch(`${base}${req.url}`, { method: req.method, headers: req.headers });
      let body = new Uint8Array(await upstream.arrayBuffer());
      if (tamper && req.url.startsWith('/v1/policies/bundle') && body.length > 0) {
        body = Uint8Array.from(body);
        body[body.length - 3] ^= 1;
      }
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers)).end(body);
    });
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => proxy.close(resolve)));
    const via = `http://127.0.0.1:${proxy.address().port}`;
    const sync = await connect({ url: via });
    const version = sync.version;
    const errors = [];
    tamper = true;
    const text = 'name: tampered\nrules:\n  - name: all\n    effect: allow\n    actions: ["*"]\n';
    assert.equal((await admin('PUT', '/admin/policies/tampered', { text })).status, 200);
    sync.lastError = null;
    assert.equal(await sync.refresh(), false);
    assert.equal(sync.lastError.code, 'bad-signature');
    assert.equal(sync.version, version, 'the last good set serves');
    assert.equal(sync.evaluate({ action: 'delete:email', resource: 'inbox/1' }).allowed, false);
    // A client that pins another key does not even start.
    const other = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
    const raw = Buffer.from(await crypto.subtle.exportKey('raw', other.publicKey)).toString('base64');
    await assert.rejects(mg.GatewaySync.connect({ url: base, token, publicKey: raw, intervalMs: 0, flushMs: 0, onError: (e) => errors.push(e) }), {
      code: 'bad-signature',
    });
    assert.equal((await admin('DELETE', '/admin/policies/tampered')).status, 200);
  });

  test('from workerd: connect, decide, ship the decision', async () => {
    const pkg = join(root, 'bindings', 'npm');
    const work = mkdtempSync(join(tmpdir(), 'meshguard-sync-workerd-'));
    closers.push(async () => rmSync(work, { recursive: true, force: true }));
    writeFileSync(
      join(work, 'worker.mjs'),
      `import wasm from './pkg/web/meshguard_wasm_bg.wasm';
import { initSync, GatewaySync } from './js/web.js';
initSync({ module: wasm });
export default {
  async fetch(request) {
    const { url, token, publicKey } = await request.json();
    const sync = await GatewaySync.connect({ url, token, publicKey, intervalMs: 0, flushMs: 0 });
    const d = sync.evaluate({ action: 'write:email', resource: 'bob@yourcompany.com', traceId: 'from-workerd' });
    await sync.flush();
    return Response.json({ version: sync.version, effect: d.effect, pending: sync.pending, error: sync.lastError?.code ?? null });
  },
};
`,
    );
    const modules = [['worker.mjs', 'esModule', join(work, 'worker.mjs')]].concat(
      ['js/web.js', 'js/api.js', 'js/errors.js', 'js/sync.js', 'js/client.js', 'js/compact.js', 'pkg/web/meshguard_wasm.js'].map((f) => [f, 'esModule', join(pkg, f)]),
      [['pkg/web/meshguard_wasm_bg.wasm', 'wasm', join(pkg, 'pkg/web/meshguard_wasm_bg.wasm')]],
    );
    // The worker may reach the gateway on 127.0.0.1 (workerd's default outbound is public only).
    writeFileSync(
      join(work, 'config.capnp'),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .w), (name = "net", network = (allow = ["public", "private", "local"]))],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")]);
const w :Workerd.Worker = (modules = [
${modules.map(([name, kind, file]) => `  (name = "${name}", ${kind} = embed "${relative(work, file)}")`).join(',\n')}
], compatibilityDate = "2025-01-01", globalOutbound = "net");
`,
    );
    const workerd = require('workerd').default;
    const wport = await freePort();
    const child = spawn(workerd, ['serve', 'config.capnp', `--socket-addr=http=127.0.0.1:${wport}`], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    closers.push(async () => child.kill('SIGKILL'));
    let got;
    for (let i = 0; i < 300 && child.exitCode === null && got === undefined; i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${wport}/`, {
          method: 'POST',
          body: JSON.stringify({ url: base, token, publicKey }),
          signal: AbortSignal.timeout(20_000),
        });
        got = { status: r.status, body: await r.text() };
      } catch {
        await sleep(100);
      }
    }
    assert.ok(got, `workerd did not answer:\n${log}`);
    assert.equal(got.status, 200, `${got.body}\n${log}`);
    const body = JSON.parse(got.body);
    assert.deepEqual([body.effect, body.pending, body.error], ['allow', 0, null]);
    assert.match(body.version, /^[0-9a-f]{64}$/);
    const rows = (await admin('GET', '/admin/audit?traceId=from-workerd')).body.entries;
    assert.equal(rows.length, 1);
    assert.equal(rows[0].endpoint, 'local');
  });

  test('a gateway that is down: decisions go on, buffered, and reach it when it is back; a full buffer denies', async () => {
    const sync = await connect({ maxBuffer: 3 });
    const version = sync.version;
    await stopGateway(gateway);
    assert.equal(await sync.refresh(), false);
    assert.equal(sync.lastError.code, 'unreachable');
    assert.equal(sync.version, version);
    const allow = { action: 'write:email', resource: 'bob@yourcompany.com', traceId: 'down-1' };
    assert.equal(sync.evaluate(allow).allowed, true);
    assert.equal(sync.evaluate({ ...allow, traceId: 'down-2' }).allowed, true);
    await sync.flush();
    assert.equal(sync.lastError.code, 'unreachable');
    assert.equal(sync.pending, 2, 'kept for later');
    assert.equal(sync.evaluate({ ...allow, traceId: 'down-3' }).allowed, true);
    const full = sync.evaluate({ ...allow, traceId: 'down-4' });
    assert.deepEqual([full.effect, full.allowed, full.rule], ['deny', false, 'audit-buffer-full']);
    const audited = sync.evaluate({ ...allow, mode: 'audit', traceId: 'down-5' });
    assert.equal(audited.allowed, true, 'audit mode lets it through, unrecorded');
    assert.equal(sync.dropped, 2);

    gateway = await startGateway(dir, port);
    await sync.flush();
    assert.equal(sync.pending, 0);
    for (const t of ['down-1', 'down-2', 'down-3']) {
      assert.equal((await admin('GET', `/admin/audit?traceId=${t}`)).body.entries.length, 1, t);
    }
    assert.equal(await sync.refresh(), false, 'the same set after the restart');
    assert.ok(readdirSync(dir).includes('bundle-signing-key.pem'), 'one key across restarts');
  });
});
