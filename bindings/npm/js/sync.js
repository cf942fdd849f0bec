// Local decisions that follow a gateway: `GatewaySync.connect({ url, token, publicKey })`
// fetches the gateway's signed policy bundle (GET /v1/policies/bundle), verifies its
// Ed25519 signature against the pinned key with WebCrypto, compiles it, and decides in
// microseconds; it polls with the bundle's ETag and swaps in a new set when the gateway's
// changes, keeping the last good set when a fetch fails, a signature does not verify or a
// set does not load; and it ships every decision to the gateway's audit log in batches
// (POST /v1/audit/batch).
//
// The audit buffer is bounded (`maxBuffer`). When it is full — the gateway has not taken
// decisions for a while — a decision that would let the caller go ahead in enforce mode
// is turned into a deny (rule `audit-buffer-full`): nothing is allowed without its audit
// entry. In audit mode the decision stands and the entry is counted in `dropped`.
// Nothing here decides; the PolicySet does. Works on every backend and runtime with
// `fetch` and WebCrypto Ed25519 (Node 20+, Deno, Bun, browsers, workerd).

/** The defaults. */
const DEFAULTS = { intervalMs: 5000, maxBuffer: 10_000, batchSize: 500, flushMs: 1000, timeoutMs: 10_000 };

function decode64(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function createGatewaySync({ PolicySet, MeshGuardError }) {
  const fail = (code, message, cause) => new MeshGuardError(message, { code, cause });

  class GatewaySync {
    #o;
    #key;
    #set = null;
    #version = null;
    #mode = 'enforce';
    #agent = undefined;
    #buffer = [];
    #timers = [];
    #flushing = null;
    lastError = null;
    dropped = 0;

    constructor(token) {
      if (token !== GatewaySync.#token) throw fail('invalid-argument', 'use `await GatewaySync.connect(options)`');
    }

    static #token = Symbol('connect');

    /** Connects: resolves once the first bundle is verified and loaded, rejects (fails
     * closed) when it cannot be. */
    static async connect(options) {
      const o = { ...DEFAULTS, ...options };
      if (typeof o.url !== 'string' || typeof o.token !== 'string' || typeof o.publicKey !== 'string') {
        throw fail('invalid-argument', '`url`, `token` and `publicKey` (base64) are required strings');
      }
      o.url = o.url.replace(/\/+$/, '');
      o.fetch ??= globalThis.fetch.bind(globalThis);
      const sync = new GatewaySync(GatewaySync.#token);
      sync.#o = o;
      try {
        sync.#key = await crypto.subtle.importKey('raw', decode64(o.publicKey), { name: 'Ed25519' }, false, ['verify']);
      } catch (e) {
        throw fail('invalid-argument', `\`publicKey\` is not a base64 Ed25519 public key (${e?.message ?? e})`, e);
      }
      if (!(await sync.refresh())) throw sync.lastError;
      if (o.intervalMs > 0) sync.#every(o.intervalMs, () => sync.refresh());
      if (o.flushMs > 0) sync.#every(o.flushMs, () => sync.flush());
      return sync;
    }

    #every(ms, job) {
      const t = setInterval(() => job().catch(() => {}), ms);
      t.unref?.();
      this.#timers.push(t);
    }

    /** The bundle version serving. */
    get version() {
      return this.#version;
    }

    /** The set serving. */
    get set() {
      return this.#set;
    }

    /** Decisions waiting to be shipped. */
    get pending() {
      return this.#buffer.length;
    }

    #error(e) {
      this.lastError = e;
      this.#o.onError?.(e);
      return false;
    }

    async #request(path, init = {}) {
      try {
        return await this.#o.fetch(`${this.#o.url}${path}`, {
          ...init,
          headers: { authorization: `Bearer ${this.#o.token}`, ...init.headers },
          signal: AbortSignal.timeout(this.#o.timeoutMs),
        });
      } catch (e) {
        throw fail('unreachable', `the gateway at ${this.#o.url} is unreachable (${e?.message ?? e})`, e);
      }
    }

    /** Polls the bundle now: `true` when a new set was loaded; `false` when it is
     * unchanged or could not be taken (then `lastError` says why and the last good set
     * keeps deciding). */
    async refresh() {
      try {
        const headers = this.#version ? { 'if-none-match': `"${this.#version}"` } : {};
        const res = await this.#request('/v1/policies/bundle', { headers });
        if (res.status === 304) return false;
        const body = new Uint8Array(await res.arrayBuffer());
        if (res.status !== 200) {
          throw fail('bundle-unavailable', `the gateway answered ${res.status} for the bundle: ${new TextDecoder().decode(body).slice(0, 200)}`);
        }
        const signature = res.headers.get('x-meshguard-signature');
        let valid = false;
        try {
          valid = signature !== null && (await crypto.subtle.verify({ name: 'Ed25519' }, this.#key, decode64(signature), body));
        } catch {
          valid = false;
        }
        if (!valid) throw fail('bad-signature', 'the bundle signature does not verify against the pinned key; keeping the last good set');
        const bundle = JSON.parse(new TextDecoder().decode(body));
        const set = PolicySet.load(bundle.policies, { fallback: bundle.fallback });
        this.#set = set;
        this.#version = bundle.version;
        this.#mode = bundle.mode === 'audit' ? 'audit' : 'enforce';
        this.#agent = bundle.agent ?? undefined;
        this.lastError = null;
        return true;
      } catch (e) {
        return this.#error(e instanceof MeshGuardError ? e : fail('bundle-unavailable', String(e?.message ?? e), e));
      }
    }

    /** Decides locally with the serving set and queues the decision for the audit log.
     * The request's `mode` defaults to the gateway's and its `agent` to the agent the
     * bundle was fetched for (as the gateway decides a check with that token); a
     * `traceId` on the request goes to the audit entry, not to the policies. */
    evaluate(request, opts) {
      let r = request;
      let traceId;
      if (request && typeof request === 'object' && !Array.isArray(request)) {
        ({ traceId, ...r } = request);
        r.mode ??= this.#mode;
        r.agent ??= this.#agent;
      }
      const d = this.#set.evaluate(r, opts);
      if (this.#buffer.length >= this.#o.maxBuffer) {
        this.dropped++;
        if (!d.allowed || d.mode === 'audit') return d;
        return {
          ...d,
          effect: 'deny',
          allowed: false,
          policy: null,
          rule: 'audit-buffer-full',
          reason: `the audit buffer is full (${this.#o.maxBuffer} decisions the gateway has not taken); denied until it drains`,
        };
      }
      this.#buffer.push({
        action: d.action,
        ...(d.resource == null ? {} : { resource: d.resource }),
        decision: d.effect,
        allowed: d.allowed,
        ...(d.policy == null ? {} : { policy: d.policy }),
        ...(d.rule == null ? {} : { rule: d.rule }),
        reason: d.reason,
        bundleVersion: this.#version,
        timestamp: Date.now(),
        ...(typeof traceId === 'string' ? { traceId } : {}),
      });
      return d;
    }

    /** Ships what is buffered, in batches; what the gateway does not take stays queued
     * (in order) for the next flush. */
    flush() {
      this.#flushing ??= (async () => {
        try {
          while (this.#buffer.length > 0) {
            const batch = this.#buffer.slice(0, this.#o.batchSize);
            const res = await this.#request('/v1/audit/batch', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ decisions: batch }),
            });
            if (res.status !== 201) {
              throw fail('audit-unavailable', `the gateway answered ${res.status} for the audit batch: ${(await res.text()).slice(0, 200)}`);
            }
            this.#buffer.splice(0, batch.length);
          }
        } catch (e) {
          this.#error(e instanceof MeshGuardError ? e : fail('audit-unavailable', String(e?.message ?? e), e));
        } finally {
          this.#flushing = null;
        }
      })();
      return this.#flushing;
    }

    /** Stops polling and flushing, after one last flush. */
    async close() {
      for (const t of this.#timers) clearInterval(t);
      this.#timers = [];
      await this.flush();
    }
  }

  return GatewaySync;
}
