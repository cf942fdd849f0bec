// The hot path of `evaluate`: a plain request object is written into an exchange buffer
// the core reads in place (core/src/compact/exchange.rs: UTF-8 texts and a header of
// offsets and lengths; its agent registered once per set and named by a slot), and the
// decision comes back in the same buffer as a compact record (core/src/compact.rs) that
// is turned here into the very object `JSON.parse` would give of the core's decision
// JSON: same fields, same order, same values. No string crosses as an argument: the
// wasm backend's buffer is a region of its memory, the native one's an `ArrayBuffer`
// handed to a decider function the addon made for this set.
//
// Only requests this file can pass on exactly as the core would read their JSON take
// this path; anything else (other keys, other types, lone surrogates, a class instance,
// a request near the size cap or too big for the buffer, a context the core reads
// otherwise) returns `null` and goes the JSON way, so every answer, error words
// included, stays the JSON path's.

// The record's head bits and layout: core/src/compact.rs (`head`, `RECORD_LEN`).
const EFFECT = 0b11;
const ALLOWED = 1 << 2;
const AUDIT = 1 << 3;
const RESOURCE_SAME = 1 << 4;
const RESOURCE_TEXT = 1 << 5;
const PART = 1 << 6;
const JSON_TEXT = 1 << 8;
const RETRY = 1 << 9;
const EFFECTS = ['allow', 'deny', 'require_approval'];
/** Agent slots per set (core's `AGENT_SLOTS`), reused in turn. */
const SLOTS = 256;

// The exchange header's fields (`i32`s): offset and length of each text (length -1:
// absent), then the agent slot and the mode.
const ACTION = 0;
const RESOURCE = 2;
const CONTEXT = 4;
const TIME = 6;
const AGENT = 8;
const MODE = 9;

const plain = Object.prototype;
const encoder = new TextEncoder();
const wellFormed = typeof String.prototype.isWellFormed === 'function'
  ? (s) => s.isWellFormed()
  : (s) => !/\p{Surrogate}/u.test(s);

/** A JSON value's deep copy (audit settings: each decision gets its own, as from JSON). */
function copy(v) {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copy);
  const o = {};
  for (const k in v) o[k] = copy(v[k]);
  return o;
}

/** The copy of audit settings of the core's shape (`AuditSettings`), several times
 * faster than `copy`; used for a settings object only when it gives what `copy` does. */
const copyAudit = (a) => ({ enabled: a.enabled, logLevel: a.logLevel, include: a.include.slice(), retentionDays: a.retentionDays });

/** The fastest exact copier of `v`. */
function copier(v) {
  try {
    if (Array.isArray(v.include) && JSON.stringify(copyAudit(v)) === JSON.stringify(v)) return copyAudit;
  } catch {
    // not of that shape
  }
  return copy;
}

/** Writes `s` as UTF-8 into `u8` from `at`: the end, or -1 when `s` does not fit or is
 * not well-formed (lone surrogates: the JSON path reports them). ASCII is copied here,
 * cheaper than a call for the short texts of a request; the rest by `encodeInto`. */
function put(u8, s, at) {
  const n = s.length;
  if (at + n > u8.length) return -1;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) break;
    u8[at + i] = c;
  }
  if (i === n) return at + n;
  if (!wellFormed(s)) return -1;
  const { read, written } = encoder.encodeInto(i === 0 ? s : s.slice(i), u8.subarray(at + i));
  return read === n - i ? at + i + written : -1;
}

/** One optional string field: `undefined` absent, `null` not one of ours. */
const optional = (v) => (v === undefined || v === null ? undefined : typeof v === 'string' && wellFormed(v) ? v : null);

/** The compact decisions of one raw set: the wasm module's set, whose exchange buffer
 * lies in the module's memory, or the native addon's, which makes a decider function
 * for an `ArrayBuffer` of ours. */
export class Compact {
  #raw;
  /** The wasm module's memory, or null for the native addon. */
  #memory = null;
  #buffer;
  #decider;
  /** Native deciders that count in a limiter, by the backend's limiter. */
  #limitedDeciders = new WeakMap();
  #len;
  #textAt;
  #u8;
  #i32;
  #strings = [];
  #audits = [];
  #agents = new WeakMap();
  #slots = new Array(SLOTS);
  #next = 0;
  /** The resource of the request in the buffer (as read once: a decision may repeat it). */
  #resource;

  constructor(raw, backend) {
    this.#raw = raw;
    this.#len = backend.exchangeLen();
    this.#textAt = 4 * backend.recordLen();
    if (typeof raw.exchangePtr === 'function') {
      this.#memory = backend.wasmMemory();
      this.#u8 = new Uint8Array(0);
    } else {
      this.#buffer = new ArrayBuffer(this.#len);
      this.#decider = raw.decider();
      this.#u8 = new Uint8Array(this.#buffer);
      this.#i32 = new Int32Array(this.#buffer, 0, this.#textAt >> 2);
    }
  }

