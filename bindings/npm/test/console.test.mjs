// The gateway's web console (hosts/gateway/console/) in headless Debian Chromium, against
// the real release gateway: sign-in (a wrong token shows nothing but the sign-in page), a
// decision made through the SDK client appearing live with its explanation, creating and
// revoking an agent, applying a policy with an error (pointed at, nothing applied) and then
// a good one, approving a pending request, and the playground (the package's WebAssembly
// build in the browser beside the gateway's answer). Screenshots of each view are saved
// in target/console-screenshots/ as test artefacts.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { MeshGuardClient, PolicyDeniedError } from '../js/node.js';
import { browserSkip, launchChromium } from './browser.mjs';
import { root } from './corpus.mjs';
import { ADMIN, GATEWAY, freePort, startGateway, stopGateway } from './gateway.mjs';

const SHOTS = join(root, 'target', 'console-screenshots');
const WAIT = { timeout: 15_000 };

const POLICY = `name: console-test
appliesTo:
  tags: [console]
rules:
  - name: reads
    effect: allow
    actions: ["read:*"]
  - name: no-rm
    effect: deny
    actions: ["execute:shell"]
    conditions:
      resource:
        contains: ["rm -rf"]
    reason: Recursive deletes are not allowed
  - name: shell
    effect: allow
    actions: ["execute:shell"]
  - name: mail
    effect: allow
    actions: ["send:email"]
humanInTheLoop:
  requireApproval: ["send:email"]
defaultEffect: deny
`;

const skip = (!existsSync(GATEWAY) && `${GATEWAY} is missing`) || browserSkip;

