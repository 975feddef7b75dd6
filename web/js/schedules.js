// schedules.js — scheduling in the web UI (docs/scheduling.md): the
// schedules page (#/schedules: list, add form, pause/resume, delete), the
// note beside a scheduled or waiting job's badge (its time or what it
// waits for), and the dependency chain on the job page (upstream jobs from
// dependsOn, downstream ones from GET /jobs/:id/dependents).
import { html, useEffect, useState } from './lib.js';
import { api, ApiError } from './api.js';
import {
  Badge, Loading, ErrorBox, Empty, Field, Dialog, describedBy, useId, useNotice,
} from './components.js';
import { dateTime } from './format.js';
import { useJobOptions, presetLabel } from './options.js';

// "runs at …" for a scheduled job, its waitingFor for a waiting one.
export function HoldNote({ job }) {
  if (job.state === 'scheduled' && job.runAt) {
    return html`<span class="hold-note" data-testid="hold-note">runs at
      <time datetime=${job.runAt}>${dateTime(job.runAt)}</time></span>`;
  }
  if (job.waitingFor && (job.state === 'waiting' || job.state === 'queued')) {
    return html`<span class="hold-note" data-testid="hold-note">waiting for ${job.waitingFor}</span>`;
  }
  return null;
}

function JobLink({ job }) {
  const href = job.kind === 'batch' ? `#/batches/${job.jobId}` : `#/jobs/${job.jobId}`;
  return html`<li data-job-id=${job.jobId}><a href=${href}>#${job.jobId}</a>
    <${Badge} state=${job.state} /> <span class="small">${job.preset}</span></li>`;
}

// Upstream and downstream jobs of `job`; refreshes when the job changes.
export function DependencyChain({ job }) {
  const [up, setUp] = useState([]);
  const [down, setDown] = useState(null);
  const [error, setError] = useState(null);
  const deps = job.dependsOn || [];
  const key = `${job.jobId}:${job.state}:${job.updatedAt}`;
  useEffect(() => {
    let live = true;
    Promise.all([
      Promise.all(deps.map((id) => api('GET', `/jobs/${id}`).catch(() => ({ jobId: id, state: 'unknown', preset: '' })))),
      api('GET', `/jobs/${job.jobId}/dependents`),
    ]).then(([u, d]) => {
      if (!live) return;
      setUp(u);
      setDown(d.items);
      setError(null);
    }, (e) => { if (live) setError(e); });
    return () => { live = false; };
  }, [key]);
  if (!deps.length && down !== null && !down.length) return null;
  return html`<section class="card" aria-labelledby="chain-title" data-testid="dependency-chain">
    <h2 id="chain-title">Dependencies</h2>
    <${ErrorBox} error=${error} title="The dependencies did not load" />
    ${deps.length ? html`<h3 class="small-head">Runs after (runWhen ${job.runWhen || 'success'})</h3>
      <ul class="chain" data-testid="upstream">${up.map((j) => html`<${JobLink} job=${j} />`)}</ul>` : null}
    ${job.waitingFor && job.state === 'waiting' ? html`<p class="small">Waiting for ${job.waitingFor}.</p>` : null}
    ${down && down.length ? html`<h3 class="small-head">Jobs that run after this one</h3>
      <ul class="chain" data-testid="downstream">${down.map((j) => html`<${JobLink} job=${j} />`)}</ul>` : null}
  </section>`;
}

const EMPTY_FORM = {
  name: '', cron: '0 * * * *', timezone: 'UTC', preset: '', params: '', overlap: 'skip', catchUp: 'none',
};

function AddForm({ options, onAdded }) {
  const id = useId('sched');
  const [form, setForm] = useState({ ...EMPTY_FORM, preset: options.presets[0] ? options.presets[0].id : '' });
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const [notice, showNotice] = useNotice();
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    let params = {};
    if (form.params.trim()) {
      try { params = JSON.parse(form.params); } catch (_) {
        setErrors({ params: 'must be a JSON object, e.g. {"size": 128}' });
        return;
      }
    }
    setBusy(true);
    setErrors({});
    try {
      const s = await api('POST', '/schedules', {
        name: form.name, cron: form.cron, timezone: form.timezone,
        job: { preset: form.preset, params }, overlap: form.overlap, catchUp: form.catchUp,
      });
      showNotice('ok', `Schedule "${s.name}" created; next run ${dateTime(s.nextRunAt)}.`);
      setForm({ ...form, name: '' });
      onAdded();
    } catch (err) {
      const fields = (err instanceof ApiError && err.fields) || {};
      const mapped = {};
      for (const [k, v] of Object.entries(fields)) {
        mapped[k.startsWith('job.params') ? 'params' : k.startsWith('job.') ? 'preset' : k] = v;
      }
      setErrors(mapped);
      if (!Object.keys(fields).length) showNotice('error', err.message);
    } finally {
      setBusy(false);
    }
  };
  const field = (k, label, hint, control) => html`<${Field} id=${`${id}-${k}`} label=${label}
    error=${errors[k]} hint=${hint}>${control(`${id}-${k}`, describedBy(`${id}-${k}`, errors[k], hint))}<//>`;
  return html`<form class="card sched-form" onSubmit=${submit} data-testid="schedule-form" noValidate>
    <h2>Add a schedule</h2>
    ${field('name', 'Name', null, (fid, db) => html`<input id=${fid} aria-describedby=${db}
      value=${form.name} onInput=${set('name')} required maxlength="100" />`)}
    ${field('cron', 'Cron', 'minute hour day-of-month month day-of-week, e.g. 30 2 * * *',
    (fid, db) => html`<input id=${fid} aria-describedby=${db} value=${form.cron} onInput=${set('cron')} />`)}
    ${field('timezone', 'Time zone', 'e.g. Europe/Madrid', (fid, db) => html`<input id=${fid}
      aria-describedby=${db} value=${form.timezone} onInput=${set('timezone')} />`)}
    ${field('preset', 'Preset', null, (fid, db) => html`<select id=${fid} aria-describedby=${db}
      value=${form.preset} onChange=${set('preset')}>
      ${options.presets.map((p) => html`<option value=${p.id}>${p.label || p.id}</option>`)}</select>`)}
    ${field('params', 'Params (JSON)', 'optional, e.g. {"size": 128}', (fid, db) => html`<input id=${fid}
      aria-describedby=${db} value=${form.params} onInput=${set('params')} />`)}
    ${field('overlap', 'Overlap', 'skip: no new job while the last one runs', (fid, db) => html`<select
      id=${fid} aria-describedby=${db} value=${form.overlap} onChange=${set('overlap')}>
      <option value="skip">skip</option><option value="queue">queue</option></select>`)}
    ${field('catchUp', 'After downtime', 'none: drop missed runs; one: run once', (fid, db) => html`<select
      id=${fid} aria-describedby=${db} value=${form.catchUp} onChange=${set('catchUp')}>
      <option value="none">none</option><option value="one">one</option></select>`)}
    <button type="submit" class="btn btn-primary" disabled=${busy}>Add schedule</button>
    ${notice}
  </form>`;
}

