// driftless web page: reads the JSON API of the server that served it, with
// the user's Kubernetes bearer token (kept in this tab's sessionStorage).
'use strict';

const $ = (sel) => document.querySelector(sel);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) =>
  ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const badge = (prefix, value) => `<span class="badge ${prefix}-${esc(value)}">${esc(value)}</span>`;
const short = (rev) => (rev ? esc(String(rev).replace(/^.*sha1:/, '').slice(0, 7)) : '');
const when = (t) => (t ? esc(new Date(t).toLocaleString()) : '');
const COLORS = { Healthy: '#1f8f4e', Synced: '#1f8f4e', True: '#1f8f4e', Progressing: '#c98a00',
  OutOfSync: '#c98a00', Degraded: '#c62f2f', Missing: '#c62f2f', False: '#c62f2f' };

const state = { overview: null, filter: '', streamAbort: null, commit: null };

function token() { return sessionStorage.getItem('driftless-token'); }

// `#token=<t>` (and optionally `&route=/app/ns/name`) signs in from a link.
function takeTokenFromUrl() {
  const hash = location.hash;
  if (!hash.startsWith('#token=')) return;
  const params = new URLSearchParams(hash.slice(1));
  sessionStorage.setItem('driftless-token', params.get('token'));
  history.replaceState(null, '', '#' + (params.get('route') || '/'));
}

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const headers = { Authorization: 'Bearer ' + token() };
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) throw new Unauthorized(body.error || 'unauthorized');
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function showLogin(message) {
  $('#login').hidden = false;
  $('#view').innerHTML = '';
  $('#logout').hidden = true;
  $('#login-error').textContent = message || '';
}

// Live updates: the stream's `overview` events, read with fetch so the
// token travels in a header (EventSource cannot send one).
async function follow() {
  if (state.streamAbort) state.streamAbort.abort();
  const abort = new AbortController();
  state.streamAbort = abort;
  try {
    const response = await fetch('/api/v1/stream', {
      headers: { Authorization: 'Bearer ' + token() }, signal: abort.signal });
    if (response.status === 401) return showLogin('The token was not accepted.');
    $('#live').className = 'live on';
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        onEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch (e) { if (abort.signal.aborted) return; }
  $('#live').className = 'live off';
  setTimeout(follow, 3000);
}

function onEvent(block) {
  let name = 'message'; const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (name === 'problem') { $('#live').title = data.join('\n'); return; }
  if (name !== 'overview') return;
  state.overview = JSON.parse(data.join('\n'));
  if (currentRoute().view === 'overview') renderOverview();
  else if (currentRoute().view === 'app') refreshApp();
}

function currentRoute() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'app' && parts.length >= 3) return { view: 'app', ns: parts[1], name: parts[2] };
  if (parts[0] === 'ks' && parts.length >= 3) return { view: 'ks', ns: parts[1], name: parts[2] };
  return { view: 'overview' };
}

// ---- overview ----
function countsHtml(counts) {
  const groups = [['sync', 's', ''], ['health', 'h', ''], ['ready', 'r', 'Kustomizations Ready '], ['helmReady', 'r', 'HelmReleases Ready ']];
  return groups.flatMap(([group, prefix, label]) => Object.entries(counts[group] || {}).map(([k, n]) =>
    `<span class="count" data-count="${esc(group)}-${esc(k)}"><b>${n}</b>${label}${badge(prefix, k)}</span>`)).join('');
}

function appRow(a) {
  const key = `${a.namespace}/${a.name}`;
  return `<tr data-app="${esc(key)}" data-sync="${esc(a.sync)}" data-health="${esc(a.health)}" data-text="${esc(key.toLowerCase() + ' ' + (a.project || '') + ' ' + a.sync + ' ' + a.health).toLowerCase()}">
    <td><a href="#/app/${encodeURIComponent(a.namespace)}/${encodeURIComponent(a.name)}">${esc(a.name)}</a></td>
    <td>${esc(a.namespace)}</td><td>${esc(a.project)}</td>
    <td>${badge('s', a.sync)}</td><td>${badge('h', a.health)}</td>
    <td>${a.revision ? `<a href="#" class="rev" data-owner="applications/${esc(key)}" data-sha="${esc(a.revision)}" title="${esc(a.revision)}&#10;${esc(a.repoUrl)} ${esc(a.path)} @ ${esc(a.targetRevision)}"><code>${short(a.revision)}</code></a>` : ''}</td>
    <td>${when(a.lastSync)}</td><td>${a.operation ? badge('o', a.operation) : ''}</td>
    <td class="error">${esc(a.message)}</td></tr>`;
}

