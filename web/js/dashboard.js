// dashboard.js — the main screen: the submit form (submit-form.js) and
// the live job list (SSE updates without reload, filters, search,
// pagination).  The list shows top-level jobs: single jobs and batches
// (with their run counts), never a batch's children.
import { html, useEffect, useRef, useState, useCallback } from './lib.js';
import { api, qs } from './api.js';
import {
  Badge, Progress, Loading, ErrorBox, Empty, Field, useId,
} from './components.js';
import {
  useJobOptions, presetLabel, humanize, useFileNames,
} from './options.js';
import { LiveStream } from './live.js';
import { HoldNote } from './schedules.js';
import { dateTime, ALL_STATES } from './format.js';
import { SubmitForm } from './submit-form.js';
import { BulkBar, QueueBanner, isDeadLetter } from './flow.js';

const PAGE_SIZE = 20;

export function Dashboard({ me }) {
  const { options, error, reload } = useJobOptions();
  useEffect(() => { document.title = 'Jobs · batchbox'; }, []);
  return html`<div class="dashboard">
    <h1 tabindex="-1" class="visually-hidden">Jobs</h1>
    <${QueueBanner} me=${me} />
    <section class="card submit" aria-labelledby="submit-title">
      <h2 id="submit-title">Submit a lesson</h2>
      ${error ? html`<${ErrorBox} error=${error} title="The job options did not load" onRetry=${reload} />`
        : options ? html`<${SubmitForm} options=${options} me=${me} />` : html`<${Loading} what="job options" />`}
    </section>
    <${JobList} me=${me} options=${options} />
  </div>`;
}

// --------------------------------------------------------------- job list

function matches(job, f) {
  if (f.state && job.state !== f.state) return false;
  if (f.preset && job.preset !== f.preset) return false;
  if (f.q && !(job.md || '').toLowerCase().includes(f.q.toLowerCase())) return false;
  if (f.dead && !isDeadLetter(job)) return false;
  return true;
}

function useDebounced(value, ms) {
  const [d, setD] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setD(value), ms);
    return () => clearTimeout(t);
  }, [value]);
  return d;
}

// What a batch row says in the input column: its size and how far it got.
export function batchSummary(b) {
  if (!b) return '';
  const finished = (b.succeeded || 0) + (b.failed || 0) + (b.canceled || 0);
  const parts = [`${finished} of ${b.total} done`];
  if (b.running) parts.push(`${b.running} running`);
  if (b.failed) parts.push(`${b.failed} failed`);
  if (b.canceled) parts.push(`${b.canceled} canceled`);
  return parts.join(' · ');
}

function BatchCell({ job, nameOf }) {
  const b = job.batch || { total: 0 };
  const md = job.sweep && job.sweep.md;
  const swept = Object.keys(job.sweep || {}).filter((n) => n !== 'md');
  let input = Array.isArray(md) ? `${md.length} inputs`
    : md && typeof md === 'object' ? `folder ${md.dir || '(input root)'}${md.glob ? ` (${md.glob})` : ''}`
      : job.md ? nameOf(job.md) : '';
  if (swept.length) input += `${input ? ' · ' : ''}over ${swept.join(', ')}`;
  return html`<span class="batch-tag">Batch · ${b.total} run${b.total === 1 ? '' : 's'}</span>
    <span title=${input}>${input}</span>
    <span class="batch-counts" data-testid="batch-counts">${batchSummary(b)}</span>`;
}

export function LiveBadge({ status }) {
  const text = status === 'live' ? 'Live' : status === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
  return html`<span class=${`live live-${status || 'connecting'}`} role="status" data-live=${status}>
    <span class="dot" aria-hidden="true"></span>${text}</span>`;
}

