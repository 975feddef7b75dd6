// comfyui-admin.js — the admin page of the ComfyUI server pool
// (#/admin/comfyui, docs/comfyui.md "Servers"): every server with its
// health (status, last seen, last error), load (running of slots, the
// server's own queue), devices with VRAM, ComfyUI version, labels and
// whether it takes work; add (a 400 puts each message beside its field),
// enable/disable, edit slots and labels, refresh now, remove (confirmed);
// and the model catalogue (GET /comfyui/models: which server has which
// model).  The list is read again every few seconds while the page is
// visible (the pool's health thread changes it without events).
import { html, useEffect, useRef, useState } from './lib.js';
import { api } from './api.js';
import {
  Loading, ErrorBox, Empty, Field, Dialog, describedBy, useId, useSubmit,
} from './components.js';
import { bytes, dateTime } from './format.js';
import { forgetJobOptions } from './options.js';

const POLL_MS = 3000;

// "sdxl, fast" -> ["sdxl", "fast"] (blanks dropped).
function parseLabels(s) {
  return String(s || '').split(',').map((x) => x.trim()).filter(Boolean);
}

// A typed slots value: a number when it parses, else the text (so that the
// server's 400 names it).
function parseSlots(s) {
  const t = String(s).trim();
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

// The list of GET /comfyui/servers ({items: [...]}, or a bare list).
function serverList(r) {
  if (Array.isArray(r)) return r;
  return (r && (r.items || r.servers)) || [];
}

function StatusBadge({ s }) {
  const st = !s.enabled ? 'disabled' : (s.status || 'unknown');
  const cls = st === 'up' ? 'badge-succeeded' : st === 'down' ? 'badge-failed' : 'badge-queued';
  return html`<span class=${`badge ${cls}`} data-status=${st}>${st}</span>`;
}

function Devices({ list }) {
  if (!Array.isArray(list) || !list.length) return html`<span class="muted">—</span>`;
  return html`<ul class="plain-list">${list.map((d, i) => html`<li key=${i}>
    ${d.name || d.type || `device ${i}`}
    ${d.vramTotal ? html` <span class="small muted">${bytes(d.vramFree)} free of ${bytes(d.vramTotal)}</span>` : null}
  </li>`)}</ul>`;
}

// The state of a server form (add, edit): the values, each field's 400
// message (cleared by an edit of that field), a general error, busy; and
// the text inputs with their errors beside them.  send(values) returns
// the request's promise.
function useServerForm(idp, initial, send, onOk) {
  const [v, setV] = useState(initial);
  const { busy, fields, setFields, error, run } = useSubmit();
  const set = (name) => (e) => {
    const val = e.currentTarget.value;
    setV((o) => ({ ...o, [name]: val }));
    setFields((f) => ({ ...f, [name]: undefined }));
  };
  const submit = (e) => {
    e.preventDefault();
    return run(async () => onOk(await send(v), setV),
      (err, f) => (Object.keys(f).length ? null : err));
  };
  const input = (name, label, attrs, hint) => {
    const fid = `${idp}-${name}`;
    return html`<${Field} id=${fid} label=${label} error=${fields[name]} hint=${hint}>
      <input id=${fid} name=${name} value=${v[name]} onInput=${set(name)} ...${attrs}
        aria-invalid=${fields[name] ? 'true' : undefined}
        aria-describedby=${describedBy(fid, fields[name], hint)} /></${Field}>`;
  };
  return { busy, error, submit, input };
}

// ----------------------------------------------------------------- add form

function AddServer({ onAdded }) {
  const id = useId('csadd');
  const blank = { id: '', url: '', slots: '1', labels: '' };
  const f = useServerForm(id, blank, (v) => api('POST', '/comfyui/servers', {
    id: v.id.trim(), url: v.url.trim(), slots: parseSlots(v.slots), labels: parseLabels(v.labels),
  }), (s, setV) => { setV(blank); onAdded(s); });

  return html`<form class="card comfy-add" onSubmit=${f.submit} aria-labelledby=${`${id}-title`}
      data-testid="comfy-add" novalidate>
    <h2 id=${`${id}-title`}>Add a server</h2>
    <div class="comfy-add-grid">
      ${f.input('id', 'Id', { type: 'text', required: true, maxlength: 64, placeholder: 'gpu2' },
        'Letters, digits, - and _.')}
      ${f.input('url', 'URL', { type: 'text', required: true, placeholder: 'http://10.0.0.5:8188' },
        'Where ComfyUI listens (http or https).')}
      ${f.input('slots', 'Slots', { type: 'number', min: 1, step: 1 }, 'Prompts at once.')}
      ${f.input('labels', 'Labels', { type: 'text', placeholder: 'sdxl, fast' }, 'Comma-separated.')}
    </div>
    <${ErrorBox} error=${f.error} title="The server was not added" />
    <button type="submit" class="btn btn-primary" disabled=${f.busy}>${f.busy ? 'Adding…' : 'Add server'}</button>
  </form>`;
}

// ---------------------------------------------------------------- edit dialog

function EditDialog({ server, onClose, onSaved }) {
  const id = useId('csedit');
  const f = useServerForm(id, { slots: String(server.slots ?? 1), labels: (server.labels || []).join(', ') },
    (v) => api('PATCH', `/comfyui/servers/${encodeURIComponent(server.id)}`,
      { slots: parseSlots(v.slots), labels: parseLabels(v.labels) }),
    (s) => onSaved(s));
  return html`<${Dialog} title=${`Edit ${server.id}`} onClose=${onClose} labelledBy=${`${id}-title`}>
    <form method="dialog" onSubmit=${f.submit} novalidate>
      ${f.input('slots', 'Slots', { type: 'number', min: 1, step: 1 })}
      ${f.input('labels', 'Labels', { type: 'text' }, 'Comma-separated.')}
      <${ErrorBox} error=${f.error} title="The server was not changed" />
      <div class="dialog-buttons">
        <button type="button" class="btn" onClick=${onClose}>Cancel</button>
        <button type="submit" class="btn btn-primary" disabled=${f.busy} data-testid="confirm">
          ${f.busy ? 'Saving…' : 'Save'}</button>
      </div>
    </form>
  </${Dialog}>`;
}

// ----------------------------------------------------------------- the models

function Models({ models, error, onRetry }) {
  if (error) return html`<${ErrorBox} error=${error} title="The models did not load" onRetry=${onRetry} />`;
  if (!models) return html`<${Loading} what="the models" />`;
  const folders = Object.keys(models).sort();
  const rows = [];
  for (const f of folders) for (const m of models[f] || []) rows.push({ folder: f, ...m });
  if (!rows.length) return html`<${Empty}><p>No server has reported any models yet.</p></${Empty}>`;
  return html`<div class="table-wrap"><table class="comfy-models" data-testid="comfy-models">
    <caption class="visually-hidden">Models by folder</caption>
    <thead><tr><th scope="col">Folder</th><th scope="col">Model</th><th scope="col">Servers</th></tr></thead>
    <tbody>${rows.map((r) => html`<tr key=${`${r.folder}/${r.name}`} data-model=${r.name}>
      <td data-label="Folder">${r.folder}</td>
      <td data-label="Model"><code>${r.name}</code></td>
      <td data-label="Servers">${(r.servers || []).join(', ') || '—'}</td>
    </tr>`)}</tbody></table></div>`;
}

// ------------------------------------------------------------------ the page

export function ComfyServersPage() {
  const id = useId('comfy');
  const [servers, setServers] = useState(null);
  const [error, setError] = useState(null);
  const [models, setModels] = useState(null);
  const [modelsError, setModelsError] = useState(null);
  const [rowMsg, setRowMsg] = useState({});
  const [editing, setEditing] = useState(null);
  const [removing, setRemoving] = useState(null);
  const [tick, setTick] = useState(0);
  const busy = useRef(false);
  useEffect(() => {
    document.title = 'ComfyUI servers · batchbox';
    // the form's catalogue choices may have changed here: read them afresh
    return () => forgetJobOptions();
  }, []);

  const load = () => {
    if (busy.current) return Promise.resolve();
    busy.current = true;
    const a = api('GET', '/comfyui/servers').then(
      (r) => { setServers(serverList(r)); setError(null); },
      (e) => setError(e),
    );
    const b = api('GET', '/comfyui/models').then(
      (m) => { setModels(m || {}); setModelsError(null); },
      (e) => setModelsError(e),
    );
    return Promise.all([a, b]).finally(() => { busy.current = false; });
  };

  // Read now, then every POLL_MS while the tab is visible.
  useEffect(() => {
    load();
    const t = setInterval(() => { if (!document.hidden) load(); }, POLL_MS);
    const vis = () => { if (!document.hidden) load(); };
    document.addEventListener('visibilitychange', vis);
    return () => { clearInterval(t); document.removeEventListener('visibilitychange', vis); };
  }, [tick]);

  const say = (sid, kind, text) => setRowMsg((m) => ({ ...m, [sid]: { kind, text } }));
  const replace = (s) => setServers((list) => {
    if (!list) return [s];
    return list.some((x) => x.id === s.id) ? list.map((x) => (x.id === s.id ? s : x)) : [...list, s];
  });

  const act = async (s, method, path, body, done) => {
    say(s.id, 'info', 'Working…');
    try {
      const r = await api(method, path, body);
      if (r && r.id) replace(r);
      say(s.id, 'ok', done);
      if (method === 'DELETE') setServers((list) => list && list.filter((x) => x.id !== s.id));
      load();
    } catch (e) {
      say(s.id, 'error', e.message);
    }
  };
  const path = (s) => `/comfyui/servers/${encodeURIComponent(s.id)}`;

  return html`<div class="comfy-admin">
    <div class="section-head"><h1 tabindex="-1">ComfyUI servers</h1>
      <button type="button" class="btn" onClick=${() => load()}>Reload</button></div>
    <p class="muted">Jobs of a ComfyUI preset run on an enabled server that is up, has the preset's
      labels and every model the job names, and has a free slot; the least busy first. Servers from
      the configuration file come back at every start; the ones added here are kept in the database.</p>
    ${error ? html`<${ErrorBox} error=${error} title="The servers did not load" onRetry=${() => setTick((t) => t + 1)} />` : null}
    ${!servers && !error ? html`<${Loading} what="the servers" />` : null}
    ${servers && !servers.length ? html`<${Empty}><p>No ComfyUI server yet — add one below.</p></${Empty}>` : null}
    ${servers && servers.length ? html`<div class="card table-wrap"><table class="comfy-table" data-testid="comfy-servers">
      <caption class="visually-hidden">ComfyUI servers</caption>
      <thead><tr><th scope="col">Server</th><th scope="col">Status</th><th scope="col">Load</th>
        <th scope="col">Devices</th><th scope="col">Labels</th><th scope="col">Actions</th></tr></thead>
      <tbody>${servers.map((s) => {
        const msg = rowMsg[s.id];
        return html`<tr key=${s.id} data-server=${s.id} data-status=${s.status || ''}
            data-enabled=${s.enabled ? 'true' : 'false'}>
          <td data-label="Server"><strong>${s.id}</strong>
            <span class="block small muted comfy-url">${s.url || ''}</span>
            <span class="block small muted">${s.comfyuiVersion ? `ComfyUI ${s.comfyuiVersion}` : 'version unknown'}
              ${s.source ? ` · from ${s.source}` : ''}</span></td>
          <td data-label="Status"><${StatusBadge} s=${s} />
            <span class="block small muted">seen ${s.lastSeenAt ? dateTime(s.lastSeenAt) : 'never'}</span>
            ${s.lastError ? html`<span class="block small comfy-error" data-testid="last-error">${s.lastError}</span>` : null}</td>
          <td data-label="Load"><span data-testid="running">${`${s.running ?? 0} of ${s.slots ?? '?'} slots`}</span>
            <span class="block small muted">queue ${s.queueRemaining ?? '—'}</span>
            ${s.promptsDone !== undefined
              ? html`<span class="block small muted">${`${s.promptsDone} done, ${s.promptsFailed ?? 0} failed`}</span>` : null}
            ${s.models !== undefined ? html`<span class="block small muted">${s.models} models</span>` : null}</td>
          <td data-label="Devices"><${Devices} list=${s.devices} /></td>
          <td data-label="Labels">${(s.labels || []).length ? (s.labels || []).map((l) => html`<code class="label-chip">${l}</code> `)
            : html`<span class="muted">none</span>`}</td>
          <td data-label="Actions"><div class="row-actions">
            <button type="button" class="btn btn-small" data-testid="toggle-enabled"
              aria-label=${`${s.enabled ? 'Disable' : 'Enable'} ${s.id}`}
              onClick=${() => act(s, 'PATCH', path(s), { enabled: !s.enabled }, s.enabled ? 'Disabled.' : 'Enabled.')}>
              ${s.enabled ? 'Disable' : 'Enable'}</button>
            <button type="button" class="btn btn-small" aria-label=${`Edit ${s.id}`}
              onClick=${() => setEditing(s)}>Edit</button>
            <button type="button" class="btn btn-small" aria-label=${`Refresh ${s.id}`}
              onClick=${() => act(s, 'POST', `${path(s)}/refresh`, undefined, 'Refreshed.')}>Refresh</button>
            <button type="button" class="btn btn-small btn-danger" aria-label=${`Remove ${s.id}`}
              onClick=${() => setRemoving(s)}>Remove</button></div>
            ${msg ? html`<span class=${`row-msg row-${msg.kind}`} role=${msg.kind === 'error' ? 'alert' : 'status'}>${msg.text}</span>` : null}
          </td>
        </tr>`;
      })}</tbody></table></div>` : null}

    <${AddServer} onAdded=${(s) => { replace(s); say(s.id, 'ok', 'Added.'); load(); }} />

    <section class="card" aria-labelledby=${`${id}-models`}>
      <h2 id=${`${id}-models`}>Models</h2>
      <p class="small muted">What the servers report (<code>/models</code>); an enum parameter with
        <code>optionsSource: "comfyui:FOLDER"</code> offers these in the form.</p>
      <${Models} models=${models} error=${modelsError} onRetry=${() => load()} />
    </section>

    ${editing ? html`<${EditDialog} server=${editing} onClose=${() => setEditing(null)}
      onSaved=${(s) => { setEditing(null); replace(s); say(s.id, 'ok', 'Saved.'); }} />` : null}
    ${removing ? html`<${Dialog} title=${`Remove ${removing.id}?`} labelledBy=${`${id}-rm`}
        onClose=${() => setRemoving(null)}>
      <p>batchbox sends no more work to ${removing.id} and forgets it.
        ${removing.source === 'config' ? ' It is in the configuration file: it comes back at the next start unless removed there too.' : ''}</p>
      <div class="dialog-buttons">
        <button type="button" class="btn" onClick=${() => setRemoving(null)}>Keep it</button>
        <button type="button" class="btn btn-danger" data-testid="confirm"
          onClick=${() => { const s = removing; setRemoving(null); act(s, 'DELETE', path(s), undefined, 'Removed.'); }}>Remove</button>
      </div>
    </${Dialog}>` : null}
  </div>`;
}
