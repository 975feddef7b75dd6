// apikeys.js — the profile page's API keys (docs/integrations.md, "API
// keys"): create one with a name, a scope and an optional expiry (the key
// is shown once, in a dialog with a copy button), list them with their
// last use, revoke one.  GET/POST /user/api-keys, DELETE /user/api-keys/:id.
import { html, useEffect, useState } from './lib.js';
import { api, ApiError } from './api.js';
import { Dialog, ErrorBox, Field, describedBy, useId } from './components.js';
import { dateTime } from './format.js';

const SCOPES = [
  ['read', 'read — look at jobs, logs and artifacts'],
  ['submit', 'submit — also submit, upload, cancel and retry your jobs'],
  ['admin', 'admin — everything you may do (admins only)'],
];

export function ApiKeysCard({ me }) {
  const id = useId('keys');
  const [list, setList] = useState({ items: [], error: null, loading: true });
  const [tick, setTick] = useState(0);
  const [form, setForm] = useState({ name: '', scope: 'read', expires: '' });
  const [err, setErr] = useState({ error: null, fields: {} });
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState(null);
  const [revoking, setRevoking] = useState(null);

  useEffect(() => {
    let gone = false;
    api('GET', '/user/api-keys').then(
      (r) => { if (!gone) setList({ items: r.items || [], error: null, loading: false }); },
      (error) => { if (!gone) setList({ items: [], error, loading: false }); },
    );
    return () => { gone = true; };
  }, [tick]);

  const create = async (e) => {
    e.preventDefault();
    if (!form.name.trim()) {
      setErr({ error: null, fields: { name: 'Give the key a name.' } });
      return;
    }
    setBusy(true);
    setErr({ error: null, fields: {} });
    const body = { name: form.name.trim(), scope: form.scope };
    if (form.expires) body.expiresAt = `${form.expires}T00:00:00Z`;
    try {
      const k = await api('POST', '/user/api-keys', body);
      setCreated(k);
      setForm({ name: '', scope: 'read', expires: '' });
      setTick((t) => t + 1);
    } catch (error) {
      const fields = error instanceof ApiError ? error.fields || {} : {};
      setErr({ error: Object.keys(fields).length ? null : error, fields });
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (k) => {
    try {
      await api('DELETE', `/user/api-keys/${encodeURIComponent(k.id)}`);
      setRevoking(null);
      setTick((t) => t + 1);
    } catch (error) {
      setRevoking({ ...k, error });
    }
  };

  const scopes = SCOPES.filter(([s]) => s !== 'admin' || me.role === 'admin');
  const live = list.items.filter((k) => !k.revokedAt);
  return html`<section class="card" aria-labelledby=${`${id}-h`} data-testid="api-keys">
    <h2 id=${`${id}-h`}>API keys</h2>
    <p class="muted small">For scripts and the CLI (<code>BATCHBOX_API_KEY</code>, or
      <code>Authorization: Bearer bbk_…</code>). A key is shown once, when you create it.</p>
    <form onSubmit=${create} novalidate class="key-form">
      <${Field} id=${`${id}-name`} label="Key name" error=${err.fields.name}>
        <input id=${`${id}-name`} type="text" maxlength="100" value=${form.name}
          aria-invalid=${err.fields.name ? 'true' : undefined}
          aria-describedby=${describedBy(`${id}-name`, err.fields.name)}
          onInput=${(e) => { const v = e.currentTarget.value; setForm((f) => ({ ...f, name: v })); }} />
      </${Field}>
      <${Field} id=${`${id}-scope`} label="Scope" error=${err.fields.scope}>
        <select id=${`${id}-scope`} value=${form.scope}
          onChange=${(e) => { const v = e.currentTarget.value; setForm((f) => ({ ...f, scope: v })); }}>
          ${scopes.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
        </select>
      </${Field}>
      <${Field} id=${`${id}-exp`} label="Expires (optional)" error=${err.fields.expiresAt}>
        <input id=${`${id}-exp`} type="date" value=${form.expires}
          aria-describedby=${describedBy(`${id}-exp`, err.fields.expiresAt)}
          onInput=${(e) => { const v = e.currentTarget.value; setForm((f) => ({ ...f, expires: v })); }} />
      </${Field}>
      <${ErrorBox} error=${err.error} title="The key was not created" />
      <button type="submit" class="btn btn-primary" disabled=${busy}>${busy ? 'Creating…' : 'Create key'}</button>
    </form>
    <${ErrorBox} error=${list.error} title="The keys could not be loaded" onRetry=${() => setTick((t) => t + 1)} />
    ${list.loading ? html`<p class="muted">Loading…</p>` : !list.items.length ? html`<p class="muted">No keys yet.</p>` : html`
      <div class="table-wrap"><table class="mini key-table">
        <caption class="visually-hidden">Your API keys</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Scope</th>
          <th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${list.items.map((k) => html`<tr key=${k.id} class=${k.revokedAt ? 'muted' : ''}>
          <td>${k.name}</td><td><code>${k.prefix}…</code></td><td>${k.scope}</td>
          <td>${k.lastUsedAt ? dateTime(k.lastUsedAt) : 'never'}</td>
          <td>${k.expiresAt ? dateTime(k.expiresAt) : '—'}</td>
          <td>${k.revokedAt ? html`revoked ${dateTime(k.revokedAt)}` : html`<button type="button"
            class="btn btn-small" onClick=${() => setRevoking(k)}
            aria-label=${`Revoke the key ${k.name}`}>Revoke</button>`}</td></tr>`)}</tbody>
      </table></div>
      <p class="muted small">${live.length} live key${live.length === 1 ? '' : 's'}.</p>`}
    ${created ? html`<${Dialog} title="Your new API key" onClose=${() => setCreated(null)}
        labelledBy=${`${id}-new`}>
      <p>Copy it now: it will not be shown again.</p>
      <p><code class="new-key" data-testid="new-key">${created.key}</code></p>
      <div class="dialog-buttons">
        <button type="button" class="btn" onClick=${() => navigator.clipboard && navigator.clipboard.writeText(created.key)}>Copy</button>
        <button type="button" class="btn btn-primary" onClick=${() => setCreated(null)}>Done</button>
      </div>
    </${Dialog}>` : null}
    ${revoking ? html`<${Dialog} title="Revoke this key?" onClose=${() => setRevoking(null)}
        labelledBy=${`${id}-rev`}>
      <p>Scripts using <strong>${revoking.name}</strong> (<code>${revoking.prefix}…</code>) stop working at once.</p>
      <${ErrorBox} error=${revoking.error} title="The key was not revoked" />
      <div class="dialog-buttons">
        <button type="button" class="btn" onClick=${() => setRevoking(null)}>Keep it</button>
        <button type="button" class="btn btn-danger" onClick=${() => revoke(revoking)}>Revoke</button>
      </div>
    </${Dialog}>` : null}
  </section>`;
}
