// The MeshGuard console: one module, no framework, run by signin.js with the admin token.
// Every view reads and writes through the gateway's admin API (hosts/gateway/API.md);
// nothing here decides anything except the playground, which loads the npm package's
// WebAssembly build — the same evaluator — and puts its answer beside the gateway's.
// User data only ever enters the page as text nodes (see `h`), never as HTML.

const VIEWS = ['live', 'agents', 'policies', 'approvals', 'playground'];
const TITLES = { live: 'Live decisions', agents: 'Agents', policies: 'Policies', approvals: 'Approvals', playground: 'Playground' };
const DECISIONS = ['allow', 'deny', 'require_approval'];
const MAX_ROWS = 200;

/** An element: `h('button', { class: 'x', onclick }, 'text', child…)`. */
function h(tag, props = {}, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false && v != null) el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Replaces `el`'s children (arrays flattened, `null` and `false` left out, as `h` does). */
function put(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c != null && c !== false));
}

/** The admin API with the token; errors carry the gateway's `message` and body. */
function client(token, signOut) {
  return async function call(method, path, body, { signal } = {}) {
    const headers = { 'X-Admin-Token': token };
    const init = { method, headers, signal };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    if (r.status === 401) {
      signOut('The admin token is no longer accepted; sign in again.');
      throw new Error('signed out');
    }
    const text = await r.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { message: text };
    }
    if (!r.ok) {
      const e = new Error(data?.message ?? `${method} ${path}: ${r.status}`);
      e.status = r.status;
      e.data = data;
      throw e;
    }
    return data;
  };
}

/** Server-Sent Events over fetch (EventSource cannot send the admin token): calls
 * `onEvent(type, data, id)` until the answer ends; throws on HTTP errors. */
async function readEvents(url, headers, signal, onEvent) {
  const r = await fetch(url, { headers, signal, cache: 'no-store' });
  if (!r.ok) {
    const e = new Error(`the gateway answered ${r.status}`);
    e.status = r.status;
    throw e;
  }
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      let id = null;
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = val;
        else if (field === 'data') data.push(val);
        else if (field === 'id') id = val;
      }
      if (data.length) onEvent(type, data.join('\n'), id);
    }
  }
}

const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');
const stamp = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const badge = (decision) => h('span', { class: `badge ${decision}` }, decision.replace('_', ' '));

/** `glob` (`*`, `?`) as a whole-string test, as the audit filter reads it. */
function globTest(glob) {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

/** A stable text for deep comparison (keys sorted). */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Messages for a view: `say(text)` or `say(text, 'error')`, read out politely. */
function notice() {
  const el = h('p', { class: 'notice', role: 'status', 'aria-live': 'polite' });
  el.say = (text, kind = 'info') => {
    el.textContent = text;
    el.className = `notice ${kind}`;
  };
  return el;
}

/** A decision's explanation: the policies that applied and every rule's fate. */
function explanationView(decision) {
  const ex = decision?.explanation;
  if (!ex) return h('p', {}, 'No explanation.');
  return h(
    'div',
    { class: 'explanation' },
    h('h4', {}, 'Policies'),
    h(
      'ul',
      {},
      ex.policies.map((p) =>
        h('li', {}, h('code', {}, p.policy), p.applies ? ' applies' : ` does not apply${p.detail ? `: ${p.detail}` : ''}`),
      ),
    ),
    ex.parts?.length
      ? [
          h('h4', {}, 'Parts'),
          h(
            'ul',
            {},
            ex.parts.map((p) => h('li', {}, h('code', {}, p.part), ' → ', badge(p.effect), ` by ${p.policy} / ${p.rule}`)),
          ),
        ]
      : null,
    h('h4', {}, 'Rules'),
    ex.rules.length
      ? h(
          'table',
          { class: 'rules' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Rule'), h('th', { scope: 'col' }, 'Effect'), h('th', { scope: 'col' }, 'Outcome'))),
          h(
            'tbody',
            {},
            ex.rules.map((r) =>
              h(
                'tr',
                { class: r.status === 'decided' ? 'decided' : '' },
                h('td', {}, h('code', {}, `${r.policy} / ${r.rule}`)),
                h('td', {}, r.effect),
                h('td', {}, r.status, r.detail ? ` — ${r.detail}` : ''),
              ),
            ),
          ),
        )
      : h('p', {}, 'No rule of an applicable policy.'),
  );
}

/** The decision's headline: effect, deciding policy and rule, reason. */
function decisionSummary(d) {
  return h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'Decision'),
    h('dd', {}, badge(d.effect), d.allowed && d.effect !== 'allow' ? ' (let through: audit mode)' : ''),
    h('dt', {}, 'Policy / rule'),
    h('dd', {}, h('code', {}, `${d.policy} / ${d.rule}`)),
    h('dt', {}, 'Reason'),
    h('dd', {}, d.reason),
    d.part ? [h('dt', {}, 'Deciding part'), h('dd', {}, h('code', {}, d.part))] : null,
    h('dt', {}, 'Resource (canonical)'),
    h('dd', {}, d.resource == null ? '—' : h('code', {}, d.resource)),
  );
}

