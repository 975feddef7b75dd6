// params-form.js — a preset's typed parameters in the submit form, rendered
// from the schema GET /config/job-options gives and nothing else (no
// guessing from names): one widget per type, defaults, help, required
// marks, the server's field errors (params.NAME, sweep.NAME), and a
// "sweep" control per param that turns the submission into a batch of
// runs.  docs/ui.md describes the form.
import { html, useState } from './lib.js';
import { uploadFile } from './api.js';
import { rememberFile } from './options.js';
import { Field, describedBy } from './components.js';

// A preset's params as schema objects (a bare name is an undeclared string).
export function paramSchema(preset) {
  return ((preset && preset.params) || []).map((p) => (typeof p === 'string'
    ? { name: p, type: 'string', declared: false } : p));
}

// An enum's choices as [{value, label}] (the schema allows plain strings).
export function choiceList(p) {
  return (p.choices || []).map((c) => (c !== null && typeof c === 'object'
    ? { value: c.value, label: c.label === undefined || c.label === null ? String(c.value) : String(c.label) }
    : { value: c, label: String(c) }));
}

// A typed value as the form holds it: a boolean for bool, else text.
export function toForm(p, v) {
  if (p.type === 'bool') return v === true || v === 'true';
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

// The form's starting values: every param's default.
export function initialValues(params) {
  const out = {};
  for (const p of params) out[p.name] = toForm(p, p.default);
  return out;
}

// The JSON value sent for what the form holds; undefined leaves the param
// out (the server fills its default, or names it when required).  Text
// that does not parse is sent as it is, so the server's message names it.
export function fromForm(p, raw) {
  if (p.type === 'bool') return raw === true;
  const s = typeof raw === 'string' ? raw : String(raw ?? '');
  if (p.type === 'text' || p.type === 'string' || p.type === 'file') return s === '' ? undefined : s;
  const t = s.trim();
  if (t === '') return undefined;
  if (p.type === 'int' || p.type === 'seed') {
    if (p.type === 'seed' && t === 'random') return 'random';
    return /^-?\d+$/.test(t) && Number.isSafeInteger(Number(t)) ? Number(t) : t;
  }
  if (p.type === 'float') {
    const n = Number(t);
    return Number.isFinite(n) ? n : t;
  }
  if (p.type === 'enum') {
    const c = choiceList(p).find((x) => String(x.value) === t);
    return c ? c.value : t;
  }
  return t;
}

// A param's sweep editor state: off, or the values to try.
export function emptySweep() {
  return { on: false, text: '', picked: [], count: '4', start: '', lines: false };
}

function splitValues(p, text, lines) {
  if (p.type === 'text' && !lines) {
    return text.split(/^---$/m).map((x) => x.replace(/^\n+|\n+$/g, '')).filter((x) => x.trim() !== '');
  }
  return text.split('\n').map((x) => x.trim()).filter((x) => x !== '');
}

// The `sweep` entry of a param: an array of values, or {count} /
// {start, count} for a seed; null when the param is not swept.
export function sweepValue(p, s) {
  if (!s || !s.on) return null;
  if (p.type === 'bool') return [true, false];
  if (p.type === 'enum') {
    return choiceList(p).filter((c) => s.picked.includes(String(c.value))).map((c) => c.value);
  }
  if (p.type === 'seed' && !s.list) {
    const num = (x) => (/^\d+$/.test(x.trim()) ? Number(x.trim()) : x.trim());
    const out = {};
    if (s.start.trim() !== '') out.start = num(s.start);
    out.count = num(s.count);
    return out;
  }
  return splitValues(p, s.text, s.lines).map((x) => fromForm(p, x));
}

// How many values a sweep entry stands for (null: not known here).
export function sweepSize(v) {
  if (Array.isArray(v)) return v.length;
  if (v && typeof v === 'object' && Number.isInteger(v.count) && v.count >= 0) return v.count;
  return null;
}

// The form state of a stored sweep entry (a template's).
export function sweepFromValue(p, v) {
  const s = { ...emptySweep(), on: true };
  if (Array.isArray(v)) {
    if (p.type === 'enum') s.picked = v.map(String);
    else if (p.type === 'seed') { s.list = true; s.text = v.join('\n'); }
    else s.text = v.map((x) => toForm(p, x)).join(p.type === 'text' ? '\n---\n' : '\n');
  } else if (v && typeof v === 'object') {
    s.count = v.count === undefined ? '' : String(v.count);
    s.start = v.start === undefined ? '' : String(v.start);
  }
  return s;
}

// What a number param accepts, in words ("16 to 4096, in steps of 16").
function rangeText(p) {
  const parts = [];
  const has = (x) => x !== undefined && x !== null;
  if (has(p.min) && has(p.max)) parts.push(`${p.min} to ${p.max}`);
  else if (has(p.min)) parts.push(`at least ${p.min}`);
  else if (has(p.max)) parts.push(`at most ${p.max}`);
  if (has(p.step)) parts.push(`in steps of ${p.step}`);
  if (has(p.maxLength)) parts.push(`up to ${p.maxLength} characters`);
  if (p.type === 'seed') parts.push('a whole number from 0, or random');
  return parts.join(', ');
}

function hintOf(p) {
  const r = rangeText(p);
  const h = [p.help, r ? `${r.charAt(0).toUpperCase()}${r.slice(1)}.` : ''].filter(Boolean).join(' ');
  return h || undefined;
}

function Label({ p }) {
  return html`${p.label || p.name}${p.required
    ? html`<span class="req" aria-hidden="true"> *</span><span class="visually-hidden"> (required)</span>` : null}`;
}

// A `file` param: a path under the input root (typed, or chosen with the
// input picker) or a file uploaded here (its upload id).
function FileParam({ p, id, common, value, onValue, onBrowse }) {
  const [up, setUp] = useState(null); // {name, progress} | {error}
  const name = p.label || p.name;
  const upload = async (f) => {
    setUp({ name: f.name, progress: 0 });
    try {
      const r = await uploadFile(f, (progress) => setUp({ name: f.name, progress }));
      rememberFile(r);
      setUp(null);
      onValue(r.fileId);
    } catch (e) {
      setUp({ error: `Upload of ${f.name} failed: ${e.message}` });
    }
  };
  return html`<div class="file-row">
    <input type="text" ...${common} value=${value} onInput=${(e) => onValue(e.currentTarget.value)}
      autocomplete="off" placeholder="a path under the input root, or an upload id" />
    <button type="button" class="btn btn-small" onClick=${() => onBrowse(p.name)}
      aria-label=${`Browse the inputs for ${name}`}>Browse…</button>
    <input type="file" id=${`${id}-upload`} class="visually-hidden-input" aria-label=${`Upload a file for ${name}`}
      onChange=${(e) => { const f = e.currentTarget.files[0]; if (f) upload(f); e.currentTarget.value = ''; }} />
    <label for=${`${id}-upload`} class="btn btn-small">Upload…</label>
  </div>
  ${up && !up.error ? html`<p class="hint" role="status">Uploading ${up.name}… ${Math.round(up.progress * 100)}%</p>` : null}
  ${up && up.error ? html`<p class="field-error" role="alert">${up.error}</p>` : null}`;
}

// The single-value widget of one param.
function Widget({ p, id, value, onValue, error, hint, onBrowse }) {
  const common = {
    id,
    name: `params.${p.name}`,
    'aria-invalid': error ? 'true' : undefined,
    'aria-required': p.required ? 'true' : undefined,
    'aria-describedby': describedBy(id, error, hint),
    'data-param': p.name,
  };
  const text = (e) => onValue(e.currentTarget.value);
  switch (p.type) {
    case 'bool':
      return html`<input type="checkbox" ...${common} checked=${value === true}
        onChange=${(e) => onValue(e.currentTarget.checked)} />`;
    case 'text':
      return html`<textarea rows="3" ...${common} value=${value} maxlength=${p.maxLength}
        onInput=${text}></textarea>`;
    case 'int':
    case 'float':
      return html`<input type="number" ...${common} value=${value} onInput=${text}
        min=${p.min} max=${p.max} step=${p.step ?? (p.type === 'int' ? 1 : 'any')} />`;
    case 'enum': {
      const choices = choiceList(p);
      const blank = !p.required || p.default === undefined || p.default === null;
      return html`<select ...${common} value=${value} onChange=${text}>
        ${blank ? html`<option value="">${p.required ? 'Choose…' : '(not set)'}</option>` : null}
        ${choices.map((c) => html`<option value=${String(c.value)}>${c.label}</option>`)}
      </select>`;
    }
    case 'seed': {
      const random = value === 'random';
      return html`<div class="seed-row">
        <input type="number" ...${common} min="0" step="1" value=${random ? '' : value}
          disabled=${random} placeholder=${random ? 'chosen at submit' : ''} onInput=${text} />
        <span class="field-inline">
          <input type="checkbox" id=${`${id}-random`} checked=${random}
            onChange=${(e) => onValue(e.currentTarget.checked ? 'random' : '')} />
          <label for=${`${id}-random`}>Random</label>
        </span>
      </div>`;
    }
    case 'file':
      return html`<${FileParam} p=${p} id=${id} common=${common} value=${value} onValue=${onValue}
        onBrowse=${onBrowse} />`;
    default:
      return html`<input type="text" ...${common} value=${value} onInput=${text}
        maxlength=${p.maxLength} autocomplete="off" />`;
  }
}

// The several-values editor of one swept param.
function SweepEditor({ p, id, s, onSweep, error }) {
  const set = (patch) => onSweep({ ...s, ...patch });
  const described = error ? `${id}-error` : undefined;
  if (p.type === 'bool') return html`<p class="hint">Runs once with it on and once with it off.</p>`;
  if (p.type === 'enum') {
    return html`<fieldset class="sweep-choices" aria-describedby=${described}>
      <legend class="visually-hidden">Values of ${p.label || p.name} to try</legend>
      ${choiceList(p).map((c, i) => html`<span class="field-inline">
        <input type="checkbox" id=${`${id}-c${i}`} checked=${s.picked.includes(String(c.value))}
          onChange=${(e) => {
            const v = String(c.value);
            const on = e.currentTarget.checked;
            set({ picked: on ? [...s.picked.filter((x) => x !== v), v] : s.picked.filter((x) => x !== v) });
          }} />
        <label for=${`${id}-c${i}`}>${c.label}</label></span>`)}
    </fieldset>`;
  }
  if (p.type === 'seed' && !s.list) {
    return html`<div class="row2">
      <div class="field"><label for=${`${id}-count`}>Number of seeds</label>
        <input type="number" id=${`${id}-count`} min="1" step="1" value=${s.count}
          aria-describedby=${described} data-sweep-count=${p.name}
          onInput=${(e) => set({ count: e.currentTarget.value })} /></div>
      <div class="field"><label for=${`${id}-start`}>Starting at</label>
        <input type="number" id=${`${id}-start`} min="0" step="1" value=${s.start}
          placeholder="random" aria-describedby=${described}
          onInput=${(e) => set({ start: e.currentTarget.value })} /></div>
    </div>`;
  }
  // A text param's values may span lines (separated by ---), or be one per
  // line (a list of prompts pasted from a file).
  const many = p.type === 'text' && !s.lines ? 'Values, separated by a line with only ---'
    : 'Values to try, one per line';
  return html`<div class="field"><label for=${`${id}-values`}>${many}</label>
    <textarea id=${`${id}-values`} rows="3" value=${s.text} data-sweep-values=${p.name}
      aria-describedby=${described} onInput=${(e) => set({ text: e.currentTarget.value })}></textarea>
    ${p.type === 'text' ? html`<span class="field-inline">
      <input type="checkbox" id=${`${id}-lines`} checked=${!!s.lines} data-sweep-lines=${p.name}
        onChange=${(e) => set({ lines: e.currentTarget.checked })} />
      <label for=${`${id}-lines`}>One value per line</label></span>` : null}</div>`;
}

// Every param of the preset: values[name], sweeps[name] (see emptySweep),
// fields = the 400's details.fields; onValue(name, v), onSweep(name, s),
// onBrowse(name) opens the input picker for a file param.
export function ParamFields({ idp, params, values, sweeps, fields, onValue, onSweep, onBrowse }) {
  if (!params.length) return null;
  return html`<fieldset class=${`params${fields.params ? ' has-error' : ''}`} data-testid="params">
    <legend>Parameters</legend>
    ${params.map((p) => {
      const id = `${idp}-p-${p.name}`;
      const error = fields[`params.${p.name}`] || fields[`sweep.${p.name}`];
      const hint = hintOf(p);
      const s = sweeps[p.name] || emptySweep();
      const sv = sweepValue(p, s);
      const n = sweepSize(sv);
      const sweepToggle = html`<span class="field-inline sweep-toggle">
        <input type="checkbox" id=${`${id}-sweep`} checked=${s.on} data-sweep=${p.name}
          onChange=${(e) => onSweep(p.name, { ...s, on: e.currentTarget.checked })} />
        <label for=${`${id}-sweep`}>Sweep${s.on && n !== null ? ` (${n} value${n === 1 ? '' : 's'})` : ''}</label>
        <span class="visually-hidden"> ${p.label || p.name}</span></span>`;
      return html`<div class=${`param${error ? ' has-error' : ''}${s.on ? ' swept' : ''}`} key=${p.name}
          data-param-field=${p.name} data-type=${p.type}>
        <div class="param-head">
          ${s.on ? html`<span class="param-name">${html`<${Label} p=${p} />`}</span>` : null}
          ${sweepToggle}
        </div>
        ${s.on ? html`<${SweepEditor} p=${p} id=${id} s=${s} error=${error}
            onSweep=${(x) => onSweep(p.name, x)} />
          ${hint ? html`<p class="hint">${hint}</p>` : null}
          ${error ? html`<p class="field-error" id=${`${id}-error`} role="alert"
            data-field=${`params.${p.name}`}>${error}</p>` : null}`
        : html`<${Field} id=${id} label=${html`<${Label} p=${p} />`} hint=${hint} inline=${p.type === 'bool'}>
            <${Widget} p=${p} id=${id} value=${values[p.name]} error=${error} hint=${hint}
              onValue=${(v) => onValue(p.name, v)} onBrowse=${onBrowse} />
          </${Field}>
          ${error ? html`<p class="field-error" id=${`${id}-error`} role="alert"
            data-field=${`params.${p.name}`}>${error}</p>` : null}`}
      </div>`;
    })}
    ${fields.params ? html`<p class="field-error" role="alert" data-field="params">${fields.params}</p>` : null}
  </fieldset>`;
}

// The params and sweep a submission (or a template) carries.
// Returns {params, sweep, sizes: [n or null per swept param]}.
export function collect(params, values, sweeps) {
  const out = {};
  const sweep = {};
  const sizes = [];
  for (const p of params) {
    const sv = sweepValue(p, sweeps[p.name]);
    if (sv !== null) {
      sweep[p.name] = sv;
      sizes.push(sweepSize(sv));
      continue;
    }
    const v = fromForm(p, values[p.name]);
    if (v !== undefined) out[p.name] = v;
  }
  return { params: out, sweep, sizes };
}
