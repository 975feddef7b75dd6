// batch-page.js — one batch (#/batches/ID): the parent's state, counts and
// actions, and a grid of its runs (GET /jobs/:id/gallery) with their
// params and state; images (animated ones too), video (loaded when
// scrolled near) and audio previewed inline (scaled by the browser), other
// files linked; filters by any swept param's value, by
// state and by "picked"; picks with the mouse or the keyboard (arrow keys
// move between files, Space or P picks); "download all" / "download
// picked" (gallery.zip).  One event stream keeps it current: a run's event
// updates its card and reloads the gallery (debounced) for new files.
import { html, useEffect, useRef, useState } from './lib.js';
import { api, ApiError, API } from './api.js';
import {
  Badge, Progress, Loading, ErrorBox, Empty, useId,
} from './components.js';
import { useJobOptions, presetLabel, useFileNames } from './options.js';
import { LiveStream } from './live.js';
import { LiveBadge, batchSummary } from './dashboard.js';
import { Actions } from './job-page.js';
import { bytes, STATES, TERMINAL } from './format.js';
import { QaLine } from './review-page.js';
import { kindOf, localUrl, Preview } from './media.js';

// How long after a run's event the gallery is read again: 0.4 s, longer
// for big batches (each read returns every run).
function reloadDelay(n) {
  return Math.min(3000, 400 + 2 * n);
}

// The API path that picks an artifact (its URL plus /pick when the server
// gave one under /api/v1, else built from the owning job and the name).
function pickPath(jobId, a) {
  const u = localUrl(a.url);
  if (u && u.startsWith(`${API}/jobs/`) && !u.includes('?')) return `${u.slice(API.length)}/pick`;
  return `/jobs/${jobId}/artifacts/${a.name.split('/').map(encodeURIComponent).join('/')}/pick`;
}

// A batch offers the actions that act on its runs: cancel and retry.
function batchOptions(options) {
  const acts = (options.supportedActions || []).filter((a) => a.type === 'cancel' || a.type === 'retry');
  return { ...options, supportedActions: acts };
}