function ksRow(k) {
  const key = `${k.namespace}/${k.name}`;
  return `<tr data-kustomization="${esc(key)}" data-ready="${esc(k.ready)}" data-text="${esc(key + ' ' + k.ready).toLowerCase()}">
    <td><a href="#/ks/${encodeURIComponent(k.namespace)}/${encodeURIComponent(k.name)}">${esc(k.name)}</a></td>
    <td>${esc(k.namespace)}</td><td>${badge('r', k.ready)} ${esc(k.reason)}</td>
    <td>${k.revision ? `<a href="#" class="rev" data-owner="kustomizations/${esc(key)}" data-sha="${esc(String(k.revision).replace(/^.*sha1:/, ''))}" title="${esc(k.revision)}"><code>${short(k.revision)}</code></a>` : ''}</td><td>${esc(k.source)} ${esc(k.path)}</td>
    <td>${k.dependsOn.map(esc).join(', ')}</td><td class="error">${k.ready === 'True' ? '' : esc(k.message)}</td></tr>`;
}

function hrRow(h) {
  const key = `${h.namespace}/${h.name}`;
  return `<tr data-helmrelease="${esc(key)}" data-ready="${esc(h.ready)}" data-text="${esc(key + ' ' + h.ready + ' ' + (h.chart || '')).toLowerCase()}">
    <td>${esc(h.name)}</td><td>${esc(h.namespace)}</td><td>${badge('r', h.ready)} ${esc(h.reason)}</td>
    <td>${esc(h.chart)}</td><td>${esc(h.source)}</td><td><code>${esc(h.revision)}</code></td>
    <td>${h.dependsOn.map(esc).join(', ')}</td><td class="error">${h.ready === 'True' ? '' : esc(h.message)}</td></tr>`;
}

function renderOverview() {
  const o = state.overview;
  if (!o) { $('#view').innerHTML = '<p class="muted">Loading…</p>'; return; }
  const started = performance.now();
  const focused = document.activeElement && document.activeElement.id === 'filter';
  $('#view').innerHTML = `
    <h1>Overview</h1>
    <div class="counts">${countsHtml(o.counts)}</div>
    <input id="filter" type="search" placeholder="Filter by name, namespace, project or state" value="${esc(state.filter)}">
    <h2>Applications (<span id="app-count">${o.applications.length}</span>)</h2>
    <table id="applications"><thead><tr><th>Name</th><th>Namespace</th><th>Project</th><th>Sync</th>
      <th>Health</th><th>Revision</th><th>Last sync</th><th>Operation</th><th>Message</th></tr></thead>
      <tbody>${o.applications.map(appRow).join('')}</tbody></table>
    <h2>Kustomizations (<span id="ks-count">${o.kustomizations.length}</span>)</h2>
    <table id="kustomizations"><thead><tr><th>Name</th><th>Namespace</th><th>Ready</th><th>Revision</th>
      <th>Source</th><th>Depends on</th><th>Message</th></tr></thead>
      <tbody>${o.kustomizations.map(ksRow).join('')}</tbody></table>
    <h2>HelmReleases (<span id="hr-count">${o.helmReleases.length}</span>)</h2>
    <table id="helmreleases"><thead><tr><th>Name</th><th>Namespace</th><th>Ready</th><th>Chart</th>
      <th>Source</th><th>Revision</th><th>Depends on</th><th>Message</th></tr></thead>
      <tbody>${o.helmReleases.map(hrRow).join('')}</tbody></table>
    <div id="commit" class="card" ${state.commit ? '' : 'hidden'}>${state.commit ? state.commit.html : ''}</div>
    <h2>Controller</h2><div id="health" class="card muted">…</div>
    <p class="muted">Rendered in <span id="render-ms"></span> ms.</p>`;
  const filter = $('#filter');
  filter.addEventListener('input', () => { state.filter = filter.value; applyFilter(); });
  $('#view').addEventListener('click', (event) => {
    const link = event.target.closest('a.rev');
    if (!link) return;
    event.preventDefault();
    showCommit(link.dataset.owner, link.dataset.sha);
  });
  if (focused) { filter.focus(); filter.setSelectionRange(filter.value.length, filter.value.length); }
  applyFilter();
  void document.body.offsetHeight; // include layout in the measure
  const ms = (performance.now() - started).toFixed(1);
  $('#render-ms').textContent = ms;
  document.body.dataset.renderMs = ms;
  if (!document.body.dataset.firstRenderMs) document.body.dataset.firstRenderMs = ms;
  document.body.dataset.ready = 'overview';
  loadHealth();
}

