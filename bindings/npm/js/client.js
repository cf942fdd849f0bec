// `MeshGuardClient`: the official `meshguard` JS SDK's client, same names, options,
// errors and answers, so moving a project from the SDK to this package is an import
// change. It speaks to the gateway exactly as the SDK does (headers, paths, statuses →
// errors: 401 AuthenticationError, 429 RateLimitError, other errors MeshGuardError
// "Request failed: <status> <body>"; `check` answers a 403 with a deny instead of
// throwing). One option more, `local` — a PolicySet or a GatewaySync — makes `check`,
// `enforce` and `govern` decide in-process with the same answers and errors; proxy,
// health and admin calls always go to the gateway.
//
// Differences, all supersets: a 200 or 403 answer keeps the gateway's `rule` and
// `reason`; `check`/`enforce`/`govern` take an optional last `context` (sent as
// `X-MeshGuard-Context`); proxy helpers return the response with its body unread.

const DEFAULT_URL = 'https://dashboard.meshguard.app';

const env = (name) => globalThis.process?.env?.[name];

async function safeJson(response) {
  try {
    const text = await response.text();
    return text ? JSON.parse(text) : {};
  } catch {
    return {};
  }
}

export function createClient({ PolicySet, GatewaySync, errors }) {
  const { MeshGuardError, AuthenticationError, PolicyDeniedError, RateLimitError } = errors;

  /** The SDK's mapping of a failed answer to an error. */
  async function failure(response) {
    if (response.status === 401) return new AuthenticationError();
    if (response.status === 429) return new RateLimitError();
    if (response.status === 403) {
      const body = await safeJson(response);
      return new PolicyDeniedError({
        action: body.action ?? 'unknown',
        policy: body.policy,
        rule: body.rule,
        reason: body.message ?? undefined,
      });
    }
    return new MeshGuardError(`Request failed: ${response.status} ${await response.text().catch(() => '')}`, {
      code: 'request-failed',
    });
  }

  class MeshGuardClient {
    #local;
    #agent;
    #limiter;

    constructor(options = {}) {
      this.gatewayUrl = (options.gatewayUrl ?? env('MESHGUARD_GATEWAY_URL') ?? DEFAULT_URL).replace(/\/+$/, '');
      this.agentToken = options.agentToken ?? env('MESHGUARD_AGENT_TOKEN');
      this.adminToken = options.adminToken ?? env('MESHGUARD_ADMIN_TOKEN');
      this.timeout = options.timeout ?? 30_000;
      this.traceId = options.traceId ?? globalThis.crypto.randomUUID();
      const local = options.local;
      if (local !== undefined && !(local instanceof PolicySet) && !(local instanceof GatewaySync)) {
        throw new MeshGuardError('`local` must be a PolicySet or a GatewaySync of this package', { code: 'invalid-argument' });
      }
      this.#local = local;
      this.#agent = options.agent;
      this.#limiter = options.limiter;
    }

    /** Whether decisions are made in-process. */
    get local() {
      return this.#local !== undefined;
    }

    #headers(extra = {}) {
      const h = { 'X-MeshGuard-Trace-ID': this.traceId };
      if (this.agentToken) h.Authorization = `Bearer ${this.agentToken}`;
      return { ...h, ...extra };
    }

    #adminHeaders(extra = {}) {
      if (!this.adminToken) throw new AuthenticationError('Admin token required for this operation');
      return { 'X-Admin-Token': this.adminToken, 'X-MeshGuard-Trace-ID': this.traceId, ...extra };
    }

    /** fetch with the client's timeout on the answer's headers (bodies are not timed). */
    async #fetch(url, init = {}) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.timeout);
      try {
        return await fetch(url, { ...init, signal: controller.signal });
      } finally {
        clearTimeout(timer);
      }
    }

    async #ok(response) {
      if (response.status >= 400) throw await failure(response);
      return safeJson(response);
    }

    #decideLocally(action, resource, context) {
      const request = { action };
      if (resource) request.resource = resource;
      if (context !== undefined) request.context = context;
      if (this.#agent !== undefined) request.agent = this.#agent;
      const opts = this.#limiter ? { limiter: this.#limiter, now: Date.now() } : undefined;
      const d = this.#local.evaluate(request, opts);
      if (!d.allowed && d.reason === 'rate limit exceeded') throw new RateLimitError(d);
      return d;
    }

    /** The decision; a deny is an answer, not an error. */
    async check(action, resource, context) {
      if (this.#local !== undefined) {
        const d = this.#decideLocally(action, resource, context);
        return {
          allowed: d.allowed,
          action,
          decision: d.allowed ? 'allow' : 'deny',
          policy: d.policy ?? undefined,
          rule: d.rule ?? undefined,
          reason: d.reason,
          traceId: this.traceId,
        };
      }
      const extra = { 'X-MeshGuard-Action': action };
      if (resource) extra['X-MeshGuard-Resource'] = resource;
      if (context !== undefined) extra['X-MeshGuard-Context'] = JSON.stringify(context);
      const response = await this.#fetch(`${this.gatewayUrl}/proxy/check`, { method: 'GET', headers: this.#headers(extra) });
      if (response.status === 403) {
        const body = await safeJson(response);
        return {
          allowed: false,
          action,
          decision: 'deny',
          policy: body.policy,
          rule: body.rule,
          reason: body.message,
          traceId: this.traceId,
        };
      }
      const body = await this.#ok(response);
      return {
        allowed: true,
        action,
        decision: 'allow',
        policy: body.policy,
        rule: body.rule,
        reason: body.reason,
        traceId: this.traceId,
      };
    }

    /** The decision when allowed; `PolicyDeniedError` otherwise. */
    async enforce(action, resource, context) {
      const d = await this.check(action, resource, context);
      if (!d.allowed) throw new PolicyDeniedError({ action, policy: d.policy, rule: d.rule, reason: d.reason });
      return d;
    }

    /** Runs `fn` once the action is allowed. */
    async govern(action, fn, resource, context) {
      await this.enforce(action, resource, context);
      return fn();
    }

    /** A request through the gateway's proxy, decided on `action`; the response (body
     * unread) when allowed. */
    async request(method, path, action, init = {}) {
      const given = init.headers instanceof Headers ? Object.fromEntries(init.headers) : init.headers ?? {};
      const url = `${this.gatewayUrl}/proxy/${path.replace(/^\/+/, '')}`;
      const response = await this.#fetch(url, {
        ...init,
        method,
        headers: { ...this.#headers({ 'X-MeshGuard-Action': action }), ...given },
      });
      if (response.status >= 400) throw await failure(response);
      return response;
    }

    get(path, action, init) {
      return this.request('GET', path, action, init);
    }

    post(path, action, init) {
      return this.request('POST', path, action, init);
    }

    put(path, action, init) {
      return this.request('PUT', path, action, init);
    }

    delete(path, action, init) {
      return this.request('DELETE', path, action, init);
    }

    /** `GET /health` as it answers (a 503 `unhealthy` is data, not an error). */
    async health() {
      const response = await this.#fetch(`${this.gatewayUrl}/health`);
      return response.json();
    }

    async isHealthy() {
      try {
        return (await this.health()).status === 'healthy';
      } catch {
        return false;
      }
    }

    async listAgents() {
      const headers = this.#adminHeaders();
      const data = await this.#ok(await this.#fetch(`${this.gatewayUrl}/admin/agents`, { headers }));
      return (data.agents ?? []).map((a) => ({
        id: a.id,
        name: a.name,
        trustTier: a.trustTier,
        tags: a.tags ?? [],
        orgId: a.orgId,
      }));
    }

    async createAgent({ name, trustTier, tags }) {
      const headers = this.#adminHeaders({ 'Content-Type': 'application/json' });
      const body = JSON.stringify({ name, trustTier: trustTier ?? 'verified', tags: tags ?? [] });
      return this.#ok(await this.#fetch(`${this.gatewayUrl}/admin/agents`, { method: 'POST', headers, body }));
    }

    async revokeAgent(agentId) {
      const headers = this.#adminHeaders();
      await this.#ok(await this.#fetch(`${this.gatewayUrl}/admin/agents/${agentId}`, { method: 'DELETE', headers }));
    }

    async listPolicies() {
      const headers = this.#adminHeaders();
      return (await this.#ok(await this.#fetch(`${this.gatewayUrl}/admin/policies`, { headers }))).policies ?? [];
    }

    async getAuditLog(options = {}) {
      const headers = this.#adminHeaders();
      const q = new URLSearchParams({ limit: String(options.limit ?? 50) });
      if (options.decision) q.set('decision', options.decision);
      const data = await this.#ok(await this.#fetch(`${this.gatewayUrl}/admin/audit?${q}`, { headers }));
      return data.entries ?? [];
    }
  }

  return MeshGuardClient;
}
