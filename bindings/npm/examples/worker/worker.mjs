// An edge worker deciding MeshGuard requests locally with @meshguard/policy's web build.
//
//   GET  /health                 {"ok":true,"backend":"wasm","version":…,"policies":[…]}
//   POST /evaluate[?explain=1]   body: a request (JSON); answer: the decision (JSON)
//   POST /batch[?explain=1]      body: an array of requests; answer: the decisions
//   POST /validate               body: policy YAML; 200 {"ok":true} or 422 {diagnostics}
//
// In a real deployment the import would be '@meshguard/policy' (the `workerd` export
// condition picks the web build) and '@meshguard/policy/meshguard.wasm'.

import wasm from './pkg/web/meshguard_wasm_bg.wasm';
import { initSync, PolicySet, PolicyLoadError, RateLimiter, version } from './js/web.js';
import autogpt from './policies/autogpt.yaml';
import autogptProduction from './policies/autogpt-production.yaml';
import claudeCodeDevAssistant from './policies/claude-code-dev-assistant.yaml';
import claudeCodeFile from './policies/claude-code-file.yaml';
import claudeCodeShell from './policies/claude-code-shell.yaml';
import claudeCodeWeb from './policies/claude-code-web.yaml';
import clawdbotCalendar from './policies/clawdbot-calendar.yaml';
import clawdbotEmail from './policies/clawdbot-email.yaml';
import clawdbotFile from './policies/clawdbot-file.yaml';
import clawdbotMessaging from './policies/clawdbot-messaging.yaml';
import clawdbotWeb from './policies/clawdbot-web.yaml';

// Compiling bytes is forbidden here; instantiating the embedded module is not.
initSync({ module: wasm });

// Compiled once per isolate, shared by every request (a set is immutable).
const set = PolicySet.load([
  { name: 'autogpt.yaml', text: autogpt },
  { name: 'autogpt-production.yaml', text: autogptProduction },
  { name: 'claude-code-dev-assistant.yaml', text: claudeCodeDevAssistant },
  { name: 'claude-code-file.yaml', text: claudeCodeFile },
  { name: 'claude-code-shell.yaml', text: claudeCodeShell },
  { name: 'claude-code-web.yaml', text: claudeCodeWeb },
  { name: 'clawdbot-calendar.yaml', text: clawdbotCalendar },
  { name: 'clawdbot-email.yaml', text: clawdbotEmail },
  { name: 'clawdbot-file.yaml', text: clawdbotFile },
  { name: 'clawdbot-messaging.yaml', text: clawdbotMessaging },
  { name: 'clawdbot-web.yaml', text: clawdbotWeb },
]);
// Rate limits count per isolate: a sketch; a fleet would keep them in a Durable Object.
const limiter = new RateLimiter();

const json = (body, status = 200) =>
  new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const explain = url.searchParams.get('explain') === '1';
    if (request.method === 'GET' && url.pathname === '/health') {
      return json({ ok: true, backend: 'wasm', version: version(), policies: set.names });
    }
    if (request.method === 'POST' && url.pathname === '/evaluate') {
      // The body goes to the evaluator as it came: bad JSON is an invalid-request deny.
      return json(set.evaluateJson(await request.text(), { explain, limiter }));
    }
    if (request.method === 'POST' && url.pathname === '/batch') {
      let requests;
      try {
        requests = await request.json();
      } catch {
        return json({ error: 'the body must be a JSON array of requests' }, 400);
      }
      if (!Array.isArray(requests)) return json({ error: 'the body must be a JSON array of requests' }, 400);
      return json(set.evaluateBatch(requests, { explain, limiter }));
    }
    if (request.method === 'POST' && url.pathname === '/validate') {
      try {
        PolicySet.load([{ name: 'policy.yaml', text: await request.text() }]);
        return json({ ok: true });
      } catch (e) {
        if (e instanceof PolicyLoadError) return json({ ok: false, diagnostics: e.diagnostics }, 422);
        throw e;
      }
    }
    return json({ error: 'not found' }, 404);
  },
};
