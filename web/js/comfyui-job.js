// comfyui-job.js — the ComfyUI part of a job's page (docs/comfyui.md):
// every prompt batchbox sent for the job (one per attempt) with the server
// that ran it, its state and error, the live sampler progress (the current
// node's value of max) and its node timeline (each node's state and how
// long it took), from GET /jobs/:id/comfyui.  The job page's own event
// stream drives it: a change of the job (state, progress) reads the prompts
// again, at most every READ_MS, so a stream of progress events costs a few
// reads a second at most.
import { html, useEffect, useRef, useState } from './lib.js';
import { api } from './api.js';
import { ErrorBox, Loading, Empty } from './components.js';
import { duration, timeOnly, TERMINAL } from './format.js';

const READ_MS = 500;

// Badge colours of the prompt states (the job states' palette).
const STATE_CLASS = {
  posting: 'queued', queued: 'queued', running: 'running', succeeded: 'succeeded',
  failed: 'failed', lost: 'failed', interrupted: 'canceled',
};

// True when the job's preset runs on ComfyUI.
export function isComfyJob(job, options) {
  const p = options && (options.presets || []).find((x) => x.id === job.preset);
  return !!p && p.workflow === 'comfyui';
}

function when(t) {
  if (t === null || t === undefined || t === '') return '—';
  return timeOnly(typeof t === 'number' ? new Date(t).toISOString() : t);
}

function nodeTime(n, now) {
  if (typeof n.startedAt !== 'number') return '';
  if (typeof n.endedAt === 'number') return duration(n.endedAt - n.startedAt);
  return n.state === 'running' ? `${duration(now - n.startedAt)}…` : '';
}

function Current({ c }) {
  if (!c || typeof c.max !== 'number' || c.max <= 0) return null;
  const v = Math.max(0, Math.min(c.max, Number(c.value) || 0));
  const what = `${c.class || 'node'} (node ${c.node})`;
  return html`<div class="comfy-current" data-testid="comfy-current">
    <span>${what}</span>
    <progress max=${c.max} value=${v} aria-label=${`${what}: step ${v} of ${c.max}`}></progress>
    <span class="small">${v} / ${c.max}</span>
  </div>`;
}

function Prompt({ p, now }) {
  const nodes = Array.isArray(p.nodes) ? p.nodes : [];
  const cls = STATE_CLASS[p.state] || 'queued';
  return html`<li class="comfy-prompt" data-prompt=${p.promptId} data-state=${p.state}>
    <div class="comfy-prompt-head">
      <span class=${`badge badge-${cls}`}>${p.state}</span>
      <span>on <strong data-testid="comfy-server">${p.server || '—'}</strong></span>
      <span class="small muted">attempt ${p.attempt ?? '?'} · prompt <code title=${p.promptId}>${String(p.promptId || '').slice(0, 8)}</code>
        · sent ${when(p.createdAt)}${p.updatedAt && p.updatedAt !== p.createdAt ? `, last change ${when(p.updatedAt)}` : ''}</span>
    </div>
    ${p.error ? html`<p class="small comfy-error">${p.error}</p>` : null}
    ${p.state === 'running' ? html`<${Current} c=${p.current} />` : null}
    ${nodes.length ? html`<ol class="comfy-nodes" aria-label=${`Nodes of prompt ${p.promptId}`}>
      ${nodes.map((n) => html`<li key=${n.id} data-node=${n.id} data-node-state=${n.state}>
        <span class="node-id">#${n.id}</span>
        <span class="node-class">${n.class || ''}</span>
        <span class="node-state">${n.state}</span>
        <span class="small muted">${nodeTime(n, now)}</span>
      </li>`)}</ol>` : html`<p class="small muted">${p.state === 'posting' || p.state === 'queued'
      ? 'Waiting on the server; nodes appear when it starts.' : 'No node reported.'}</p>`}
  </li>`;
}

// The "ComfyUI" card of a job page.  job: the live job DTO.
export function ComfyPrompts({ job }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  const timer = useRef(null);
  const last = useRef(0);
  const gone = useRef(false);

  const read = () => {
    last.current = Date.now();
    api('GET', `/jobs/${job.jobId}/comfyui`).then(
      (r) => { if (!gone.current) { setData(r); setError(null); } },
      (e) => { if (!gone.current) setError(e); },
    );
  };

  useEffect(() => {
    gone.current = false;
    return () => { gone.current = true; clearTimeout(timer.current); };
  }, []);

  // A throttle: the first change reads at once, more within READ_MS are
  // folded into one read at the end of that window.
  useEffect(() => {
    if (timer.current) return;
    const wait = Math.max(0, last.current + READ_MS - Date.now());
    timer.current = setTimeout(() => { timer.current = null; read(); }, wait);
  }, [job.jobId, job.state, job.progress, job.updatedAt, job.attempts, tick]);

  const prompts = data && Array.isArray(data.prompts) ? data.prompts : null;
  return html`<section class="card" aria-labelledby="comfy-title" data-testid="comfy-prompts">
    <h2 id="comfy-title">ComfyUI</h2>
    ${error ? html`<${ErrorBox} error=${error} title="The prompts did not load" onRetry=${() => setTick((t) => t + 1)} />` : null}
    ${!data && !error ? html`<${Loading} what="the prompts" />` : null}
    ${prompts && !prompts.length ? html`<${Empty}><p>${TERMINAL.has(job.state) ? 'No prompt was sent for this job.'
      : 'No prompt sent yet: the job waits for a server.'}</p></${Empty}>` : null}
    ${prompts && prompts.length ? html`<ol class="plain-list">${prompts.map((p) => html`<${Prompt}
      key=${p.promptId} p=${p} now=${Date.now()} />`)}</ol>` : null}
  </section>`;
}
