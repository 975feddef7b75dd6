// admin.js — admin screens: users (role, disable) and statistics with
// uPlot charts (jobs per hour over 24 h, duration p50/p95 per preset, jobs
// by state) plus the gauges from GET /admin/stats.
import { html, useEffect, useRef, useState } from './lib.js';
import uPlot from '/vendor/uPlot.min.js';
import { api } from './api.js';
import {
  Loading, ErrorBox, Empty, Dialog, useId,
} from './components.js';
import { bytes, dateTime, duration, STATES } from './format.js';

// ------------------------------------------------------------------ users

export function UsersPage({ me }) {
  const [state, setState] = useState({ items: null, error: null });
  const [tick, setTick] = useState(0);
  const [rowMsg, setRowMsg] = useState({});
  const [confirm, setConfirm] = useState(null);
  const id = useId('users');
  useEffect(() => { document.title = 'Users · batchbox'; }, []);

  useEffect(() => {
    let gone = false;
    setState((s) => ({ items: s.items, error: null }));
    api('GET', '/admin/users').then(
      (r) => { if (!gone) setState({ items: r.items, error: null }); },
      (error) => { if (!gone) setState({ items: null, error }); },
    );
    return () => { gone = true; };
  }, [tick]);

  const patch = async (u, body, what) => {
    setRowMsg((m) => ({ ...m, [u.id]: { kind: 'info', text: 'Saving…' } }));
    try {
      const nu = await api('PATCH', `/admin/users/${u.id}`, body);
      setState((s) => ({ ...s, items: s.items.map((x) => (x.id === u.id ? nu : x)) }));
      setRowMsg((m) => ({ ...m, [u.id]: { kind: 'ok', text: what } }));
    } catch (e) {
      setRowMsg((m) => ({ ...m, [u.id]: { kind: 'error', text: e.message } }));
    }
  };

  const { items, error } = state;
  return html`<div class="users">
    <h1 tabindex="-1">Users</h1>
    <p class="muted">Accounts are added with <code>batchbox user add EMAIL</code> on the server.
      Disabling an account signs it out everywhere.</p>
    ${error ? html`<${ErrorBox} error=${error} title="The users did not load" onRetry=${() => setTick((t) => t + 1)} />` : null}
    ${!items && !error ? html`<${Loading} what="users" />` : null}
    ${items && !items.length ? html`<${Empty}><p>No users.</p></${Empty}>` : null}
    ${items && items.length ? html`<div class="card table-wrap"><table class="user-table">
      <caption class="visually-hidden">Users</caption>
      <thead><tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Role</th>
        <th scope="col">Status</th><th scope="col">Created</th></tr></thead>
      <tbody>${items.map((u) => {
        const msg = rowMsg[u.id];
        return html`<tr key=${u.id} data-user=${u.email} data-disabled=${u.disabled ? 'true' : 'false'}>
          <td data-label="Email">${u.email}${u.id === me.id ? html` <span class="small muted">(you)</span>` : null}</td>
          <td data-label="Name">${u.name || '—'}</td>
          <td data-label="Role">
            <label class="visually-hidden" for=${`${id}-role-${u.id}`}>Role of ${u.email}</label>
            <select id=${`${id}-role-${u.id}`} value=${u.role}
              onChange=${(e) => patch(u, { role: e.currentTarget.value }, `Role set to ${e.currentTarget.value}.`)}>
              <option value="user">user</option><option value="admin">admin</option>
            </select></td>
          <td data-label="Status">
            <span class=${`badge ${u.disabled ? 'badge-failed' : 'badge-succeeded'}`}>${u.disabled ? 'disabled' : 'active'}</span>
            <button type="button" class="btn btn-small" data-testid="toggle-disabled"
              onClick=${() => (u.disabled ? patch(u, { disabled: false }, 'Enabled.') : setConfirm(u))}>
              ${u.disabled ? 'Enable' : 'Disable'}</button>
            ${msg ? html`<span class=${`row-msg row-${msg.kind}`} role=${msg.kind === 'error' ? 'alert' : 'status'}>${msg.text}</span>` : null}
          </td>
          <td data-label="Created">${dateTime(u.createdAt)}</td>
        </tr>`;
      })}</tbody></table></div>` : null}
    ${confirm ? html`<${Dialog} title=${`Disable ${confirm.email}?`} labelledBy=${`${id}-dlg`}
        onClose=${() => setConfirm(null)}>
      <p>${confirm.email} is signed out everywhere and cannot sign in until enabled again. Their jobs stay.</p>
      <div class="dialog-buttons">
        <button type="button" class="btn" onClick=${() => setConfirm(null)}>Keep it active</button>
        <button type="button" class="btn btn-danger" data-testid="confirm"
          onClick=${() => { const u = confirm; setConfirm(null); patch(u, { disabled: true }, 'Disabled.'); }}>Disable</button>
      </div>
    </${Dialog}>` : null}
  </div>`;
}

