// job-page.js — one job: its details, live state (SSE filtered to the job,
// replayed from the start so the event timeline is complete), the log tail
// (GET /logs?follow=1, streamed), artifacts with an audio player, image and
// video previews and downloads, the lesson page and Notion links, the
// ComfyUI prompts of a comfyui job (comfyui-job.js), and the actions the server
// supports, each behind a confirmation dialog with its fields.
import { html, useEffect, useRef, useState } from './lib.js';
import { api, ApiError, API, refreshSession } from './api.js';
import {
  Badge, Progress, Loading, ErrorBox, Empty, Field, Dialog, describedBy, useId,
} from './components.js';
import {
  useJobOptions, presetLabel, humanize, useFileNames,
} from './options.js';
import { DependencyChain, HoldNote } from './schedules.js';
import { LiveStream } from './live.js';
import { LiveBadge } from './dashboard.js';
import { ReviewLink, actionFits } from './review-page.js';
import { Deliveries } from './deliveries.js';
import { ComfyPrompts, isComfyJob } from './comfyui-job.js';
import { kindOf, localUrl, Preview } from './media.js';
import {
  bytes, dateTime, timeOnly, duration, jobDuration, TERMINAL,
} from './format.js';

const MAX_LOG_LINES = 2000;

export function explainError(job) {
  const e = job.error || '';
  if (!e) return null;
  const low = e.toLowerCase();
  if (job.state === 'canceled' || low.includes('cancel')) {
    return 'The job was canceled before it finished; nothing after that point ran. Retry queues it again.';
  }
  if (low.includes('timed out') || low.includes('timeout')) {
    return "The job ran longer than its preset's time limit and was stopped. Retry it, or ask an admin to raise timeoutSec for this preset.";
  }
  if (low.includes('exit')) {
    return 'The command ended with an error status. The log below shows what it printed.';
  }
  if (low.includes('line ') || low.includes('parse') || low.includes('lesson')) {
    return 'The lesson could not be read. Fix the Markdown at the place named above and submit it again.';
  }
  if (low.includes('tts') || low.includes('espeak') || low.includes('voice')) {
    return 'Generating the audio failed. The log shows which segment; retry, or pick another accent.';
  }
  if (low.includes('notion')) {
    return 'Publishing to Notion failed; the lesson itself was built. Check the Notion token and database.';
  }
  if (low.includes('worker') || low.includes('lease') || low.includes('restart')) {
    return 'The server stopped while the job was running; it was put back in the queue.';
  }
  return job.state === 'failed'
    ? 'The job failed. The log below has the details; Retry queues it again.'
    : 'The last attempt failed; the job will be tried again.';
}

// ---------------------------------------------------------------- log tail

function LogTail({ jobId, running, attempts }) {
  const [lines, setLines] = useState(null);
  const [status, setStatus] = useState('loading');
  const [error, setError] = useState(null);
  const box = useRef(null);
  const stick = useRef(true);

  useEffect(() => {
    const ac = new AbortController();
    let timer = null;
    let stopped = false;
    const follow = async (retried) => {
      setStatus('loading');
      setError(null);
      let res;
      try {
        res = await fetch(`${API}/jobs/${jobId}/logs?follow=1`, { signal: ac.signal, credentials: 'same-origin' });
      } catch (e) {
        if (stopped) return;
        setStatus('error');
        setError(new ApiError(0, null));
        timer = setTimeout(() => follow(false), 3000);
        return;
      }
      if (res.status === 401 && !retried && await refreshSession()) { follow(true); return; }
      if (!res.ok) {
        let body = null;
        try { body = await res.json(); } catch { /* not JSON */ }
        setStatus('error');
        setError(new ApiError(res.status, body));
        return;
      }
      setStatus('streaming');
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let carry = '';
      let all = [];
      setLines([]);
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const text = carry + dec.decode(value, { stream: true });
          const parts = text.split('\n');
          carry = parts.pop();
          if (parts.length) {
            all = all.concat(parts);
            if (all.length > MAX_LOG_LINES) all = all.slice(-MAX_LOG_LINES);
            setLines(all);
          }
        }
        if (carry) setLines(all.concat([carry]));
        setStatus('done');
      } catch (e) {
        if (stopped) return;
        setStatus('error');
        setError(new ApiError(0, { message: 'The log stream was interrupted; reconnecting…' }));
        timer = setTimeout(() => follow(false), 2000);
      }
    };
    follow(false);
    return () => { stopped = true; clearTimeout(timer); ac.abort(); };
  }, [jobId, running, attempts]);

  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  const onScroll = () => {
    const el = box.current;
    stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
  };

  return html`<section class="card" aria-labelledby="log-title">
    <div class="section-head"><h2 id="log-title">Log</h2>
      <span class="small muted" role="status">${status === 'streaming' && running ? 'following…' : status === 'done' ? `${(lines || []).length} lines` : ''}</span></div>
    ${error ? html`<${ErrorBox} error=${error} title="The log did not load" />` : null}
    ${lines === null && !error ? html`<${Loading} what="the log" />` : null}
    ${lines !== null && !lines.length && status === 'done' ? html`<${Empty}><p>No output.</p></${Empty}>` : null}
    ${lines !== null && (lines.length || status === 'streaming') ? html`<pre class="log" ref=${box} onScroll=${onScroll}
      tabindex="0" aria-label="Job log" data-testid="log">${lines.length ? lines.join('\n') : 'Waiting for output…'}</pre>` : null}
  </section>`;
}

