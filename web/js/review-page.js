// review-page.js — review of a translate job (#/jobs/ID/review,
// docs/translate.md "Review"): source and target side by side, QA flags
// highlighted, a "flagged only" filter, progress "N of M reviewed", and the
// rebuild button.  Every target is a textarea: Enter saves it (as reviewed)
// and moves to the next one, Shift+Enter is a line break, Escape puts back
// the saved text, ArrowUp/ArrowDown on the first/last line move between
// segments, Tab reaches every control.  Each edit is sent at once with the
// version it started from; when someone else (another tab) changed the
// segment in between, the server answers 409 and the row shows both texts
// until the reviewer chooses.
import { html, useEffect, useRef, useState } from './lib.js';
import { api, ApiError } from './api.js';
import { Loading, ErrorBox, Empty } from './components.js';

const PAGE = 50;

const FLAG_WORDS = {
  empty: 'empty target',
  untranslated: 'same as the source',
  number: 'a number differs',
  placeholder: 'a placeholder is missing',
  tag: 'a tag is missing',
  url: 'a link is missing',
  length: 'length looks wrong',
  glossary: 'glossary term not used',
};

// The link on a translate job's page (imported by job-page.js).
export function ReviewLink({ job, options }) {
  const preset = options && options.presets.find((p) => p.id === job.preset);
  if (!preset || preset.workflow !== 'translate' || job.state !== 'succeeded') return null;
  const target = job.mode === 'rebuild' && job.parentJobId ? job.parentJobId : job.jobId;
  return html`<p class="review-link" data-testid="review-link">
    <a class="btn btn-primary" href=${`#/jobs/${target}/review`}>Review the translation</a>
    <span class="small muted"> edit segments, then rebuild the documents</span></p>`;
}

// Whether an action applies to this job's workflow (job-page.js filter).
export function actionFits(action, workflow) {
  return action.type !== 'rebuild' || !workflow || workflow === 'translate';
}

function Flags({ flags }) {
  if (!flags || !flags.length) return html`<span class="small muted">no flags</span>`;
  return html`<ul class="qa-flags" aria-label="QA flags">
    ${flags.map((f) => html`<li key=${f} class="qa-flag" data-flag=${f}>${FLAG_WORDS[f] || f}</li>`)}
  </ul>`;
}

function caretLine(ta) {
  const before = ta.value.slice(0, ta.selectionStart);
  const after = ta.value.slice(ta.selectionEnd);
  return { first: !before.includes('\n'), last: !after.includes('\n') };
}

function SegmentRow({ seg, onSave, onKeep, onTheirs, focusNext, focusPrev, registerRef }) {
  const [text, setText] = useState(seg.target);
  const ta = useRef(null);
  useEffect(() => { setText(seg.target); }, [seg.target, seg.version]);
  useEffect(() => { registerRef(seg.n, ta.current); return () => registerRef(seg.n, null); }, [seg.n]);
  const dirty = text !== seg.target;
  const onKey = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      onSave(seg, text).then((ok) => { if (ok) focusNext(seg.n); });
    } else if (e.key === 'Escape') {
      e.preventDefault();
      setText(seg.target);
    } else if (e.key === 'ArrowDown' && caretLine(e.target).last && !e.shiftKey) {
      if (focusNext(seg.n)) e.preventDefault();
    } else if (e.key === 'ArrowUp' && caretLine(e.target).first && !e.shiftKey) {
      if (focusPrev(seg.n)) e.preventDefault();
    }
  };
  const flagged = seg.flags && seg.flags.length > 0;
  const id = `seg-${seg.n}`;
  return html`<li class=${`seg${flagged ? ' seg-flagged' : ''}${seg.state === 'reviewed' ? ' seg-reviewed' : ''}`}
      data-n=${seg.n} data-state=${seg.state} data-testid="segment">
    <div class="seg-num" aria-hidden="true">${seg.n}</div>
    <div class="seg-source" lang="" id=${`${id}-src`}>${seg.source}</div>
    <div class="seg-target">
      <label class="vh" for=${id}>Translation of segment ${seg.n}</label>
      <textarea id=${id} ref=${ta} rows=${Math.min(6, Math.max(2, Math.ceil((text || '').length / 60)))}
        value=${text} aria-describedby=${`${id}-src ${id}-meta`}
        onInput=${(e) => setText(e.target.value)} onKeyDown=${onKey}
        data-testid="target"></textarea>
      <div class="seg-meta" id=${`${id}-meta`}>
        <${Flags} flags=${seg.flags} />
        <span class=${`seg-state small${seg.state === 'reviewed' ? ' ok' : ''}`}>${seg.state}${seg.origin === 'tm' ? ', from memory' : seg.origin === 'edited' ? ', edited' : ''}</span>
        ${dirty ? html`<span class="small muted">unsaved: Enter saves, Escape undoes</span>` : null}
        ${seg.saving ? html`<span class="small muted" role="status">saving…</span>` : null}
        ${seg.error ? html`<span class="row-msg row-error" role="alert">${seg.error}</span>` : null}
        <button type="button" class="btn btn-small" onClick=${() => onSave(seg, text)}
          data-testid="save">${seg.state === 'reviewed' && !dirty ? 'Saved' : 'Save as reviewed'}</button>
      </div>
      ${seg.conflict ? html`<div class="seg-conflict" role="alert" data-testid="conflict">
        <p><strong>Changed elsewhere</strong> (another tab or reviewer saved version ${seg.conflict.version}):</p>
        <blockquote>${seg.conflict.target}</blockquote>
        <div class="dialog-buttons">
          <button type="button" class="btn" onClick=${() => onTheirs(seg)}>Use their text</button>
          <button type="button" class="btn btn-primary" onClick=${() => onKeep(seg, text)}>Keep mine</button>
        </div></div>` : null}
    </div>
  </li>`;
}

export function ReviewPage({ id }) {
  const [job, setJob] = useState(null);
  const [items, setItems] = useState([]);
  const [counts, setCounts] = useState(null);
  const [cursor, setCursor] = useState(null);
  const [flagged, setFlagged] = useState(false);
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(true);
  const [rebuild, setRebuild] = useState(null);   // {busy} | {jobId} | {error}
  const refs = useRef(new Map());

  useEffect(() => { document.title = `Review job #${id} · batchbox`; }, [id]);
  useEffect(() => {
    api('GET', `/jobs/${id}`).then(setJob, setError);
  }, [id]);

  const load = async (after, replace) => {
    setLoading(true);
    try {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (flagged) q.set('flagged', '1');
      if (after) q.set('cursor', after);
      const page = await api('GET', `/jobs/${id}/segments?${q}`);
      setItems((old) => (replace ? page.items : [...old, ...page.items]));
      setCursor(page.nextCursor);
      setCounts({ total: page.total, reviewed: page.reviewed, flagged: page.flagged });
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => { load(null, true); }, [id, flagged]);

  const patchItem = (n, change) => setItems((list) => list.map((s) => (s.n === n ? { ...s, ...change } : s)));
  const registerRef = (n, el) => { if (el) refs.current.set(n, el); else refs.current.delete(n); };
  const focusBy = (n, step) => {
    const i = items.findIndex((s) => s.n === n);
    const next = items[i + step];
    const el = next && refs.current.get(next.n);
    if (el) { el.focus(); return true; }
    return false;
  };

  const send = async (seg, body) => {
    patchItem(seg.n, { saving: true, error: null });
    try {
      const s = await api('PATCH', `/jobs/${id}/segments/${seg.n}`, body);
      // the job's counts follow this segment's change
      const dr = (s.state === 'reviewed') - (seg.state === 'reviewed');
      const df = (s.flags.length > 0) - ((seg.flags || []).length > 0);
      patchItem(seg.n, { ...s, saving: false, conflict: null, error: null });
      setCounts((c) => (c ? { ...c, reviewed: c.reviewed + dr, flagged: c.flagged + df } : c));
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        const body409 = e.body || {};
        patchItem(seg.n, { saving: false, conflict: body409.current || { version: '?', target: '' } });
      } else {
        patchItem(seg.n, { saving: false, error: e.message });
      }
      return false;
    }
  };
  const onSave = (seg, text) => send(seg, { target: text, state: 'reviewed', version: seg.version });
  const onKeep = (seg, text) => send({ ...seg, version: seg.conflict.version },
    { target: text, state: 'reviewed', version: seg.conflict.version });
  const onTheirs = (seg) => patchItem(seg.n, { ...seg.conflict, conflict: null });

  const doRebuild = async () => {
    setRebuild({ busy: true });
    try {
      const r = await api('POST', `/jobs/${id}/actions`, { type: 'rebuild' });
      setRebuild({ jobId: r.jobId });
    } catch (e) {
      setRebuild({ error: e });
    }
  };

  if (error && error instanceof ApiError && error.status === 404) {
    return html`<section><h1 tabindex="-1">Review job #${id}</h1><${Empty}>
      <p>There is no job #${id}, or it belongs to someone else.</p>
      <p><a href="#/">Back to the job list</a></p></${Empty}></section>`;
  }
  return html`<section class="review-page" data-job-id=${id}>
    <p class="crumbs"><a href=${`#/jobs/${id}`}>← Job #${id}</a></p>
    <h1 tabindex="-1">Review job #${id}${job && job.md ? html` <span class="h1-sub">${job.md}</span>` : null}</h1>
    <div class="review-bar">
      ${counts ? html`<p class="review-progress" role="status" data-testid="progress">
        ${counts.reviewed} of ${counts.total} reviewed${counts.flagged ? `, ${counts.flagged} flagged` : ''}</p>` : null}
      ${counts ? html`<progress max=${counts.total || 1} value=${counts.reviewed} aria-label="Reviewed"></progress>` : null}
      <label class="field-inline"><input type="checkbox" checked=${flagged}
        onChange=${(e) => setFlagged(e.target.checked)} data-testid="flagged-only" /> Flagged only</label>
      <button type="button" class="btn btn-primary" onClick=${doRebuild} disabled=${rebuild && rebuild.busy}
        data-testid="rebuild">${rebuild && rebuild.busy ? 'Rebuilding…' : 'Rebuild the documents'}</button>
    </div>
    ${rebuild && rebuild.jobId ? html`<p class="notice notice-ok" role="status" data-testid="rebuilt">
      Rebuild queued as job <a href=${`#/jobs/${rebuild.jobId}`}>#${rebuild.jobId}</a>: its page has the
      rewritten documents to download once it finished.</p>` : null}
    <${ErrorBox} error=${rebuild && rebuild.error} title="The rebuild did not start" />
    <p class="hint">Enter saves a segment as reviewed and moves to the next; Shift+Enter adds a line
      break; Escape puts back the saved text.</p>
    ${error ? html`<${ErrorBox} error=${error} title="The segments did not load" onRetry=${() => load(null, true)} />` : null}
    ${!items.length && !loading && !error ? html`<${Empty}><p>${flagged ? 'No flagged segments.' : 'This job has no segments.'}</p></${Empty}>` : null}
    <ol class="segments" aria-label="Segments">
      ${items.map((s) => html`<${SegmentRow} key=${s.n} seg=${s} onSave=${onSave} onKeep=${onKeep}
        onTheirs=${onTheirs} registerRef=${registerRef}
        focusNext=${(n) => focusBy(n, 1)} focusPrev=${(n) => focusBy(n, -1)} />`)}
    </ol>
    ${loading ? html`<${Loading} what="segments" />` : null}
    ${cursor && !loading ? html`<div class="pager"><button type="button" class="btn"
      onClick=${() => load(cursor, false)} data-testid="more">Show more segments</button></div>` : null}
  </section>`;
}