// A revision's commit (message, author, time), read from Git by the
// server; `owner` is `applications/<ns>/<name>` or `kustomizations/<ns>/<name>`.
function commitOf(owner, sha) {
  const [kind, ns, name] = owner.split('/');
  return api(`/api/v1/${kind}/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/revisions/${encodeURIComponent(sha)}`);
}

// The open commit is kept in `state.commit`, so a live re-render of the
// overview keeps showing it.
async function showCommit(owner, sha) {
  const app = owner.replace(/^[^/]*\//, '');
  const show = (html) => {
    state.commit = { owner, sha, html };
    const box = $('#commit');
    if (box) { box.hidden = false; box.innerHTML = html; }
  };
  show(`<p class="muted">Reading commit ${short(sha)}…</p>`);
  try {
    const c = await commitOf(owner, sha);
    show(`<h3>${esc(app)} at <code>${esc(c.sha)}</code></h3>
      <p class="muted">${esc(c.author)}, ${when(c.time)}</p><pre id="commit-message">${esc(c.message)}</pre>`);
  } catch (e) { show(`<p class="error">${esc(e.message)}</p>`); }
}

function applyFilter() {
  const words = state.filter.toLowerCase().split(/\s+/).filter(Boolean);
  for (const row of document.querySelectorAll('tr[data-text]')) {
    const text = row.dataset.text;
    row.classList.toggle('hidden', !words.every((w) => text.includes(w)));
  }
}

function lastErrorsHtml(errors) {
  return `<div id="last-errors"><b>Last errors</b><br>${(errors || []).length ? `<table><tbody>${errors.map((e) =>
    `<tr data-error="${esc(e.object)}"><td>${esc(e.object)}</td><td>${esc(e.type)}</td><td class="error">${esc(e.message)}</td><td>${when(e.time)}</td></tr>`).join('')}</tbody></table>`
    : '<span class="muted">none</span>'}</div>`;
}

// Per controller: objects waiting for their reconcile to start (a requeue
// only once its delay has passed) and reconciles running now.
function queuesHtml(controllers) {
  const rows = Object.entries(controllers || {});
  return `<div id="queues"><b>Queues</b><br>${rows.length ? `<table><thead><tr><th>Controller</th><th>Queued</th><th>Running</th></tr></thead><tbody>${rows.map(([name, q]) =>
    `<tr data-controller="${esc(name)}" data-queued="${q.queued}" data-in-flight="${q.inFlight}"><td>${esc(name)}</td><td>${q.queued}</td><td>${q.inFlight}</td></tr>`).join('')}</tbody></table>`
    : '<span class="muted">not reported</span>'}</div>`;
}

async function loadHealth() {
  try {
    const h = await api('/api/v1/health');
    const el = $('#health');
    if (!el) return;
    el.className = 'card health-panel';
    if (!h.available) { el.innerHTML = `<div class="muted">Metrics not available on this server.</div>${lastErrorsHtml(h.lastErrors)}`; return; }
    const c = h.controller;
    const pairs = (m) => Object.entries(m).map(([k, v]) => `${esc(k)}: ${v}`).join(', ') || 'none yet';
    el.innerHTML = `<div><b>Reconciles</b><br>${pairs(c.reconciles)}</div>
      <div id="in-flight"><b>Running now</b><br>${c.reconcilesInFlight == null ? '–' : c.reconcilesInFlight}</div>
      <div><b>Mean reconcile</b><br>${c.reconcileMeanSeconds == null ? '–' : c.reconcileMeanSeconds.toFixed(3) + ' s'}</div>
      <div><b>Syncs</b><br>${pairs(c.syncs)}</div>
      <div><b>Git fetches</b><br>${c.gitFetches}${c.gitFetchMeanSeconds == null ? '' : ', mean ' + c.gitFetchMeanSeconds.toFixed(3) + ' s'}</div>
      <div><b>Webhooks</b><br>${pairs(c.webhooks)}</div>
      ${queuesHtml(c.controllers)}
      ${lastErrorsHtml(h.lastErrors)}`;
  } catch (e) { /* the panel is optional */ }
}

// ---- trees ----
const KIND_LABELS = { Application: 'app', Deployment: 'deploy', Service: 'svc', ConfigMap: 'cm', Secret: 'secret',
  Namespace: 'ns', Ingress: 'ing', StatefulSet: 'sts', DaemonSet: 'ds', Job: 'job', CronJob: 'cron',
  ServiceAccount: 'sa', Role: 'role', RoleBinding: 'rb', ClusterRole: 'crole', ClusterRoleBinding: 'crb',
  CustomResourceDefinition: 'crd', Kustomization: 'ks', PersistentVolumeClaim: 'pvc' };

function layout(root) {
  const nodes = []; const edges = [];
  const walk = (node, depth, parent) => {
    const item = { node, x: 10 + depth * 250, y: 10 + nodes.length * 50 };
    nodes.push(item);
    if (parent) edges.push({ from: parent, to: item, kind: node.edge });
    for (const child of node.children || []) walk(child, depth + 1, item);
  };
  walk(root, 0, null);
  return { nodes, edges };
}

function treeSvg(root) {
  const { nodes, edges } = layout(root);
  const width = Math.max(...nodes.map((n) => n.x)) + 250;
  const height = nodes.length * 50 + 10;
  const edgeSvg = edges.map(({ from, to, kind }) =>
    `<path class="edge ${esc(kind)}" d="M${from.x + 14},${from.y + 38} V${to.y + 19} H${to.x}"/>`).join('');
  const nodeSvg = nodes.map(({ node, x, y }, i) => {
    const state = node.health || node.sync || 'Unknown';
    const id = `${node.kind}/${node.namespace || ''}/${node.name}`;
    const sub = [node.sync, node.health, node.syncWave != null ? `wave ${node.syncWave}` : '',
      node.edge === 'dependsOn' ? 'depends on' : '', node.requiresPruning ? 'prune' : ''].filter(Boolean).join(' · ');
    return `<g class="node h-${esc(node.health)} s-${esc(node.sync)} r-${esc(node.sync)}" data-index="${i}"
        data-node="${esc(id)}" data-sync="${esc(node.sync)}" data-health="${esc(node.health)}">
      <title>${esc(node.message || id)}</title>
      <rect x="${x}" y="${y}" width="230" height="38" rx="6"/>
      <circle class="dot" cx="${x + 14}" cy="${y + 19}" r="6" fill="${COLORS[state] || '#6b7280'}"/>
      <text class="kind" x="${x + 26}" y="${y + 14}">${esc(KIND_LABELS[node.kind] || node.kind)}</text>
      <text x="${x + 26}" y="${y + 28}">${esc(node.name.length > 28 ? node.name.slice(0, 27) + '…' : node.name)}</text>
      <text class="kind" x="${x + 224}" y="${y + 14}" text-anchor="end">${esc(sub)}</text></g>`;
  }).join('');
  return { svg: `<svg class="tree" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${edgeSvg}${nodeSvg}</svg>`, nodes };
}

async function showApp(ns, name) {
  const base = `/api/v1/applications/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
  const [tree, history] = await Promise.all([api(base + '/tree'), api(base + '/history')]);
  const row = (state.overview?.applications || []).find((a) => a.namespace === ns && a.name === name);
  const buttons = row && row.canPatch
    ? '<span class="actions"><button id="sync" type="button">Sync</button><button id="refresh" type="button">Refresh</button></span>' : '';
  const { svg, nodes } = treeSvg(tree);
  $('#view').innerHTML = `
    <h1>${esc(ns)}/${esc(name)} ${badge('s', tree.sync)} ${badge('h', tree.health)}${buttons}</h1>
    <p class="error">${esc(tree.message)}</p>
    <div class="layout"><div class="card" id="tree">${svg}</div>
      <div class="card" id="detail"><p class="muted">Click a node to see its live manifest and events.</p></div></div>
    <h2>Operation</h2><div class="card" id="operation">${operationHtml(history)}</div>
    <h2>History</h2><table id="history"><thead><tr><th>ID</th><th>Revision</th><th>Deployed</th><th>Message</th><th>By</th></tr></thead>
      <tbody>${history.history.map((h) => `<tr data-id="${esc(h.id)}"><td>${esc(h.id)}</td><td><code title="${esc(h.revision)}">${short(h.revision)}</code></td>
        <td>${when(h.deployedAt)}</td><td class="message" data-sha="${esc(h.revision)}"><span class="muted">…</span></td>
        <td>${esc(h.initiatedBy?.username || (h.initiatedBy?.automated ? 'automated' : ''))}</td></tr>`).join('')}</tbody></table>`;
  fillMessages(`applications/${ns}/${name}`);
  document.body.dataset.ready = 'app';
  for (const g of document.querySelectorAll('svg.tree g.node')) {
    g.addEventListener('click', () => selectNode(base, g, nodes[Number(g.dataset.index)].node));
  }
  for (const action of ['sync', 'refresh']) {
    const button = document.getElementById(action);
    if (button) button.addEventListener('click', () => api(`${base}/${action}`, { method: 'POST' })
      .then(() => { button.textContent = action + ' requested'; }, (e) => alert(e.message)));
  }
}

// Each history row's commit subject (one request per distinct revision).
async function fillMessages(owner) {
  const cells = [...document.querySelectorAll('#history td.message')];
  const shas = [...new Set(cells.map((c) => c.dataset.sha).filter(Boolean))];
  await Promise.all(shas.map(async (sha) => {
    let text; let cls = '';
    try { text = (await commitOf(owner, sha)).message.split('\n')[0]; } catch (e) { text = e.message; cls = 'error'; }
    for (const c of cells.filter((c) => c.dataset.sha === sha)) { c.textContent = text; c.className = 'message ' + cls; }
  }));
}

const PHASES = ['PreSync', 'Sync', 'PostSync', 'SyncFail'];

// Where a running (or the last) sync stands: the phases reached, how many
// objects each has done, the waves and hooks as the status lists them.
function progressHtml(op, resources) {
  const byPhase = {};
  for (const r of resources) (byPhase[r.syncPhase || 'Sync'] ||= []).push(r);
  const current = resources.length ? (resources[resources.length - 1].syncPhase || 'Sync') : null;
  const steps = PHASES.filter((p) => p !== 'SyncFail' || byPhase.SyncFail).map((p) => {
    const done = (byPhase[p] || []).length;
    const cls = p === current && op.phase === 'Running' ? 'current' : done ? 'done' : 'todo';
    return `<span class="step ${cls}" data-phase="${p}">${p}${done ? ` <b>${done}</b>` : ''}</span>`;
  }).join('<span class="arrow">→</span>');
  const failed = resources.filter((r) => r.status && !['Synced', 'Pruned', 'PruneSkipped'].includes(r.status)).length;
  return `<div class="progress" id="progress" data-running="${op.phase === 'Running'}">${steps}
    <span class="muted">${resources.length} object(s) handled${failed ? `, <span class="error">${failed} failed</span>` : ''}</span></div>`;
}

function operationHtml(history) {
  const op = history.operationState;
  if (!op) return '<span class="muted">No operation yet.</span>';
  const resources = op.syncResult?.resources || [];
  const hook = (r) => [r.hookType, r.hookPhase].filter(Boolean).join(' ');
  return `${badge('o', op.phase)} <span id="operation-message">${esc(op.message)}</span> <span class="muted">started ${when(op.startedAt)}${op.finishedAt ? ', finished ' + when(op.finishedAt) : ''}</span>
    ${progressHtml(op, resources)}
    ${resources.length ? `<table id="operation-resources"><thead><tr><th>Phase</th><th>Wave</th><th>Hook</th><th>Kind</th><th>Name</th><th>Status</th><th>Message</th></tr></thead><tbody>${resources.map((r) =>
      `<tr><td>${esc(r.syncPhase)}</td><td>${esc(r.syncWave)}</td><td>${esc(hook(r))}</td><td>${esc(r.kind)}</td><td>${esc(r.namespace ? r.namespace + '/' : '')}${esc(r.name)}</td><td>${esc(r.status)}</td><td>${esc(r.message)}</td></tr>`).join('')}</tbody></table>` : ''}`;
}

async function selectNode(base, g, node) {
  document.querySelectorAll('svg.tree g.node.selected').forEach((n) => n.classList.remove('selected'));
  g.classList.add('selected');
  const isRoot = g.dataset.index === '0';
  // A nested object is read through the child Application that lists it.
  if (node.owner) {
    const [ns, name] = node.owner.split('/');
    base = `/api/v1/applications/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
  }
  const query = isRoot ? '' : '?' + new URLSearchParams({ group: node.group, version: node.version, kind: node.kind,
    name: node.name, ...(node.namespace ? { namespace: node.namespace } : {}) });
  const detail = $('#detail');
  detail.innerHTML = `<h2>${esc(node.kind)} ${esc(node.name)}</h2><p class="muted">Loading…</p>`;
  try {
    const [manifest, events] = await Promise.all([api(base + '/manifest' + query), api(base + '/events' + query)]);
    const diffQuery = isRoot ? '' : '?' + new URLSearchParams({ group: node.group || '', kind: node.kind,
      name: node.name, ...(node.namespace ? { namespace: node.namespace } : {}) });
    detail.innerHTML = `<h2>${esc(node.kind)} ${esc(node.namespace ? node.namespace + '/' : '')}${esc(node.name)}</h2>
      <h3>Events</h3>${events.items.length ? `<table id="events"><tbody>${events.items.map((e) =>
        `<tr><td>${esc(e.type)}</td><td>${esc(e.reason)}</td><td>${esc(e.message)}</td><td>${when(e.time)}</td></tr>`).join('')}</tbody></table>`
        : '<p class="muted">No events.</p>'}
      <h3>Diff against Git</h3><div id="diff"><p class="muted">Comparing with Git…</p></div>
      <h3>Live manifest</h3><pre id="manifest">${esc(JSON.stringify(manifest, null, 2))}</pre>`;
    loadDiff(base + '/diff' + diffQuery);
  } catch (e) { detail.innerHTML = `<p class="error">${esc(e.message)}</p>`; }
}

