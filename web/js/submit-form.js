// submit-form.js — the dashboard's submit form, built from GET
// /config/job-options alone: the input (dropped or chosen files, uploaded
// with progress; a path typed or picked in the input root; a folder), the
// preset, the lesson options (lesson presets only), the priority, the preset's typed parameters
// with their sweeps (params-form.js), templates, and the number of runs the
// submission creates, checked against limits.maxBatchSize before it is
// sent.  A 400 puts each details.fields message next to its field.
import { html, useState } from './lib.js';
import { api, ApiError } from './api.js';
import { ErrorBox, Field, describedBy, useId } from './components.js';
import { humanize } from './options.js';
import { FileDrop, InputPicker, uploadAll } from './inputs.js';
import {
  ParamFields, paramSchema, initialValues, collect, toForm, sweepFromValue, emptySweep,
} from './params-form.js';
import { TemplateBar } from './templates.js';

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

// What the input part of the form holds, as the request's md / sweep.md,
// and how many inputs that is (null: a folder walked by the server).
function inputOf(uploads, paths, dir, mdText) {
  if (dir) {
    const spec = { dir: dir.dir };
    if (dir.glob) spec.glob = dir.glob;
    if (dir.recursive) spec.recursive = true;
    return { sweepMd: spec, count: dir.count };
  }
  const list = [...uploads.filter((u) => u.status === 'done').map((u) => u.result.fileId), ...paths];
  const t = mdText.trim();
  if (t) list.push(t);
  if (list.length > 1) return { sweepMd: list, count: list.length };
  return { md: list[0], count: 1 };
}

// "3 × 4 × 2 = 24 runs", from the sizes of the swept things.
function runsText(factors, total) {
  const shown = factors.filter((f) => f.n !== 1);
  const word = (n) => `${n} run${n === 1 ? '' : 's'}`;
  if (!shown.length) return word(total);
  return `${shown.map((f) => `${f.n ?? '?'} ${f.what}`).join(' × ')} = ${total === null ? 'one run per file' : word(total)}`;
}

