// options.js — GET /config/job-options, shared by the submit form, the
// filters and the job page's actions; fetched once per page load and again
// when a screen opens more than STALE_MS after the last fetch (choices from
// an optionsSource, such as ComfyUI's model catalogue, change at run time).
import { api } from './api.js';
import { useEffect, useState } from './lib.js';

const STALE_MS = 15000;
let cached = null;
let cachedAt = 0;

export function loadJobOptions(force) {
  if (!cached || force) {
    cachedAt = Date.now();
    // a forced or stale read skips the browser's copy (kept up to a minute)
    cached = api('GET', '/config/job-options', undefined, { cache: force ? 'no-cache' : 'default' }).catch((e) => {
      cached = null;
      throw e;
    });
  }
  return cached;
}

// Makes the next screen that opens read the options again (after an admin
// changed what they list).
export function forgetJobOptions() {
  cachedAt = 0;
}

// {options, error, reload}
export function useJobOptions() {
  const [state, setState] = useState({ options: null, error: null });
  const load = (force) => {
    setState({ options: null, error: null });
    loadJobOptions(force).then(
      (options) => setState({ options, error: null }),
      (error) => setState({ options: null, error }),
    );
  };
  useEffect(() => { load(Date.now() - cachedAt > STALE_MS); }, []);
  return { ...state, reload: () => load(true) };
}

export function presetLabel(options, id) {
  const p = options && options.presets.find((x) => x.id === id);
  return p ? p.label || p.id : id;
}

export function humanize(s) {
  return String(s).replace(/[_-]+/g, ' ').replace(/^\w/, (c) => c.toUpperCase());
}

// Names of the caller's uploads: a job's `md` is an upload id ("upl_3"),
// which the UI shows as the file's name.
const fileNames = new Map();
let filesLoaded = null;

export function rememberFile(f) {
  if (f && f.fileId) fileNames.set(f.fileId, f.filename);
}

export function useFileNames() {
  const [, setN] = useState(0);
  useEffect(() => {
    if (!filesLoaded) {
      filesLoaded = api('GET', '/user/files').then((r) => {
        for (const f of r.items || []) rememberFile(f);
      }, () => { filesLoaded = null; });
    }
    let gone = false;
    filesLoaded && filesLoaded.then(() => { if (!gone) setN((n) => n + 1); });
    return () => { gone = true; };
  }, []);
  return (md) => {
    if (!md) return '(no input)';
    const name = fileNames.get(md);
    if (name) return name;
    const i = md.lastIndexOf('/');
    return i >= 0 ? md.slice(i + 1) : md;
  };
}
