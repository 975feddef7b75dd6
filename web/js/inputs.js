// inputs.js — where a submission's input comes from: files dropped or
// chosen (several at once; each uploaded to POST /uploads with its own
// progress bar; several uploads become one batch), and the input picker,
// a dialog that browses GET /inputs?path= (files and folders of the input
// root; a folder becomes a batch over its files, with an optional glob).
import { html, useEffect, useRef, useState } from './lib.js';
import { api, uploadFile, qs } from './api.js';
import { Progress, Loading, ErrorBox, Empty, Dialog, useId } from './components.js';
import { rememberFile } from './options.js';
import { bytes, dateTime } from './format.js';

let uploadSeq = 0;

// Uploads a list of File objects one after the other; setUploads receives
// the list's updates.  Each item: {key, name, size, status:
// 'uploading'|'done'|'error', progress, result?, error?}.
export async function uploadAll(files, setUploads) {
  const items = Array.from(files).map((f) => {
    uploadSeq += 1;
    return { key: `u${uploadSeq}`, file: f, name: f.name, size: f.size, status: 'uploading', progress: 0 };
  });
  const patch = (key, p) => setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...p } : u)));
  setUploads((list) => [...list, ...items]);
  for (const it of items) {
    try {
      const result = await uploadFile(it.file, (progress) => patch(it.key, { progress }));
      rememberFile(result);
      patch(it.key, { status: 'done', progress: 1, result, file: null });
    } catch (e) {
      patch(it.key, { status: 'error', progress: 0, error: e, file: null });
    }
  }
}

// The drop zone: several files at once.  uploads: see uploadAll.
export function FileDrop({ id, uploads, onFiles, onRemove, error, errorId }) {
  const [over, setOver] = useState(false);
  const drop = (e) => {
    e.preventDefault();
    setOver(false);
    const files = e.dataTransfer && e.dataTransfer.files;
    if (files && files.length) onFiles(files);
  };
  const busy = uploads.some((u) => u.status === 'uploading');
  return html`<div class=${`dropzone${over ? ' over' : ''}${error ? ' has-error' : ''}`}
      onDragOver=${(e) => { e.preventDefault(); setOver(true); }}
      onDragEnter=${(e) => { e.preventDefault(); setOver(true); }}
      onDragLeave=${() => setOver(false)} onDrop=${drop} data-testid="dropzone">
    <input id=${id} type="file" multiple class="visually-hidden-input" aria-label="Input files"
      aria-describedby=${error ? `${id}-hint ${errorId}` : `${id}-hint`}
      onChange=${(e) => { const fs = e.currentTarget.files; if (fs && fs.length) onFiles(Array.from(fs)); e.currentTarget.value = ''; }} />
    ${!uploads.length ? html`<p class="drop-text">Drop files here (several make a batch), or</p>` : null}
    <label for=${id} class=${`btn${uploads.length ? ' btn-small' : ''}`}>${uploads.length ? 'Add files' : 'Choose files'}</label>
    ${uploads.length ? html`<ul class="upload-list" aria-live="polite">
      ${uploads.map((u) => html`<li key=${u.key} class=${`upload-item upload-item-${u.status}`}>
        ${u.status === 'uploading' ? html`<div class="upload-progress">
          <p>Uploading <strong>${u.name}</strong> (${bytes(u.size)})…</p>
          <${Progress} value=${u.progress} state="running" label=${`Upload of ${u.name}`} />
          <span class="small">${Math.round(u.progress * 100)}%</span></div>` : null}
        ${u.status === 'done' ? html`<div class="upload-done" data-file-id=${u.result.fileId}>
          <${Progress} value=${1} state="succeeded" label=${`Upload of ${u.name}`} />
          <p>Uploaded <strong>${u.result.filename}</strong> · ${bytes(u.result.size)}
            <span class="muted"> · ${u.result.fileId}</span></p>
          <button type="button" class="btn btn-quiet btn-small" onClick=${() => onRemove(u.key)}
            aria-label=${`Remove ${u.name}`}>Remove</button></div>` : null}
        ${u.status === 'error' ? html`<div class="upload-failed">
          <p class="field-error" role="alert">Upload of ${u.name} failed: ${u.error.message}</p>
          <button type="button" class="btn btn-quiet btn-small" onClick=${() => onRemove(u.key)}
            aria-label=${`Remove ${u.name}`}>Remove</button></div>` : null}
      </li>`)}</ul>` : null}
    ${busy ? null : html`<p class="hint" id=${`${id}-hint`}>Lessons, text, images, audio, video, PDF or ZIP.</p>`}
  </div>`;
}