  /** The header and record view, current: a wasm memory that grew detached the old views
   * (the new buffer keeps their bytes), so any call into the module is followed by this. */
  #header() {
    if (this.#u8.length === 0) {
      const ptr = this.#raw.exchangePtr();
      this.#u8 = new Uint8Array(this.#memory.buffer, ptr, this.#len);
      this.#i32 = new Int32Array(this.#memory.buffer, ptr, this.#textAt >> 2);
    }
    return this.#i32;
  }

  #missing(i) {
    return i >= 0 && this.#strings[i] === undefined;
  }

  #string(i) {
    return this.#strings[i] ?? (this.#strings[i] = this.#raw.string(i));
  }

  #audit(i) {
    let a = this.#audits[i];
    if (a === undefined) {
      const v = JSON.parse(this.#raw.auditJson(i));
      a = this.#audits[i] = { v, copy: copier(v) };
    }
    return a.copy(a.v);
  }

  /** The slot of a registered agent equal to `a`, registering it when needed; -1 when
   * `a` is not an agent this path passes on exactly. */
  #slot(a) {
    if (typeof a !== 'object' || Object.getPrototypeOf(a) !== plain) return -1;
    const seen = this.#agents.get(a);
    let id, name, trustTier, orgId;
    let tags = [];
    let size = 0;
    let same = seen !== undefined && this.#slots[seen.slot] === seen;
    for (const k in a) {
      const v = a[k];
      if (k === 'tags') {
        if (v === undefined) continue;
        if (!Array.isArray(v)) return -1;
        const was = same ? seen.tags : undefined;
        same = same && was.length === v.length;
        for (let i = 0; i < v.length; i++) {
          const t = v[i];
          if (same && t === was[i]) continue;
          if (typeof t !== 'string' || !wellFormed(t)) return -1;
          same = false;
        }
        tags = v;
        continue;
      }
      const s = optional(v);
      if (s === null) return -1;
      if (k === 'id') id = s;
      else if (k === 'name') name = s;
      else if (k === 'trustTier') trustTier = s;
      else if (k === 'orgId') orgId = s;
      else return -1;
    }
    if (same && seen.id === id && seen.name === name && seen.trustTier === trustTier && seen.orgId === orgId) {
      return seen.slot;
    }
    // A new object equal to the agent registered last (callers that write the agent
    // literal in every call) takes its slot, and with it the core's memo of that agent's
    // selections, instead of a registration.
    const last = this.#slots[(this.#next + SLOTS - 1) % SLOTS];
    if (last !== undefined && last.id === id && last.name === name && last.trustTier === trustTier
      && last.orgId === orgId && last.tags.length === tags.length && tags.every((t, i) => t === last.tags[i])) {
      this.#agents.set(a, last);
      return last.slot;
    }
    for (const t of tags) size += t.length;
    size += (id?.length ?? 0) + (name?.length ?? 0) + (trustTier?.length ?? 0) + (orgId?.length ?? 0);
    const slot = this.#next;
    this.#next = (slot + 1) % SLOTS;
    this.#raw.setAgent(slot, id, name, trustTier, tags.slice(), orgId);
    const entry = { slot, id, name, trustTier, orgId, tags: tags.slice(), size: 6 * size + 40 * (tags.length + 5) };
    this.#slots[slot] = entry;
    this.#agents.set(a, entry);
    return slot;
  }

  /** Writes `r` into the exchange buffer; its `action`, or null when `r` must go the
   * JSON way. */
  #flatten(r, max) {
    if (typeof r !== 'object' || r === null || Object.getPrototypeOf(r) !== plain) return null;
    let h = this.#header();
    let u8 = this.#u8;
    let at = this.#textAt;
    let action = null;
    let size = 100;
    this.#resource = undefined;
    h[ACTION + 1] = h[RESOURCE + 1] = h[CONTEXT + 1] = h[TIME + 1] = h[AGENT] = -1;
    h[MODE] = 0;
    for (const k in r) {
      const v = r[k];
      let field;
      let text;
      switch (k) {
        case 'action':
          if (typeof v !== 'string') return null;
          action = text = v;
          field = ACTION;
          break;
        case 'resource':
        case 'time':
          if (v === undefined || v === null) continue;
          if (typeof v !== 'string') return null;
          text = v;
          if (k === 'resource') {
            this.#resource = v;
            field = RESOURCE;
          } else field = TIME;
          break;
        case 'mode':
          if (v === 'enforce') h[MODE] = 1;
          else if (v === 'audit') h[MODE] = 2;
          else if (v !== undefined && v !== null) return null;
          continue;
        case 'context': {
          if (v === undefined || v === null) continue;
          // A `toJSON` would be called with the key `''` here, `'context'` in the request.
          if (typeof v.toJSON === 'function') return null;
          text = JSON.stringify(v);
          if (typeof text !== 'string') return null;
          field = CONTEXT;
          break;
        }
        case 'agent': {
          if (v === undefined || v === null) continue;
          const slot = this.#slot(v);
          if (slot < 0) return null;
          // Registering may have grown the wasm memory: the bytes written so far stay.
          h = this.#header();
          u8 = this.#u8;
          h[AGENT] = slot;
          size += this.#slots[slot].size;
          continue;
        }
        default:
          return null;
      }
      const end = put(u8, text, at);
      if (end < 0) return null;
      h[field] = at;
      h[field + 1] = end - at;
      size += 6 * text.length;
      at = end;
    }
    return size > max ? null : action;
  }

  /** The decision, or null when this request must go the JSON way. `c` is the checked
   * options (`limited`, `now`); throws what the backend throws. */
  evaluate(r, c, max) {
    let action;
    try {
      action = this.#flatten(r, max);
    } catch {
      return null;
    }
    if (action === null) return null;
    const raw = this.#raw;
    let text;
    if (this.#memory === null) {
      text = c.limited ? this.#limitedDecider(c.limited)(this.#buffer, c.now) : this.#decider(this.#buffer);
    } else {
      text = c.limited ? raw.decideExchangeLimited(c.limited, c.now) : raw.decideExchange();
    }
    return this.#decode(text, action, this.#resource);
  }

  /** The native decider counting in `limiter`, made on first use. */
  #limitedDecider(limiter) {
    let d = this.#limitedDeciders.get(limiter);
    if (d === undefined) {
      d = this.#raw.limitedDecider(limiter);
      this.#limitedDeciders.set(limiter, d);
    }
    return d;
  }

  /** Fetches the strings and audit settings `rec` numbers that are not cached yet. A
   * fetch may grow the wasm memory and so detach `rec`: the caller reads the record
   * again afterwards, and decoding itself never calls the backend. */
  #fetch(rec) {
    const n = rec[5];
    const missing = [];
    for (const i of [rec[1], rec[2], rec[3]]) if (this.#missing(i)) missing.push(i);
    for (let k = 0, j = 6; k < n; k++, j += 4) {
      if (this.#missing(rec[j])) missing.push(rec[j]);
      if (this.#missing(rec[j + 1])) missing.push(rec[j + 1]);
    }
    const audit = rec[4];
    for (const i of missing) this.#string(i);
    if (audit >= 0 && this.#audits[audit] === undefined) this.#audit(audit);
  }

  #decode(text, action, asked) {
    let rec = this.#header();
    const h = rec[0];
    if (h & RETRY) return null;
    if (h & JSON_TEXT) return JSON.parse(text);
    const n = rec[5];
    if (this.#missing(rec[1]) || this.#missing(rec[2]) || this.#missing(rec[3]) || n > 0
      || (rec[4] >= 0 && this.#audits[rec[4]] === undefined)) {
      this.#fetch(rec);
      rec = this.#header();
    }
    // The strings the record does not number, in order, from `text`.
    let len = 6 + 4 * n;
    let at = 0;
    let end = 0;
    let resource = null;
    if (h & RESOURCE_SAME) resource = asked;
    else if (h & RESOURCE_TEXT) resource = text.slice(at, (end = at + rec[len++], at = end));
    let part;
    if (h & PART) part = text.slice(at, (end = at + rec[len++], at = end));
    let i = rec[1];
    const policy = i < 0 ? text.slice(at, (end = at + rec[len++], at = end)) : this.#string(i);
    i = rec[2];
    const rule = i < 0 ? text.slice(at, (end = at + rec[len++], at = end)) : this.#string(i);
    i = rec[3];
    const reason = i < 0 ? text.slice(at, (end = at + rec[len++], at = end)) : this.#string(i);
    const audit = rec[4] < 0 ? null : this.#audit(rec[4]);
    const rateLimits = [];
    for (let k = 0, j = 6; k < n; k++, j += 4) {
      const rpm = rec[j + 2];
      const rph = rec[j + 3];
      i = rec[j];
      const p = i < 0 ? text.slice(at, (end = at + rec[len++], at = end)) : this.#string(i);
      i = rec[j + 1];
      const r = i < 0 ? text.slice(at, (end = at + rec[len++], at = end)) : this.#string(i);
      rateLimits.push({ policy: p, rule: r, requestsPerMinute: rpm < 0 ? null : rpm, requestsPerHour: rph < 0 ? null : rph });
    }
    const effect = EFFECTS[h & EFFECT];
    const allowed = (h & ALLOWED) !== 0;
    const mode = h & AUDIT ? 'audit' : 'enforce';
    const obligations = { rateLimits, audit };
    return part === undefined
      ? { effect, allowed, mode, action, resource, policy, rule, reason, obligations }
      : { effect, allowed, mode, action, resource, part, policy, rule, reason, obligations };
  }
}
