// The conformance corpus (tests/conformance/*.yaml) read from JS, and the native Rust
// oracle: the `meshguard` CLI fed the same request lines. Mirrors tests/src/lib.rs.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Every case file, sorted by name: `{ stem, file }`. */
export function caseFiles() {
  const dir = join(root, 'tests', 'conformance');
  return readdirSync(dir)
    .filter((n) => n.endsWith('.yaml'))
    .sort()
    .map((n) => ({ stem: n.slice(0, -5), file: parse(readFileSync(join(dir, n), 'utf8')) }));
}

/** The file's policy set in load order: `{ name, text, path? }`. */
export function sources(file) {
  const out = (file.policies ?? []).map((stem) => {
    const path = join(root, 'policies', `${stem}.yaml`);
    return { name: `${stem}.yaml`, text: readFileSync(path, 'utf8'), path };
  });
  if (file.policy != null) out.push({ name: 'inline.yaml', text: file.policy });
  return out;
}

/** The CLI binary (`cargo build --release -p meshguard-cli`), or $MESHGUARD_CLI. */
export function cliPath() {
  if (process.env.MESHGUARD_CLI) return process.env.MESHGUARD_CLI;
  const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  return join(target, 'release', process.platform === 'win32' ? 'meshguard.exe' : 'meshguard');
}

/** The native decisions (JSON lines, as written) for `requests` fed in order to one
 * `meshguard check` process over the file's policies. */
export function oracle(srcs, fallback, requests, explain) {
  const cli = cliPath();
  if (!existsSync(cli)) {
    throw new Error(`the oracle ${cli} is missing: run \`cargo build --release -p meshguard-cli\``);
  }
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-oracle-'));
  try {
    const paths = srcs.map((s) => {
      if (s.path) return s.path;
      const p = join(dir, s.name);
      writeFileSync(p, s.text);
      return p;
    });
    const args = ['check', ...paths.flatMap((p) => ['--policies', p])];
    if (explain) args.push('--explain');
    if (fallback === 'allow') args.push('--fallback', 'allow');
    const r = spawnSync(cli, args, {
      input: requests.map((r) => `${r}\n`).join(''),
      encoding: 'utf8',
      timeout: 60_000,
      maxBuffer: 1 << 28,
    });
    if (r.status !== 0) throw new Error(`${cli} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    if (lines.length !== requests.length) {
      throw new Error(`the oracle answered ${lines.length} lines for ${requests.length} requests`);
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Problems of a decision against a case's `expect` (tests/src/lib.rs check_decision). */
export function checkDecision(decision, c) {
  const e = c.expect;
  const problems = [];
  const cmp = (what, want, got) => {
    if (!isDeepStrictEqual(want, got)) problems.push(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  };
  const field = (k) => decision[k] ?? null;
  cmp('effect', e.effect, field('effect'));
  const audit = c.request?.mode === 'audit';
  cmp('allowed', e.allowed ?? (e.effect === 'allow' || audit), field('allowed'));
  for (const k of ['policy', 'rule', 'reason', 'mode']) if (e[k] != null) cmp(k, e[k], field(k));
  if (e.reasonContains != null && !String(field('reason')).includes(e.reasonContains)) {
    problems.push(`reason: expected to contain ${JSON.stringify(e.reasonContains)}, got ${JSON.stringify(field('reason'))}`);
  }
  if ('resource' in e) cmp('resource', e.resource, field('resource'));
  if ('part' in e) cmp('part', e.part, field('part'));
  const obligations = field('obligations') ?? {};
  if (e.rateLimits != null) cmp('rateLimits', e.rateLimits, obligations.rateLimits ?? null);
  if ('audit' in e) cmp('audit', e.audit, obligations.audit ?? null);
  for (const [key, wanted] of [['rules', e.explanation], ['policies', e.explainedPolicies]]) {
    if (wanted == null) continue;
    const got = decision.explanation?.[key] ?? [];
    for (const w of wanted) {
      const like = (g) => Object.entries(w).every(([k, v]) => isDeepStrictEqual(g[k], v));
      if (!got.some(like)) problems.push(`explanation.${key}: no entry like ${JSON.stringify(w)} in ${JSON.stringify(got)}`);
    }
  }
  if (e.explainedParts != null) {
    const got = decision.explanation?.parts ?? [];
    const same = got.length === e.explainedParts.length
      && e.explainedParts.every((w, i) => Object.entries(w).every(([k, v]) => isDeepStrictEqual(got[i][k], v)));
    if (!same) problems.push(`explanation.parts: expected ${JSON.stringify(e.explainedParts)} in order, got ${JSON.stringify(got)}`);
  }
  return problems;
}

/** The UTF-16 column of a character column, computed independently of the package. */
export function utf16(text, line, column) {
  const chars = Array.from(text.split('\n')[line - 1] ?? '');
  return chars.slice(0, column - 1).join('').length + 1 + Math.max(0, column - 1 - chars.length);
}

/** Problems of diagnostics against an error case (tests/src/lib.rs check_diagnostics);
 * expected columns are characters, the package reports UTF-16. */
export function checkDiagnostics(got, c) {
  if (got.length !== c.expect.length) {
    return [`expected ${c.expect.length} diagnostic(s), got ${got.length}: ${JSON.stringify(got)}`];
  }
  const problems = [];
  c.expect.forEach((w, i) => {
    const g = got[i];
    if (g.code !== w.code) problems.push(`${i + 1}: code: expected ${w.code}, got ${g.code}`);
    const column = utf16(c.text, w.line, w.column);
    if (g.line !== w.line || g.column !== column) {
      problems.push(`${i + 1}: position: expected ${w.line}:${column}, got ${g.line}:${g.column}`);
    }
    if (w.message != null && g.message !== w.message) problems.push(`${i + 1}: message: expected ${JSON.stringify(w.message)}, got ${JSON.stringify(g.message)}`);
    if (w.help != null && g.help !== w.help) problems.push(`${i + 1}: help: expected ${JSON.stringify(w.help)}, got ${JSON.stringify(g.help)}`);
  });
  return problems;
}