// ------------------------------------------------------------------ stats


// A uPlot chart that follows its container's width.
function Chart({ make, data, label, testid }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    const width = () => Math.max(240, el.clientWidth);
    const plot = new uPlot(make(width()), data, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: plot.height }));
    ro.observe(el);
    return () => { ro.disconnect(); plot.destroy(); };
  }, [data]);
  return html`<div class="chart" ref=${box} role="img" aria-label=${label} data-testid=${testid}></div>`;
}

function categoryAxis(labels) {
  return {
    splits: () => labels.map((_, i) => i),
    values: (u, splits) => splits.map((i) => labels[i] ?? ''),
    grid: { show: false },
  };
}

function barsPath(size, align) {
  return uPlot.paths.bars({ size: [size, 80], align });
}

// Whole-number ticks for counts.
const COUNT_AXIS = { label: 'jobs', size: 48, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000] };

function perHourChart(stats) {
  const xs = stats.jobsPerHour.map((h) => Date.parse(h.hour) / 1000);
  const ys = stats.jobsPerHour.map((h) => h.count);
  const data = [xs, ys];
  const make = (width) => ({
    width,
    height: 220,
    scales: {
      x: { time: true, range: (u, min, max) => [min - 1800, max + 1800] },
      y: { range: (u, min, max) => [0, Math.max(1, max)] },
    },
    legend: { show: false },
    series: [{}, { label: 'jobs', stroke: '#2563eb', fill: '#2563eb99', paths: barsPath(0.7, 0), points: { show: false } }],
    axes: [{}, COUNT_AXIS],
  });
  return { data, make };
}

function durationChart(stats) {
  const rows = stats.durationByPreset;
  const labels = rows.map((r) => r.preset);
  const max = Math.max(0, ...rows.map((r) => r.p95Ms));
  const div = max >= 2000 ? 1000 : 1; // seconds, or milliseconds for quick presets
  const unit = div === 1000 ? 's' : 'ms';
  const data = [labels.map((_, i) => i), rows.map((r) => r.p50Ms / div), rows.map((r) => r.p95Ms / div)];
  const make = (width) => ({
    width,
    height: 220,
    scales: { x: { time: false, range: () => [-0.5, labels.length - 0.5] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi) * 1.1] } },
    legend: { show: true, live: false },
    series: [
      { label: 'preset' },
      { label: `p50 (${unit})`, stroke: '#2563eb', fill: '#2563ebcc', paths: barsPath(0.35, -1), points: { show: false } },
      { label: `p95 (${unit})`, stroke: '#7c3aed', fill: '#7c3aedcc', paths: barsPath(0.35, 1), points: { show: false } },
    ],
    axes: [categoryAxis(labels), {
      label: unit === 's' ? 'seconds' : 'milliseconds', size: 60, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 60000],
    }],
  });
  return { data, make };
}