// What a diff was rendered at: the revision, or one line per source for several.
function renderedAt(d) {
  const code = (rev) => `<code title="${esc(rev)}">${short(rev)}</code>`;
  if (!d.sources || !d.sources.length) return code(d.revision);
  return d.sources.map((s) => `<br>${esc(s.source)}: ${code(s.revision)}`).join('');
}

// The node's unified diff (live → Git; Secret values redacted by the server).
async function loadDiff(path) {
  const box = () => $('#diff');
  try {
    const d = await api(path);
    if (!box()) return;
    const text = d.resources.map((r) => r.error ? `# ${r.kind} ${r.name}: ${r.error}\n` : r.diff).join('');
    const lines = text.split('\n').filter((l, i, all) => l || i < all.length - 1);
    const cls = (l) => (l.startsWith('+++') || l.startsWith('---') ? 'hdr' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : '');
    box().dataset.revision = d.revision;
    const at = renderedAt(d);
    box().innerHTML = text.trim()
      ? `<p class="muted">at ${at}</p><pre class="diff">${lines.map((l) => `<span class="${cls(l)}">${esc(l)}</span>`).join('\n')}</pre>`
      : `<p class="in-sync">In sync with Git at ${at}.</p>`;
  } catch (e) { if (box()) box().innerHTML = `<p class="error">${esc(e.message)}</p>`; }
}

