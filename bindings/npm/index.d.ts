// Hand-written declarations of @meshguard/policy. Every entry point (node, wasm,
// native, web, bundler) exports exactly this API; only `init`/`initSync` matter on the
// web build. The JSON shapes are the core's `boundary` types (core/src/boundary.rs).

/** What the policies say. */
export type Effect = 'allow' | 'deny' | 'require_approval';

/** `enforce` (deny means deny) or `audit` (decided and recorded, but allowed). */
export type Mode = 'enforce' | 'audit';

/** The calling agent. */
export interface Agent {
  /** Stable id; rate limits count per id. */
  id?: string;
  name?: string;
  /** `untrusted`, `verified`, `trusted` or `privileged` (or an alias of `untrusted`). */
  trustTier?: string;
  tags?: string[];
  orgId?: string;
}

/** One question: may this agent do this action on this resource now? Unknown fields
 * and wrong types are not errors thrown at you: they give an invalid-request deny. */
export interface Request {
  /** What the agent wants to do, such as `write:email`. */
  action: string;
  /** A path, URL, address, command... (`null` or absent for none). */
  resource?: string | null;
  /** Facts for context conditions; must be a JSON object. */
  context?: Record<string, unknown>;
  agent?: Agent;
  /** RFC 3339 instant, for time conditions and rate limits. */
  time?: string;
  mode?: Mode;
}

export interface RateLimitObligation {
  policy: string;
  /** `rateLimits` for a policy-wide limit, else the rule that sets it. */
  rule: string;
  requestsPerMinute: number | null;
  requestsPerHour: number | null;
}

/** The deciding policy's `audit` block. */
export interface AuditSettings {
  enabled: boolean;
  logLevel: string | null;
  include: string[];
  retentionDays: number | null;
}

export interface Obligations {
  rateLimits: RateLimitObligation[];
  audit: AuditSettings | null;
}

export type RuleStatus = 'decided' | 'outranked' | 'set-aside' | 'shadowed' | 'no-match';

export interface PolicyTrace {
  policy: string;
  applies: boolean;
  detail: string | null;
}

export interface RuleTrace {
  policy: string;
  rule: string;
  effect: Effect;
  matched: boolean;
  status: RuleStatus;
  detail: string | null;
}

/** One part of a compound resource (a shell command, an address) and its own outcome. */
export interface PartTrace {
  part: string;
  effect: Effect;
  policy: string;
  rule: string;
}

export interface Explanation {
  policies: PolicyTrace[];
  /** Every rule of every applicable policy, for the deciding part. */
  rules: RuleTrace[];
  /** For a compound resource: every part, in order, with its own outcome. */
  parts?: PartTrace[];
}

/** The answer to a request; the same JSON, byte for byte, as every other host's. */
export interface Decision {
  effect: Effect;
  /** Whether the caller may go ahead: `effect === 'allow'`, or any effect in audit mode. */
  allowed: boolean;
  mode: Mode;
  action: string;
  /** The resource in canonical form (a shell command as written). */
  resource: string | null;
  /** The part of a compound resource that decided: the normalised simple command of a
   * shell line, or one address of a list. Absent for resources decided whole. */
  part?: string;
  /** The deciding policy, or `default`. */
  policy: string;
  /** The deciding rule, `defaultEffect`, `humanInTheLoop`, `rateLimits`, `default` or
   * `invalid-request`. */
  rule: string;
  reason: string;
  obligations: Obligations;
  /** Only when asked for (`explain`). */
  explanation?: Explanation;
}

/** A decision from a `LocalGuard`, with the official SDK's `decision` field. */
export interface GuardDecision extends Decision {
  /** The effect, under the name the remote client uses. */
  decision: Effect;
}

