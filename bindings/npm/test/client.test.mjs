// MeshGuardClient, the official SDK's client shape, against the real gateway (with a
// proxy upstream started here): the SDK's options and defaults, what it sends, the
// statuses it maps to errors, proxy helpers, health and admin calls — and the same
// check/enforce/govern answered in-process with `local`, equal to the remote answers.

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import * as mg from '../js/node.js';
import { root } from './corpus.mjs';
import { ADMIN, GATEWAY, freePort, startGateway, stopGateway } from './gateway.mjs';

const { MeshGuardClient, MeshGuardError, AuthenticationError, PolicyDeniedError, RateLimitError } = mg;

test('options: the SDK defaults, environment and trailing slashes', () => {
  const saved = { ...process.env };
  try {
    for (const k of ['MESHGUARD_GATEWAY_URL', 'MESHGUARD_AGENT_TOKEN', 'MESHGUARD_ADMIN_TOKEN']) delete process.env[k];
    const c = new MeshGuardClient();
    assert.equal(c.gatewayUrl, 'https://dashboard.meshguard.app');
    assert.equal(c.timeout, 30_000);
    assert.match(c.traceId, /^[0-9a-f-]{36}$/);
    assert.equal(c.local, false);
    process.env.MESHGUARD_GATEWAY_URL = 'https://gw.example.com//';
    process.env.MESHGUARD_AGENT_TOKEN = 'agent-t';
    process.env.MESHGUARD_ADMIN_TOKEN = 'admin-t';
    const e = new MeshGuardClient({ timeout: 5000, traceId: 'trace-1' });
    assert.deepEqual([e.gatewayUrl, e.agentToken, e.adminToken, e.timeout, e.traceId], [
      'https://gw.example.com', 'agent-t', 'admin-t', 5000, 'trace-1',
    ]);
    assert.throws(() => new MeshGuardClient({ local: {} }), { code: 'invalid-argument' });
  } finally {
    process.env = saved;
  }
});

test('errors: the SDK hierarchy and messages', () => {
  const d = new PolicyDeniedError({ action: 'write:email', policy: 'strict', rule: 'no-email', reason: 'Email sending blocked' });
  assert.equal(d.message, "Action 'write:email' denied by policy 'strict' (rule: no-email): Email sending blocked");
  assert.ok(d instanceof MeshGuardError);
  assert.equal(new PolicyDeniedError({ action: 'a' }).message, "Action 'a' denied: Access denied by policy");
  assert.equal(new AuthenticationError().message, 'Invalid or expired token');
  assert.equal(new RateLimitError().message, 'Rate limit exceeded');
  assert.ok(new RateLimitError() instanceof MeshGuardError && !(new RateLimitError() instanceof PolicyDeniedError));
});