describe('the console in Chromium', { skip }, () => {
  let dir;
  let gateway;
  let base;
  let browser;
  let page;
  let agent;
  const admin = () => new MeshGuardClient({ gatewayUrl: base, adminToken: ADMIN });
  const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const adminGet = async (path) => {
    const r = await fetch(`${base}${path}`, { headers: { 'X-Admin-Token': ADMIN } });
    return { status: r.status, body: await r.json() };
  };

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'meshguard-console-'));
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'policies', 'console-test.yaml'), POLICY);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gateway = await startGateway(dir, port);
    agent = await admin().createAgent({ name: 'console-agent', tags: ['console'] });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.setDefaultTimeout(WAIT.timeout);
    page.on('dialog', (d) => d.accept());
  });

  after(async () => {
    await browser?.close();
    await stopGateway(gateway);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('without the admin token: the sign-in page and nothing else', async () => {
    // API clients still get the info document at `/`; the console itself needs the token.
    const info = await (await fetch(`${base}/`)).json();
    assert.equal(info.endpoints.console, '/');
    assert.equal((await fetch(`${base}/console/app/console.js`)).status, 401);
    assert.equal((await fetch(`${base}/console/app/console.js`, { headers: { 'X-Admin-Token': 'wrong' } })).status, 401);
    assert.equal((await fetch(`${base}/console/app/console.js`, { headers: { 'X-Admin-Token': ADMIN } })).status, 200);

    await page.goto(`${base}/`);
    await page.getByLabel('Admin token').fill('not-the-admin-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor(WAIT);
    assert.equal(await page.locator('#app').innerHTML(), '');
    assert.equal(await page.getByRole('tab').count(), 0);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('meshguard.adminToken')), null);
    await shot('01-sign-in-refused');
  });

  test('signed in: a decision made through the SDK appears live, with its explanation', async () => {
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('tab', { name: 'Live decisions' }).waitFor(WAIT);
    await page.getByText('Live: new decisions appear').waitFor(WAIT);

    const sdk = new MeshGuardClient({ gatewayUrl: base, agentToken: agent.token, traceId: 'console-live-1' });
    await assert.rejects(sdk.enforce('execute:shell', 'git status && rm -rf /'), PolicyDeniedError);
    const row = page.locator('table.decisions tbody tr[data-trace="console-live-1"]');
    await row.waitFor(WAIT);
    const text = await row.innerText();
    assert.match(text, /execute:shell/);
    assert.match(text, /deny/);
    assert.match(text, /console-test \/ no-rm/);

    // Keyboard: the row opens with Enter; the explanation is the decision made again.
    await row.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.locator('table.rules tr.decided').waitFor(WAIT);
    assert.match(await dialog.locator('table.rules tr.decided').innerText(), /console-test \/ no-rm/);
    assert.match(await dialog.innerText(), /Recursive deletes are not allowed/);
    await shot('02-live-decision-explained');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // The chart counts it (drawn from /admin/audit/stats?bucket=60).
    await page.waitForFunction(() => /[1-9]\d* denied/.test(document.querySelector('figure.chart svg')?.getAttribute('aria-label') ?? ''), null, WAIT);

    // Filters: only allows from now on; a deny made meanwhile does not show.
    await page.getByLabel('Decision', { exact: true }).selectOption('allow');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Live: new decisions appear').waitFor(WAIT);
    await sdk.check('execute:shell', 'rm -rf /tmp/x');
    await sdk.check('read:file', './README.md');
    await page.locator('table.decisions tbody tr', { hasText: 'read:file' }).waitFor(WAIT);
    assert.equal(await page.locator('table.decisions tbody tr', { hasText: 'deny' }).count(), 0);
  });

  test('agents: create (token shown once, copyable), then revoke', async () => {
    await page.getByRole('tab', { name: 'Agents' }).click();
    await page.getByLabel('Name', { exact: true }).fill('made-in-console');
    await page.getByLabel('Tags (comma-separated)').fill('console, extra');
    await page.getByRole('button', { name: 'Create agent' }).click();
    const token = await page.locator('#new-token').inputValue();
    assert.ok(token.length > 20, token);
    await shot('03-agent-created');
    // The token shown works, and the agent carries the tags given.
    const made = new MeshGuardClient({ gatewayUrl: base, agentToken: token });
    assert.equal((await made.check('read:file', 'x')).allowed, true);
    const listed = (await admin().listAgents()).find((a) => a.name === 'made-in-console');
    assert.deepEqual(listed.tags, ['console', 'extra']);

    // Rotate: a new token is shown once; the old one stops working.
    await page.getByRole('button', { name: 'Rotate the token of made-in-console' }).click();
    await page.getByText('Rotated the token of made-in-console').waitFor(WAIT);
    const rotated = await page.locator('#new-token').inputValue();
    assert.notEqual(rotated, token);
    await assert.rejects(made.check('read:file', 'x'), { name: 'AuthenticationError' });
    const remade = new MeshGuardClient({ gatewayUrl: base, agentToken: rotated });
    assert.equal((await remade.check('read:file', 'x')).allowed, true);

    await page.getByRole('button', { name: 'Revoke made-in-console' }).click();
    await page.locator(`tr[data-agent="${listed.id}"].revoked`).waitFor(WAIT);
    await assert.rejects(remade.check('read:file', 'x'), { name: 'AuthenticationError' });
  });

  test('policies: an error is pointed at its line and nothing is applied; a good text applies', async () => {
    await page.getByRole('tab', { name: 'Policies' }).click();
    await page.getByRole('button', { name: 'console-test', exact: true }).click();
    // Opened: its text, with the lint finding about it drawn at its line.
    await page.locator('.problems .annotated .src-note.note').waitFor(WAIT);
    assert.match(await page.locator('.problems .annotated .src-note.note').innerText(), /note\[overlap\]/);
    assert.equal(await page.getByLabel('Policy text (YAML or JSON)', { exact: true }).inputValue(), POLICY);
    await page.getByRole('button', { name: 'New policy' }).click();
    await page.getByLabel('Policy name').fill('from-console');
    const bad = 'name: from-console\nappliesTo:\n  tags: [console]\nrulez:\n  - effect: allow\n    actions: ["list:*"]\n';
    await page.getByLabel('Policy text (YAML or JSON)', { exact: true }).fill(bad);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Not applied').waitFor(WAIT);
    const marked = page.locator('.annotated .src-line.marked');
    assert.equal(await marked.count(), 1);
    assert.match(await marked.innerText(), /^4\s+rulez:/);
    const note = await page.locator('.annotated .src-note.error').innerText();
    assert.match(note, /\^{5} error\[unknown-key\]: unknown key `rulez`/);
    assert.match(await page.locator('.problems ul.diagnostics').innerText(), /:4:1 error\[unknown-key\].*did you mean `rules`\?/s);
    // Clicking the location puts the caret there.
    await page.locator('.problems ul.diagnostics button').first().click();
    const caret = await page.locator('#p-text').evaluate((t) => t.selectionStart);
    assert.equal(caret, bad.indexOf('rulez'));
    await shot('04-policy-error-pointed-at');
    assert.equal((await adminGet('/admin/policies/from-console')).status, 404, 'nothing applied');

    await page.getByLabel('Policy text (YAML or JSON)', { exact: true }).fill(bad.replace('rulez', 'rules'));
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Applied from-console').waitFor(WAIT);
    await page.getByRole('button', { name: 'from-console', exact: true }).waitFor(WAIT);
    assert.equal((await adminGet('/admin/policies/from-console')).status, 200);
    const sdk = new MeshGuardClient({ gatewayUrl: base, agentToken: agent.token });
    assert.equal((await sdk.check('list:files')).allowed, true, 'the new policy decides');
  });

  test('approvals: a pending request is approved from the console', async () => {
    const sdk = new MeshGuardClient({ gatewayUrl: base, agentToken: agent.token });
    const pending = await sdk.check('send:email', 'bob@example.com');
    assert.equal(pending.allowed, false); // the SDK's answer to a 403: the approval waits
    const { body } = await adminGet('/admin/approvals?status=pending');
    const approval = body.approvals.find((a) => a.action === 'send:email');
    assert.ok(approval, JSON.stringify(body));

    await page.getByRole('tab', { name: 'Approvals' }).click();
    const row = page.locator(`tr[data-approval="${approval.id}"]`);
    await row.waitFor(WAIT);
    await shot('05-approval-pending');
    await row.getByRole('button', { name: /^Approve/ }).click();
    await page.getByText('Approved send:email').waitFor(WAIT);
    const settled = await adminGet(`/admin/approvals/${approval.id}`);
    assert.equal(settled.body.status, 'approved');
    assert.equal(settled.body.decidedBy, 'console');
  });

  test('playground: the browser and the gateway decide alike, and agree on load errors', async () => {
    await page.getByRole('tab', { name: 'Playground' }).click();
    await page.getByRole('button', { name: 'Decide' }).click();
    await page.locator('#pg-verdict', { hasText: 'Both agree.' }).waitFor({ timeout: 60_000 });
    for (const side of ['#pg-local', '#pg-gateway']) {
      const text = await page.locator(side).innerText();
      assert.match(text, /deny/);
      assert.match(text, /shell-guard \/ no-rm/);
      assert.match(text, /rm -rf \//, 'the deciding part');
    }
    await shot('06-playground-agree');
    // The browser really ran the package's WebAssembly build.
    assert.ok(
      await page.evaluate(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('/meshguard_wasm_bg.wasm'))),
    );

    await page.getByLabel('Request (JSON)').fill('{"action": "execute:shell", "resource": "git status", "agent": {"id": "a", "tags": ["claude-code"]}}');
    await page.getByRole('button', { name: 'Decide' }).click();
    await page.locator('#pg-verdict', { hasText: 'Both agree.' }).waitFor(WAIT);
    assert.match(await page.locator('#pg-local').innerText(), /allow/);

    const policy = page.getByLabel('Policy text', { exact: true });
    await policy.fill((await policy.inputValue()).replace('defaultEffect: deny', 'defaultEfect: deny'));
    await page.getByRole('button', { name: 'Decide' }).click();
    await page.locator('#pg-verdict', { hasText: 'Both agree.' }).waitFor(WAIT);
    for (const side of ['#pg-local', '#pg-gateway']) {
      assert.match(await page.locator(side).innerText(), /error\[unknown-key\]: unknown key `defaultEfect`/);
    }
  });

  test('keyboard: the views are tabs moved through with the arrow keys; sign out forgets the token', async () => {
    await page.getByRole('tab', { name: 'Playground' }).focus();
    await page.keyboard.press('Home');
    assert.equal(await page.getByRole('tab', { selected: true }).innerText(), 'Live decisions');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByRole('tab', { selected: true }).innerText(), 'Agents');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-agents');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor(WAIT);
    assert.equal(await page.getByRole('tab').count(), 0);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('meshguard.adminToken')), null);
  });
});