async function showKustomization(ns, name) {
  const base = `/api/v1/kustomizations/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
  const tree = await api(base + '/tree');
  const { svg, nodes } = treeSvg(tree);
  $('#view').innerHTML = `<h1>Kustomization ${esc(ns)}/${esc(name)} ${badge('r', tree.sync)}</h1>
    <p class="error">${tree.sync === 'True' ? '' : esc(tree.message)}</p>
    <div class="layout"><div class="card" id="tree">${svg}</div>
      <div class="card" id="detail"><p class="muted">Click an object to see its diff against Git; a dependency to open it.</p></div></div>
    <p class="muted">Dashed edges: <code>dependsOn</code>.</p>`;
  document.body.dataset.ready = 'ks';
  for (const g of document.querySelectorAll('svg.tree g.node')) {
    g.addEventListener('click', () => selectKsNode(base, g, nodes[Number(g.dataset.index)].node));
  }
}

function selectKsNode(base, g, node) {
  if (node.edge === 'dependsOn') {
    location.hash = `#/ks/${encodeURIComponent(node.namespace || '')}/${encodeURIComponent(node.name)}`;
    return;
  }
  document.querySelectorAll('svg.tree g.node.selected').forEach((n) => n.classList.remove('selected'));
  g.classList.add('selected');
  const query = g.dataset.index === '0' ? '' : '?' + new URLSearchParams({ group: node.group || '', kind: node.kind,
    name: node.name, ...(node.namespace ? { namespace: node.namespace } : {}) });
  $('#detail').innerHTML = `<h2>${esc(node.kind)} ${esc(node.namespace ? node.namespace + '/' : '')}${esc(node.name)}</h2>
    <h3>Diff against Git</h3><div id="diff"><p class="muted">Comparing with Git…</p></div>`;
  loadDiff(base + '/diff' + query);
}

