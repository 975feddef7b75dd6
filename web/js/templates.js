// templates.js — named sets of form values per preset (GET/POST
// /presets/:id/templates, DELETE /templates/:id): the submit form's "Load
// template", "Save as template" (admins may share one with everybody)
// and delete.  The form decides what a template holds (params and sweep).
import { html, useEffect, useState } from './lib.js';
import { api, ApiError } from './api.js';
import { Field, Dialog, ErrorBox, describedBy, useId } from './components.js';

// preset: its id; me: the signed-in user; current(): {params, sweep} of the
// form now; onLoad(template) fills the form.
export function TemplateBar({ preset, me, current, onLoad }) {
  const id = useId('tpl');
  const [list, setList] = useState({ items: [], error: null, loading: true });
  const [chosen, setChosen] = useState('');
  const [dialog, setDialog] = useState(null); // 'save' | 'delete' | null
  const [note, setNote] = useState(null);
  const [tick, setTick] = useState(0);
  const admin = me.role === 'admin';

  useEffect(() => {
    let gone = false;
    setList((l) => ({ ...l, loading: true, error: null }));
    api('GET', `/presets/${encodeURIComponent(preset)}/templates`).then(
      (r) => { if (!gone) setList({ items: r.templates || [], error: null, loading: false }); },
      (error) => { if (!gone) setList({ items: [], error, loading: false }); },
    );
    return () => { gone = true; };
  }, [preset, tick]);

  useEffect(() => { setChosen(''); setNote(null); }, [preset]);

  const t = list.items.find((x) => String(x.id) === chosen);
  const mine = (x) => x && (String(x.ownerId) === String(me.id) || admin);

  return html`<div class="templates" data-testid="templates">
    <div class="template-row">
      <div class="field">
        <label for=${`${id}-sel`}>Template</label>
        <select id=${`${id}-sel`} value=${chosen} onChange=${(e) => { setChosen(e.currentTarget.value); setNote(null); }}
          disabled=${!list.items.length}>
          <option value="">${list.loading ? 'Loading…' : list.items.length ? 'Choose a template…' : 'No templates yet'}</option>
          ${list.items.map((x) => html`<option value=${String(x.id)}>${x.name}${x.shared ? ' (shared)' : ''}</option>`)}
        </select>
      </div>
      <div class="template-buttons">
        <button type="button" class="btn btn-small" disabled=${!t}
          onClick=${() => { onLoad(t); setNote({ kind: 'ok', text: `Loaded "${t.name}".` }); }}>Load template</button>
        <button type="button" class="btn btn-small btn-danger" disabled=${!t || !mine(t)}
          onClick=${() => setDialog('delete')}>Delete</button>
        <button type="button" class="btn btn-small" onClick=${() => setDialog('save')}>Save as template</button>
      </div>
    </div>
    ${list.error ? html`<${ErrorBox} error=${list.error} title="The templates did not load"
      onRetry=${() => setTick((n) => n + 1)} />` : null}
    ${note ? html`<p class=${`notice notice-${note.kind}`} role="status">${note.text}</p>` : null}
    ${dialog === 'save' ? html`<${SaveDialog} preset=${preset} admin=${admin} current=${current}
      initial=${t && mine(t) ? t : null}
      onClose=${() => setDialog(null)}
      onSaved=${(saved) => {
        setDialog(null);
        setTick((n) => n + 1);
        setChosen(String(saved.id));
        setNote({ kind: 'ok', text: `Saved the template "${saved.name}".` });
      }} />` : null}
    ${dialog === 'delete' && t ? html`<${Dialog} title=${`Delete the template "${t.name}"?`}
        onClose=${() => setDialog(null)} labelledBy=${`${id}-del`}>
      <${DeleteBody} t=${t} onClose=${() => setDialog(null)} onDeleted=${() => {
        setDialog(null);
        setChosen('');
        setTick((n) => n + 1);
        setNote({ kind: 'ok', text: `Deleted the template "${t.name}".` });
      }} />
    </${Dialog}>` : null}
  </div>`;
}

function DeleteBody({ t, onClose, onDeleted }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      await api('DELETE', `/templates/${encodeURIComponent(t.id)}`);
      onDeleted();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<p>${t.shared ? 'It is shared: nobody will see it any more.' : 'Only the template goes; jobs made with it stay.'}</p>
    <${ErrorBox} error=${error} title="The template was not deleted" />
    <div class="dialog-buttons">
      <button type="button" class="btn" onClick=${onClose}>Keep it</button>
      <button type="button" class="btn btn-danger" disabled=${busy} onClick=${go}>Delete the template</button>
    </div>`;
}

function SaveDialog({ preset, admin, current, initial, onClose, onSaved }) {
  const id = useId('tplsave');
  const [name, setName] = useState(initial ? initial.name : '');
  const [shared, setShared] = useState(initial ? !!initial.shared : false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [fields, setFields] = useState({});
  const save = async (e) => {
    e.preventDefault();
    setError(null);
    setFields({});
    if (!name.trim()) { setFields({ name: 'Give the template a name.' }); return; }
    const { params, sweep } = current();
    const body = { name: name.trim(), params };
    if (Object.keys(sweep).length) body.sweep = sweep;
    if (admin) body.shared = shared;
    setBusy(true);
    try {
      const r = await api('POST', `/presets/${encodeURIComponent(preset)}/templates`, body);
      onSaved(r);
    } catch (err) {
      const f = err instanceof ApiError ? err.fields : {};
      setFields(f);
      setError(Object.keys(f).length && f.name ? null : err);
      setBusy(false);
    }
  };
  return html`<${Dialog} title="Save as template" onClose=${onClose} labelledBy=${`${id}-title`}>
    <form onSubmit=${save} novalidate>
      <p>Saves this form's parameters and sweeps under a name, for this preset.
        Saving under a name you already use replaces that template.</p>
      <${Field} id=${`${id}-name`} label="Template name" error=${fields.name}>
        <input type="text" id=${`${id}-name`} value=${name} maxlength="100" autocomplete="off"
          aria-invalid=${fields.name ? 'true' : undefined}
          aria-describedby=${describedBy(`${id}-name`, fields.name)}
          onInput=${(e) => setName(e.currentTarget.value)} />
      </${Field}>
      ${admin ? html`<${Field} id=${`${id}-share`} label="Share with everybody" inline error=${fields.shared}>
        <input type="checkbox" id=${`${id}-share`} checked=${shared}
          onChange=${(e) => setShared(e.currentTarget.checked)} />
      </${Field}>` : null}
      ${Object.entries(fields).filter(([k]) => k !== 'name' && k !== 'shared').map(([k, msg]) => html`
        <p class="field-error" role="alert">${k}: ${msg}</p>`)}
      <${ErrorBox} error=${error} title="The template was not saved" />
      <div class="dialog-buttons">
        <button type="button" class="btn" onClick=${onClose}>Cancel</button>
        <button type="submit" class="btn btn-primary" disabled=${busy}>${busy ? 'Saving…' : 'Save the template'}</button>
      </div>
    </form>
  </${Dialog}>`;
}
