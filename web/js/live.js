// live.js — one Server-Sent Events stream of job events (GET /jobs/events)
// that survives server restarts: the browser's own reconnect sends
// Last-Event-ID; when the browser gives up (a refused or non-stream
// answer closes the EventSource) this opens a new one with ?lastEventId=
// after a growing delay, refreshing the session first when it expired, so
// every retained event missed meanwhile is replayed in order.
import { API, api, qs, ApiError } from './api.js';

// job_updated: a batch's coalesced update as the API contract names it (the
// server may send those as job_state_changed / job_progress instead).
const EVENTS = ['job_created', 'job_state_changed', 'job_progress', 'job_updated', 'job_log'];

export class LiveStream {
  // opts: {jobId?, logs?, fromStart?, onEvent(type, data, id), onStatus(s)}
  // status: 'connecting' | 'live' | 'reconnecting'.
  constructor(opts) {
    this.opts = opts;
    this.lastId = opts.fromStart ? 0 : null;
    this.es = null;
    this.timer = null;
    this.delay = 1000;
    this.stopped = false;
    this.status = '';
  }

  start() {
    this.setStatus('connecting');
    this.open();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.es = null;
  }

  setStatus(s) {
    if (s !== this.status) {
      this.status = s;
      if (this.opts.onStatus) this.opts.onStatus(s);
    }
  }

  open() {
    if (this.stopped) return;
    const q = qs({
      jobId: this.opts.jobId,
      logs: this.opts.logs ? 1 : '',
      lastEventId: this.lastId === null ? '' : this.lastId,
    });
    const es = new EventSource(`${API}/jobs/events${q}`);
    this.es = es;
    es.onopen = () => {
      this.delay = 1000;
      this.setStatus('live');
    };
    es.onerror = () => {
      if (this.stopped || es !== this.es) return;
      this.setStatus('reconnecting');
      if (es.readyState === EventSource.CLOSED) this.reopenLater();
    };
    for (const type of EVENTS) {
      es.addEventListener(type, (e) => {
        if (es !== this.es) return;
        const id = Number(e.lastEventId);
        if (Number.isFinite(id) && e.lastEventId !== '') {
          if (this.lastId !== null && id <= this.lastId) return; // already seen
          this.lastId = id;
        }
        let data;
        try { data = JSON.parse(e.data); } catch { return; }
        this.opts.onEvent(type, data, id);
      });
    }
  }

  reopenLater() {
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.es = null;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, 10000);
    this.timer = setTimeout(async () => {
      if (this.stopped) return;
      // An expired access cookie makes the stream answer 401: a cheap
      // authenticated request refreshes the session (api() does that).
      try {
        await api('GET', '/auth/me');
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return; // signed out: the app shows sign-in
        if (!(e instanceof ApiError) || e.status === 0 || e.status >= 500) {
          this.reopenLater(); // still unreachable or starting
          return;
        }
      }
      this.open();
    }, wait);
  }
}
