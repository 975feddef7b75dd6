// api.js — the HTTP client of the UI: JSON requests under /api/v1 with the
// session cookies, the CSRF header on changes, one transparent refresh of an
// expired access token, uploads with progress, and errors as ApiError.
export const API = '/api/v1';

// An HTTP error (status 0: the server could not be reached).  `fields` maps
// a request field to what is wrong with it (from a 400's details.fields).
export class ApiError extends Error {
  constructor(status, body) {
    const msg = (body && body.message) ||
      (status === 0 ? 'The server cannot be reached. Check that batchbox is running.'
        : `The server answered ${status}.`);
    super(msg);
    this.status = status;
    this.code = (body && body.error) || (status === 0 ? 'network' : 'http');
    this.fields = (body && body.details && body.details.fields) || {};
    this.requestId = body && body.details && body.details.requestId;
    this.body = body || null;   // the whole error document (a 409's `current`)
  }
}

export function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return '';
}

// True when the browser holds a session (the readable CSRF cookie comes
// with the HttpOnly token cookies and goes away with them).
export function hasSession() {
  return cookie('bb_csrf') !== '';
}

const signedOutListeners = new Set();
// fn() runs when the session is found to be over (refresh refused).
export function onSignedOut(fn) {
  signedOutListeners.add(fn);
  return () => signedOutListeners.delete(fn);
}
function signedOut() {
  for (const fn of signedOutListeners) fn();
}

async function parse(res) {
  const type = res.headers.get('Content-Type') || '';
  if (res.status === 204) return null;
  if (type.includes('application/json')) {
    try { return await res.json(); } catch { return null; }
  }
  return res.text();
}

let refreshing = null;
// Rotates the session with the refresh cookie; resolves true when it worked.
// Concurrent callers share one refresh (a refresh token works only once).
export function refreshSession() {
  if (!refreshing) {
    refreshing = fetch(`${API}/auth/refresh`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': cookie('bb_csrf') },
    }).then((r) => r.ok, () => false).finally(() => {
      setTimeout(() => { refreshing = null; }, 0);
    });
  }
  return refreshing;
}

const UNSAFE = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

// api(method, path, body?) -> the parsed answer (JSON, text or null).
// Throws ApiError.  A 401 on a signed-in request refreshes once and retries.
// cache: a fetch cache mode ('no-cache' revalidates what the browser kept,
// e.g. the job options, which the server lets it keep for a minute).
export async function api(method, path, body, { retry = true, signal, cache } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (UNSAFE.has(method)) headers['X-CSRF-Token'] = cookie('bb_csrf');
  let res;
  try {
    res = await fetch(API + path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache,
    });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, null);
  }
  if (res.status === 401 && retry && !path.startsWith('/auth/')) {
    if (await refreshSession()) return api(method, path, body, { retry: false, signal, cache });
    signedOut();
  }
  const data = await parse(res);
  if (!res.ok) throw new ApiError(res.status, typeof data === 'object' ? data : { message: data });
  return data;
}

// Uploads one file as multipart field "file"; onProgress(fraction 0..1).
// Resolves with {fileId, filename, size, sha256, contentType}.
export function uploadFile(file, onProgress, retry = true) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${API}/uploads`);
    xhr.setRequestHeader('X-CSRF-Token', cookie('bb_csrf'));
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, null));
    xhr.onabort = () => reject(new ApiError(0, { message: 'The upload was interrupted.' }));
    xhr.onload = async () => {
      if (xhr.status === 401 && retry) {
        if (await refreshSession()) {
          uploadFile(file, onProgress, false).then(resolve, reject);
          return;
        }
        signedOut();
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(xhr.response);
      } else {
        reject(new ApiError(xhr.status, xhr.response));
      }
    };
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

// Query string from an object, skipping empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}