/** A policy text with the diagnostics drawn at their lines: the line, a caret under the
 * offending columns, the message. Columns count characters, as the core does. */
function annotated(text, diagnostics) {
  const lines = text.split('\n');
  const byLine = new Map();
  for (const d of diagnostics) {
    const list = byLine.get(d.line) ?? [];
    list.push(d);
    byLine.set(d.line, list);
  }
  const rows = [];
  lines.forEach((line, i) => {
    const n = i + 1;
    const marks = byLine.get(n);
    rows.push(h('div', { class: marks ? 'src-line marked' : 'src-line' }, h('span', { class: 'ln' }, String(n)), h('code', {}, line || ' ')));
    for (const d of marks ?? []) {
      const width = d.endLine === d.line ? Math.max(1, d.endColumn - d.column) : Math.max(1, [...line].length - d.column + 1);
      rows.push(
        h(
          'div',
          { class: `src-note ${d.severity}` },
          h('span', { class: 'ln' }, ''),
          h('code', {}, `${' '.repeat(Math.max(0, d.column - 1))}${'^'.repeat(width)} ${d.severity}[${d.code}]: ${d.message}`),
        ),
      );
    }
  });
  const beyond = diagnostics.filter((d) => d.line > lines.length);
  for (const d of beyond) rows.push(h('div', { class: `src-note ${d.severity}` }, h('code', {}, `end of file: ${d.message}`)));
  return h('div', { class: 'annotated', role: 'region', 'aria-label': 'The text with its problems marked' }, rows);
}

/** Moves the caret of `textarea` to a character line/column (UTF-16 inside). */
function selectAt(textarea, line, column) {
  const lines = textarea.value.split('\n');
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  const here = lines[line - 1] ?? '';
  offset += [...here].slice(0, Math.max(0, column - 1)).join('').length;
  textarea.focus();
  textarea.setSelectionRange(offset, Math.min(offset + 1, textarea.value.length));
}

