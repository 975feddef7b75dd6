// flow.js — flow control in the web UI (docs/scheduling.md): the banner
// that says a queue is paused (admins can resume it), the job list's
// "Select all matching" bulk bar (dry-run count, confirm, then cancel or
// retry every matching job) and the dead-letters filter.
import { html, useEffect, useState } from './lib.js';
import { api } from './api.js';

// The bulk filter of the job list's filters (empty values left out).
export function bulkFilter(f) {
  const out = {};
  for (const k of ['state', 'preset', 'q']) if (f[k]) out[k] = f[k];
  if (f.dead) out.outOfAttempts = true;
  return out;
}

// Whether a live job update still fits the dead-letters view.
export function isDeadLetter(job) {
  return job.state === 'failed' && job.attempts >= job.maxAttempts;
}

// "Queue paused" banner, refreshed every few seconds; admins only (the
// queue's state is an admin route), with a Resume button.
export function QueueBanner({ me }) {
  const admin = me && me.role === 'admin';
  const [q, setQ] = useState(null);
  const [busy, setBusy] = useState(false);
  const load = () => api('GET', '/admin/queue').then(setQ, () => {});
  useEffect(() => {
    if (!admin) return undefined;
    load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, [admin]);
  if (!admin || !q) return null;
  const presets = (q.presets || []).filter((p) => p.paused).map((p) => p.preset);
  if (!q.paused && !presets.length) return null;
  const resume = async (preset) => {
    setBusy(true);
    try {
      setQ(await api('POST', '/admin/queue/resume', preset ? { preset } : undefined));
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="notice notice-info queue-banner" role="status" data-testid="queue-banner">
    ${q.paused ? html`<strong>Every queue is paused:</strong> running jobs finish, no new job starts.
      <button type="button" class="btn" disabled=${busy} onClick=${() => resume(null)}>Resume all</button>`
      : null}
    ${presets.length ? html`<span> Paused presets: ${presets.map((p) => html`<span class="paused-preset">${p}
      <button type="button" class="btn" disabled=${busy} onClick=${() => resume(p)}
        aria-label=${`Resume ${p}`}>Resume</button></span>`)}</span>` : null}
  </div>`;
}

// "Select all matching": asks the server how many jobs the filters match
// (a dry run), shows the count, and after a confirmation cancels or retries
// them all.  onDone reloads the list.
export function BulkBar({ filters, onDone }) {
  const [sel, setSel] = useState(null);   // {matched} after the dry run
  const [action, setAction] = useState(null);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState(null);
  const key = JSON.stringify(bulkFilter(filters));
  useEffect(() => { setSel(null); setAction(null); }, [key]);
  const count = async (act) => {
    setBusy(true);
    setMsg(null);
    try {
      const r = await api('POST', '/jobs/bulk', { action: act, filter: bulkFilter(filters), dryRun: true });
      setSel(r);
      setAction(act);
    } catch (e) {
      setMsg({ kind: 'error', text: e.message });
    } finally {
      setBusy(false);
    }
  };
  const run = async () => {
    setBusy(true);
    try {
      const r = await api('POST', '/jobs/bulk', { action, filter: bulkFilter(filters) });
      setMsg({ kind: 'ok', text: `${action === 'cancel' ? 'Canceled' : 'Queued again'}: ${r.done} of ${r.matched} job${r.matched === 1 ? '' : 's'}${r.skipped ? ` (${r.skipped} had moved on)` : ''}.` });
      setSel(null);
      onDone();
    } catch (e) {
      setMsg({ kind: 'error', text: e.message });
    } finally {
      setBusy(false);
    }
  };
  const verb = action === 'cancel' ? 'Cancel' : 'Retry';
  return html`<div class="bulk-bar" data-testid="bulk-bar">
    ${sel ? html`<span role="status" data-testid="bulk-count"><strong>${sel.matched}</strong>${` job${sel.matched === 1 ? '' : 's'} match${sel.matched === 1 ? 'es' : ''} these filters.`}</span>
      ${sel.matched ? html`<button type="button" class=${action === 'cancel' ? 'btn btn-danger' : 'btn btn-primary'}
        disabled=${busy} onClick=${run} data-testid="bulk-confirm">${verb} ${sel.matched} job${sel.matched === 1 ? '' : 's'}</button>` : null}
      <button type="button" class="btn" disabled=${busy} onClick=${() => setSel(null)}>Keep them</button>`
    : html`<span class="small muted">Select all matching:</span>
      <button type="button" class="btn" disabled=${busy} onClick=${() => count('cancel')}
        data-testid="bulk-cancel">Cancel all matching…</button>
      <button type="button" class="btn" disabled=${busy} onClick=${() => count('retry')}
        data-testid="bulk-retry">Retry all matching…</button>`}
    ${msg ? html`<p class=${`notice notice-${msg.kind}`} role=${msg.kind === 'error' ? 'alert' : 'status'}
      data-testid="bulk-result">${msg.text}</p>` : null}
  </div>`;
}
