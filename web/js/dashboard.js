// dashboard.js — the main screen: the submit form built from
// /config/job-options (file drop with upload progress, preset, TTS, accent,
// mode, Notion database, upload option, priority, preset parameters) and the
// live job list (SSE updates without reload, filters, search, pagination).
import { html, useEffect, useRef, useState, useCallback } from './lib.js';
import { api, uploadFile, qs, ApiError } from './api.js';
import {
  Badge, Progress, Loading, ErrorBox, Empty, Field, describedBy, useId,
} from './components.js';
import {
  useJobOptions, presetLabel, humanize, rememberFile, useFileNames,
} from './options.js';
import { LiveStream } from './live.js';
import { bytes, dateTime, STATES } from './format.js';

const PAGE_SIZE = 20;

export function Dashboard({ me }) {
  const { options, error, reload } = useJobOptions();
  useEffect(() => { document.title = 'Jobs · batchbox'; }, []);
  return html`<div class="dashboard">
    <h1 tabindex="-1" class="visually-hidden">Jobs</h1>
    <section class="card submit" aria-labelledby="submit-title">
      <h2 id="submit-title">Submit a lesson</h2>
      ${error ? html`<${ErrorBox} error=${error} title="The job options did not load" onRetry=${reload} />`
        : options ? html`<${SubmitForm} options=${options} />` : html`<${Loading} what="job options" />`}
    </section>
    <${JobList} me=${me} options=${options} />
  </div>`;
}

// ------------------------------------------------------------ submit form

function defaultPreset(options) {
  const lesson = options.presets.find((p) => p.workflow === 'lesson');
  return (lesson || options.presets[0] || { id: '' }).id;
}

// The form's values with a preset's defaults (lesson presets carry them).
function withDefaults(options, presetId, v) {
  const p = options.presets.find((x) => x.id === presetId);
  const d = (p && p.defaults) || null;
  if (!d) return v;
  const pick = (val, allowed, fallback) => (val !== null && val !== undefined && allowed.includes(val) ? val : fallback);
  return {
    ...v,
    withTts: typeof d.withTts === 'boolean' ? d.withTts : v.withTts,
    voiceAccent: pick(d.voiceAccent, options.voiceAccents, v.voiceAccent),
    mode: pick(d.mode, options.modes, v.mode),
    upload: pick(d.upload, options.uploadOptions, v.upload),
    notionDatabase: pick(d.notionDatabase, options.notionDatabases.map((x) => x.id), v.notionDatabase),
  };
}

function FileDrop({ id, upload, onFile, onClear, error, errorId }) {
  const [over, setOver] = useState(false);
  const input = useRef(null);
  const drop = (e) => {
    e.preventDefault();
    setOver(false);
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) onFile(f);
  };
  const uploading = upload.status === 'uploading';
  return html`<div class=${`dropzone${over ? ' over' : ''}${error ? ' has-error' : ''}`}
      onDragOver=${(e) => { e.preventDefault(); setOver(true); }}
      onDragEnter=${(e) => { e.preventDefault(); setOver(true); }}
      onDragLeave=${() => setOver(false)} onDrop=${drop} data-testid="dropzone">
    <input ref=${input} id=${id} type="file" class="visually-hidden-input" aria-label="Lesson file"
      aria-describedby=${error ? `${id}-hint ${errorId}` : `${id}-hint`}
      onChange=${(e) => { const f = e.currentTarget.files[0]; if (f) onFile(f); e.currentTarget.value = ''; }} />
    ${upload.status === 'idle' || upload.status === 'error' ? html`
      <p class="drop-text">Drop a lesson file here, or</p>
      <label for=${id} class="btn">Choose a file</label>` : null}
    ${uploading ? html`<div class="upload-progress">
      <p>Uploading <strong>${upload.name}</strong> (${bytes(upload.size)})…</p>
      <${Progress} value=${upload.progress} state="running" label=${`Upload of ${upload.name}`} />
      <span class="small">${Math.round(upload.progress * 100)}%</span></div>` : null}
    ${upload.status === 'done' ? html`<div class="upload-done" data-file-id=${upload.result.fileId}>
      <${Progress} value=${1} state="succeeded" label=${`Upload of ${upload.name}`} />
      <p>Uploaded <strong>${upload.result.filename}</strong> · ${bytes(upload.result.size)}
        <span class="muted"> · ${upload.result.fileId}</span></p>
      <button type="button" class="btn btn-quiet" onClick=${onClear}>Remove</button></div>` : null}
    <p class="hint" id=${`${id}-hint`}>Markdown lessons, text, audio, images, PDF or ZIP.</p>
    ${upload.status === 'error' ? html`<p class="field-error" role="alert">Upload failed: ${upload.error.message}</p>` : null}
  </div>`;
}

