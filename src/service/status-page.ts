import { formatBytes, formatRate } from '../human-units.ts';
import { DOWNLOAD_STATES, type DownloadState } from '../orchestrator/index.ts';
import type { StatusSnapshot } from './status-board.ts';

export interface StatusPageOptions {
  /** Only downloads in this state. */
  state?: DownloadState | undefined;
  /**
   * `loopback`: the page comes with its data (no token is configured; the browser is on this host).
   * `token`: the page asks for the token and fetches the data itself, keeping the token in the tab.
   */
  auth: 'loopback' | 'token';
  /** The nonce the Content-Security-Policy allows the page's one script by. */
  nonce: string;
}

/**
 * `GET /`: the status page. One HTML document, no build step, no external assets (sites running
 * cldl are often offline). Its first render is a server-side table that works without JavaScript;
 * with it, the page follows `GET /events` (Server-Sent Events), falling back to polling `GET
 * /status`, and can cancel a download.
 */
export function renderStatusPage(snapshot: StatusSnapshot | undefined, options: StatusPageOptions): string {
  const filter = options.state;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cldl status</title>
<style>${CSS}</style>
</head>
<body data-auth="${options.auth}" data-state="${filter ?? ''}">
<header>
  <h1>cldl</h1>
  <span id="live" class="live">${options.auth === 'token' ? 'sign in to see the status' : 'snapshot'}</span>
  <span id="at" class="muted">${snapshot ? esc(snapshot.at) : ''}</span>
</header>
<noscript><p class="note">Live updates and cancel need JavaScript; this table is the status at ${snapshot ? esc(snapshot.at) : 'load time'}. Reload for a new one.</p></noscript>
<form id="token" class="note" hidden>
  <label>Bearer token <input type="password" name="token" autocomplete="off" required></label>
  <button type="submit">Show status</button>
  <span class="muted">kept in this tab only</span>
</form>
<section>
  <h2>Queue</h2>
  <div id="counts" class="counts">${snapshot ? counts(snapshot.counts) : ''}</div>
</section>
<section>
  <h2>Downloads</h2>
  <nav class="filters">${filters(filter)}</nav>
  <div class="scroll"><table id="downloads">
    <thead><tr><th>download</th><th>state</th><th class="bar">progress</th><th>bytes</th><th>rate</th><th>ETA</th><th>vCenter</th><th>session</th><th>attempt</th><th>last error</th><th></th></tr></thead>
    <tbody>${snapshot ? snapshot.downloads.map(downloadRow).join('') : ''}</tbody>
  </table></div>
  <p id="no-downloads" class="muted"${snapshot && snapshot.downloads.length === 0 ? '' : ' hidden'}>No downloads${filter ? ` in state ${esc(filter)}` : ''}.</p>
</section>
<section>
  <h2>Mirror runs</h2>
  <table id="mirrors">
    <thead><tr><th>run</th><th>state</th><th>library</th><th>destination</th><th>items</th><th class="bar">bytes</th><th>last error</th></tr></thead>
    <tbody>${snapshot ? snapshot.mirrors.map(mirrorRow).join('') : ''}</tbody>
  </table>
</section>
<section class="two">
  <div>
    <h2>Workers</h2>
    <ul id="workers">${snapshot ? snapshot.workers.map((w) => `<li>${esc(w.name)}${w.addr ? ` <span class="muted">${esc(w.addr)}</span>` : ''}</li>`).join('') : ''}</ul>
  </div>
  <div>
    <h2>vCenter download sessions</h2>
    <ul id="sessions">${snapshot ? snapshot.sessions.map(sessionItem).join('') : ''}</ul>
  </div>
</section>
<script nonce="${options.nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

type Download = StatusSnapshot['downloads'][number];
type Mirror = StatusSnapshot['mirrors'][number];

const LIVE = new Set<string>(['queued', 'syncing', 'creating', 'preparing', 'transferring', 'verifying']);

function downloadRow(d: Download): string {
  const p = d.progress;
  const pct = d.state === 'completed' ? 100 : p.percent;
  const cancel = LIVE.has(d.state) ? `<button type="button" class="cancel" data-id="${esc(d.id)}">cancel</button>` : '';
  return (
    `<tr data-id="${esc(d.id)}" class="s-${esc(d.state)}">` +
    `<td class="id" title="${esc(d.id)}: ${esc(d.request.libraryItemId)} → ${esc(d.request.destination)}">${esc(d.id)}</td>` +
    `<td class="state">${esc(d.state)}</td>` +
    `<td class="bar">${bar(pct)}<span class="pct">${pct}%</span></td>` +
    `<td>${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}</td>` +
    `<td>${LIVE.has(d.state) ? rate(p.bytesPerSecond) : ''}</td>` +
    `<td>${LIVE.has(d.state) ? eta(p.bytesTotal - p.bytesDone, p.bytesPerSecond) : ''}</td>` +
    `<td>${esc(d.request.vcenter)}</td>` +
    `<td class="mono" title="${esc(d.sessionId ?? '')}">${esc(short(d.sessionId))}</td>` +
    `<td>${d.attempt}</td>` +
    `<td class="error">${esc(d.lastError ?? '')}</td>` +
    `<td>${cancel}</td></tr>`
  );
}

function mirrorRow(m: Mirror): string {
  const p = m.progress;
  const pct = m.state === 'completed' ? 100 : p.bytesTotal > 0 ? Math.min(99, Math.floor((100 * p.bytesDone) / p.bytesTotal)) : 0;
  return (
    `<tr data-id="${esc(m.id)}" class="s-${esc(m.state)}"><td class="id" title="${esc(m.id)}">${esc(m.id)}</td><td class="state">${esc(m.state)}</td>` +
    `<td>${esc(m.request.library)} <span class="muted">on ${esc(m.request.vcenter)}</span></td><td>${esc(m.request.destination)}</td>` +
    `<td>${p.itemsDone + p.itemsCurrent}/${p.itemsTotal}${p.itemsFailed ? ` <span class="error">${p.itemsFailed} failed</span>` : ''}</td>` +
    `<td class="bar">${bar(pct)}<span class="pct">${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}</span></td>` +
    `<td class="error">${esc(m.lastError ?? '')}</td></tr>`
  );
}

function sessionItem(s: StatusSnapshot['sessions'][number]): string {
  if (s.error) return `<li><b>${esc(s.vcenter)}</b> <span class="error">${esc(s.error)}</span></li>`;
  return `<li><b>${esc(s.vcenter)}</b> <span class="mono">${esc(s.sessionId)}</span> ${s.downloadId ? `← ${esc(s.downloadId)}` : '<span class="muted">not cldl’s</span>'}</li>`;
}

/** Session ids are long UUIDs: their first block tells them apart on a page. */
function short(id: string | undefined): string {
  return id ? `${id.slice(0, 8)}…` : '';
}

function counts(c: Record<string, number>): string {
  return Object.entries(c)
    .map(([k, v]) => `<span class="count"><b>${v}</b> ${esc(k)}</span>`)
    .join('');
}

function filters(current: DownloadState | undefined): string {
  const link = (s: string | undefined, label: string) => `<a href="${s ? `?state=${s}` : '?'}"${s === current ? ' aria-current="page"' : ''}>${label}</a>`;
  return [link(undefined, 'all'), ...DOWNLOAD_STATES.map((s) => link(s, s))].join(' ');
}

function bar(percent: number): string {
  return `<span class="track"><span class="fill" style="width:${Math.max(0, Math.min(100, percent))}%"></span></span>`;
}

function rate(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? formatRate(bytesPerSecond) : '';
}

function eta(left: number, bytesPerSecond: number): string {
  if (bytesPerSecond <= 0 || left <= 0) return '';
  const s = Math.ceil(left / bytesPerSecond);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Everything from vCenter, Redis or a request goes through here before it meets HTML. */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
:root{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2733;background:#f6f7f9}
body{margin:0 auto;max-width:1400px;padding:16px 24px}
header{display:flex;align-items:baseline;gap:16px;border-bottom:1px solid #d8dde3;margin-bottom:8px}
h1{font-size:22px;margin:8px 0}h2{font-size:15px;margin:18px 0 6px;color:#3b4a5a}
table{width:100%;border-collapse:collapse;background:#fff;font-size:13px;box-shadow:0 1px 2px #0001}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #edf0f3;vertical-align:middle;white-space:nowrap}
th{background:#eef1f4;font-weight:600;color:#3b4a5a}
td.error{white-space:normal;color:#a11b1b;min-width:180px;max-width:340px}
td.id,.mono{font-family:ui-monospace,Menlo,monospace;font-size:12px}
td.id{max-width:200px;overflow:hidden;text-overflow:ellipsis}
.scroll{overflow-x:auto}
.bar{min-width:130px}.track{display:inline-block;width:80px;height:9px;background:#e3e7ec;border-radius:5px;overflow:hidden;vertical-align:middle;margin-right:8px}
.fill{display:block;height:100%;background:#2f7ad0}
.s-completed .fill{background:#2e9a55}.s-failed .fill{background:#c0392b}.s-canceled .fill{background:#8896a5}
.state{font-weight:600}.s-failed .state{color:#a11b1b}.s-completed .state{color:#1f7a43}.s-canceled .state{color:#6b7785}
.muted{color:#6b7785;font-size:12px}.live{font-size:12px;padding:2px 8px;border-radius:10px;background:#e3e7ec}
.live.on{background:#d7f0df;color:#1f7a43}.note{background:#fff8e1;border:1px solid #f0e0a0;padding:8px 12px}
.counts{display:flex;gap:18px;flex-wrap:wrap}.count b{font-size:18px}
.filters a{margin-right:8px;font-size:13px;color:#2f6fb5}.filters a[aria-current]{font-weight:700;color:#1d2733;text-decoration:none}
.two{display:grid;grid-template-columns:1fr 2fr;gap:24px}ul{background:#fff;margin:0;padding:8px 24px;font-size:13px;box-shadow:0 1px 2px #0001}
button.cancel{font-size:12px;padding:2px 8px;border:1px solid #c0392b;color:#a11b1b;background:#fff;border-radius:4px;cursor:pointer}
button.cancel:disabled{opacity:.5}
`;

// The page's behaviour, as plain browser JavaScript: the server sends it as is. Everything from the
// server is set with textContent, never parsed as HTML.
const SCRIPT = `
(() => {
  const body = document.body;
  const filter = body.dataset.state || '';
  const headers = () => {
    const h = { 'x-cldl-request': '1' };
    const t = sessionStorage.getItem('cldl-token');
    if (t) h.authorization = 'Bearer ' + t;
    return h;
  };
  const LIVE = new Set(['queued', 'syncing', 'creating', 'preparing', 'transferring', 'verifying']);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v; else if (k === 'style') e.style.cssText = v; else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  };
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const bytes = (n) => { let v = n, i = 0; while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; } return (i ? v.toFixed(1) : v) + ' ' + units[i]; };
  const rate = (r) => (r > 0 ? (r / 1e6).toFixed(1) + ' MB/s' : '');
  const eta = (left, r) => {
    if (r <= 0 || left <= 0) return '';
    const s = Math.ceil(left / r);
    return s < 60 ? s + ' s' : s < 3600 ? Math.floor(s / 60) + ' min ' + (s % 60) + ' s' : Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  };
  const bar = (pct) => el('span', { class: 'track' }, el('span', { class: 'fill', style: 'width:' + Math.max(0, Math.min(100, pct)) + '%' }));
  const downloadRow = (d) => {
    const p = d.progress, live = LIVE.has(d.state), pct = d.state === 'completed' ? 100 : p.percent;
    const cancel = live ? el('button', { type: 'button', class: 'cancel', 'data-id': d.id }, 'cancel') : null;
    return el('tr', { 'data-id': d.id, class: 's-' + d.state },
      el('td', { class: 'id', title: d.id + ': ' + d.request.libraryItemId + ' → ' + d.request.destination }, d.id),
      el('td', { class: 'state' }, d.state),
      el('td', { class: 'bar' }, bar(pct), el('span', { class: 'pct' }, pct + '%')),
      el('td', {}, bytes(p.bytesDone) + ' / ' + bytes(p.bytesTotal)),
      el('td', {}, live ? rate(p.bytesPerSecond) : ''),
      el('td', {}, live ? eta(p.bytesTotal - p.bytesDone, p.bytesPerSecond) : ''),
      el('td', {}, d.request.vcenter),
      el('td', { class: 'mono', title: d.sessionId || '' }, d.sessionId ? d.sessionId.slice(0, 8) + '…' : ''),
      el('td', {}, String(d.attempt)),
      el('td', { class: 'error' }, d.lastError || ''),
      el('td', {}, cancel));
  };
  const mirrorRow = (m) => {
    const p = m.progress;
    const pct = m.state === 'completed' ? 100 : p.bytesTotal > 0 ? Math.min(99, Math.floor((100 * p.bytesDone) / p.bytesTotal)) : 0;
    return el('tr', { 'data-id': m.id, class: 's-' + m.state },
      el('td', { class: 'id', title: m.id }, m.id), el('td', { class: 'state' }, m.state),
      el('td', {}, m.request.library + ' ', el('span', { class: 'muted' }, 'on ' + m.request.vcenter)),
      el('td', {}, m.request.destination),
      el('td', {}, (p.itemsDone + p.itemsCurrent) + '/' + p.itemsTotal, p.itemsFailed ? el('span', { class: 'error' }, ' ' + p.itemsFailed + ' failed') : null),
      el('td', { class: 'bar' }, bar(pct), el('span', { class: 'pct' }, bytes(p.bytesDone) + ' / ' + bytes(p.bytesTotal))),
      el('td', { class: 'error' }, m.lastError || ''));
  };
  const render = (s) => {
    document.getElementById('at').textContent = s.at;
    const counts = document.getElementById('counts');
    counts.replaceChildren(...Object.entries(s.counts).map(([k, v]) => el('span', { class: 'count' }, el('b', {}, String(v)), ' ' + k)));
    const downloads = filter ? s.downloads.filter((d) => d.state === filter) : s.downloads;
    document.querySelector('#downloads tbody').replaceChildren(...downloads.map(downloadRow));
    document.getElementById('no-downloads').hidden = downloads.length > 0;
    document.querySelector('#mirrors tbody').replaceChildren(...s.mirrors.map(mirrorRow));
    document.getElementById('workers').replaceChildren(...s.workers.map((w) => el('li', {}, w.name, w.addr ? el('span', { class: 'muted' }, ' ' + w.addr) : null)));
    document.getElementById('sessions').replaceChildren(...s.sessions.map((x) => x.error
      ? el('li', {}, el('b', {}, x.vcenter), ' ', el('span', { class: 'error' }, x.error))
      : el('li', {}, el('b', {}, x.vcenter), ' ', el('span', { class: 'mono' }, x.sessionId), ' ', x.downloadId ? '← ' + x.downloadId : el('span', { class: 'muted' }, 'not cldl’s'))));
  };
  const live = document.getElementById('live');
  const status = (text, on) => { live.textContent = text; live.classList.toggle('on', !!on); };
  const query = filter ? '?state=' + encodeURIComponent(filter) : '';

  // Server-Sent Events over fetch(), so that the token can go in a header (EventSource sends none).
  async function follow() {
    const res = await fetch('/events' + query, { headers: headers() });
    if (res.status === 401) return signIn(true);
    if (!res.ok || !res.body) throw new Error('events: HTTP ' + res.status);
    status('live', true);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('events: the stream ended');
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf('\\n\\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block.split('\\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\\n');
        if (data) render(JSON.parse(data));
      }
    }
  }
  async function poll() {
    status('polling', true);
    for (;;) {
      try {
        const res = await fetch('/status' + query, { headers: headers() });
        if (res.status === 401) return signIn(true);
        if (res.ok) render(await res.json());
      } catch {}
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  function start() {
    follow().catch(() => poll());
  }
  function signIn(wrong) {
    status(wrong ? 'wrong or missing token' : 'sign in to see the status', false);
    const form = document.getElementById('token');
    form.hidden = false;
    form.onsubmit = (e) => {
      e.preventDefault();
      sessionStorage.setItem('cldl-token', new FormData(form).get('token'));
      form.hidden = true;
      start();
    };
  }
  document.addEventListener('click', async (e) => {
    const button = e.target.closest('button.cancel');
    if (!button) return;
    button.disabled = true;
    const res = await fetch('/downloads/' + encodeURIComponent(button.dataset.id), { method: 'DELETE', headers: headers() });
    if (!res.ok) { button.disabled = false; status('cancel failed: HTTP ' + res.status, false); }
  });
  if (body.dataset.auth === 'token' && !sessionStorage.getItem('cldl-token')) signIn(false);
  else start();
})();
`;