describe('MeshGuardClient with the real gateway', { skip: !existsSync(GATEWAY) && `${GATEWAY} is missing` }, () => {
  let dir;
  let gateway;
  let base;
  let token;
  let upstream;
  const seen = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshguard-client-'));
    cpSync(join(root, 'policies'), join(dir, 'policies'), { recursive: true });
    writeFileSync(
      join(dir, 'policies', 'zz-client-test.yaml'),
      'name: client-test\nappliesTo:\n  tags: [clawdbot]\nrules:\n' +
        '  - name: pings\n    effect: allow\n    actions: ["ping:*"]\n    conditions:\n      rateLimit: {requestsPerMinute: 2}\n' +
        '  - name: api-read\n    effect: allow\n    actions: ["read:api"]\n',
    );
    upstream = createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ upstream: true, url: req.url }));
    });
    await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gateway = await startGateway(dir, port, { PROXY_TARGET: `http://127.0.0.1:${upstream.address().port}` });
    const admin = new MeshGuardClient({ gatewayUrl: base, adminToken: ADMIN });
    token = (await admin.createAgent({ name: 'sdk-agent', tags: ['clawdbot'] })).token;
  });

  after(async () => {
    await stopGateway(gateway);
    await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('check, enforce and govern as the SDK: a deny is an answer, enforce throws, govern skips', async () => {
    const c = new MeshGuardClient({ gatewayUrl: `${base}/`, agentToken: token, traceId: 'sdk-trace-1' });
    const allow = await c.check('write:email', 'bob@yourcompany.com');
    assert.deepEqual([allow.allowed, allow.decision, allow.action, allow.traceId], [true, 'allow', 'write:email', 'sdk-trace-1']);
    assert.equal(allow.policy, 'clawdbot-email-policy');
    const deny = await c.check('write:email', 'eve@elsewhere.org');
    assert.deepEqual([deny.allowed, deny.decision], [false, 'deny']);
    assert.ok(deny.reason && deny.rule, JSON.stringify(deny));
    await assert.rejects(c.enforce('write:email', 'eve@elsewhere.org'), (e) => {
      assert.ok(e instanceof PolicyDeniedError);
      assert.deepEqual([e.action, e.policy, e.rule, e.reason], ['write:email', deny.policy, deny.rule, deny.reason]);
      return true;
    });
    let ran = 0;
    assert.equal(await c.govern('write:email', () => ++ran, 'bob@yourcompany.com'), 1);
    await assert.rejects(c.govern('write:email', async () => ++ran, 'eve@elsewhere.org'), PolicyDeniedError);
    assert.equal(ran, 1);
    // The trace id went with every call: the gateway audited them under it.
    const rows = await new MeshGuardClient({ gatewayUrl: base, adminToken: ADMIN }).getAuditLog({ limit: 100 });
    assert.ok(rows.filter((r) => r.traceId === 'sdk-trace-1').length >= 5);
  });

  test('statuses: 401 AuthenticationError, 429 RateLimitError, unreachable unwrapped', async () => {
    await assert.rejects(new MeshGuardClient({ gatewayUrl: base, agentToken: 'nope' }).check('read:x'), AuthenticationError);
    const c = new MeshGuardClient({ gatewayUrl: base, agentToken: token });
    assert.equal((await c.check('ping:a')).allowed, true);
    assert.equal((await c.check('ping:b')).allowed, true);
    await assert.rejects(c.check('ping:c'), RateLimitError);
    const down = new MeshGuardClient({ gatewayUrl: `http://127.0.0.1:${await freePort()}`, agentToken: token });
    await assert.rejects(down.check('read:x'), (e) => !(e instanceof MeshGuardError));
    assert.equal(await down.isHealthy(), false);
  });

  test('proxy helpers: allowed requests reach the upstream with the body unread; a deny throws', async () => {
    const c = new MeshGuardClient({ gatewayUrl: base, agentToken: token });
    const r = await c.get('/items/1', 'read:api', { headers: { 'X-Extra': 'yes' } });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { upstream: true, url: '/items/1' });
    assert.equal(seen.at(-1).headers['x-extra'], 'yes');
    assert.equal(seen.at(-1).headers.authorization, undefined, 'the token stays at the gateway');
    const before = seen.length;
    await assert.rejects(c.post('/items', 'delete:everything', { body: '{}' }), PolicyDeniedError);
    assert.equal(seen.length, before, 'nothing forwarded');
  });

  test('health and admin calls as the SDK', async () => {
    const c = new MeshGuardClient({ gatewayUrl: base, adminToken: ADMIN });
    assert.equal((await c.health()).status, 'healthy');
    assert.equal(await c.isHealthy(), true);
    const created = await c.createAgent({ name: 'temp-agent', trustTier: 'untrusted' });
    assert.equal(created.trustTier, 'untrusted');
    assert.ok((await c.listAgents()).some((a) => a.name === 'temp-agent' && Array.isArray(a.tags)));
    await c.revokeAgent(created.id);
    assert.ok((await c.listPolicies()).some((p) => p.id === 'client-test'));
    const denies = await c.getAuditLog({ limit: 10, decision: 'deny' });
    assert.ok(denies.length > 0 && denies.every((e) => e.decision === 'deny'));
    await assert.rejects(new MeshGuardClient({ gatewayUrl: base }).listAgents(), {
      name: 'AuthenticationError',
      message: 'Admin token required for this operation',
    });
  });

  test('local: the same answers in-process, from a synced bundle or a PolicySet', async () => {
    const publicKey = (await (await fetch(`${base}/v1/policies/bundle/key`)).json()).publicKey;
    const sync = await mg.GatewaySync.connect({ url: base, token, publicKey, intervalMs: 0, flushMs: 0 });
    const remote = new MeshGuardClient({ gatewayUrl: base, agentToken: token, traceId: 't' });
    const synced = new MeshGuardClient({ gatewayUrl: base, agentToken: token, traceId: 't', local: sync });
    const bundle = await (await fetch(`${base}/v1/policies/bundle`, { headers: { authorization: `Bearer ${token}` } })).json();
    const set = mg.PolicySet.load(bundle.policies);
    const loaded = new MeshGuardClient({ traceId: 't', local: set, agent: { id: 'x', tags: ['clawdbot'] } });
    assert.equal(synced.local, true);
    for (const [action, resource] of [
      ['write:email', 'bob@yourcompany.com'],
      ['write:email', 'eve@elsewhere.org'],
      ['browse:web', 'HTTPS://Evil.ONION/x'],
      ['read:api', undefined],
      ['delete:email', 'inbox/1'],
    ]) {
      const want = await remote.check(action, resource);
      assert.deepEqual(await synced.check(action, resource), want, `${action} ${resource}`);
      assert.deepEqual(await loaded.check(action, resource), want, `${action} ${resource} (PolicySet)`);
    }
    await assert.rejects(synced.enforce('write:email', 'eve@elsewhere.org'), PolicyDeniedError);
    assert.equal(await synced.govern('read:api', () => 'ran'), 'ran');
    const limiter = new mg.RateLimiter();
    const limited = new MeshGuardClient({ local: set, agent: { id: 'y', tags: ['clawdbot'] }, limiter });
    await limited.check('ping:1');
    await limited.check('ping:2');
    await assert.rejects(limited.check('ping:3'), RateLimitError);
    await sync.close();
  });
});
