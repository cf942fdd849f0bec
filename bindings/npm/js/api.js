// The TypeScript API of @meshguard/policy (types in ../index.d.ts), written once over
// a backend: the wasm-bindgen module (nodejs, web or bundler build) or the napi-rs addon.
// Both expose the same raw surface (bindings/npm/src/lib.rs, bindings/node/src/lib.rs):
// policy texts go in as strings, requests as JSON text (or, on the hot path, as flat
// strings: ./compact.js), and decisions and diagnostics come back as the core's JSON text
// (or a compact record). Nothing here decides anything; this file only checks JS types,
// converts columns to UTF-16 and builds the error classes.

import { AuthenticationError, MeshGuardError, PolicyDeniedError, PolicyLoadError, RateLimitError } from './errors.js';
import { createClient } from './client.js';
import { createGatewaySync } from './sync.js';
import { Compact } from './compact.js';

/** Longest request JSON handed to the core, in UTF-16 code units (the CLI caps a line at
 * the same number of bytes); longer requests are denied as invalid without crossing. */
export const MAX_REQUEST = 1024 * 1024;

const misuse = (message) => new MeshGuardError(message, { code: 'invalid-argument' });

/** The 1-based UTF-16 column of a 1-based character column on a line (lines end at
 * `\n`, as the core counts them). Past the end of the line, characters count as one. */
export function utf16Column(text, line, column) {
  let start = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) return column;
    start = nl + 1;
  }
  let i = start;
  let chars = 1;
  while (chars < column && i < text.length && text.charCodeAt(i) !== 10) {
    i += text.codePointAt(i) > 0xffff ? 2 : 1;
    chars++;
  }
  return i - start + 1 + (column - chars);
}

/** Request → JSON text, or `{ problem }` when JSON cannot express it. */
function requestJson(request) {
  // An array goes to the core like any other JSON: the core refuses it (serde would read
  // it as the fields in order), with the same words as every other host.
  let json;
  try {
    json = JSON.stringify(request);
  } catch (e) {
    return { problem: `the request cannot be written as JSON (${String(e?.message ?? e).split('\n')[0]})` };
  }
  if (typeof json !== 'string') return { problem: `the request is ${typeof request}, not an object` };
  if (json.length > MAX_REQUEST) {
    return { problem: `request of ${json.length} characters exceeds the limit of ${MAX_REQUEST}` };
  }
  return json;
}

/** The backend threw: a bad load gives the diagnostics as JSON text, anything else is an
 * internal failure (never an allow: the caller gets the exception). */
function internal(e) {
  return new MeshGuardError(`the evaluator failed: ${e?.message ?? e}`, { code: 'internal', cause: e });
}

function loadError(e, names, texts) {
  let diagnostics;
  try {
    diagnostics = JSON.parse(typeof e === 'string' ? e : e?.message);
  } catch {
    return internal(e);
  }
  if (!Array.isArray(diagnostics) || diagnostics.length === 0) return internal(e);
  return new PolicyLoadError(utf16Columns(diagnostics, names, texts));
}

/** `load`'s and `lint`'s sources as the backend takes them: names and texts. */
function sourceLists(sources, what) {
  const list = typeof sources === 'string' ? [sources] : sources;
  if (!Array.isArray(list)) {
    throw misuse(`${what} takes a policy text, or an array of texts or { name, text } objects`);
  }
  const names = [];
  const texts = [];
  list.forEach((s, i) => {
    if (typeof s === 'string') {
      names.push(`policy-${i + 1}.yaml`);
      texts.push(s);
    } else if (s && typeof s.name === 'string' && typeof s.text === 'string') {
      names.push(s.name);
      texts.push(s.text);
    } else {
      throw misuse(`source ${i + 1} must be a string or { name: string, text: string }`);
    }
  });
  return { names, texts };
}

/** The core's diagnostics with columns in UTF-16 code units (the core counts characters),
 * each looked up in the text of its file. */