export function SubmitForm({ options, me }) {
  const id = useId('submit');
  const [preset, setPreset] = useState(() => defaultPreset(options));
  const p = options.presets.find((x) => x.id === preset) || options.presets[0];
  const schema = paramSchema(p);
  const [v, setV] = useState(() => withDefaults(options, preset, {
    md: '', withTts: false, forceTts: false, voiceAccent: '', mode: options.modes[0] || 'auto',
    notionDatabase: '', upload: options.uploadOptions[0] || 'auto', priority: '0',
  }));
  const [values, setValues] = useState(() => initialValues(schema));
  const [sweeps, setSweeps] = useState({});
  const [uploads, setUploads] = useState([]);
  const [paths, setPaths] = useState([]);
  const [dir, setDir] = useState(null);
  const [picker, setPicker] = useState(null); // {mode: 'input'} | {mode: 'file', param}
  const [fields, setFields] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);
  const limit = options.limits && options.limits.maxBatchSize;
  // The lesson workflow's own options (TTS, accent, mode, Notion) show
  // only for a preset of that workflow.
  const lesson = p.workflow === 'lesson';

  const set = (name) => (e) => {
    const t = e.currentTarget;
    setV((old) => ({ ...old, [name]: t.type === 'checkbox' ? t.checked : t.value }));
  };
  const clearField = (...names) => setFields((f) => {
    const out = { ...f };
    for (const n of names) delete out[n];
    return out;
  });

  const onFiles = (files) => {
    clearField('md', 'sweep.md', 'sweep');
    setDir(null);
    uploadAll(files, setUploads);
  };

  const input = inputOf(uploads, paths, dir, v.md);
  const { params: pv, sweep, sizes } = collect(schema, values, sweeps);
  const factors = schema.filter((x) => sweep[x.name] !== undefined)
    .map((x, i) => ({ n: sizes[i], what: `${x.label || x.name}` }));
  if (input.sweepMd) factors.push({ n: input.count, what: 'inputs' });
  const total = factors.reduce((acc, f) => (acc === null || f.n === null ? null : acc * f.n), 1);
  const isBatch = factors.length > 0;
  const overLimit = limit && total !== null && total > limit;
  const uploading = uploads.some((u) => u.status === 'uploading');

  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    setFields({});
    setDone(null);
    const body = { preset: p.id, upload: v.upload };
    if (input.md) body.md = input.md;
    if (lesson) {
      body.withTts = v.withTts;
      body.mode = v.mode;
      if (v.withTts && v.forceTts) body.forceTts = true;
      if (v.voiceAccent) body.voiceAccent = v.voiceAccent;
      if (v.notionDatabase) body.notionDatabase = v.notionDatabase;
    }
    const prio = Number(v.priority);
    if (v.priority !== '' && Number.isInteger(prio) && prio !== 0) body.priority = prio;
    else if (v.priority !== '' && !Number.isInteger(prio)) {
      setFields({ priority: 'Enter a whole number.' });
      return;
    }
    if (Object.keys(pv).length) body.params = pv;
    const sw = { ...sweep };
    if (input.sweepMd) sw.md = input.sweepMd;
    if (Object.keys(sw).length) body.sweep = sw;
    setBusy(true);
    try {
      const r = await api('POST', '/jobs', body);
      setDone({ id: r.jobId, batch: r.kind === 'batch', total: r.batch ? r.batch.total : null });
      setUploads([]);
      setPaths([]);
      setDir(null);
      setV((old) => ({ ...old, md: '' }));
    } catch (err) {
      const f = err instanceof ApiError ? err.fields : {};
      setFields(f);
      setError(Object.keys(f).length ? new Error('Some fields need attention (see the messages next to them).') : err);
    } finally {
      setBusy(false);
    }
  };

  const loadTemplate = (t) => {
    const vals = initialValues(schema);
    const sws = {};
    for (const x of schema) {
      if (t.params && Object.prototype.hasOwnProperty.call(t.params, x.name)) vals[x.name] = toForm(x, t.params[x.name]);
      if (t.sweep && t.sweep[x.name] !== undefined) sws[x.name] = sweepFromValue(x, t.sweep[x.name]);
    }
    setValues(vals);
    setSweeps(sws);
    setFields({});
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

  const inputError = fields.md || fields['sweep.md'];
  const chosen = (paths.length || dir) ? html`<div class="chosen" data-testid="chosen-inputs">
    ${dir ? html`<p>Folder <code>${dir.dir || '(input root)'}</code>${dir.glob ? html`, files matching <code>${dir.glob}</code>` : null}${dir.recursive ? ', with subfolders' : ''}
      ${dir.count !== null ? html` · <strong>${dir.count}</strong> file${dir.count === 1 ? '' : 's'}` : null}
      <button type="button" class="btn btn-quiet btn-small" onClick=${() => setDir(null)}
        aria-label="Remove the folder">Remove</button></p>` : null}
    ${paths.length ? html`<ul class="path-list">${paths.map((x) => html`<li key=${x}><code>${x}</code>
      <button type="button" class="btn btn-quiet btn-small" aria-label=${`Remove ${x}`}
        onClick=${() => setPaths((ps) => ps.filter((y) => y !== x))}>Remove</button></li>`)}</ul>` : null}
  </div>` : null;

  return html`<form class="submit-form" onSubmit=${submit} novalidate>
    <fieldset class=${`input-group${inputError ? ' has-error' : ''}`}>
      <legend>Input</legend>
      <${FileDrop} id=${`${id}-file`} uploads=${uploads} onFiles=${onFiles}
        onRemove=${(key) => setUploads((us) => us.filter((u) => u.key !== key))} error=${inputError}
        errorId=${`${id}-md-error`} />
      ${chosen}
      ${!dir ? html`<${Field} id=${`${id}-md`} label="…or a path under the input root"
          hint=${p.requiresInput ? 'This preset needs an input.' : 'Optional for this preset.'}>
        <div class="file-row">
          <input id=${`${id}-md`} name="md" type="text" value=${v.md} onInput=${set('md')}
            placeholder="lessons/b1-coffee-shop.md" autocomplete="off"
            aria-invalid=${inputError ? 'true' : undefined}
            aria-describedby=${describedBy(`${id}-md`, inputError, true)} />
          <button type="button" class="btn btn-small" onClick=${() => setPicker({ mode: 'input' })}
            data-testid="browse-inputs">Browse…</button>
        </div>
      </${Field}>` : null}
      ${fields.md ? html`<p class="field-error" id=${`${id}-md-error`} role="alert" data-field="md">${fields.md}</p>` : null}
      ${fields['sweep.md'] ? html`<p class="field-error" role="alert" data-field="sweep.md">${fields['sweep.md']}</p>` : null}
    </fieldset>

    <${Field} id=${`${id}-preset`} label="Preset" error=${fields.preset}
        hint=${`Workflow ${p.workflow}; up to ${p.maxAttempts} attempt${p.maxAttempts === 1 ? '' : 's'}.`}>
      <select id=${`${id}-preset`} name="preset" value=${p.id}
        onChange=${(e) => {
          const next = e.currentTarget.value;
          const np = options.presets.find((x) => x.id === next);
          setPreset(next);
          setValues(initialValues(paramSchema(np)));
          setSweeps({});
          setFields({});
          setV((old) => withDefaults(options, next, old));
        }}
        aria-invalid=${fields.preset ? 'true' : undefined}
        aria-describedby=${describedBy(`${id}-preset`, fields.preset, true)}>
        ${options.presets.map((x) => html`<option value=${x.id}>${x.label || x.id}</option>`)}
      </select>
    </${Field}>

    <${TemplateBar} preset=${p.id} me=${me} onLoad=${loadTemplate}
      current=${() => collect(schema, values, sweeps)} />

    <${ParamFields} idp=${id} params=${schema} values=${values} sweeps=${sweeps} fields=${fields}
      onValue=${(name, val) => { clearField(`params.${name}`); setValues((o) => ({ ...o, [name]: val })); }}
      onSweep=${(name, s) => { clearField(`params.${name}`, `sweep.${name}`, 'sweep'); setSweeps((o) => ({ ...o, [name]: s || emptySweep() })); }}
      onBrowse=${(name) => setPicker({ mode: 'file', param: name })} />

    ${lesson ? html`<fieldset class="lesson-options">
      <legend>Lesson options</legend>
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
      ${sel('notionDatabase', 'Notion database', [['', options.notionDatabases.length ? 'Do not publish' : 'None configured'],
        ...options.notionDatabases.map((d) => [d.id, d.name || d.id])], { disabled: !options.notionDatabases.length })}
    </fieldset>` : null}
    ${sel('upload', 'Artifact upload', options.uploadOptions.map((u) => [u, humanize(u)]),
      { hint: options.storage === 's3' ? 'S3 storage is configured.' : 'Artifacts stay on this machine.' })}
    <${Field} id=${`${id}-priority`} label="Priority" error=${fields.priority}
        hint=${`Higher runs first (${options.limits.minPriority} to ${options.limits.maxPriority}).`}>
      <input id=${`${id}-priority`} name="priority" type="number" step="1"
        min=${options.limits.minPriority} max=${options.limits.maxPriority}
        value=${v.priority} onInput=${set('priority')}
        aria-invalid=${fields.priority ? 'true' : undefined}
        aria-describedby=${describedBy(`${id}-priority`, fields.priority, true)} />
    </${Field}>

    <div class=${`runs${overLimit || fields.sweep ? ' has-error' : ''}`} data-testid="run-count"
        data-runs=${total === null ? '' : String(total)}>
      <p>${isBatch ? html`This submission makes <strong>one batch</strong>: ${runsText(factors, total)}.`
        : html`This submission makes <strong>one run</strong>.`}</p>
      ${overLimit ? html`<p class="field-error" role="alert" data-field="batch-limit">That is more than this
        server allows in one batch (${limit} runs, the administrator's setting${' '}<code>limits.maxBatchSize</code>).
        Sweep fewer values or choose fewer inputs, or submit the work in several batches.</p>` : null}
      ${fields.sweep ? html`<p class="field-error" role="alert" data-field="sweep">${fields.sweep}</p>` : null}
    </div>
    <${ErrorBox} error=${error} title="The job was not submitted" />
    ${done ? html`<p class="notice notice-ok" role="status">${done.batch
      ? html`Batch <a href=${`#/batches/${done.id}`}>#${done.id}</a> submitted${done.total ? ` (${done.total} runs)` : ''}.`
      : html`Job <a href=${`#/jobs/${done.id}`}>#${done.id}</a> submitted.`}</p>` : null}
    <button type="submit" class="btn btn-primary" disabled=${busy || uploading || overLimit}>
      ${busy ? 'Submitting…' : isBatch ? `Submit ${total === null ? 'the batch' : `${total} runs`}` : 'Submit job'}</button>
    ${picker ? html`<${InputPicker} mode=${picker.mode} onClose=${() => setPicker(null)}
      onChoose=${(c) => {
        const target = picker;
        setPicker(null);
        if (target.mode === 'file') {
          clearField(`params.${target.param}`);
          setValues((o) => ({ ...o, [target.param]: c.paths[0] }));
        } else if (c.kind === 'dir') {
          clearField('md', 'sweep.md', 'sweep');
          setUploads([]);
          setPaths([]);
          setV((o) => ({ ...o, md: '' }));
          setDir(c);
        } else if (c.paths.length === 1 && !uploads.length && !paths.length) {
          clearField('md', 'sweep.md');
          setV((o) => ({ ...o, md: c.paths[0] }));
        } else {
          clearField('md', 'sweep.md', 'sweep');
          setPaths((ps) => [...ps, ...c.paths.filter((x) => !ps.includes(x))]);
        }
      }} />` : null}
  </form>`;
}
