// Compiled (not run) by test/api.test.mjs with `tsc -p test/types`: the declarations in
// index.d.ts accept what the API accepts and refuse misuse at compile time.

import {
  AuthenticationError,
  GatewaySync,
  MeshGuardClient,
  type PolicyDecision,
  LocalGuard,
  MeshGuardError,
  PolicyDeniedError,
  PolicyLoadError,
  PolicySet,
  RateLimiter,
  RateLimitError,
  backend,
  init,
  initSync,
  lint,
  version,
  type Decision,
  type Diagnostic,
  type GuardDecision,
  type Request,
} from '@meshguard/policy';
import * as native from '@meshguard/policy/native';
import * as web from '@meshguard/policy/web';

const set: PolicySet = PolicySet.load(['name: a'], { fallback: 'allow' });
PolicySet.load('name: a');
PolicySet.load([{ name: 'a.json', text: '{}' }, 'name: b']);
const request: Request = { action: 'write:email', resource: 'bob@example.com', agent: { id: 'a', tags: ['t'] }, mode: 'audit' };
const d: Decision = set.evaluate(request, { explain: true, limiter: new RateLimiter(), now: Date.now() });
const effect: 'allow' | 'deny' | 'require_approval' = d.effect;
const resource: string | null = d.resource;
const limits: number | null = d.obligations.rateLimits[0]!.requestsPerMinute;
const json: string = set.evaluateJson('{"action":"a"}');
const many: Decision[] = set.evaluateBatch([request, { action: 'b' }]);
const why = set.explain(request).explanation.rules.map((r) => r.status);
const size: number = set.size;
const names: string[] = set.names;
const findings: Diagnostic[] = lint([{ name: 'a.yaml', text: 'name: a' }, 'name: b']);
const severity: 'error' | 'warning' | 'note' = findings[0]!.severity;
void [findings, severity, effect, resource, limits, json, many, why, size, names, backend satisfies 'wasm' | 'native', version()];

const guard: LocalGuard = set.guard({ agent: { id: 'a' }, now: () => 0 });
async function sdkShape(): Promise<number> {
  const checked: GuardDecision = await guard.check('read:contacts', undefined, { channel: 'slack' });
  const field: string = checked.decision;
  await guard.enforce('read:contacts', 'x');
  void field;
  return guard.govern('read:contacts', async () => 42, 'x');
}
void sdkShape;

try {
  PolicySet.load('');
} catch (e) {
  if (e instanceof PolicyLoadError) {
    const first: Diagnostic = e.diagnostics[0]!;
    const at: [string, number, number, string] = [e.file, e.line, e.column, e.code];
    const help: string | null = first.help;
    void [at, help];
  } else if (e instanceof RateLimitError || e instanceof PolicyDeniedError) {
    // Policy and rule may be absent: the SDK builds these errors from gateway answers.
    const who: [string | undefined, string | null | undefined, string | null | undefined, string] = [
      e.action,
      e.policy,
      e.rule,
      e.reason,
    ];
    void who;
  } else if (e instanceof MeshGuardError) {
    const code: string = e.code;
    void code;
  }
}

await init();
initSync({ module: new WebAssembly.Module(new Uint8Array()) });
web.initSync(new WebAssembly.Module(new Uint8Array()));
native.PolicySet.load('name: a');

// @ts-expect-error an action is required
set.evaluate({ resource: 'x' });
// @ts-expect-error actions are strings
set.evaluate({ action: 42 });
// @ts-expect-error the fallback is allow or deny
PolicySet.load('name: a', { fallback: 'maybe' });
// @ts-expect-error sets are built with load
new PolicySet();
// @ts-expect-error govern takes a function
void guard.govern('a', 42);
// @ts-expect-error decisions are read-only in shape: no such field
void d.verdict;

// The official SDK's client, remote or local.
async function sdk(sync: GatewaySync): Promise<void> {
  const client = new MeshGuardClient({ gatewayUrl: 'http://127.0.0.1:3100', agentToken: 't', timeout: 5000 });
  const decision: PolicyDecision = await client.check('read:file', '/tmp/x');
  const verdict: 'allow' | 'deny' = decision.decision;
  await client.govern('read:file', async () => 1, '/tmp/x');
  const res: Response = await client.get('/api/x', 'read:api', { headers: { 'X-A': 'b' } });
  void res;
  const local = new MeshGuardClient({ local: sync });
  try {
    await local.enforce('write:email', 'eve@example.com', { urgent: true });
  } catch (e) {
    if (e instanceof AuthenticationError || e instanceof RateLimitError || e instanceof PolicyDeniedError) void e.message;
  }
  const synced: GatewaySync = await GatewaySync.connect({ url: 'http://x', token: 't', publicKey: 'k', intervalMs: 0 });
  const d: Decision = synced.evaluate({ action: 'read:file', traceId: 'x' });
  void verdict;
  void d;
  // @ts-expect-error the SDK's check takes strings
  await client.check(42);
}
void sdk;
