import type { RunFilter, RunsPage } from './data.js';
import type { RunView, StepView } from './view.js';

/**
 * The runs pages as server-rendered HTML. Every value that came from a request or from SFMC (a
 * List name, an error text, a runId) goes through `esc`; nothing is inserted unescaped except
 * this file's own markup. The only script is /runs/assets/runs.js (script-src 'self').
 */

export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}
header{background:#16325c;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:baseline;flex-wrap:wrap}
header a{color:#fff}main{padding:1rem;max-width:1400px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:.4rem .5rem;border-bottom:1px solid #e3e5e8;text-align:left;vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;color:#555}.num{text-align:right;font-variant-numeric:tabular-nums}
.state{display:inline-block;white-space:nowrap;overflow-wrap:normal;padding:0 .45rem;border-radius:.6rem;font-size:.8rem;font-weight:600;background:#e3e5e8}
.state-completed{background:#d7f2df;color:#14532d}.state-failed{background:#fde2e1;color:#8a1c1c}
.state-running,.state-active,.state-delayed{background:#dbeafe;color:#1e3a8a}.state-cancelled{background:#eee;color:#555}
.reason{color:#8a1c1c}form.filters{display:flex;flex-wrap:wrap;gap:.5rem;margin-bottom:1rem}
form.filters label{display:flex;flex-direction:column;font-size:.8rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;background:#fff;padding:.8rem}dt{color:#555}dd{margin:0;overflow-wrap:anywhere}td{overflow-wrap:anywhere}
progress{width:10rem}.muted{color:#666}button.cancel{background:#b42318;color:#fff;border:0;padding:.4rem .9rem;border-radius:4px;cursor:pointer}
.notice{background:#fff7d6;padding:.5rem;margin:.5rem 0}
@media (max-width:700px){
 table.runs thead{display:none}table.runs tr{display:block;border-bottom:2px solid #ccd}table.runs td{display:flex;justify-content:space-between;gap:1rem;border:0;padding:.2rem .5rem}
 table.runs td::before,table.steps td::before{flex:none}table.runs td>div{text-align:right;min-width:0}table.runs td:empty{display:none}
 table.runs td::before{content:attr(data-label);color:#555;font-size:.8rem}table.steps thead{display:none}table.steps tr{display:block;border-bottom:2px solid #ccd}table.steps td{display:flex;justify-content:space-between;gap:1rem;border:0;padding:.2rem .5rem}
 table.steps td::before{content:attr(data-label);color:#555;font-size:.8rem}table.steps td:empty{display:none}
 main{padding:.5rem}
}`;

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style><script src="/runs/assets/runs.js" defer></script></head>
<body><header><strong>list-send</strong><a href="/runs">Runs</a><a href="/ui">Queues (Bull Board)</a></header><main>${body}</main></body></html>`;
}

const when = (iso: string | undefined) => (iso ? `<time datetime="${esc(iso)}">${esc(iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</time>` : '');
const state = (s: string) => `<span class="state state-${esc(s)}" data-field="state">${esc(s)}</span>`;
const n = (v: number | undefined) => (v === undefined ? '' : v.toLocaleString('en-US'));

export function runHref(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}

function importCell(r: RunView): string {
  if (!r.import) return '';
  return `${n(r.import.numberSuccessful)} of ${n(r.import.totalRows)} imported; ${n(r.import.numberErrors)} errors, ${n(r.import.numberDuplicated)} duplicates`;
}

function deliveryCell(r: RunView): string {
  const d = r.delivery;
  if (!d) return '';
  return `${esc(d.status)}: ${n(d.sent)} sent, ${n(d.delivered)} delivered, ${n(d.bounces)} bounced, ${n(d.opens)} opened, ${n(d.clicks)} clicked`;
}

function runRow(r: RunView): string {
  const cells: [string, string][] = [
    ['Run', `<a href="${esc(runHref(r.runId))}">${esc(r.runId)}</a>`],
    ['State', state(r.state) + (r.failure ? `<div class="reason">${esc(r.failure.step)}: ${esc(r.failure.reason)}</div>` : '')],
    ['List', esc(r.list)],
    ['Email', esc(r.emailId)],
    ['File', esc(r.file)],
    ['Account', esc(r.account)],
    ['Started', when(r.startedAt)],
    ['Ended', when(r.endedAt)],
    ['Import', importCell(r)],
    ['Send', esc(r.sendId)],
    ['Delivery', deliveryCell(r)],
  ];
  // One <div> per non-empty cell: on a narrow screen the cell is a row of label and value.
  return `<tr data-run="${esc(r.runId)}">${cells.map(([label, html]) => `<td data-label="${label}">${html ? `<div>${html}</div>` : ''}</td>`).join('')}</tr>`;
}

const RUN_STATES = ['', 'waiting', 'running', 'completed', 'failed', 'cancelled'];

export function queryString(filter: RunFilter, page: number): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v) params.set(k, String(v));
  if (page > 1) params.set('page', String(page));
  const q = params.toString();
  return q ? `?${q}` : '';
}

export function runsListPage(data: RunsPage, filter: RunFilter): string {
  const option = (s: string) => `<option value="${s}"${filter.state === s || (!filter.state && !s) ? ' selected' : ''}>${s || 'any'}</option>`;
  const input = (name: keyof RunFilter, label: string) =>
    `<label>${label}<input name="${name}" value="${esc(filter[name])}" maxlength="200"></label>`;
  const filters = `<form class="filters" method="get" action="/runs"><label>State<select name="state">${RUN_STATES.map(option).join('')}</select></label>
${input('search', 'runId or List')}${input('account', 'Account')}${input('source', 'Schedule or trigger')}<button type="submit">Show</button></form>`;
  const rows = data.runs.length
    ? data.runs.map(runRow).join('')
    : `<tr><td colspan="11" class="muted">No run matches.</td></tr>`;
  const nav = [
    data.page > 1 ? `<a rel="prev" href="/runs${esc(queryString(filter, data.page - 1))}">Newer</a>` : '',
    data.hasMore ? `<a rel="next" href="/runs${esc(queryString(filter, data.page + 1))}">Older</a>` : '',
  ].join(' ');
  const capped = data.scanCapped ? `<p class="notice">Only the ${data.scanned} most recent runs were searched.</p>` : '';
  return layout(
    'Runs - list-send',
    `<h1>Runs</h1>${filters}${capped}<table class="runs"><thead><tr><th>Run</th><th>State</th><th>List</th><th>Email</th><th>File</th><th>Account</th><th>Started</th><th>Ended</th><th>Import</th><th>Send</th><th>Delivery</th></tr></thead><tbody>${rows}</tbody></table><p>${nav}</p>`,
  );
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}

/** The upload's progress: bytes (and rows when the step reports them). */
function uploadCell(s: StepView): string {
  if (!s.upload) return '';
  const u = s.upload;
  return `<progress max="${u.totalBytes}" value="${u.bytes}"></progress> ${n(u.bytes)} of ${n(u.totalBytes)} bytes${u.rows !== undefined ? `, ${n(u.rows)} rows` : ''}`;
}

export function stepRow(s: StepView): string {
  return `<tr data-step="${esc(s.step)}"><td data-label="Step">${esc(s.step)}</td><td data-label="State">${state(s.state)}</td><td class="num" data-label="Attempts" data-field="attempts">${s.attempts}</td>
<td data-label="Started" data-field="started">${when(s.startedAt)}</td><td class="num" data-label="Took" data-field="duration">${duration(s.durationMs)}</td>
<td class="num" data-label="Polls" data-field="polls">${s.polls ?? ''}</td><td data-label="Result" data-field="outcome">${esc(s.outcome)}${uploadCell(s)}</td></tr>`;
}

export function runDetailPage(r: RunView, options: { boardHref: string; cancelToken?: string; notice?: string }): string {
  const facts: [string, string][] = [
    ['State', state(r.state)],
    ['List', esc(r.list)],
    ['Email', esc(r.emailId)],
    ['File', esc(r.file)],
    ['Account', esc(r.account)],
    ['Started', when(r.startedAt)],
    ['Ended', `<span data-field="ended">${when(r.endedAt)}</span>`],
    ['Import', `<span data-field="import">${importCell(r)}</span>`],
    ['Send', `<span data-field="sendId">${esc(r.sendId)}</span>`],
    ['Delivery', `<span data-field="delivery">${deliveryCell(r)}</span>`],
  ];
  if (r.failure) facts.splice(1, 0, ['Failed in', `<span class="reason" data-field="failure">${esc(r.failure.step)}: ${esc(r.failure.reason)}</span>`]);
  if (r.cancelledAt) facts.push(['Cancelled', when(r.cancelledAt)]);
  const cancel =
    r.cancellable && options.cancelToken
      ? `<form method="post" action="${esc(runHref(r.runId))}/cancel" id="cancel"><input type="hidden" name="token" value="${esc(options.cancelToken)}"><button class="cancel" type="submit">Cancel this run</button></form>`
      : '';
  const notice = options.notice ? `<p class="notice" role="status">${esc(options.notice)}</p>` : '';
  return layout(
    `${r.runId} - list-send`,
    `<h1>Run <span data-run-id="${esc(r.runId)}" id="run">${esc(r.runId)}</span></h1>${notice}
<dl id="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
<p><a href="${esc(options.boardHref)}">This run's flow in Bull Board</a></p>${cancel}
<h2>Timeline</h2><table class="steps"><thead><tr><th>Step</th><th>State</th><th class="num">Attempts</th><th>Started</th><th class="num">Took</th><th class="num">Polls</th><th>Result or error</th></tr></thead>
<tbody id="steps">${r.steps.map(stepRow).join('')}</tbody></table>`,
  );
}