function JobList({ me, options }) {
  const id = useId('jobs');
  const admin = me.role === 'admin';
  const [filters, setFilters] = useState({ state: '', preset: '', q: '', dead: false });
  const q = useDebounced(filters.q, 250);
  const f = { state: filters.state, preset: filters.preset, q, dead: filters.dead };
  const [pages, setPages] = useState([null]); // cursor of each page visited
  const [data, setData] = useState({ items: [], nextCursor: null, loading: true, error: null });
  const [live, setLive] = useState('connecting');
  const [owners, setOwners] = useState({});
  const fRef = useRef(f);
  fRef.current = f;
  const pageRef = useRef(0);
  pageRef.current = pages.length - 1;
  const [tick, setTick] = useState(0);
  const nameOf = useFileNames();

  const load = useCallback(async (signal) => {
    setData((d) => ({ ...d, loading: true, error: null }));
    try {
      const query = { state: f.state, preset: f.preset, q: f.q, outOfAttempts: f.dead ? 1 : '' };
      const r = await api('GET', `/jobs${qs({ ...query, limit: PAGE_SIZE, cursor: pages[pages.length - 1] })}`,
        undefined, { signal });
      setData({ items: r.items, nextCursor: r.nextCursor, loading: false, error: null });
    } catch (e) {
      if (e.name === 'AbortError') return;
      setData((d) => ({ ...d, loading: false, error: e }));
    }
  }, [f.state, f.preset, f.q, f.dead, pages]);

  useEffect(() => {
    const ac = new AbortController();
    load(ac.signal);
    return () => ac.abort();
  }, [load, tick]);

  useEffect(() => {
    if (!admin) return;
    api('GET', '/admin/users').then((r) => {
      const m = {};
      for (const u of r.items) m[u.id] = u.email;
      setOwners(m);
    }, () => {});
  }, [admin]);

  useEffect(() => {
    const s = new LiveStream({
      onStatus: setLive,
      onEvent: (type, job) => {
        if (type === 'job_log' || !job || !job.jobId) return;
        if (job.batchId) return; // a batch's run: the batch's own row shows it
        setData((d) => {
          const i = d.items.findIndex((x) => x.jobId === job.jobId);
          const fit = matches(job, fRef.current);
          if (i >= 0) {
            if ((d.items[i].updatedAt || '') > (job.updatedAt || '')) return d;
            const items = d.items.slice();
            if (fit) items[i] = job;
            else items.splice(i, 1);
            return { ...d, items };
          }
          if (!fit || pageRef.current !== 0) return d;
          const items = [job, ...d.items].sort((a, b) => Number(b.jobId) - Number(a.jobId));
          return { ...d, items };
        });
      },
    }).start();
    return () => s.stop();
  }, []);

  const setFilter = (name) => (e) => {
    const val = e.currentTarget.value;
    setFilters((o) => ({ ...o, [name]: val }));
    setPages([null]);
  };
  const filtered = f.state || f.preset || f.q || f.dead;
  const page = pages.length;

  return html`<section class="card jobs" aria-labelledby=${`${id}-title`}>
    <div class="jobs-head">
      <h2 id=${`${id}-title`}>${admin ? 'All jobs' : 'Your jobs'}</h2>
      <${LiveBadge} status=${live} />
    </div>
    <div class="filters" role="search">
      <${Field} id=${`${id}-state`} label="State">
        <select id=${`${id}-state`} value=${filters.state} onChange=${setFilter('state')}>
          <option value="">All states</option>
          ${ALL_STATES.map((s) => html`<option value=${s}>${humanize(s)}</option>`)}
        </select>
      </${Field}>
      <${Field} id=${`${id}-preset`} label="Preset">
        <select id=${`${id}-preset`} value=${filters.preset} onChange=${setFilter('preset')}>
          <option value="">All presets</option>
          ${(options ? options.presets : []).map((p) => html`<option value=${p.id}>${p.label || p.id}</option>`)}
        </select>
      </${Field}>
      <${Field} id=${`${id}-q`} label="Search inputs">
        <input id=${`${id}-q`} type="search" value=${filters.q} placeholder="file name…"
          onInput=${(e) => { const val = e.currentTarget.value; setFilters((o) => ({ ...o, q: val })); setPages([null]); }} />
      </${Field}>
      <label class="inline-check" title="Failed jobs with no attempts left">
        <input type="checkbox" checked=${filters.dead} data-testid="dead-letters"
          onChange=${(e) => { const val = e.currentTarget.checked; setFilters((o) => ({ ...o, dead: val })); setPages([null]); }} />
        Dead letters</label>
    </div>
    <${BulkBar} filters=${f} onDone=${() => setTick((t) => t + 1)} />
    ${data.error ? html`<${ErrorBox} error=${data.error} title="The job list did not load"
        onRetry=${() => setTick((t) => t + 1)} />` : null}
    ${data.loading && !data.items.length ? html`<${Loading} what="jobs" />` : null}
    ${!data.loading && !data.error && !data.items.length ? html`<${Empty}>
      ${filtered || page > 1 ? html`<p>No jobs match these filters.</p>`
        : html`<p><strong>No jobs yet — submit a lesson</strong></p>
          <p class="muted">Drop a Markdown lesson into the form; its job appears here and updates live.</p>`}
    </${Empty}>` : null}
    ${data.items.length ? html`<div class="table-wrap"><table class="job-table" aria-busy=${data.loading ? 'true' : 'false'}>
      <caption class="visually-hidden">Jobs, newest first</caption>
      <thead><tr><th scope="col">Job</th><th scope="col">Input</th><th scope="col">Preset</th>
        <th scope="col">State</th><th scope="col">Progress</th><th scope="col">Created</th>
        ${admin ? html`<th scope="col">Owner</th>` : null}</tr></thead>
      <tbody>
        ${data.items.map((j) => html`<tr key=${j.jobId} data-job-id=${j.jobId} data-state=${j.state}>
          <td data-label="Job"><a href=${j.kind === 'batch' ? `#/batches/${j.jobId}` : `#/jobs/${j.jobId}`}
            class="job-link">#${j.jobId}</a></td>
          <td data-label="Input" class="input-cell">${j.kind === 'batch' ? html`<${BatchCell} job=${j} nameOf=${nameOf} />`
            : html`<span title=${j.md || ''}>${nameOf(j.md)}</span>`}
            ${j.parentJobId ? html`<span class="parent">rerun of <a href=${`#/jobs/${j.parentJobId}`}>#${j.parentJobId}</a></span>` : null}</td>
          <td data-label="Preset">${presetLabel(options, j.preset)}</td>
          <td data-label="State"><${Badge} state=${j.state} /> <${HoldNote} job=${j} /></td>
          <td data-label="Progress"><${Progress} value=${j.state === 'succeeded' ? 1 : j.progress} state=${j.state}
            label=${`Progress of job ${j.jobId}`} /></td>
          <td data-label="Created"><time datetime=${j.createdAt}>${dateTime(j.createdAt)}</time></td>
          ${admin ? html`<td data-label="Owner" class="owner">${owners[j.ownerId] || (j.ownerId ? `user ${j.ownerId}` : '—')}</td>` : null}
        </tr>`)}
      </tbody>
    </table></div>` : null}
    <nav class="pager" aria-label="Job list pages">
      <button type="button" class="btn" disabled=${page <= 1 || data.loading}
        onClick=${() => setPages((ps) => ps.slice(0, -1))}>← Newer</button>
      <span class="small">Page ${page}</span>
      <button type="button" class="btn" disabled=${!data.nextCursor || data.loading}
        onClick=${() => setPages((ps) => [...ps, data.nextCursor])}>Older →</button>
    </nav>
  </section>`;
}