let refreshing = null;
function refreshApp() {
  const r = currentRoute();
  if (refreshing || document.querySelector('g.node.selected')) return; // keep the open node
  refreshing = showApp(r.ns, r.name).catch(showError).finally(() => { refreshing = null; });
}

function showError(e) {
  if (e instanceof Unauthorized) return showLogin(e.message);
  $('#view').innerHTML = `<p class="error">${esc(e.message)}</p>`;
}

async function route() {
  if (!token()) return showLogin();
  $('#login').hidden = true;
  $('#logout').hidden = false;
  const r = currentRoute();
  try {
    if (r.view === 'app') await showApp(r.ns, r.name);
    else if (r.view === 'ks') await showKustomization(r.ns, r.name);
    else {
      if (!state.overview) state.overview = await api('/api/v1/overview');
      renderOverview();
    }
  } catch (e) { showError(e); }
}

async function start() {
  takeTokenFromUrl();
  $('#login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem('driftless-token', $('#token').value.trim());
    $('#token').value = '';
    start();
  });
  $('#logout').addEventListener('click', () => { sessionStorage.removeItem('driftless-token'); location.hash = '#/'; location.reload(); });
  window.onhashchange = route;
  if (!token()) return showLogin();
  try {
    const me = await api('/api/v1/whoami');
    $('#who').textContent = me.user;
  } catch (e) { return showError(e); }
  await route();
  follow();
}

document.addEventListener('DOMContentLoaded', start);