export function SchedulesPage() {
  const { options, error: optError, reload: reloadOptions } = useJobOptions();
  const [list, setList] = useState({ items: null, error: null });
  const [confirm, setConfirm] = useState(null);
  const [notice, showNotice] = useNotice();
  const load = () => api('GET', '/schedules').then(
    (d) => setList({ items: d.schedules, error: null }),
    (error) => setList({ items: null, error }),
  );
  useEffect(() => { load(); }, []);
  const toggle = async (s) => {
    try {
      await api('PATCH', `/schedules/${s.scheduleId}`, { enabled: !s.enabled });
      showNotice('ok', `Schedule "${s.name}" ${s.enabled ? 'paused' : 'resumed'}.`);
      load();
    } catch (e) { showNotice('error', e.message); }
  };
  const remove = async (s) => {
    setConfirm(null);
    try {
      await api('DELETE', `/schedules/${s.scheduleId}`);
      showNotice('ok', `Schedule "${s.name}" deleted.`);
      load();
    } catch (e) { showNotice('error', e.message); }
  };
  if (optError) return html`<section><h1 tabindex="-1">Schedules</h1>
    <${ErrorBox} error=${optError} title="The job options did not load" onRetry=${reloadOptions} /></section>`;
  return html`<section class="schedules-page">
    <h1 tabindex="-1">Schedules</h1>
    <p class="muted">Jobs submitted on a recurring cron schedule. Each job links back to its schedule.</p>
    ${notice}
    <${ErrorBox} error=${list.error} title="The schedules did not load" onRetry=${load} />
    ${list.items === null && !list.error ? html`<${Loading} what="the schedules" />` : null}
    ${list.items && !list.items.length ? html`<${Empty}>No schedules yet.<//>` : null}
    ${list.items && list.items.length ? html`<div class="table-wrap"><table class="jobs" data-testid="schedules">
      <caption class="visually-hidden">Schedules</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Cron</th><th scope="col">Job</th>
        <th scope="col">Next run</th><th scope="col">Last job</th><th scope="col">Actions</th></tr></thead>
      <tbody>${list.items.map((s) => html`<tr key=${s.scheduleId} data-schedule-id=${s.scheduleId}
        data-enabled=${String(s.enabled)}>
        <td data-label="Name">${s.name}${s.lastError ? html`<p class="small field-error">${s.lastError}</p>` : null}</td>
        <td data-label="Cron"><code>${s.cron}</code> <span class="small">${s.timezone}</span></td>
        <td data-label="Job">${options ? presetLabel(options, s.job.preset) : s.job.preset}</td>
        <td data-label="Next run">${s.enabled ? html`<time datetime=${s.nextRunAt}>${dateTime(s.nextRunAt)}</time>`
          : html`<span class="badge badge-canceled">paused</span>`}</td>
        <td data-label="Last job">${s.lastJobId ? html`<a href=${`#/jobs/${s.lastJobId}`}>#${s.lastJobId}</a>` : '—'}</td>
        <td data-label="Actions"><button type="button" class="btn" onClick=${() => toggle(s)}>
          ${s.enabled ? 'Pause' : 'Resume'}</button>
          <button type="button" class="btn btn-danger" onClick=${() => setConfirm(s)}>Delete</button></td>
      </tr>`)}</tbody></table></div>` : null}
    ${options ? html`<${AddForm} options=${options} onAdded=${load} />` : html`<${Loading} what="the presets" />`}
    ${confirm ? html`<${Dialog} title="Delete this schedule?" labelledBy="sched-del" onClose=${() => setConfirm(null)}>
      <p>"${confirm.name}" stops creating jobs; the jobs it created stay.</p>
      <div class="dialog-buttons"><button type="button" class="btn" onClick=${() => setConfirm(null)}>Keep it</button>
        <button type="button" class="btn btn-danger" onClick=${() => remove(confirm)}>Delete</button></div>
    <//>` : null}
  </section>`;
}
