// The errors of @meshguard/policy: JS `Error` subclasses with a stable `code`, shaped
// like the official MeshGuard JS SDK's (`MeshGuardError`, `PolicyDeniedError` with
// `action`, `policy`, `rule`, `reason`; `RateLimitError`) so code written for the
// remote client catches the same classes.

/** Base class of every error this package throws. */
export class MeshGuardError extends Error {
  constructor(message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeshGuardError';
    this.code = options.code ?? 'error';
  }
}

/** `file:line:column: error[code]: message`, then the help: the core's own layout. */
function describe(d) {
  const head = `${d.file}:${d.line}:${d.column}: ${d.severity}[${d.code}]: ${d.message}`;
  return d.help ? `${head}\n  = help: ${d.help}` : head;
}

/** A policy set that did not load: every diagnostic, the first one's position on top. */
export class PolicyLoadError extends MeshGuardError {
  constructor(diagnostics) {
    const first = diagnostics[0];
    const count = diagnostics.length === 1 ? '1 error' : `${diagnostics.length} errors`;
    super(`policy set failed to load (${count})\n${diagnostics.map(describe).join('\n')}`, {
      code: first.code,
    });
    this.name = 'PolicyLoadError';
    this.diagnostics = diagnostics;
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
  }
}

/** Thrown by `enforce` and `govern` when a decision does not allow the action. Takes a
 * decision, or the official SDK's `{ action, policy?, rule?, reason? }`; the message is the
 * SDK's: `Action 'a' denied by policy 'p' (rule: r): reason`. */
export class PolicyDeniedError extends MeshGuardError {
  constructor(decision, code = 'policy-denied') {
    const d = decision ?? {};
    const verb = d.effect === 'require_approval' ? 'requires approval' : 'denied';
    const reason = d.reason ?? 'Access denied by policy';
    const by = d.policy ? ` by policy '${d.policy}'` : '';
    const rule = d.rule ? ` (rule: ${d.rule})` : '';
    super(`Action '${d.action}' ${verb}${by}${rule}: ${reason}`, { code });
    this.name = 'PolicyDeniedError';
    this.action = d.action;
    this.policy = d.policy;
    this.rule = d.rule;
    this.reason = reason;
    this.effect = d.effect ?? 'deny';
    this.decision = d;
  }
}

/** A full rate-limit window. As in the official SDK it is not a `PolicyDeniedError`
 * (`catch` chains written for the SDK keep working); it still carries the decision's
 * `action`, `policy`, `rule` and `reason` when there is one. */
export class RateLimitError extends MeshGuardError {
  constructor(decisionOrMessage) {
    const d = typeof decisionOrMessage === 'object' && decisionOrMessage !== null ? decisionOrMessage : {};
    super(typeof decisionOrMessage === 'string' ? decisionOrMessage : 'Rate limit exceeded', { code: 'rate-limited' });
    this.name = 'RateLimitError';
    this.action = d.action;
    this.policy = d.policy;
    this.rule = d.rule;
    this.reason = d.reason ?? 'rate limit exceeded';
    this.decision = d;
  }
}

/** The gateway refused the token (401), or an admin call had no admin token. */
export class AuthenticationError extends MeshGuardError {
  constructor(message = 'Invalid or expired token') {
    super(message, { code: 'unauthenticated' });
    this.name = 'AuthenticationError';
  }
}