function SubmitForm({ options }) {
  const id = useId('submit');
  const [preset, setPreset] = useState(() => defaultPreset(options));
  const [v, setV] = useState(() => withDefaults(options, preset, {
    md: '', withTts: false, forceTts: false, voiceAccent: '', mode: options.modes[0] || 'auto',
    notionDatabase: '', upload: options.uploadOptions[0] || 'auto', priority: '0',
  }));
  const [params, setParams] = useState({});
  const [upload, setUpload] = useState({ status: 'idle', progress: 0 });
  const [fields, setFields] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);
  const p = options.presets.find((x) => x.id === preset) || options.presets[0];

  const set = (name) => (e) => {
    const t = e.currentTarget;
    setV((old) => ({ ...old, [name]: t.type === 'checkbox' ? t.checked : t.value }));
  };

  const onFile = async (file) => {
    setFields((f) => ({ ...f, md: undefined }));
    setUpload({ status: 'uploading', progress: 0, name: file.name, size: file.size });
    try {
      const result = await uploadFile(file, (progress) => setUpload((u) => ({ ...u, progress })));
      rememberFile(result);
      setUpload({ status: 'done', progress: 1, name: file.name, size: file.size, result });
    } catch (e) {
      setUpload({ status: 'error', progress: 0, error: e });
    }
  };

  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    setFields({});
    setDone(null);
    const body = { preset: p.id, withTts: v.withTts, upload: v.upload, mode: v.mode };
    const md = upload.status === 'done' ? upload.result.fileId : v.md.trim();
    if (md) body.md = md;
    if (v.withTts && v.forceTts) body.forceTts = true;
    if (v.voiceAccent) body.voiceAccent = v.voiceAccent;
    if (v.notionDatabase) body.notionDatabase = v.notionDatabase;
    const prio = Number(v.priority);
    if (v.priority !== '' && Number.isInteger(prio) && prio !== 0) body.priority = prio;
    else if (v.priority !== '' && !Number.isInteger(prio)) {
      setFields({ priority: 'Enter a whole number.' });
      return;
    }
    const pv = {};
    for (const name of p.params || []) if (params[name]) pv[name] = params[name];
    if (Object.keys(pv).length) body.params = pv;
    setBusy(true);
    try {
      const r = await api('POST', '/jobs', body);
      setDone(r.jobId);
      setUpload({ status: 'idle', progress: 0 });
      setV((old) => ({ ...old, md: '' }));
    } catch (err) {
      const f = err instanceof ApiError ? err.fields : {};
      setFields(f);
      setError(Object.keys(f).length ? new Error('Some fields need attention (see the messages next to them).') : err);
    } finally {
      setBusy(false);
    }
  };

  const sel = (name, label, choices, extra = {}) => html`<${Field} id=${`${id}-${name}`} label=${label}
      error=${fields[name]} hint=${extra.hint}>
    <select id=${`${id}-${name}`} name=${name} value=${v[name]} onChange=${set(name)}
      aria-invalid=${fields[name] ? 'true' : undefined}
      aria-describedby=${describedBy(`${id}-${name}`, fields[name], extra.hint)}
      disabled=${extra.disabled}>
      ${choices.map(([val, text]) => html`<option value=${val}>${text}</option>`)}
    </select>
  </${Field}>`;

  return html`<form class="submit-form" onSubmit=${submit} novalidate>
    <fieldset class=${`input-group${fields.md ? ' has-error' : ''}`}>
      <legend>Lesson input</legend>
      <${FileDrop} id=${`${id}-file`} upload=${upload} onFile=${onFile}
        onClear=${() => setUpload({ status: 'idle', progress: 0 })} error=${fields.md}
        errorId=${`${id}-md-error`} />
      ${upload.status !== 'done' ? html`<${Field} id=${`${id}-md`} label="…or a path under the input root"
          hint=${p.requiresInput ? 'This preset needs an input.' : 'Optional for this preset.'}>
        <input id=${`${id}-md`} name="md" type="text" value=${v.md} onInput=${set('md')}
          placeholder="lessons/b1-coffee-shop.md" autocomplete="off"
          aria-invalid=${fields.md ? 'true' : undefined}
          aria-describedby=${describedBy(`${id}-md`, fields.md, true)} />
      </${Field}>` : null}
      ${fields.md ? html`<p class="field-error" id=${`${id}-md-error`} role="alert" data-field="md">${fields.md}</p>` : null}
    </fieldset>

    <${Field} id=${`${id}-preset`} label="Preset" error=${fields.preset}
        hint=${`Workflow ${p.workflow}; up to ${p.maxAttempts} attempt${p.maxAttempts === 1 ? '' : 's'}.`}>
      <select id=${`${id}-preset`} name="preset" value=${p.id}
        onChange=${(e) => {
          const next = e.currentTarget.value;
          setPreset(next);
          setParams({});
          setV((old) => withDefaults(options, next, old));
        }}
        aria-invalid=${fields.preset ? 'true' : undefined}
        aria-describedby=${describedBy(`${id}-preset`, fields.preset, true)}>
        ${options.presets.map((x) => html`<option value=${x.id}>${x.label || x.id}</option>`)}
      </select>
    </${Field}>

    <div class="row2">
      <${Field} id=${`${id}-tts`} label="Generate audio (TTS)" inline>
        <input id=${`${id}-tts`} type="checkbox" name="withTts" checked=${v.withTts} onChange=${set('withTts')} />
      </${Field}>
      <${Field} id=${`${id}-force`} label="Ignore the audio cache" inline>
        <input id=${`${id}-force`} type="checkbox" name="forceTts" checked=${v.forceTts}
          disabled=${!v.withTts} onChange=${set('forceTts')} />
      </${Field}>
    </div>

    <div class="row2">
      ${sel('voiceAccent', 'Voice accent', [['', 'Default voices'],
        ...options.voiceAccents.map((a) => [a, humanize(a)])], { disabled: !v.withTts })}
      ${sel('mode', 'Mode', options.modes.map((m) => [m, humanize(m)]))}
    </div>
    <div class="row2">
      ${sel('notionDatabase', 'Notion database', [['', options.notionDatabases.length ? 'Do not publish' : 'None configured'],
        ...options.notionDatabases.map((d) => [d.id, d.name || d.id])], { disabled: !options.notionDatabases.length })}
      ${sel('upload', 'Artifact upload', options.uploadOptions.map((u) => [u, humanize(u)]),
        { hint: options.storage === 's3' ? 'S3 storage is configured.' : 'Artifacts stay on this machine.' })}
    </div>
    <${Field} id=${`${id}-priority`} label="Priority" error=${fields.priority}
        hint=${`Higher runs first (${options.limits.minPriority} to ${options.limits.maxPriority}).`}>
      <input id=${`${id}-priority`} name="priority" type="number" step="1"
        min=${options.limits.minPriority} max=${options.limits.maxPriority}
        value=${v.priority} onInput=${set('priority')}
        aria-invalid=${fields.priority ? 'true' : undefined}
        aria-describedby=${describedBy(`${id}-priority`, fields.priority, true)} />
    </${Field}>
    ${(p.params || []).length ? html`<fieldset class=${`params${fields.params ? ' has-error' : ''}`}>
      <legend>Preset parameters</legend>
      ${p.params.map((name) => html`<${Field} id=${`${id}-param-${name}`} label=${name}>
        <input id=${`${id}-param-${name}`} type="text" value=${params[name] || ''}
          onInput=${(e) => { const val = e.currentTarget.value; setParams((o) => ({ ...o, [name]: val })); }} />
      </${Field}>`)}
      ${fields.params ? html`<p class="field-error" role="alert">${fields.params}</p>` : null}
    </fieldset>` : null}
    <${ErrorBox} error=${error} title="The job was not submitted" />
    ${done ? html`<p class="notice notice-ok" role="status">Job <a href=${`#/jobs/${done}`}>#${done}</a> submitted.</p>` : null}
    <button type="submit" class="btn btn-primary" disabled=${busy || upload.status === 'uploading'}>
      ${busy ? 'Submitting…' : 'Submit job'}</button>
  </form>`;
}

// --------------------------------------------------------------- job list

function matches(job, f) {
  if (f.state && job.state !== f.state) return false;
  if (f.preset && job.preset !== f.preset) return false;
  if (f.q && !(job.md || '').toLowerCase().includes(f.q.toLowerCase())) return false;
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

export function LiveBadge({ status }) {
  const text = status === 'live' ? 'Live' : status === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
  return html`<span class=${`live live-${status || 'connecting'}`} role="status" data-live=${status}>
    <span class="dot" aria-hidden="true"></span>${text}</span>`;
}

function JobList({ me, options }) {
  const id = useId('jobs');
  const admin = me.role === 'admin';
  const [filters, setFilters] = useState({ state: '', preset: '', q: '' });
  const q = useDebounced(filters.q, 250);
  const f = { state: filters.state, preset: filters.preset, q };
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
      const r = await api('GET', `/jobs${qs({ ...f, limit: PAGE_SIZE, cursor: pages[pages.length - 1] })}`,
        undefined, { signal });
      setData({ items: r.items, nextCursor: r.nextCursor, loading: false, error: null });
    } catch (e) {
      if (e.name === 'AbortError') return;
      setData((d) => ({ ...d, loading: false, error: e }));
    }
  }, [f.state, f.preset, f.q, pages]);

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
  const filtered = f.state || f.preset || f.q;
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
          ${STATES.map((s) => html`<option value=${s}>${humanize(s)}</option>`)}
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
    </div>
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
          <td data-label="Job"><a href=${`#/jobs/${j.jobId}`} class="job-link">#${j.jobId}</a></td>
          <td data-label="Input" class="input-cell"><span title=${j.md || ''}>${nameOf(j.md)}</span>
            ${j.parentJobId ? html`<span class="parent">rerun of <a href=${`#/jobs/${j.parentJobId}`}>#${j.parentJobId}</a></span>` : null}</td>
          <td data-label="Preset">${presetLabel(options, j.preset)}</td>
          <td data-label="State"><${Badge} state=${j.state} /></td>
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