// --------------------------------------------------------------- artifacts

// Only links to this appliance or to http(s) pages (never javascript:).
function safeUrl(u) {
  return typeof u === 'string' && /^(\/[^/]|https?:\/\/)/.test(u) ? u : null;
}

function mainAudio(items) {
  const audio = items.filter((a) => (a.contentType || '').startsWith('audio/'));
  if (!audio.length) return null;
  return audio.find((a) => a.name === 'lesson.wav')
    || audio.slice().sort((a, b) => b.size - a.size)[0];
}

function Artifacts({ job }) {
  const [state, setState] = useState({ items: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let gone = false;
    setState((s) => ({ items: s.items, error: null }));
    api('GET', `/jobs/${job.jobId}/artifacts`).then(
      (r) => { if (!gone) setState({ items: r.items, error: null }); },
      (error) => { if (!gone) setState({ items: null, error }); },
    );
    return () => { gone = true; };
  }, [job.jobId, job.state, tick]);

  const { items, error } = state;
  const audio = items ? mainAudio(items) : null;
  // images and videos (a ComfyUI job's outputs) shown, not only listed
  const media = items ? items.filter((a) => ['image', 'video'].includes(kindOf(a)) && localUrl(a.url)).slice(0, 24) : [];
  const pageUrl = safeUrl(job.pageUrl);
  const notionUrl = safeUrl(job.notionUrl);
  const manifestUrl = safeUrl(job.manifestPath);
  return html`<section class="card" aria-labelledby="art-title">
    <h2 id="art-title">Results</h2>
    <div class="links">
      ${pageUrl ? html`<a class="btn btn-primary" href=${pageUrl} target="_blank" rel="noopener"
        data-testid="lesson-link">Open the lesson page</a>` : null}
      ${notionUrl ? html`<a class="btn" href=${notionUrl} target="_blank" rel="noopener noreferrer">Open in Notion</a>` : null}
      ${manifestUrl ? html`<a class="btn" href=${manifestUrl} target="_blank" rel="noopener">Manifest</a>`
        : job.manifestPath ? html`<span class="small muted">Manifest: <code>${job.manifestPath}</code></span>` : null}
    </div>
    ${audio ? html`<figure class="player">
      <figcaption>${audio.name}</figcaption>
      <audio controls preload="metadata" src=${safeUrl(audio.url)} data-testid="audio"></audio>
    </figure>` : null}
    ${media.length ? html`<div class="tiles job-previews" data-testid="previews">${media.map((a) => html`<figure
        key=${a.name} class=${`tile tile-${kindOf(a)}`}><div class="tile-media"><${Preview} a=${a} url=${localUrl(a.url)} /></div>
        <figcaption><span class="tile-name" title=${a.name}>${a.name}</span></figcaption></figure>`)}</div>` : null}
    ${error ? html`<${ErrorBox} error=${error} title="The artifacts did not load" onRetry=${() => setTick((t) => t + 1)} />` : null}
    ${!items && !error ? html`<${Loading} what="artifacts" />` : null}
    ${items && !items.length ? html`<${Empty}><p>${TERMINAL.has(job.state)
      ? 'This job produced no files.' : 'Files appear here when the job has written them.'}</p></${Empty}>` : null}
    ${items && items.length ? html`<div class="table-wrap"><table class="art-table">
      <caption class="visually-hidden">Artifacts</caption>
      <thead><tr><th scope="col">File</th><th scope="col">Type</th><th scope="col">Size</th><th scope="col">Download</th></tr></thead>
      <tbody>${items.map((a) => html`<tr key=${a.name}>
        <td data-label="File"><code>${a.name}</code></td>
        <td data-label="Type">${a.contentType}</td>
        <td data-label="Size">${bytes(a.size)}</td>
        <td data-label="Download"><a href=${safeUrl(a.url)} download=${a.name.split('/').pop()}
          aria-label=${`Download ${a.name}`}>Download</a></td>
      </tr>`)}</tbody></table></div>` : null}
  </section>`;
}