function show(v) {
  if (v === undefined) return '—';
  if (v === null) return 'null';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

// The tile to move to from `cur` in direction dir, by where tiles are drawn.
function nextTile(tiles, cur, dir) {
  const i = tiles.indexOf(cur);
  if (dir === 'left') return tiles[i - 1] || null;
  if (dir === 'right') return tiles[i + 1] || null;
  const r = cur.getBoundingClientRect();
  const cx = r.left + r.width / 2;
  let best = null;
  let bestRow = null;
  let bestDx = Infinity;
  for (const t of tiles) {
    if (t === cur) continue;
    const q = t.getBoundingClientRect();
    const below = q.top >= r.bottom - 1;
    const above = q.bottom <= r.top + 1;
    if ((dir === 'down' && !below) || (dir === 'up' && !above)) continue;
    const row = dir === 'down' ? q.top : -q.bottom;
    const dx = Math.abs(q.left + q.width / 2 - cx);
    if (bestRow === null || row < bestRow - 1 || (Math.abs(row - bestRow) <= 1 && dx < bestDx)) {
      best = t;
      bestRow = row;
      bestDx = dx;
    }
  }
  return best;
}

function Tile({ item, a, focused, onPick, onFocus }) {
  const key = `${item.id}/${a.name}`;
  const url = localUrl(a.url);
  return html`<figure class=${`tile tile-${kindOf(a)}${a.picked ? ' picked' : ''}`} data-tile=${key}
      data-picked=${a.picked ? 'true' : 'false'} tabindex=${focused ? '0' : '-1'} role="group"
      aria-label=${`${a.name} of run #${item.id}${a.picked ? ', picked' : ''}`}
      onFocus=${(e) => { if (e.target === e.currentTarget) onFocus(key); }}
      onClick=${(e) => { if (e.target === e.currentTarget) e.currentTarget.focus(); }}>
    <div class="tile-media">${html`<${Preview} a=${a} url=${url} />`}</div>
    <figcaption>
      <span class="tile-name" title=${a.name}>${a.name}</span>
      <span class="small muted">${bytes(a.size)}</span>
      ${url ? html`<a class="small" href=${url} download=${a.name.split('/').pop()} tabindex="-1"
        aria-label=${`Download ${a.name} of run #${item.id}`}>Download</a>` : null}
      <button type="button" class=${`btn btn-small pick${a.picked ? ' btn-primary' : ''}`} tabindex="-1"
        aria-pressed=${a.picked ? 'true' : 'false'} data-pick=${key}
        onClick=${() => onPick(item, a)}>${a.picked ? '✓ Picked' : 'Pick'}</button>
    </figcaption>
  </figure>`;
}

function RunCard({ item, swept, nameOf, mdSwept, focusKey, onPick, onFocus, pickedOnly }) {
  const arts = (item.artifacts || []).filter((a) => !pickedOnly || a.picked);
  const params = item.params || {};
  return html`<article class="run-card" data-job-id=${item.id} data-state=${item.state}>
    <header class="run-head">
      <a href=${`#/jobs/${item.id}`}>#${item.id}</a>
      <${Badge} state=${item.state} />
    </header>
    <dl class="run-params">
      ${swept.filter((n) => n !== 'md').map((n) => html`<div><dt>${n}</dt><dd>${show(params[n])}</dd></div>`)}
      ${mdSwept ? html`<div><dt>input</dt><dd title=${item.md || ''}>${nameOf(item.md)}</dd></div>` : null}
    </dl>
    <${QaLine} item=${item} />
    ${item.error && item.state !== 'succeeded' ? html`<p class="run-error" title=${item.error}>${item.error}</p>` : null}
    ${item.waitingFor && !TERMINAL.has(item.state) && item.state !== 'running'
      ? html`<p class="small muted run-waiting" data-testid="run-waiting">Waiting: ${item.waitingFor}</p>` : null}
    ${arts.length ? html`<div class="tiles">${arts.map((a) => html`<${Tile} key=${a.name} item=${item} a=${a}
        focused=${focusKey === `${item.id}/${a.name}`} onPick=${onPick} onFocus=${onFocus} />`)}</div>`
      : html`<p class="small muted run-empty">${TERMINAL.has(item.state) ? 'No files.' : item.state === 'running' ? 'Running…' : 'Waiting to run…'}</p>`}
  </article>`;
}

export function BatchPage({ id, me }) {
  const fid = useId('batch');
  const { options } = useJobOptions();
  const nameOf = useFileNames();
  const [job, setJob] = useState(null);
  const [gal, setGal] = useState(null);
  const [error, setError] = useState(null);
  const [live, setLive] = useState('connecting');
  const [filters, setFilters] = useState({ state: '', picked: false, params: {} });
  const [focusKey, setFocusKey] = useState(null);
  const [notice, setNotice] = useState(null);
  const [tick, setTick] = useState(0);
  const pending = useRef(new Map()); // "child/name" -> picked, while a pick request runs
  const reloadTimer = useRef(null);
  const grid = useRef(null);
  const count = useRef(0); // runs in the gallery, for reloadDelay

  useEffect(() => { document.title = `Batch #${id} · batchbox`; }, [id]);

  const applyPending = (g) => {
    if (!pending.current.size) return g;
    return {
      ...g,
      items: g.items.map((it) => ({
        ...it,
        artifacts: (it.artifacts || []).map((a) => {
          const k = `${it.id}/${a.name}`;
          return pending.current.has(k) ? { ...a, picked: pending.current.get(k) } : a;
        }),
      })),
    };
  };

  const loadGallery = () => api('GET', `/jobs/${id}/gallery`).then(
    (g) => { count.current = g.items.length; setGal(applyPending(g)); setError(null); },
    (e) => setError(e),
  );
  // After runs changed: the gallery (new files) and the parent (its counts,
  // in case its own coalesced update is still to come).
  const reloadAll = () => {
    loadGallery();
    api('GET', `/jobs/${id}`).then(
      (j) => setJob((old) => (old && (old.updatedAt || '') > (j.updatedAt || '') ? old : j)),
      () => {},
    );
  };
  // A throttle, not a debounce: a steady stream of events still reloads.
  const scheduleReload = () => {
    if (reloadTimer.current) return;
    reloadTimer.current = setTimeout(() => { reloadTimer.current = null; reloadAll(); },
      reloadDelay(count.current));
  };

  useEffect(() => {
    let gone = false;
    api('GET', `/jobs/${id}`).then(
      (j) => { if (!gone) setJob((old) => (old && (old.updatedAt || '') > (j.updatedAt || '') ? old : j)); },
      (e) => { if (!gone) setError(e); },
    );
    loadGallery();
    return () => { gone = true; };
  }, [id, tick]);

  useEffect(() => {
    const s = new LiveStream({
      onStatus: (st) => {
        setLive(st);
        if (st === 'live') scheduleReload(); // whatever happened before the stream opened
      },
      onEvent: (type, data) => {
        if (type === 'job_log' || !data || !data.jobId) return;
        if (String(data.jobId) === String(id)) {
          setJob((old) => (!old || (data.updatedAt || '') >= (old.updatedAt || '') ? data : old));
          return;
        }
        if (String(data.batchId) !== String(id)) return;
        setGal((g) => {
          if (!g) return g;
          const i = g.items.findIndex((x) => String(x.id) === String(data.jobId));
          if (i < 0) return g;
          const items = g.items.slice();
          items[i] = {
            ...items[i], state: data.state, error: data.error ?? null, waitingFor: data.waitingFor ?? null,
          };
          return { ...g, items };
        });
        if (type !== 'job_progress') scheduleReload();
      },
    }).start();
    return () => { s.stop(); clearTimeout(reloadTimer.current); };
  }, [id]);

  const onPick = async (item, a) => {
    const key = `${item.id}/${a.name}`;
    const want = !a.picked;
    const setPicked = (val) => setGal((g) => g && ({
      ...g,
      items: g.items.map((it) => (it.id !== item.id ? it : {
        ...it, artifacts: it.artifacts.map((x) => (x.name === a.name ? { ...x, picked: val } : x)),
      })),
    }));
    pending.current.set(key, want);
    setPicked(want);
    try {
      const r = await api(want ? 'POST' : 'DELETE', pickPath(item.id, a));
      pending.current.delete(key);
      if (r && typeof r.picked === 'boolean') setPicked(r.picked);
    } catch (e) {
      pending.current.delete(key);
      setPicked(!want);
      setNotice({ kind: 'error', text: `${a.name} of run #${item.id} was not ${want ? 'picked' : 'unpicked'}: ${e.message}` });
    }
  };

  const items = gal ? gal.items : [];
  const swept = gal ? (gal.swept || []) : [];
  const sweptParams = swept.filter((n) => n !== 'md');
  const visible = items.filter((it) => {
    if (filters.state && it.state !== filters.state) return false;
    for (const [n, val] of Object.entries(filters.params)) {
      if (val !== '' && show((it.params || {})[n]) !== val) return false;
    }
    if (filters.picked && !(it.artifacts || []).some((a) => a.picked)) return false;
    return true;
  });
  const pickedCount = items.reduce((n, it) => n + (it.artifacts || []).filter((a) => a.picked).length, 0);
  const fileCount = items.reduce((n, it) => n + (it.artifacts || []).length, 0);

  // The same for every run: params not swept (from the first run).
  const common = items.length ? Object.entries(items[0].params || {}).filter(([n]) => !swept.includes(n)) : [];

  const onKeyDown = (e) => {
    const tile = e.target && e.target.closest && e.target.closest('[data-tile]');
    if (!tile || e.target !== tile || e.altKey || e.ctrlKey || e.metaKey) return;
    const dirs = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' };
    if (dirs[e.key]) {
      e.preventDefault();
      const tiles = Array.from(grid.current.querySelectorAll('[data-tile]'));
      const to = nextTile(tiles, tile, dirs[e.key]);
      if (to) { setFocusKey(to.getAttribute('data-tile')); to.focus(); to.scrollIntoView({ block: 'nearest' }); }
    } else if (e.key === ' ' || e.key === 'p' || e.key === 'P') {
      e.preventDefault();
      const key = tile.getAttribute('data-tile');
      const slash = key.indexOf('/');
      const it = items.find((x) => String(x.id) === key.slice(0, slash));
      const a = it && it.artifacts.find((x) => x.name === key.slice(slash + 1));
      if (a) onPick(it, a);
    }
  };

  // The first visible tile is the one Tab reaches when none was focused.
  const keys = [];
  for (const it of visible) for (const a of it.artifacts || []) if (!filters.picked || a.picked) keys.push(`${it.id}/${a.name}`);
  const activeKey = keys.includes(focusKey) ? focusKey : keys[0] || null;

  if (error && !gal) {
    const missing = error instanceof ApiError && error.status === 404;
    return html`<section><h1 tabindex="-1">Batch #${id}</h1>
      ${missing ? html`<${Empty}><p>There is no batch #${id}, or it belongs to someone else.</p>
        <p><a href="#/">Back to the job list</a></p></${Empty}>`
        : html`<${ErrorBox} error=${error} title="The batch did not load" onRetry=${() => setTick((t) => t + 1)} />`}
    </section>`;
  }
  if (!job || !gal) return html`<section><h1 tabindex="-1">Batch #${id}</h1><${Loading} what="the batch" /></section>`;

  const b = job.batch || null;
  const zip = `${API}/jobs/${id}/gallery.zip`;
  const values = (n) => Array.from(new Set(items.map((it) => show((it.params || {})[n])))).sort(
    (x, y) => x.localeCompare(y, undefined, { numeric: true }),
  );

  return html`<div class="batch-page" data-job-id=${job.jobId} data-state=${job.state}>
    <p class="crumbs"><a href="#/">← Jobs</a></p>
    <div class="job-head">
      <h1 tabindex="-1">Batch #${job.jobId} <span class="h1-sub">${presetLabel(options, job.preset)}</span></h1>
      <${Badge} state=${job.state} />
      <${LiveBadge} status=${live} />
    </div>
    <div class="job-progress">
      <${Progress} value=${job.state === 'succeeded' ? 1 : job.progress} state=${job.state} label="Batch progress" />
      <span class="small" data-testid="batch-summary">${b ? batchSummary(b) : `${items.length} runs`}</span>
    </div>
    ${b ? html`<ul class="counts" aria-label="Runs by state">${STATES.map((st) => html`<li data-count=${st}>
      <${Badge} state=${st} /> ${b[st] || 0}</li>`)}<li>total ${b.total}</li></ul>` : null}
    ${common.length ? html`<p class="small common-params">Every run: ${common.map(([n, v]) => html`<code>${n}=${show(v)}</code> `)}</p>` : null}
    ${options ? html`<${Actions} job=${job} options=${batchOptions(options)} onDone=${(a, r) => {
      setNotice({ kind: 'ok', text: `${a.label}: ${(r && r.message) || 'done'}.` });
      setTick((t) => t + 1);
    }} />` : null}
    <div class="links">
      <a class="btn" href=${zip} download="" data-testid="download-all">Download all (${fileCount} file${fileCount === 1 ? '' : 's'})</a>
      ${pickedCount ? html`<a class="btn btn-primary" href=${`${zip}?picked=1`} download="" data-testid="download-picked">
        Download picked (${pickedCount})</a>`
        : html`<span class="btn btn-primary" aria-disabled="true" data-testid="download-picked">Download picked (0)</span>`}
    </div>
    ${notice ? html`<p class=${`notice notice-${notice.kind}`} role=${notice.kind === 'error' ? 'alert' : 'status'}>${notice.text}</p>` : null}
    ${error ? html`<${ErrorBox} error=${error} title="The gallery did not reload" onRetry=${loadGallery} />` : null}

    <section class="card" aria-labelledby=${`${fid}-title`}>
      <div class="section-head"><h2 id=${`${fid}-title`}>Runs</h2>
        <span class="small muted" role="status" data-testid="shown-count">${visible.length} of ${items.length} shown · ${pickedCount} picked</span></div>
      <div class="filters batch-filters" role="search">
        <div class="field"><label for=${`${fid}-state`}>State</label>
          <select id=${`${fid}-state`} value=${filters.state}
            onChange=${(e) => { const v = e.currentTarget.value; setFilters((f) => ({ ...f, state: v })); }}>
            <option value="">All states</option>
            ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
          </select></div>
        ${sweptParams.map((n) => html`<div class="field"><label for=${`${fid}-f-${n}`}>${n}</label>
          <select id=${`${fid}-f-${n}`} value=${filters.params[n] || ''} data-filter=${n}
            onChange=${(e) => { const v = e.currentTarget.value; setFilters((f) => ({ ...f, params: { ...f.params, [n]: v } })); }}>
            <option value="">All values</option>
            ${values(n).map((v) => html`<option value=${v}>${v}</option>`)}
          </select></div>`)}
        <div class="field field-inline"><input type="checkbox" id=${`${fid}-picked`} checked=${filters.picked}
          onChange=${(e) => { const v = e.currentTarget.checked; setFilters((f) => ({ ...f, picked: v })); }} />
          <label for=${`${fid}-picked`}>Picked only</label></div>
      </div>
      <p class="hint keys" id=${`${fid}-keys`}>Keyboard: Tab into the grid, then <kbd>←</kbd> <kbd>→</kbd>
        <kbd>↑</kbd> <kbd>↓</kbd> move between files, <kbd>Space</kbd> or <kbd>P</kbd> picks or unpicks the
        file in focus. With the mouse: the Pick button under each file.</p>
      ${!items.length ? html`<${Empty}><p>This batch has no runs.</p></${Empty}>` : null}
      ${items.length && !visible.length ? html`<${Empty}><p>No runs match these filters.</p></${Empty}>` : null}
      <div class="run-grid" ref=${grid} onKeyDown=${onKeyDown} aria-describedby=${`${fid}-keys`} data-testid="run-grid">
        ${visible.map((it) => html`<${RunCard} key=${it.id} item=${it} swept=${swept} nameOf=${nameOf}
          mdSwept=${swept.includes('md')} focusKey=${activeKey} onPick=${onPick} pickedOnly=${filters.picked}
          onFocus=${setFocusKey} />`)}
      </div>
    </section>
  </div>`;
}