/** One problem with a policy. Columns are UTF-16 code units, as JS strings index. */
export interface Diagnostic {
  /** Errors: `syntax`, `unknown-key`, `duplicate-key`, `missing-key`, `wrong-type`,
   * `invalid-value`, `empty`, `invalid-pattern`, `duplicate-name`, `too-deep`,
   * `too-large` or `no-policy`; `lint` findings have their own codes
   * (`shell-allow-admits-code`, `broad-host-pattern`, ...). */
  code: string;
  /** `error` for texts that do not load; `warning` or `note` for `lint` findings. */
  severity: 'error' | 'warning' | 'note';
  message: string;
  help: string | null;
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** A policy text and the name diagnostics use; `.json` names are read as JSON. */
export interface PolicySource {
  name: string;
  text: string;
}

export interface LoadOptions {
  /** The answer when no policy applies (default `deny`). */
  fallback?: 'allow' | 'deny';
}

export interface EvaluateOptions {
  /** Add the rule-by-rule explanation. */
  explain?: boolean;
  /** Count the request against this limiter (over the limit: deny, `rate limit exceeded`). */
  limiter?: RateLimiter;
  /** The clock for the limiter (ms since the epoch) when the request has no `time`;
   * with neither, the request is not counted. */
  now?: number;
}

/** A compiled, immutable policy set. */
export declare class PolicySet {
  private constructor();
  /** Compiles policy texts in load order (plain strings are named `policy-<n>.yaml`).
   * @throws {PolicyLoadError} with every diagnostic when any text has an error. */
  static load(sources: string | ReadonlyArray<string | PolicySource>, options?: LoadOptions): PolicySet;
  /** How many policies the set holds. */
  readonly size: number;
  /** The policy names, in load order. */
  readonly names: string[];
  evaluate(request: Request, options?: EvaluateOptions): Decision;
  /** The request as JSON text in, the decision as the core's JSON text out. */
  evaluateJson(request: string, options?: EvaluateOptions): string;
  /** Decides requests in order; one bad request gives its own invalid-request deny. */
  evaluateBatch(requests: ReadonlyArray<Request>, options?: EvaluateOptions): Decision[];
  explain(request: Request, options?: Omit<EvaluateOptions, 'explain'>): Decision & { explanation: Explanation };
  guard(options?: GuardOptions): LocalGuard;
}

/** The core's per-agent sliding-window rate limiter; the host owns it. */
export declare class RateLimiter {
  constructor();
  /** Drops the logs with nothing left in their windows (default: now). */
  prune(nowMs?: number): void;
}

export interface GuardOptions {
  /** The agent every request is made as. */
  agent?: Agent;
  mode?: Mode;
  /** Default: a new limiter per guard. */
  limiter?: RateLimiter;
  /** The clock: ms since the epoch, sent as the request's `time` (default `Date.now`). */
  now?: () => number;
}

/** The official MeshGuard JS SDK client's governance methods, decided locally. */
export declare class LocalGuard {
  constructor(set: PolicySet, options?: GuardOptions);
  /** Never throws on deny. */
  check(action: string, resource?: string, context?: Record<string, unknown>): Promise<GuardDecision>;
  /** @throws {PolicyDeniedError} (or `RateLimitError`) when the action is not allowed. */
  enforce(action: string, resource?: string, context?: Record<string, unknown>): Promise<GuardDecision>;
  /** Runs `fn` only when the action is allowed. */
  govern<T>(action: string, fn: () => T | Promise<T>, resource?: string, context?: Record<string, unknown>): Promise<T>;
  checkSync(action: string, resource?: string, context?: Record<string, unknown>): GuardDecision;
  enforceSync(action: string, resource?: string, context?: Record<string, unknown>): GuardDecision;
}

/** Base class of every error this package throws. */
export declare class MeshGuardError extends Error {
  constructor(message: string, options?: { code?: string; cause?: unknown });
  /** `invalid-argument`, `not-initialized`, `backend-unavailable`, `internal`, a
   * diagnostic code (`PolicyLoadError`), `policy-denied`, `rate-limited`,
   * `unauthenticated`, `request-failed`, or GatewaySync's `unreachable`, `bad-signature`,
   * `bundle-unavailable`, `audit-unavailable`. */
  readonly code: string;
}

/** A policy set that did not load. `line`, `column`, `code` and `file` are the first
 * diagnostic's; columns are UTF-16. */
export declare class PolicyLoadError extends MeshGuardError {
  readonly diagnostics: Diagnostic[];
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** Thrown by `enforce` and `govern`; built from a decision or the official SDK's
 * `{ action, policy?, rule?, reason? }`. */
export declare class PolicyDeniedError extends MeshGuardError {
  constructor(decision: { action: string; policy?: string | null; rule?: string | null; reason?: string; effect?: Effect });
  readonly action: string;
  readonly policy: string | undefined;
  readonly rule: string | undefined;
  readonly reason: string;
  readonly effect: Effect;
  readonly decision: Partial<GuardDecision>;
}

/** A full rate-limit window (`code` `rate-limited`). As in the official SDK, not a
 * `PolicyDeniedError`. */
export declare class RateLimitError extends MeshGuardError {
  constructor(decisionOrMessage?: string | { action?: string; policy?: string | null; rule?: string | null; reason?: string });
  readonly action: string | undefined;
  readonly policy: string | undefined | null;
  readonly rule: string | undefined | null;
  readonly reason: string;
}

/** A token the gateway refused (401), or an admin call without an admin token. */
export declare class AuthenticationError extends MeshGuardError {
  constructor(message?: string);
}

/** Options of {@link MeshGuardClient}: the official SDK's, plus `local`. */
export interface MeshGuardOptions {
  /** Default: `MESHGUARD_GATEWAY_URL`, else `https://dashboard.meshguard.app`. */
  gatewayUrl?: string;
  /** Default: `MESHGUARD_AGENT_TOKEN`. */
  agentToken?: string;
  /** Default: `MESHGUARD_ADMIN_TOKEN`. */
  adminToken?: string;
  /** Per request, ms. Default 30000. */
  timeout?: number;
  /** Sent as `X-MeshGuard-Trace-ID` on every call. Default: a random UUID. */
  traceId?: string;
  /** Decide `check`/`enforce`/`govern` in-process with this set or synced bundle
   * instead of asking the gateway (same answers and errors). */
  local?: PolicySet | GatewaySync;
  /** With `local`: the agent requests are decided for (a GatewaySync defaults to its token's). */
  agent?: Agent;
  /** With `local`: the limiter rate limits are counted in. */
  limiter?: RateLimiter;
}

/** What `check` answers (the official SDK's `PolicyDecision`). */
export interface PolicyDecision {
  allowed: boolean;
  action: string;
  decision: 'allow' | 'deny';
  policy?: string;
  rule?: string;
  reason?: string;
  traceId?: string;
}

/** The official `meshguard` SDK's client: same names, options, answers and errors. */
export declare class MeshGuardClient {
  constructor(options?: MeshGuardOptions);
  readonly gatewayUrl: string;
  readonly agentToken: string | undefined;
  readonly adminToken: string | undefined;
  readonly timeout: number;
  readonly traceId: string;
  /** Whether decisions are made in-process (`local`). */
  readonly local: boolean;
  /** A deny is an answer; 401 → AuthenticationError, 429 → RateLimitError. */
  check(action: string, resource?: string, context?: Record<string, unknown>): Promise<PolicyDecision>;
  /** @throws {PolicyDeniedError} when not allowed. */
  enforce(action: string, resource?: string, context?: Record<string, unknown>): Promise<PolicyDecision>;
  govern<T>(action: string, fn: () => T | Promise<T>, resource?: string, context?: Record<string, unknown>): Promise<T>;
  /** Through the gateway's proxy; the response (body unread) when allowed. */
  request(method: string, path: string, action: string, init?: RequestInit): Promise<Response>;
  get(path: string, action: string, init?: RequestInit): Promise<Response>;
  post(path: string, action: string, init?: RequestInit): Promise<Response>;
  put(path: string, action: string, init?: RequestInit): Promise<Response>;
  delete(path: string, action: string, init?: RequestInit): Promise<Response>;
  health(): Promise<{ status: string; [k: string]: unknown }>;
  isHealthy(): Promise<boolean>;
  listAgents(): Promise<Array<{ id: string; name: string; trustTier: string; tags: string[]; orgId?: string }>>;
  createAgent(options: { name: string; trustTier?: string; tags?: string[] }): Promise<Record<string, unknown>>;
  revokeAgent(agentId: string): Promise<void>;
  listPolicies(): Promise<Array<{ id: string; name: string; [k: string]: unknown }>>;
  getAuditLog(options?: { limit?: number; decision?: string }): Promise<Array<Record<string, unknown>>>;
}

/** Which evaluator this entry point runs. */
export declare const backend: 'wasm' | 'native';
/** The evaluator's version. */
export declare function version(): string;
/** What the core's analysis finds in texts loaded as one set: warnings (rules that
 * probably do not do what they seem to: a shell allow that admits arbitrary code, a host
 * pattern matching more hosts than it names) and notes. Empty when nothing is found.
 * @throws {PolicyLoadError} when the texts do not load, as `PolicySet.load` would. */
export declare function lint(sources: string | ReadonlyArray<string | PolicySource>): Diagnostic[];
/** Options of {@link GatewaySync.connect}. */
export interface GatewaySyncOptions {
  /** The gateway's base URL (`https://gateway.example.com`). */
  url: string;
  /** An agent token: the bundle and the audit batches are the agent's. */
  token: string;
  /** The gateway's bundle key (`GET /v1/policies/bundle/key` → `publicKey`), pinned:
   * raw Ed25519, base64. A bundle whose signature does not verify is refused. */
  publicKey: string;
  /** How often the bundle is polled (ETag; 304 when unchanged). 0: only `refresh()`. Default 5000. */
  intervalMs?: number;
  /** How often buffered decisions are shipped. 0: only `flush()`. Default 1000. */
  flushMs?: number;
  /** Most decisions waiting for the gateway; past it, enforce-mode allows become denies
   * (rule `audit-buffer-full`) and audit-mode decisions are counted in `dropped`. Default 10000. */
  maxBuffer?: number;
  /** Most decisions per `POST /v1/audit/batch`. Default 500 (the gateway takes 1,000). */
  batchSize?: number;
  /** Per-request timeout. Default 10000. */
  timeoutMs?: number;
  /** Another `fetch` (tests, proxies). */
  fetch?: typeof fetch;
  /** Told about every failed poll or flush (`code`: `unreachable`, `bad-signature`,
   * `bundle-unavailable`, `audit-unavailable`, or a load error's). */
  onError?: (e: MeshGuardError) => void;
}

/** Local decisions that follow a gateway: the signed bundle, hot-swapped on change (the
 * last good set kept on any error), every decision shipped to the gateway's audit log. */
export declare class GatewaySync {
  private constructor();
  /** Resolves once the first bundle is verified and loaded; rejects (fail closed) otherwise. */
  static connect(options: GatewaySyncOptions): Promise<GatewaySync>;
  /** The serving bundle's version. */
  readonly version: string;
  /** The serving set. */
  readonly set: PolicySet;
  /** Decisions waiting for the gateway. */
  readonly pending: number;
  /** Audit-mode decisions not recorded because the buffer was full. */
  readonly dropped: number;
  /** Why the last poll or flush failed; `null` after a good poll. */
  readonly lastError: MeshGuardError | null;
  /** Decides locally and queues the decision: `mode` defaults to the gateway's, `agent`
   * to the token's agent; `traceId` goes to the audit entry. */
  evaluate(request: Request & { traceId?: string }, options?: EvaluateOptions): Decision;
  /** Polls now: `true` when a new set was loaded. */
  refresh(): Promise<boolean>;
  /** Ships what is buffered; what the gateway does not take stays queued. */
  flush(): Promise<void>;
  /** Stops the timers after one last flush. */
  close(): Promise<void>;
}

/** `@meshguard/policy/web` (and the `workerd`/`worker` condition): loads the .wasm
 * (default: next to the glue; or a URL, Response, bytes or WebAssembly.Module). Every
 * other entry is ready on import, where this is a no-op. */
export declare function init(input?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<void>;
/** Web build: instantiates a compiled module synchronously (Cloudflare Workers:
 * `import wasm from '@meshguard/policy/meshguard.wasm'; initSync({ module: wasm })`). */
export declare function initSync(input: { module: WebAssembly.Module | BufferSource } | WebAssembly.Module | BufferSource): void;