// A shell glob (* ? [...]) as a RegExp over one file name.
export function globRegex(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const j = glob.indexOf(']', i + 2);
      if (j < 0) { re += '\\['; continue; }
      let set = glob.slice(i + 1, j).replace(/\\/g, '\\\\');
      if (set[0] === '!') set = `^${set.slice(1)}`;
      re += `[${set}]`;
      i = j;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function joinPath(dir, name) {
  return dir ? `${dir}/${name}` : name;
}

// The input picker dialog.  mode 'input': files (one or several) or a
// folder; 'file': one file (a `file` param).  onChoose receives
// {kind: 'files', paths} or {kind: 'dir', dir, glob, recursive, count};
// count is the number of matching files directly in the folder (null
// when subfolders are included, which only the server walks).
export function InputPicker({ mode, onChoose, onClose }) {
  const id = useId('pick');
  const [path, setPath] = useState('');
  const [list, setList] = useState({ loading: true, entries: [], truncated: false, error: null });
  const [picked, setPicked] = useState([]);
  const [glob, setGlob] = useState('');
  const [recursive, setRecursive] = useState(false);
  const [tick, setTick] = useState(0);
  const listRef = useRef(null);

  useEffect(() => {
    const ac = new AbortController();
    setList((l) => ({ ...l, loading: true, error: null }));
    api('GET', `/inputs${qs({ path })}`, undefined, { signal: ac.signal }).then(
      (r) => setList({ loading: false, entries: r.entries || [], truncated: !!r.truncated, error: null }),
      (e) => { if (e.name !== 'AbortError') setList({ loading: false, entries: [], truncated: false, error: e }); },
    );
    return () => ac.abort();
  }, [path, tick]);

  const parts = path ? path.split('/') : [];
  const files = list.entries.filter((e) => e.type === 'file');
  let globOk = true;
  let matching = files;
  if (glob.trim()) {
    try { const re = globRegex(glob.trim()); matching = files.filter((f) => re.test(f.name)); } catch { globOk = false; }
  }
  const toggle = (p) => setPicked((old) => (old.includes(p) ? old.filter((x) => x !== p) : [...old, p]));
  const single = mode === 'file';

  return html`<${Dialog} title=${single ? 'Choose a file' : 'Choose inputs'} onClose=${onClose}
      labelledBy=${`${id}-title`}>
    <div class="picker" data-testid="input-picker">
      <nav class="crumbs picker-crumbs" aria-label="Folder">
        <button type="button" class="btn btn-quiet btn-small" onClick=${() => setPath('')}
          aria-current=${path === '' ? 'location' : undefined}>Input root</button>
        ${parts.map((name, i) => html`<span aria-hidden="true">/</span>
          <button type="button" class="btn btn-quiet btn-small" onClick=${() => setPath(parts.slice(0, i + 1).join('/'))}
            aria-current=${i === parts.length - 1 ? 'location' : undefined}>${name}</button>`)}
      </nav>
      ${list.error ? html`<${ErrorBox} error=${list.error} title="This folder did not load"
        onRetry=${() => setTick((t) => t + 1)} />` : null}
      ${list.loading && !list.entries.length ? html`<${Loading} what="the folder" />` : null}
      ${!list.loading && !list.error && !list.entries.length ? html`<${Empty}><p>This folder is empty.</p></${Empty}>` : null}
      ${list.entries.length ? html`<ul class="picker-list" ref=${listRef} aria-busy=${list.loading ? 'true' : 'false'}>
        ${path ? html`<li><button type="button" class="linkish" onClick=${() => setPath(parts.slice(0, -1).join('/'))}>
          ↑ Up one folder</button></li>` : null}
        ${list.entries.map((e) => {
          const p = joinPath(path, e.name);
          if (e.type === 'dir') {
            return html`<li key=${`d:${e.name}`} class="picker-dir" data-entry=${e.name}>
              <button type="button" class="linkish" onClick=${() => setPath(p)}
                aria-label=${`Open folder ${e.name}`}>📁 ${e.name}/</button></li>`;
          }
          const cid = `${id}-f-${e.name}`;
          return html`<li key=${`f:${e.name}`} class="picker-file" data-entry=${e.name}>
            ${single ? html`<button type="button" class="linkish" onClick=${() => onChoose({ kind: 'files', paths: [p] })}
                aria-label=${`Choose ${e.name}`}>${e.name}</button>`
              : html`<span class="field-inline"><input type="checkbox" id=${cid} checked=${picked.includes(p)}
                  onChange=${() => toggle(p)} /><label for=${cid}>${e.name}</label></span>`}
            <span class="small muted">${bytes(e.size)} · ${e.contentType || ''}
              <time datetime=${e.modifiedAt}> · ${dateTime(e.modifiedAt)}</time></span>
          </li>`;
        })}
      </ul>` : null}
      ${list.truncated ? html`<p class="hint">Only the first entries of this folder are listed.</p>` : null}
      ${!single ? html`<fieldset class="picker-folder">
        <legend>Use ${path ? `the folder ${path}` : 'the input root'} as a batch</legend>
        <div class="row2">
          <div class="field"><label for=${`${id}-glob`}>Only files matching</label>
            <input type="text" id=${`${id}-glob`} value=${glob} placeholder="*.png" autocomplete="off"
              aria-describedby=${`${id}-glob-hint`} onInput=${(e) => setGlob(e.currentTarget.value)} /></div>
          <div class="field field-inline picker-rec">
            <input type="checkbox" id=${`${id}-rec`} checked=${recursive}
              onChange=${(e) => setRecursive(e.currentTarget.checked)} />
            <label for=${`${id}-rec`}>Include subfolders</label></div>
        </div>
        <p class="hint" id=${`${id}-glob-hint`} data-testid="folder-count">${!globOk ? 'That pattern cannot be read.'
          : recursive ? `${matching.length} matching file${matching.length === 1 ? '' : 's'} here, plus those in subfolders.`
          : `${matching.length} matching file${matching.length === 1 ? '' : 's'}: one run each.`}</p>
        <button type="button" class="btn" disabled=${!globOk || list.loading || !!list.error}
          onClick=${() => onChoose({
            kind: 'dir', dir: path, glob: glob.trim(), recursive, count: recursive ? null : matching.length,
          })}>Use this folder</button>
      </fieldset>` : null}
      <div class="dialog-buttons">
        <button type="button" class="btn" onClick=${onClose}>Cancel</button>
        ${!single ? html`<button type="button" class="btn btn-primary" disabled=${!picked.length}
          onClick=${() => onChoose({ kind: 'files', paths: picked })}>
          Use ${picked.length || ''} selected file${picked.length === 1 ? '' : 's'}</button>` : null}
      </div>
    </div>
  </${Dialog}>`;
}