function utf16Columns(diagnostics, names, texts) {
  let at = 0;
  for (const d of diagnostics) {
    const i = names.indexOf(d.file, at);
    at = i >= 0 ? i : Math.max(0, names.indexOf(d.file));
    const text = texts[at] ?? '';
    d.column = utf16Column(text, d.line, d.column);
    d.endColumn = utf16Column(text, d.endLine, d.endColumn);
  }
  return diagnostics;
}

function options(o) {
  if (o === undefined || o === null) return {};
  if (typeof o !== 'object') throw misuse(`options must be an object, got ${typeof o}`);
  return o;
}

/** Builds the API over one backend. `ready` throws when the backend cannot run yet (the
 * web build before `init`). */
export function createApi(backend, name, ready = () => {}) {
  const limiters = new WeakMap();

  class RateLimiter {
    constructor() {
      ready();
      limiters.set(this, new backend.RateLimiter());
    }

    prune(nowMs = Date.now()) {
      if (!Number.isFinite(nowMs)) throw misuse('`nowMs` must be a finite number of milliseconds');
      limiters.get(this).prune(nowMs);
    }
  }

  const PLAIN = Object.freeze({ explain: false, limited: null, now: undefined });

  /** The raw call for one request, with the options checked once. */
  function caller(opts) {
    if (opts === undefined) return PLAIN;
    const { explain = false, limiter, now } = options(opts);
    if (typeof explain !== 'boolean') throw misuse('`explain` must be a boolean');
    if (now !== undefined && !Number.isFinite(now)) {
      throw misuse('`now` must be a finite number of milliseconds since the epoch');
    }
    if (limiter === undefined) return { explain, limited: null, now };
    const limited = limiters.get(limiter);
    if (!limited) throw misuse('`limiter` must be a RateLimiter of the same backend');
    return { explain, limited, now };
  }

  class PolicySet {
    #raw;
    #compact;

    constructor(raw) {
      if (!backend.PolicySet || !(raw instanceof backend.PolicySet)) {
        throw misuse('use `PolicySet.load(texts)` to build a policy set');
      }
      this.#raw = raw;
      this.#compact = new Compact(raw, backend);
    }

    static load(sources, opts) {
      ready();
      const { fallback = 'deny' } = options(opts);
      if (fallback !== 'allow' && fallback !== 'deny') {
        throw misuse('`fallback` must be `allow` or `deny`');
      }
      const { names, texts } = sourceLists(sources, 'PolicySet.load');
      let raw;
      try {
        raw = backend.PolicySet.compile(names, texts, fallback);
      } catch (e) {
        throw loadError(e, names, texts);
      }
      return new PolicySet(raw);
    }

    get size() {
      return this.#raw.size;
    }

    get names() {
      return this.#raw.names;
    }

    /** One request given as JSON text; the decision as JSON text, byte for byte the
     * core's. The fastest path, and what the conformance suite compares. */
    evaluateJson(json, opts) {
      if (typeof json !== 'string') throw misuse('evaluateJson takes the request as a JSON string');
      return this.#json(json, caller(opts));
    }

    #json(json, c) {
      if (json.length > MAX_REQUEST) {
        return backend.invalidDecision(`request of ${json.length} characters exceeds the limit of ${MAX_REQUEST}`);
      }
      try {
        return c.limited
          ? this.#raw.decideLimited(json, c.explain, c.limited, c.now)
          : this.#raw.decide(json, c.explain);
      } catch (e) {
        throw internal(e);
      }
    }

    evaluate(request, opts) {
      return this.#one(request, caller(opts));
    }

    /** One request object: the compact path when it can carry it, else its JSON. */
    #one(request, c) {
      if (!c.explain) {
        let d;
        try {
          d = this.#compact.evaluate(request, c, MAX_REQUEST);
        } catch (e) {
          throw internal(e);
        }
        if (d !== null) return d;
      }
      const json = requestJson(request);
      if (typeof json !== 'string') return JSON.parse(backend.invalidDecision(json.problem));
      return JSON.parse(this.#json(json, c));
    }

    explain(request, opts) {
      return this.evaluate(request, { ...options(opts), explain: true });
    }

    /** Decides requests in order (one limiter sees them in that order). */
    evaluateBatch(requests, opts) {
      if (!Array.isArray(requests)) throw misuse('evaluateBatch takes an array of requests');
      const c = caller(opts);
      // Request by request on the compact path, which beats one JSON crossing for all.
      if (!c.explain) return requests.map((r) => this.#one(r, c));
      const jsons = requests.map(requestJson);
      const bad = [];
      jsons.forEach((j, i) => {
        if (typeof j !== 'string') {
          bad.push([i, j.problem]);
          // Replaced below; an invalid request is denied, so never counted.
          jsons[i] = '';
        }
      });
      let out;
      try {
        out = c.limited
          ? this.#raw.decideBatchLimited(jsons, c.explain, c.limited, c.now)
          : this.#raw.decideBatch(jsons, c.explain);
      } catch (e) {
        throw internal(e);
      }
      const decisions = JSON.parse(out);
      for (const [i, problem] of bad) decisions[i] = JSON.parse(backend.invalidDecision(problem));
      return decisions;
    }

    /** A local guard with the official SDK client's shape over this set. */
    guard(opts) {
      return new LocalGuard(this, opts);
    }
  }

  class LocalGuard {
    #set;
    #agent;
    #mode;
    #limiter;
    #now;

    constructor(set, opts) {
      if (!(set instanceof PolicySet)) throw misuse('LocalGuard needs a PolicySet of the same backend');
      const { agent, mode, limiter = new RateLimiter(), now = Date.now } = options(opts);
      if (typeof now !== 'function') throw misuse('`now` must be a function returning milliseconds');
      caller({ limiter });
      this.#set = set;
      this.#agent = agent;
      this.#mode = mode;
      this.#limiter = limiter;
      this.#now = now;
    }

    /** The decision, with the SDK's `decision` field (the effect) added. Never throws on
     * deny; bad arguments give an invalid-request deny. */
    checkSync(action, resource, context) {
      const request = { action };
      if (resource !== undefined && resource !== null) request.resource = resource;
      if (context !== undefined) request.context = context;
      if (this.#agent !== undefined) request.agent = this.#agent;
      if (this.#mode !== undefined) request.mode = this.#mode;
      const now = this.#now();
      if (Number.isFinite(now)) request.time = new Date(now).toISOString();
      const d = this.#set.evaluate(request, { limiter: this.#limiter });
      d.decision = d.effect;
      return d;
    }

    enforceSync(action, resource, context) {
      const d = this.checkSync(action, resource, context);
      if (!d.allowed) {
        throw d.reason === 'rate limit exceeded' ? new RateLimitError(d) : new PolicyDeniedError(d);
      }
      return d;
    }

    async check(action, resource, context) {
      return this.checkSync(action, resource, context);
    }

    async enforce(action, resource, context) {
      return this.enforceSync(action, resource, context);
    }

    async govern(action, fn, resource, context) {
      if (typeof fn !== 'function') throw misuse('govern takes the function to run as its second argument');
      this.enforceSync(action, resource, context);
      return fn();
    }
  }

  /** The analysis's findings (warnings, notes) about texts loaded as one set. */
  function lint(sources) {
    ready();
    const { names, texts } = sourceLists(sources, 'lint');
    let out;
    try {
      out = backend.lint(names, texts);
    } catch (e) {
      throw loadError(e, names, texts);
    }
    return utf16Columns(JSON.parse(out), names, texts);
  }

  const GatewaySync = createGatewaySync({ PolicySet, MeshGuardError });
  const errors = { MeshGuardError, AuthenticationError, PolicyDeniedError, RateLimitError };
  return {
    backend: name,
    PolicySet,
    RateLimiter,
    LocalGuard,
    GatewaySync,
    MeshGuardClient: createClient({ PolicySet, GatewaySync, errors }),
    lint,
    version: () => backend.version(),
  };
}