function diagnosticList(diagnostics, textarea) {
  if (!diagnostics.length) return null;
  return h(
    'ul',
    { class: 'diagnostics' },
    diagnostics.map((d) =>
      h(
        'li',
        { class: d.severity },
        h(
          'button',
          { type: 'button', class: 'link', onclick: () => textarea && selectAt(textarea, d.line, d.column) },
          `${d.file}:${d.line}:${d.column}`,
        ),
        ` ${d.severity}[${d.code}]: ${d.message}`,
        d.help ? h('span', { class: 'help' }, ` — ${d.help}`) : null,
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------
// Live decisions

function liveView(ctx) {
  const { api, token } = ctx;
  const status = notice();
  const filters = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter decisions' },
    h('label', { for: 'f-agent' }, 'Agent'),
    h('input', { id: 'f-agent', name: 'agent', placeholder: 'id or name' }),
    h('label', { for: 'f-action' }, 'Action'),
    h('input', { id: 'f-action', name: 'action', placeholder: 'e.g. execute:* ' }),
    h('label', { for: 'f-decision' }, 'Decision'),
    h(
      'select',
      { id: 'f-decision', name: 'decision' },
      h('option', { value: '' }, 'any'),
      DECISIONS.map((d) => h('option', { value: d }, d.replace('_', ' '))),
    ),
    h('button', { type: 'submit' }, 'Apply'),
  );
  const chart = h('figure', { class: 'chart' });
  const body = h('tbody', {});
  const table = h(
    'table',
    { class: 'decisions', 'aria-label': 'Decisions, newest first' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Time', 'Agent', 'Action', 'Resource', 'Decision', 'Policy / rule', 'Reason'].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    body,
  );
  const details = h('dialog', { class: 'details', 'aria-labelledby': 'details-title' });
  const el = h('section', {}, filters, status, chart, table, details);

  let controller = null;
  let chartTimer = null;
  let chartSoon = null;

  function params() {
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(filters)) if (String(v).trim()) p.set(k, String(v).trim());
    return p;
  }

  function row(entry) {
    const tr = h(
      'tr',
      { tabindex: '0', 'data-id': entry.id, 'data-trace': entry.traceId, 'aria-label': `${entry.decision} ${entry.action}, open details` },
      h('td', {}, h('time', { datetime: entry.timestamp }, time(entry.timestamp))),
      h('td', {}, entry.agentName ?? entry.agentId ?? '—'),
      h('td', {}, h('code', {}, entry.action)),
      h('td', { class: 'resource' }, entry.resource ?? '—'),
      h('td', {}, badge(entry.decision)),
      h('td', {}, entry.policy ? h('code', {}, `${entry.policy} / ${entry.rule ?? ''}`) : '—'),
      h('td', { class: 'reason' }, entry.reason),
    );
    const open = () => openDetails(entry);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        open();
      }
    });
    return tr;
  }

  function add(entry, { top = true } = {}) {
    if (body.querySelector(`tr[data-id="${CSS.escape(entry.id)}"]`)) return;
    const tr = row(entry);
    if (top) body.prepend(tr);
    else body.append(tr);
    while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
  }

  async function openDetails(entry) {
    const explanation = h('div', { 'aria-live': 'polite' }, h('p', {}, 'Explaining…'));
    put(details,
      h('h3', { id: 'details-title' }, `${entry.decision.replace('_', ' ')}: ${entry.action}`),
      h(
        'dl',
        { class: 'facts' },
        [
          ['When', stamp(entry.timestamp)],
          ['Trace id', entry.traceId],
          ['Agent', entry.agentName ? `${entry.agentName} (${entry.agentId})` : (entry.agentId ?? 'none')],
          ['Resource', entry.resource ?? '—'],
          ['Policy / rule', entry.policy ? `${entry.policy} / ${entry.rule}` : '—'],
          ['Reason', entry.reason],
          ['Mode', entry.mode],
          ['Endpoint', entry.endpoint],
          ['HTTP status', String(entry.status)],
          ['Context', entry.context ? JSON.stringify(entry.context) : '—'],
          ['Approval', entry.approvalId ?? '—'],
        ].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      ),
      h('h3', {}, 'Explanation'),
      h('p', { class: 'small' }, 'The same request decided again, at its time, by the policies loaded now.'),
      explanation,
      h('form', { method: 'dialog' }, h('button', { type: 'submit', autofocus: true }, 'Close')),
    );
    details.showModal();
    const request = {
      action: entry.action,
      resource: entry.resource ?? undefined,
      context: entry.context ?? undefined,
      time: entry.timestamp,
      mode: entry.mode,
      explain: true,
    };
    try {
      let decision;
      try {
        decision = await api('POST', '/admin/policies/test', { ...request, agentId: entry.agentId ?? undefined });
      } catch (e) {
        if (e.status !== 404) throw e;
        decision = await api('POST', '/admin/policies/test', request); // the agent is gone
      }
      put(explanation, decisionSummary(decision), explanationView(decision));
    } catch (e) {
      put(explanation, h('p', { class: 'error' }, `Cannot explain: ${e.message}`));
    }
  }

  async function drawChart() {
    const p = new URLSearchParams({ period: '1', bucket: '60' });
    const agent = params().get('agent');
    if (agent) p.set('agent', agent);
    let stats;
    try {
      stats = await api('GET', `/admin/audit/stats?${p}`);
    } catch (e) {
      put(chart, h('figcaption', { class: 'error' }, `No chart: ${e.message}`));
      return;
    }
    const now = Math.floor(Date.now() / 60000);
    const minutes = Array.from({ length: 60 }, (_, i) => ({ minute: now - 59 + i, allow: 0, deny: 0, require_approval: 0 }));
    for (const b of stats.series ?? []) {
      const m = Math.floor(Date.parse(b.start) / 60000) - (now - 59);
      if (m >= 0 && m < 60) for (const d of DECISIONS) minutes[m][d] = b.counts[d] ?? 0;
    }
    const peak = Math.max(1, ...minutes.map((m) => m.allow + m.deny + m.require_approval));
    const W = 600;
    const H = 120;
    const bw = W / 60;
    const bars = [];
    minutes.forEach((m, i) => {
      let y = H;
      for (const d of DECISIONS) {
        const hgt = (m[d] / peak) * (H - 4);
        if (hgt > 0) {
          y -= hgt;
          bars.push(h('svg:rect', { x: (i * bw + 1).toFixed(1), y: y.toFixed(1), width: (bw - 2).toFixed(1), height: hgt.toFixed(1), class: `bar ${d}` }));
        }
      }
    });
    const totals = Object.fromEntries(DECISIONS.map((d) => [d, minutes.reduce((n, m) => n + m[d], 0)]));
    const label = `Last hour, per minute: ${totals.allow} allowed, ${totals.deny} denied, ${totals.require_approval} needing approval (peak ${peak} a minute)`;
    put(chart,
      h('svg:svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'bars' }, bars),
      h(
        'figcaption',
        {},
        label,
        ' ',
        DECISIONS.map((d) => h('span', { class: `key ${d}` }, d.replace('_', ' '))),
      ),
    );
  }

  function chartLater() {
    if (chartSoon) return;
    chartSoon = setTimeout(() => {
      chartSoon = null;
      drawChart();
    }, 2000);
  }

  async function follow(signal, after) {
    const p = params();
    let cursor = after;
    let wait = 1000;
    while (!signal.aborted) {
      if (cursor != null) p.set('after', String(cursor));
      try {
        await readEvents(`/admin/audit/stream?${p}`, { 'X-Admin-Token': token }, signal, (type, data, id) => {
          if (type === 'ready') status.say('Live: new decisions appear as they are made.');
          if (type === 'decision') {
            const entry = JSON.parse(data);
            cursor = Number(id ?? entry.id);
            add(entry);
            chartLater();
          }
          if (type === 'gap') status.say('Live (busy: some decisions were skipped; the audit log has them all).');
          wait = 1000;
        });
      } catch (e) {
        if (signal.aborted) return;
        if (e.status === 401) return ctx.signOut('The admin token is no longer accepted; sign in again.');
        status.say(`Reconnecting (${e.message})…`, 'error');
      }
      if (signal.aborted) return;
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 10_000);
    }
  }

  async function restart() {
    controller?.abort();
    controller = new AbortController();
    const signal = controller.signal;
    put(body);
    status.say('Loading…');
    const p = params();
    p.set('limit', '50');
    let newest = null;
    try {
      const page = await api('GET', `/admin/audit?${p}`, undefined, { signal });
      for (const e of page.entries) add(e, { top: false });
      newest = page.entries.reduce((m, e) => Math.max(m, Number(e.id)), 0);
    } catch (e) {
      if (signal.aborted) return;
      status.say(`Cannot read the audit log: ${e.message}`, 'error');
    }
    drawChart();
    follow(signal, newest);
  }

  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    restart();
  });

  return {
    el,
    show() {
      restart();
      chartTimer = setInterval(drawChart, 15_000);
    },
    hide() {
      controller?.abort();
      clearInterval(chartTimer);
      clearTimeout(chartSoon);
      chartSoon = null;
    },
  };
}

