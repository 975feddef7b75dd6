// components.js — the small building blocks every screen uses: state
// badges, progress bars, loading/error/empty states, labelled fields and a
// confirmation dialog built on <dialog> (focus trap and Escape for free).
import { html, useEffect, useRef, useState } from './lib.js';
import { percent } from './format.js';
import { ApiError } from './api.js';

let uid = 0;
// A stable id for label/control pairs.
export function useId(prefix) {
  const ref = useRef(null);
  if (ref.current === null) { uid += 1; ref.current = `${prefix}-${uid}`; }
  return ref.current;
}

export function Badge({ state }) {
  return html`<span class=${`badge badge-${state}`} data-state=${state}>${state}</span>`;
}

export function Progress({ value, state, label }) {
  const v = Math.max(0, Math.min(1, Number(value) || 0));
  return html`<progress class=${`bar bar-${state || 'x'}`} max="100" value=${Math.round(v * 100)}
    aria-label=${label || 'Progress'}>${percent(v)}</progress>`;
}

export function Loading({ what }) {
  return html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>
    Loading ${what || ''}…</p>`;
}

// An error box with an optional retry button.
export function ErrorBox({ error, onRetry, title }) {
  if (!error) return null;
  const msg = typeof error === 'string' ? error : error.message;
  return html`<div class="error-box" role="alert">
    <strong>${title || 'Something went wrong'}</strong>
    <p>${msg}</p>
    ${error.requestId ? html`<p class="muted small">Request id ${error.requestId}</p>` : null}
    ${onRetry ? html`<button type="button" class="btn" onClick=${onRetry}>Try again</button>` : null}
  </div>`;
}

export function Empty({ children }) {
  return html`<div class="empty">${children}</div>`;
}

// A labelled control with its error shown beside it.  `children` is the
// control; it must carry id=${id} and aria-describedby from the props.
export function Field({ id, label, error, hint, children, inline }) {
  return html`<div class=${`field${inline ? ' field-inline' : ''}${error ? ' has-error' : ''}`}>
    ${inline ? children : null}
    <label for=${id}>${label}</label>
    ${inline ? null : children}
    ${hint ? html`<p class="hint" id=${`${id}-hint`}>${hint}</p>` : null}
    ${error ? html`<p class="field-error" id=${`${id}-error`} role="alert">${error}</p>` : null}
  </div>`;
}

export function describedBy(id, error, hint) {
  const ids = [];
  if (hint) ids.push(`${id}-hint`);
  if (error) ids.push(`${id}-error`);
  return ids.length ? ids.join(' ') : undefined;
}

// A modal dialog: open while mounted; onClose when dismissed.
export function Dialog({ title, children, onClose, labelledBy }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    const cancel = (e) => { e.preventDefault(); onClose(); };
    d.addEventListener('cancel', cancel);
    return () => {
      d.removeEventListener('cancel', cancel);
      if (d.open) d.close();
    };
  }, []);
  return html`<dialog ref=${ref} class="dialog" aria-labelledby=${labelledBy}>
    <h2 id=${labelledBy}>${title}</h2>
    ${children}
  </dialog>`;
}

// A "Saved" / error note that fades with the next change.
export function useNotice() {
  const [notice, setNotice] = useState(null);
  const show = (kind, text) => setNotice({ kind, text });
  const view = notice
    ? html`<p class=${`notice notice-${notice.kind}`} role=${notice.kind === 'error' ? 'alert' : 'status'}>${notice.text}</p>`
    : null;
  return [view, show, () => setNotice(null)];
}

// The fields of a 400, keyed by the request field ("email", "url", …).
export function fieldErrors(err) {
  return err instanceof ApiError ? err.fields || {} : {};
}

// A form's submission state: busy while a request runs, the 400's field
// messages and a general error.  run(work, explain) clears both, awaits
// work(), and on a throw sets the field messages and explain(err, fields)
// as the error (the error itself when explain is left out; null: none).
export function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [fields, setFields] = useState({});
  const [error, setError] = useState(null);
  const run = async (work, explain) => {
    setBusy(true);
    setError(null);
    setFields({});
    try {
      await work();
    } catch (err) {
      const f = fieldErrors(err);
      setFields(f);
      setError(explain ? explain(err, f) : err);
    } finally {
      setBusy(false);
    }
  };
  return { busy, fields, setFields, error, setError, run };
}