function stateChart(stats) {
  const data = [STATES.map((_, i) => i), STATES.map((s) => stats.jobsByState[s] || 0)];
  const make = (width) => ({
    width,
    height: 220,
    scales: { x: { time: false, range: () => [-0.5, STATES.length - 0.5] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    legend: { show: false },
    series: [{ label: 'state' }, {
      label: 'jobs',
      stroke: '#334155',
      fill: '#33415599',
      paths: barsPath(0.6, 0),
      points: { show: false },
    }],
    axes: [categoryAxis(STATES), COUNT_AXIS],
  });
  return { data, make };
}

function Gauge({ label, value }) {
  return html`<div class="gauge"><dt>${label}</dt><dd>${value}</dd></div>`;
}

export function StatsPage() {
  const [state, setState] = useState({ stats: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => { document.title = 'Statistics · batchbox'; }, []);
  useEffect(() => {
    let gone = false;
    setState((s) => ({ ...s, loading: true, error: null }));
    api('GET', '/admin/stats').then(
      (stats) => { if (!gone) setState({ stats, error: null, loading: false }); },
      (error) => { if (!gone) setState((s) => ({ ...s, error, loading: false })); },
    );
    return () => { gone = true; };
  }, [tick]);

  const { stats, error, loading } = state;
  const charts = useRef(null);
  if (stats && (!charts.current || charts.current.stats !== stats)) {
    charts.current = { stats, hour: perHourChart(stats), dur: durationChart(stats), st: stateChart(stats) };
  }
  const c = charts.current;
  const total = stats ? STATES.reduce((n, s) => n + (stats.jobsByState[s] || 0), 0) : 0;
  const lastDay = stats ? stats.jobsPerHour.reduce((n, h) => n + h.count, 0) : 0;

  return html`<div class="stats">
    <div class="section-head"><h1 tabindex="-1">Statistics</h1>
      <button type="button" class="btn" onClick=${() => setTick((t) => t + 1)} disabled=${loading}>
        ${loading ? 'Refreshing…' : 'Refresh'}</button></div>
    ${error ? html`<${ErrorBox} error=${error} title="The statistics did not load" onRetry=${() => setTick((t) => t + 1)} />` : null}
    ${!stats && !error ? html`<${Loading} what="statistics" />` : null}
    ${stats ? html`
      <dl class="gauges card">
        <${Gauge} label="Jobs" value=${total} />
        <${Gauge} label="Queue depth" value=${stats.queueDepth} />
        <${Gauge} label="Workers busy" value=${`${stats.workers.busy} of ${stats.workers.total}`} />
        <${Gauge} label="Live streams" value=${stats.eventSubscribers} />
        <${Gauge} label="Users" value=${stats.users} />
        <${Gauge} label="Uptime" value=${duration(stats.uptimeSec * 1000)} />
        <${Gauge} label="Database" value=${bytes(stats.databaseBytes)} />
        <${Gauge} label="Artifacts" value=${bytes(stats.artifactsBytes)} />
      </dl>
      <div class="chart-grid">
        <section class="card" aria-labelledby="ch-hour"><h2 id="ch-hour">Jobs per hour, last 24 h</h2>
          ${lastDay ? html`<${Chart} ...${c.hour} label=${`Jobs per hour over the last 24 hours; ${lastDay} in total`} testid="chart-hour" />`
            : html`<${Empty}><p>No jobs in the last 24 hours.</p></${Empty}>`}
        </section>
        <section class="card" aria-labelledby="ch-dur"><h2 id="ch-dur">Duration per preset (p50 / p95)</h2>
          ${stats.durationByPreset.length ? html`<${Chart} ...${c.dur}
              label=${`Durations: ${stats.durationByPreset.map((d) => `${d.preset} p50 ${duration(d.p50Ms)}, p95 ${duration(d.p95Ms)}`).join('; ')}`} testid="chart-duration" />
            <table class="mini"><caption class="visually-hidden">Durations per preset</caption>
              <thead><tr><th scope="col">Preset</th><th scope="col">Jobs</th><th scope="col">p50</th><th scope="col">p95</th></tr></thead>
              <tbody>${stats.durationByPreset.map((d) => html`<tr key=${d.preset}><td>${d.preset}</td><td>${d.count}</td>
                <td>${duration(d.p50Ms)}</td><td>${duration(d.p95Ms)}</td></tr>`)}</tbody></table>`
            : html`<${Empty}><p>No job succeeded in the last 24 hours.</p></${Empty}>`}
        </section>
        <section class="card" aria-labelledby="ch-state"><h2 id="ch-state">Jobs by state</h2>
          ${total ? html`<${Chart} ...${c.st} label=${`Jobs by state: ${STATES.map((s) => `${s} ${stats.jobsByState[s] || 0}`).join(', ')}`} testid="chart-state" />
            <ul class="legend-list">${STATES.map((s) => html`<li key=${s}><span class=${`badge badge-${s}`}>${s}</span> ${stats.jobsByState[s] || 0}</li>`)}</ul>`
            : html`<${Empty}><p>No jobs yet — submit a lesson.</p></${Empty}>`}
        </section>
      </div>` : null}
  </div>`;
}