// ---------------------------------------------------------------------------------------
// Agents

function agentsView({ api }) {
  const status = notice();
  const secret = h('div', { class: 'secret', hidden: true, role: 'region', 'aria-label': 'New token' });
  const form = h(
    'form',
    { class: 'create', 'aria-label': 'Create an agent' },
    h('h3', {}, 'New agent'),
    h('label', { for: 'a-name' }, 'Name'),
    h('input', { id: 'a-name', name: 'name', required: true, autocomplete: 'off' }),
    h('label', { for: 'a-tier' }, 'Trust tier'),
    h(
      'select',
      { id: 'a-tier', name: 'trustTier' },
      ['verified', 'untrusted', 'trusted', 'privileged'].map((t) => h('option', { value: t }, t)),
    ),
    h('label', { for: 'a-tags' }, 'Tags (comma-separated)'),
    h('input', { id: 'a-tags', name: 'tags', placeholder: 'claude-code, dev-agent', autocomplete: 'off' }),
    h('button', { type: 'submit' }, 'Create agent'),
  );
  const body = h('tbody', {});
  const table = h(
    'table',
    { class: 'agents', 'aria-label': 'Agents' },
    h('thead', {}, h('tr', {}, ['Name', 'Id', 'Trust tier', 'Tags', 'Status', 'Created', ''].map((c) => h('th', { scope: 'col' }, c)))),
    body,
  );
  const el = h('section', {}, status, secret, form, table);

  function showToken(title, token) {
    const field = h('input', { id: 'new-token', readonly: true, value: token, 'aria-label': 'Token' });
    const copied = h('span', { role: 'status', 'aria-live': 'polite' });
    put(secret,
      h('h3', {}, title),
      h('p', {}, 'Copy it now: the gateway keeps only its hash and will not show it again.'),
      field,
      h(
        'button',
        {
          type: 'button',
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(token);
            } catch {
              field.select();
              document.execCommand('copy');
            }
            copied.textContent = 'Copied.';
          },
        },
        'Copy token',
      ),
      h('button', { type: 'button', onclick: () => (secret.hidden = true) }, 'Done'),
      copied,
    );
    secret.hidden = false;
    field.focus();
    field.select();
  }

  async function load() {
    try {
      const { agents } = await api('GET', '/admin/agents');
      put(body,
        ...agents.map((a) =>
          h(
            'tr',
            { 'data-agent': a.id, class: a.status },
            h('td', {}, a.name),
            h('td', {}, h('code', {}, a.id)),
            h('td', {}, a.trustTier),
            h('td', {}, a.tags.join(', ') || '—'),
            h('td', {}, a.status),
            h('td', {}, stamp(a.createdAt)),
            h(
              'td',
              { class: 'actions' },
              a.status === 'active'
                ? [
                    h('button', { type: 'button', onclick: () => rotate(a), 'aria-label': `Rotate the token of ${a.name}` }, 'Rotate token'),
                    h('button', { type: 'button', class: 'danger', onclick: () => revoke(a), 'aria-label': `Revoke ${a.name}` }, 'Revoke'),
                  ]
                : null,
            ),
          ),
        ),
      );
    } catch (e) {
      status.say(`Cannot list agents: ${e.message}`, 'error');
    }
  }

  async function rotate(a) {
    if (!confirm(`Rotate the token of ${a.name}? Its current token stops working at once.`)) return;
    try {
      const r = await api('POST', `/admin/agents/${encodeURIComponent(a.id)}/token`);
      showToken(`New token for ${a.name}`, r.token);
      status.say(`Rotated the token of ${a.name}.`);
    } catch (e) {
      status.say(`Cannot rotate: ${e.message}`, 'error');
    }
  }

  async function revoke(a) {
    if (!confirm(`Revoke ${a.name}? Its token stops working at once.`)) return;
    try {
      await api('DELETE', `/admin/agents/${encodeURIComponent(a.id)}`);
      status.say(`Revoked ${a.name}.`);
      load();
    } catch (e) {
      status.say(`Cannot revoke: ${e.message}`, 'error');
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const body = {
      name: String(data.get('name')).trim(),
      trustTier: data.get('trustTier'),
      tags: String(data.get('tags'))
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    };
    try {
      const created = await api('POST', '/admin/agents', body);
      form.reset();
      showToken(`Token for ${created.name}`, created.token);
      status.say(`Created ${created.name} (${created.id}).`);
      load();
    } catch (err) {
      status.say(`Cannot create the agent: ${err.message}`, 'error');
    }
  });

  return { el, show: load, hide() {} };
}