// ----------------------------------------------------------------- actions

function ActionDialog({ action, job, options, onClose, onDone }) {
  const id = useId('act');
  const init = {};
  for (const f of action.requiresFields || []) {
    if (f === 'preset') init.preset = job.preset;
    else if (f === 'notionDatabase') init.notionDatabase = '__keep';
    else if (f === 'forceTts') init.forceTts = false;
    else init[f] = '';
  }
  const [v, setV] = useState(init);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [fields, setFields] = useState({});
  const set = (name) => (e) => {
    const t = e.currentTarget;
    setV((o) => ({ ...o, [name]: t.type === 'checkbox' ? t.checked : t.value }));
  };

  const confirm = async (e) => {
    e.preventDefault();
    const payload = {};
    for (const [k, val] of Object.entries(v)) {
      if (k === 'notionDatabase') {
        if (val === '__none') payload.notionDatabase = null;
        else if (val !== '__keep') payload.notionDatabase = val;
      } else if (k === 'forceTts') {
        if (val) payload.forceTts = true;
      } else if (k === 'preset') {
        if (val && val !== job.preset) payload.preset = val;
      } else if (k === 'priority' || k === 'params') {
        // a queued job's priority (a number) and params (a JSON object)
        if (val !== '') {
          try { payload[k] = JSON.parse(val); } catch (_) { payload[k] = val; }
        }
      } else if (val !== '') {
        payload[k] = val;
      }
    }
    setBusy(true);
    setError(null);
    setFields({});
    try {
      const r = await api('POST', `/jobs/${job.jobId}/actions`, { type: action.type, payload });
      onDone(action, r);
    } catch (err) {
      const f = {};
      if (err instanceof ApiError) {
        for (const [k, msg] of Object.entries(err.fields)) f[k.replace(/^payload\./, '')] = msg;
      }
      setFields(f);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const fieldView = (name) => {
    const fid = `${id}-${name}`;
    const common = {
      id: fid,
      'aria-invalid': fields[name] ? 'true' : undefined,
      'aria-describedby': describedBy(fid, fields[name]),
    };
    if (name === 'reason') {
      return html`<${Field} id=${fid} label="Reason (optional)" error=${fields[name]}>
        <input type="text" ...${common} value=${v.reason} onInput=${set('reason')} maxlength="500" /></${Field}>`;
    }
    if (name === 'preset') {
      return html`<${Field} id=${fid} label="Preset" error=${fields[name]}>
        <select ...${common} value=${v.preset} onChange=${set('preset')}>
          ${options.presets.map((p) => html`<option value=${p.id}>${p.label || p.id}</option>`)}
        </select></${Field}>`;
    }
    if (name === 'notionDatabase') {
      return html`<${Field} id=${fid} label="Notion database" error=${fields[name]}>
        <select ...${common} value=${v.notionDatabase} onChange=${set('notionDatabase')}>
          <option value="__keep">Keep ${job.notionDatabase ? `(${job.notionDatabase})` : '(none)'}</option>
          <option value="__none">None</option>
          ${options.notionDatabases.map((d) => html`<option value=${d.id}>${d.name || d.id}</option>`)}
        </select></${Field}>`;
    }
    if (name === 'voiceId') {
      return html`<${Field} id=${fid} label="Voice" error=${fields[name]}>
        <select ...${common} value=${v.voiceId} onChange=${set('voiceId')}>
          <option value="">Chosen by accent</option>
          ${options.voices.map((x) => html`<option value=${x.id}>${x.label || x.id}</option>`)}
        </select></${Field}>`;
    }
    if (name === 'voiceAccent') {
      return html`<${Field} id=${fid} label="Voice accent" error=${fields[name]}>
        <select ...${common} value=${v.voiceAccent} onChange=${set('voiceAccent')}>
          <option value="">Same as before${job.voiceAccent ? ` (${humanize(job.voiceAccent)})` : ''}</option>
          ${options.voiceAccents.map((a) => html`<option value=${a}>${humanize(a)}</option>`)}
        </select></${Field}>`;
    }
    if (name === 'forceTts') {
      return html`<${Field} id=${fid} label="Ignore the audio cache" inline error=${fields[name]}>
        <input type="checkbox" ...${common} checked=${v.forceTts} onChange=${set('forceTts')} /></${Field}>`;
    }
    if (name === 'priority' || name === 'params') {
      const hint = name === 'params' ? 'queued jobs only; a JSON object, e.g. {"size": 512}'
        : 'queued jobs only; -1000 to 1000';
      return html`<${Field} id=${fid} label=${humanize(name)} error=${fields[name]} hint=${hint}>
        <input type=${name === 'priority' ? 'number' : 'text'} ...${common}
          aria-describedby=${describedBy(fid, fields[name], hint)}
          value=${v[name]} onInput=${set(name)} /></${Field}>`;
    }
    return html`<${Field} id=${fid} label=${humanize(name)} error=${fields[name]}>
      <input type="text" ...${common} value=${v[name]} onInput=${set(name)} /></${Field}>`;
  };

  return html`<${Dialog} title=${`${action.label} — job #${job.jobId}`} onClose=${onClose} labelledBy=${`${id}-title`}>
    <form method="dialog" onSubmit=${confirm}>
      <p>${action.description}</p>
      ${(action.requiresFields || []).map(fieldView)}
      <${ErrorBox} error=${error} title=${`${action.label} did not work`} />
      <div class="dialog-buttons">
        <button type="button" class="btn" onClick=${onClose}>Keep the job as is</button>
        <button type="submit" class=${`btn ${action.type === 'cancel' ? 'btn-danger' : 'btn-primary'}`}
          disabled=${busy} data-testid="confirm">${busy ? 'Working…' : `Confirm: ${action.label}`}</button>
      </div>
    </form>
  </${Dialog}>`;
}

export function Actions({ job, options, onDone }) {
  const [open, setOpen] = useState(null);
  const lessonPreset = (options.presets.find((p) => p.id === job.preset) || {}).workflow;
  // Each action says the states it is allowed in (job-options allowedStates).
  const list = (options.supportedActions || []).filter((a) => {
    if (Array.isArray(a.allowedStates) && !a.allowedStates.includes(job.state)) return false;
    if (a.type === 'rerun_audio' && lessonPreset && lessonPreset !== 'lesson') return false;
    if (!actionFits(a, lessonPreset)) return false;
    return true;
  });
  return html`<div class="actions" role="group" aria-label="Actions">
    ${list.map((a) => html`<button type="button" key=${a.type}
        class=${`btn${a.type === 'cancel' ? ' btn-danger' : ''}`} disabled=${!a.implemented}
        title=${a.implemented ? a.description : `${a.description} (not available in this build)`}
        data-action=${a.type} onClick=${() => setOpen(a)}>${a.label}</button>`)}
    ${!list.length ? html`<span class="small muted">No actions in this state.</span>` : null}
    ${open ? html`<${ActionDialog} action=${open} job=${job} options=${options}
      onClose=${() => setOpen(null)}
      onDone=${(a, r) => { setOpen(null); onDone(a, r); }} />` : null}
  </div>`;
}

// ---------------------------------------------------------------- the page

const STEP_WORDS = {
  queued: 'queued again', running: 'started', succeeded: 'finished', failed: 'stopped', canceled: 'stopped',
};

function Timeline({ events }) {
  if (!events.length) return html`<${Empty}><p>No events recorded yet.</p></${Empty}>`;
  return html`<ol class="timeline" data-testid="timeline">
    ${events.map((e) => html`<li key=${e.id} data-state=${e.state}>
      <time datetime=${e.at}>${timeOnly(e.at)}</time>
      <span class="tl-what">${e.type === 'job_created' ? 'created' : STEP_WORDS[e.state] || 'now'} <${Badge} state=${e.state} />
        ${e.attempts > 1 && e.state === 'running' ? html`<span class="small muted"> attempt ${e.attempts}</span>` : null}</span>
      ${e.error && e.state !== 'succeeded' ? html`<span class="tl-error">${e.error}</span>` : null}
    </li>`)}
  </ol>`;
}

// Audio, mode, Notion and upload are job options only the lesson workflow reads
// (docs/api.md); a job whose preset is no longer configured keeps every row.
function lessonRows(options, job) {
  const wf = (options.presets.find((p) => p.id === job.preset) || {}).workflow;
  return !wf || wf === 'lesson';
}

function Details({ job, options, owner, nameOf }) {
  const row = (k, val) => html`<div><dt>${k}</dt><dd>${val}</dd></div>`;
  const params = Object.entries(job.params || {});
  const lesson = lessonRows(options, job);
  return html`<dl class="details">
    ${lesson || job.md ? row('Input', html`<span title=${job.md || ''}>${nameOf(job.md)}</span>`) : null}
    ${row('Preset', presetLabel(options, job.preset))}
    ${lesson ? row('Audio', job.withTts ? `yes${job.voiceAccent ? `, ${humanize(job.voiceAccent)}` : ''}${job.voiceId ? ` (voice ${job.voiceId})` : ''}${job.forceTts ? ', cache ignored' : ''}` : 'no') : null}
    ${lesson ? row('Mode', humanize(job.mode || 'auto')) : null}
    ${lesson ? row('Notion', job.notionDatabase || '—') : null}
    ${lesson ? row('Upload', job.upload || '—') : null}
    ${row('Priority', String(job.priority))}
    ${row('Attempts', `${job.attempts} of ${job.maxAttempts}`)}
    ${params.length ? row('Parameters', params.map(([k, val]) => `${k}=${val}`).join(', ')) : null}
    ${row('Created', dateTime(job.createdAt))}
    ${row('Started', dateTime(job.startedAt))}
    ${row('Finished', dateTime(job.finishedAt))}
    ${row('Duration', duration(jobDuration(job)))}
    ${owner ? row('Owner', owner) : null}
  </dl>`;
}

export function JobPage({ id, me }) {
  const { options, error: optError, reload } = useJobOptions();
  const [job, setJob] = useState(null);
  const [error, setError] = useState(null);
  const [events, setEvents] = useState([]);
  const [live, setLive] = useState('connecting');
  const [notice, setNotice] = useState(null);
  const [owner, setOwner] = useState(null);
  const [tick, setTick] = useState(0);
  const nameOf = useFileNames();

  useEffect(() => { document.title = `Job #${id} · batchbox`; }, [id]);
  // A batch has its own page (its runs side by side).
  useEffect(() => {
    if (job && job.kind === 'batch') location.replace(`#/batches/${job.jobId}`);
  }, [job && job.kind]);

  useEffect(() => {
    let gone = false;
    setError(null);
    api('GET', `/jobs/${id}`).then(
      (j) => { if (!gone) setJob((old) => (old && old.updatedAt > j.updatedAt ? old : j)); },
      (e) => { if (!gone) setError(e); },
    );
    return () => { gone = true; };
  }, [id, tick]);

  useEffect(() => {
    if (me.role !== 'admin' || !job || !job.ownerId) return;
    api('GET', '/admin/users').then((r) => {
      const u = r.items.find((x) => x.id === job.ownerId);
      setOwner(u ? u.email : `user ${job.ownerId}`);
    }, () => {});
  }, [job && job.ownerId]);

  useEffect(() => {
    const s = new LiveStream({
      jobId: id,
      fromStart: true,
      onStatus: setLive,
      onEvent: (type, data, evId) => {
        if (type === 'job_log' || !data || data.jobId !== String(id)) return;
        setJob((old) => (!old || (data.updatedAt || '') >= (old.updatedAt || '') ? data : old));
        if (type === 'job_created' || type === 'job_state_changed') {
          setEvents((list) => (list.some((e) => e.id === evId) ? list : [...list, {
            id: evId, type, state: data.state, at: data.updatedAt, error: data.error, attempts: data.attempts,
          }]));
        }
      },
    }).start();
    return () => s.stop();
  }, [id]);

  if (error) {
    const missing = error instanceof ApiError && error.status === 404;
    return html`<section><h1 tabindex="-1">Job #${id}</h1>
      ${missing ? html`<${Empty}><p>There is no job #${id}, or it belongs to someone else.</p>
        <p><a href="#/">Back to the job list</a></p></${Empty}>`
        : html`<${ErrorBox} error=${error} title="The job did not load" onRetry=${() => setTick((t) => t + 1)} />`}
    </section>`;
  }
  if (!job || (!options && !optError)) {
    return html`<section><h1 tabindex="-1">Job #${id}</h1><${Loading} what="the job" /></section>`;
  }
  if (optError) {
    return html`<section><h1 tabindex="-1">Job #${id}</h1>
      <${ErrorBox} error=${optError} title="The job options did not load" onRetry=${reload} /></section>`;
  }

  const why = explainError(job);
  const onDone = (action, r) => {
    if (r && r.jobId && r.jobId !== job.jobId) {
      setNotice(html`${action.label}: created job <a href=${`#/jobs/${r.jobId}`} data-testid="child-link">#${r.jobId}</a>.`);
    } else {
      setNotice(`${action.label}: ${(r && r.message) || 'done'}.`);
    }
  };

  return html`<div class="job-page" data-job-id=${job.jobId} data-state=${job.state}>
    <p class="crumbs"><a href="#/">← Jobs</a></p>
    <div class="job-head">
      <h1 tabindex="-1">Job #${job.jobId} <span class="h1-sub">${nameOf(job.md)}</span></h1>
      <${Badge} state=${job.state} />
      <${HoldNote} job=${job} />
      <${LiveBadge} status=${live} />
    </div>
    ${job.parentJobId ? html`<p class="parent-note" data-testid="parent">Rerun of job
      <a href=${`#/jobs/${job.parentJobId}`}>#${job.parentJobId}</a>.</p>` : null}
    ${job.batchId ? html`<p class="parent-note" data-testid="batch-of">One run of batch
      <a href=${`#/batches/${job.batchId}`}>#${job.batchId}</a>.</p>` : null}
    ${job.kind === 'batch' ? html`<p class="notice notice-info" data-testid="batch-link">This is a batch of
      ${job.batch ? job.batch.total : ''} runs. <a href=${`#/batches/${job.jobId}`}>Open the batch page</a>
      to see its results side by side and pick the best ones.</p>` : null}
    <div class="job-progress">
      <${Progress} value=${job.state === 'succeeded' ? 1 : job.progress} state=${job.state} label="Job progress" />
      <span class="small">${Math.round((job.state === 'succeeded' ? 1 : job.progress || 0) * 100)}%</span>
    </div>
    ${job.error ? html`<div class=${`explain ${job.state === 'failed' ? 'explain-bad' : 'explain-info'}`} role="alert">
      <strong>${job.state === 'canceled' ? 'Canceled' : job.state === 'failed' ? 'Failed' : 'Last attempt failed'}:</strong>
      <code class="err-text">${job.error}</code><p>${why}</p></div>` : null}
    <${Actions} job=${job} options=${options} onDone=${onDone} />
    <${ReviewLink} job=${job} options=${options} />
    ${notice ? html`<p class="notice notice-ok" role="status">${notice}</p>` : null}
    <div class="job-grid">
      <div class="col">
        <section class="card" aria-labelledby="det-title"><h2 id="det-title">Details</h2>
          <${Details} job=${job} options=${options} owner=${owner} nameOf=${nameOf} /></section>
        <section class="card" aria-labelledby="tl-title"><h2 id="tl-title">Timeline</h2>
          <${Timeline} events=${events} /></section>
      </div>
      <div class="col">
        <${DependencyChain} job=${job} />
        ${isComfyJob(job, options) ? html`<${ComfyPrompts} job=${job} />` : null}
        <${Artifacts} job=${job} />
        <${LogTail} jobId=${job.jobId} running=${!TERMINAL.has(job.state)} attempts=${job.attempts} />
        <${Deliveries} jobId=${job.jobId} running=${!TERMINAL.has(job.state)} />
      </div>
    </div>
  </div>`;
}
