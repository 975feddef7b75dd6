// options.js — GET /config/job-options, fetched once per page load and
// shared by the submit form, the filters and the job page's actions.
import { api } from './api.js';
import { useEffect, useState } from './lib.js';

let cached = null;

export function loadJobOptions(force) {
  if (!cached || force) {
    cached = api('GET', '/config/job-options').catch((e) => {
      cached = null;
      throw e;
    });
  }
  return cached;
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
  useEffect(() => { load(false); }, []);
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