// ---------------------------------------------------------------------------------------
// Policies

const NEW_POLICY = `name: my-policy
version: "1.0"
description: What this policy is for
appliesTo:
  tags: [my-agents]
rules:
  - effect: allow
    actions: ["read:*"]
defaultEffect: deny
`;

function policiesView({ api }) {
  const status = notice();
  const health = h('div', { class: 'set-status', role: 'region', 'aria-label': 'The loaded set' });
  const list = h('ul', { class: 'policy-list', 'aria-label': 'Loaded policies' });
  const editor = h('textarea', { id: 'p-text', spellcheck: 'false', rows: '22', 'aria-describedby': 'p-help' });
  const nameField = h('input', { id: 'p-name', autocomplete: 'off', 'aria-describedby': 'p-help' });
  const problems = h('div', { class: 'problems', 'aria-live': 'polite' });
  const edit = h(
    'form',
    { class: 'editor', 'aria-label': 'Edit a policy' },
    h('h3', {}, 'Edit'),
    h('label', { for: 'p-name' }, 'Policy name'),
    nameField,
    h('label', { for: 'p-text' }, 'Policy text (YAML or JSON)'),
    editor,
    h('p', { id: 'p-help', class: 'small' }, 'Validate checks the text together with the rest of the set; Apply does the same and writes it only when everything loads.'),
    h('div', { class: 'buttons' }, h('button', { type: 'button', id: 'p-validate' }, 'Validate'), h('button', { type: 'submit', id: 'p-apply' }, 'Apply')),
    problems,
  );
  const el = h(
    'section',
    {},
    status,
    health,
    h('div', { class: 'split' }, h('div', {}, h('h3', {}, 'Loaded policies'), h('button', { type: 'button', onclick: () => open(null) }, 'New policy'), list), edit),
  );

  function show(result) {
    const diagnostics = [...(result.diagnostics ?? []), ...(result.findings ?? [])];
    put(problems,
      diagnostics.length ? [diagnosticList(diagnostics, editor), annotated(editor.value, diagnostics)] : h('p', {}, 'No problems found.'),
    );
  }

  async function open(name) {
    put(problems);
    if (!name) {
      nameField.value = '';
      editor.value = NEW_POLICY;
      nameField.focus();
      return;
    }
    try {
      const p = await api('GET', `/admin/policies/${encodeURIComponent(name)}`);
      nameField.value = p.name;
      editor.value = p.source ?? '';
      editor.focus();
      // Its lint findings, drawn at their lines.
      show(await api('POST', '/admin/policies/validate', { name: p.name, text: editor.value }));
    } catch (e) {
      status.say(`Cannot open ${name}: ${e.message}`, 'error');
    }
  }

  async function load() {
    try {
      const [set, st] = await Promise.all([api('GET', '/admin/policies'), api('GET', '/admin/policies/status')]);
      put(list,
        ...set.policies.map((p) =>
          h(
            'li',
            {},
            h('button', { type: 'button', class: 'link', onclick: () => open(p.name) }, p.name),
            ` — ${p.rules.length} rule(s), default ${p.defaultEffect}`,
            p.description ? h('div', { class: 'small' }, p.description) : null,
          ),
        ),
      );
      put(health,
        st.ok
          ? h('p', { class: 'ok' }, `${st.policies} policies loaded from ${st.dir} at ${stamp(st.loadedAt)}.`)
          : [h('p', { class: 'error' }, 'The policy set as stored does not load; the last good set keeps deciding:'), diagnosticList(st.errors, null)],
        st.findings.length ? [h('h4', {}, `Lint findings (${st.findings.length})`), diagnosticList(st.findings, null)] : null,
      );
    } catch (e) {
      status.say(`Cannot list policies: ${e.message}`, 'error');
    }
  }

  edit.querySelector('#p-validate').addEventListener('click', async () => {
    try {
      const r = await api('POST', '/admin/policies/validate', { name: nameField.value.trim() || undefined, text: editor.value });
      status.say(r.ok ? `Valid: it would be stored as ${r.file}.` : 'Not valid: nothing was applied.', r.ok ? 'info' : 'error');
      show(r);
    } catch (e) {
      status.say(`Cannot validate: ${e.message}`, 'error');
    }
  });

  edit.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = nameField.value.trim();
    if (!name) {
      status.say('Give the policy a name (its `name:`).', 'error');
      nameField.focus();
      return;
    }
    try {
      const r = await api('PUT', `/admin/policies/${encodeURIComponent(name)}`, { name, text: editor.value });
      status.say(`Applied ${name} (${r.created ? 'new' : 'updated'}, ${r.file}).`);
      show(r);
      load();
    } catch (err) {
      status.say(`Not applied: ${err.message}`, 'error');
      show(err.data ?? {});
    }
  });

  return { el, show: load, hide() {} };
}

