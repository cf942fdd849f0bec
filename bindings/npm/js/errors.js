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

/** Thrown by `enforce` and `govern` when a decision does not allow the action. */
export class PolicyDeniedError extends MeshGuardError {
  constructor(decision, code = 'policy-denied') {
    const verb = decision.effect === 'require_approval' ? 'requires approval' : 'denied';
    super(
      `Action '${decision.action}' ${verb} by policy '${decision.policy}' (rule: ${decision.rule}): ${decision.reason}`,
      { code },
    );
    this.name = 'PolicyDeniedError';
    this.action = decision.action;
    this.policy = decision.policy;
    this.rule = decision.rule;
    this.reason = decision.reason;
    this.effect = decision.effect;
    this.decision = decision;
  }
}

/** A `PolicyDeniedError` whose cause is a full rate-limit window. */
export class RateLimitError extends PolicyDeniedError {
  constructor(decision) {
    super(decision, 'rate-limited');
    this.name = 'RateLimitError';
  }
}