// ---------------------------------------------------------------------------------------
// Approvals

function approvalsView({ api }) {
  const status = notice();
  const body = h('tbody', {});
  const el = h(
    'section',
    {},
    status,
    h(
      'table',
      { class: 'approvals', 'aria-label': 'Pending approvals' },
      h('thead', {}, h('tr', {}, ['Asked', 'Agent', 'Action', 'Resource', 'Policy / rule', 'Reason', ''].map((c) => h('th', { scope: 'col' }, c)))),
      body,
    ),
  );
  let timer = null;

  async function load() {
    try {
      const { approvals } = await api('GET', '/admin/approvals?status=pending');
      put(body,
        ...approvals.map((a) =>
          h(
            'tr',
            { 'data-approval': a.id },
            h('td', {}, stamp(a.createdAt)),
            h('td', {}, a.agentName ?? a.agentId),
            h('td', {}, h('code', {}, a.action)),
            h('td', { class: 'resource' }, a.resource ?? '—'),
            h('td', {}, h('code', {}, `${a.policy} / ${a.rule}`)),
            h('td', {}, a.reason),
            h(
              'td',
              { class: 'actions' },
              h('button', { type: 'button', onclick: () => settle(a, 'approve'), 'aria-label': `Approve ${a.action} for ${a.agentName ?? a.agentId}` }, 'Approve'),
              h('button', { type: 'button', class: 'danger', onclick: () => settle(a, 'deny'), 'aria-label': `Deny ${a.action} for ${a.agentName ?? a.agentId}` }, 'Deny'),
            ),
          ),
        ),
      );
      if (!approvals.length) put(body, h('tr', {}, h('td', { colspan: '7' }, 'Nothing waits for a decision.')));
    } catch (e) {
      status.say(`Cannot list approvals: ${e.message}`, 'error');
    }
  }

  async function settle(a, verdict) {
    try {
      await api('POST', `/admin/approvals/${encodeURIComponent(a.id)}/${verdict}`, { by: 'console' });
      status.say(`${verdict === 'approve' ? 'Approved' : 'Denied'} ${a.action} for ${a.agentName ?? a.agentId}.`);
      load();
    } catch (e) {
      status.say(`Cannot ${verdict}: ${e.message}`, 'error');
    }
  }

  return {
    el,
    show() {
      load();
      timer = setInterval(load, 5000);
    },
    hide() {
      clearInterval(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------
// Playground

const PLAY_POLICY = `name: shell-guard
appliesTo:
  tags: [claude-code]
rules:
  - name: safe-git
    effect: allow
    actions: ["execute:shell"]
    conditions:
      resource:
        startsWith: ["git status", "git diff", "git log"]
  - name: no-rm
    effect: deny
    actions: ["execute:shell"]
    conditions:
      resource:
        contains: ["rm -rf", "rm -fr"]
    reason: Deleting files recursively is not allowed
defaultEffect: deny
`;

const PLAY_REQUEST = `{
  "action": "execute:shell",
  "resource": "git status && rm -rf /",
  "agent": { "id": "agent-1", "tags": ["claude-code"], "trustTier": "verified" }
}`;

function playgroundView({ api, info }) {
  const policy = h('textarea', { id: 'pg-policy', spellcheck: 'false', rows: '18' });
  policy.value = PLAY_POLICY;
  const request = h('textarea', { id: 'pg-request', spellcheck: 'false', rows: '8' });
  request.value = PLAY_REQUEST;
  const fallback = h(
    'select',
    { id: 'pg-fallback' },
    ['deny', 'allow'].map((f) => h('option', { value: f, selected: f === info.fallback }, f)),
  );
  const local = h('div', { class: 'answer', id: 'pg-local', 'aria-live': 'polite' });
  const remote = h('div', { class: 'answer', id: 'pg-gateway', 'aria-live': 'polite' });
  const verdict = h('p', { class: 'verdict', id: 'pg-verdict', role: 'status' });
  const form = h(
    'form',
    { class: 'playground', 'aria-label': 'Try a policy' },
    h('div', { class: 'inputs' }, h('label', { for: 'pg-policy' }, 'Policy text'), policy, h('label', { for: 'pg-request' }, 'Request (JSON)'), request, h('label', { for: 'pg-fallback' }, 'When no policy applies'), fallback, h('button', { type: 'submit' }, 'Decide')),
  );
  const el = h(
    'section',
    {},
    h('p', { class: 'small' }, 'Decided twice: here in the browser by the npm package’s WebAssembly build, and by the gateway (nothing is applied or audited). They run the same evaluator and must agree.'),
    form,
    verdict,
    h('div', { class: 'split' }, h('div', {}, h('h3', {}, 'In this browser (WebAssembly)'), local), h('div', {}, h('h3', {}, 'The gateway'), remote)),
  );
  let pkg = null;

  /** Both sides' answer: `{ decision }` or `{ diagnostics }`. */
  async function inBrowser(req, text, fb) {
    pkg ??= await import(new URL('/console/pkg/js/auto.js', location.origin).href);
    try {
      const set = pkg.PolicySet.load([{ name: 'playground.yaml', text }], { fallback: fb });
      return { decision: set.explain(req) };
    } catch (e) {
      if (e.diagnostics) return { diagnostics: e.diagnostics };
      throw e;
    }
  }

  async function atGateway(req, text, fb) {
    try {
      const decision = await api('POST', '/admin/policies/test', {
        ...req,
        explain: true,
        policies: [{ name: 'playground.yaml', text }],
        fallback: fb,
      });
      return { decision };
    } catch (e) {
      if (e.data?.diagnostics) return { diagnostics: e.data.diagnostics };
      throw e;
    }
  }

  function render(target, answer) {
    if (answer.error) put(target, h('p', { class: 'error' }, answer.error));
    else if (answer.diagnostics) put(target, h('p', { class: 'error' }, 'The policy does not load:'), diagnosticList(answer.diagnostics, policy), annotated(policy.value, answer.diagnostics));
    else put(target, decisionSummary(answer.decision), explanationView(answer.decision));
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let req;
    try {
      req = JSON.parse(request.value);
      if (!req || typeof req !== 'object' || Array.isArray(req)) throw new Error('the request must be a JSON object');
    } catch (err) {
      verdict.textContent = `The request is not valid JSON: ${err.message}`;
      verdict.className = 'verdict error';
      return;
    }
    // Both sides decide at the same instant and in the same mode.
    req.time ??= new Date().toISOString();
    req.mode ??= info.mode;
    verdict.textContent = 'Deciding…';
    verdict.className = 'verdict';
    const settle = (p) => p.catch((err) => ({ error: err.message }));
    const [mine, theirs] = await Promise.all([settle(inBrowser(req, policy.value, fallback.value)), settle(atGateway(req, policy.value, fallback.value))]);
    render(local, mine);
    render(remote, theirs);
    // Diagnostics compare without columns: the browser counts UTF-16 units, the gateway
    // characters.
    const key = (a) =>
      a.error ? null : a.decision ? canonical(a.decision) : canonical(a.diagnostics.map(({ code, line, message }) => ({ code, line, message })));
    const same = key(mine) !== null && key(mine) === key(theirs);
    verdict.textContent = same ? 'Both agree.' : 'They disagree — this is a bug; please report it with this policy and request.';
    verdict.className = `verdict ${same ? 'ok' : 'error'}`;
  });

  return { el, show() {}, hide() {} };
}

// ---------------------------------------------------------------------------------------

/** Mounts the console into `root`. */
export async function mount(root, { token, signOut }) {
  const api = client(token, signOut);
  let info;
  try {
    info = await (await fetch('/', { headers: { Accept: 'application/json' } })).json();
  } catch {
    info = { mode: 'enforce', fallback: 'deny' };
  }
  const ctx = { api, token, info, signOut };
  const views = {
    live: liveView(ctx),
    agents: agentsView(ctx),
    policies: policiesView(ctx),
    approvals: approvalsView(ctx),
    playground: playgroundView(ctx),
  };
  const tabs = VIEWS.map((v) =>
    h('button', { type: 'button', role: 'tab', id: `tab-${v}`, 'aria-controls': `view-${v}`, 'aria-selected': 'false', tabindex: '-1' }, TITLES[v]),
  );
  const panels = VIEWS.map((v, i) => {
    const panel = h('div', { role: 'tabpanel', id: `view-${v}`, 'aria-labelledby': `tab-${v}`, hidden: true }, h('h2', {}, TITLES[v]), views[v].el);
    tabs[i].addEventListener('click', () => select(v));
    return panel;
  });
  let current = null;

  function select(v, { focus = false } = {}) {
    if (current === v) return;
    if (current) views[current].hide();
    current = v;
    VIEWS.forEach((name, i) => {
      const on = name === v;
      tabs[i].setAttribute('aria-selected', String(on));
      tabs[i].tabIndex = on ? 0 : -1;
      panels[i].hidden = !on;
    });
    if (focus) tabs[VIEWS.indexOf(v)].focus();
    if (location.hash !== `#${v}`) history.replaceState(null, '', `#${v}`);
    views[v].show();
  }

  const tablist = h('nav', { role: 'tablist', 'aria-label': 'Console views' }, tabs);
  tablist.addEventListener('keydown', (e) => {
    const i = VIEWS.indexOf(current);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: VIEWS.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    select(VIEWS[(next + VIEWS.length) % VIEWS.length], { focus: true });
  });

  put(root,
    h(
      'header',
      { class: 'top' },
      h('h1', {}, 'MeshGuard'),
      h('p', { class: 'gateway' }, `gateway ${info.version ?? ''} · ${info.mode} mode · ${info.policies ?? '?'} policies`),
      h('button', { type: 'button', class: 'signout', onclick: () => signOut() }, 'Sign out'),
    ),
    tablist,
    h('main', {}, panels),
  );
  const wanted = location.hash.slice(1);
  select(VIEWS.includes(wanted) ? wanted : 'live');
}
