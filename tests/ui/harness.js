// harness.js — what the browser tests stand on: the real batchbox binary on
// a free 127.0.0.1 port with a temporary data directory (restartable on the
// same port), a tiny API client for set-up steps, the chromium launch, and a
// watcher that records console errors, page errors, failed requests, CSP
// violations and any request leaving the appliance.  Every wait is bounded.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const SHOTS = path.join(ROOT, 'build', 'screenshots');
const CHROMIUM = process.env.BB_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
  // containers often give /dev/shm only 64 MB, which crashes renderers
  '--disable-dev-shm-usage',
];

const live = new Set(); // servers still running, killed on exit whatever happens

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Polls fn() until it returns a truthy value; throws after `ms`.
async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await sleep(50);
  }
}

// A free 127.0.0.1 port (the kernel's pick; resolves once the probe closed).
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

class Server {
  // opts: {bin, config (object for DATA/batchbox.json), env, admin: {email, password} | null,
  //        files: {relpath: content} for the input root}
  constructor(opts) {
    this.bin = path.resolve(ROOT, opts.bin);
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), 'bbui-'));
    this.data = path.join(this.base, 'data');
    this.inputs = path.join(this.base, 'inputs');
    fs.mkdirSync(this.data);
    fs.mkdirSync(this.inputs);
    for (const [rel, content] of Object.entries(opts.files || {})) {
      const p = path.join(this.inputs, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
    }
    const config = { inputRoot: this.inputs, events: { heartbeatSec: 2 }, ...(opts.config || {}) };
    fs.writeFileSync(path.join(this.data, 'batchbox.json'), JSON.stringify(config, null, 1));
    this.env = { ...process.env, ...(opts.env || {}) };
    delete this.env.BATCHBOX_ADMIN_EMAIL;
    delete this.env.BATCHBOX_ADMIN_PASSWORD;
    if (opts.admin) {
      this.env.BATCHBOX_ADMIN_EMAIL = opts.admin.email;
      this.env.BATCHBOX_ADMIN_PASSWORD = opts.admin.password;
    }
    this.port = null;
    this.proc = null;
    this.stdout = '';
    this.stderrPath = path.join(this.base, 'stderr.log');
    this.exitCodes = [];
    this.setupToken = null;
  }

  get origin() {
    return `http://127.0.0.1:${this.port}`;
  }

  url(p = '/') {
    return this.origin + p;
  }

  async start() {
    if (this.port === null) this.port = await freePort();
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.startOnce();
        return;
      } catch (e) {
        // the port may still be held for a moment after a restart
        if (attempt >= 20 || !/exited/.test(e.message) || !/address|bind|listen/i.test(this.stderrTail())) throw e;
        await sleep(250);
      }
    }
  }

  startOnce() {
    return new Promise((resolve, reject) => {
      const err = fs.openSync(this.stderrPath, 'a');
      const args = ['serve', '--data', this.data, '--listen', `127.0.0.1:${this.port}`, '--grace', '2'];
      const proc = spawn(this.bin, args, { env: this.env, stdio: ['ignore', 'pipe', err] });
      fs.closeSync(err);
      this.proc = proc;
      live.add(this);
      let out = '';
      let done = false;
      const timer = setTimeout(() => {
        if (!done) {
          done = true;
          reject(new Error(`server did not start within 10 s; stdout: ${out.slice(-300)}\n${this.stderrTail()}`));
        }
      }, 10000);
      proc.stdout.setEncoding('utf8');
      proc.stdout.on('data', (chunk) => {
        out += chunk;
        this.stdout += chunk;
        const m = out.match(/batchbox setup token: (bbs_\S+)/);
        if (m) this.setupToken = m[1];
        const ready = out.includes(`batchbox listening on http://127.0.0.1:${this.port}`);
        if (ready && !done) {
          done = true;
          clearTimeout(timer);
          resolve();
        }
      });
      proc.on('exit', (code, sig) => {
        this.exitCodes.push(code === null ? sig : code);
        live.delete(this);
        if (!done) {
          done = true;
          clearTimeout(timer);
          reject(new Error(`server exited (${code ?? sig}) during start-up\n${this.stderrTail()}`));
        }
      });
    }).then(async () => {
      await waitFor(async () => (await fetch(this.url('/api/v1/health'))).ok, 5000, '/health');
    });
  }

  stderrTail() {
    try {
      return fs.readFileSync(this.stderrPath, 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '';
    }
  }

  alive() {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  // SIGTERM and a bounded wait (SIGKILL after 10 s); returns the exit code.
  async stop() {
    if (!this.alive()) return this.exitCodes[this.exitCodes.length - 1];
    const proc = this.proc;
    const exited = new Promise((r) => proc.once('exit', (code, sig) => r(code === null ? sig : code)));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
    const code = await exited;
    clearTimeout(t);
    return code;
  }

  async restart() {
    const code = await this.stop();
    if (code !== 0) throw new Error(`server exited with ${code} on SIGTERM\n${this.stderrTail()}`);
    await this.start();
  }

  cleanup(keep) {
    if (this.alive()) this.proc.kill('SIGKILL');
    if (!keep) fs.rmSync(this.base, { recursive: true, force: true });
  }

  // A JSON API call with a Bearer token (set-up steps, not what is tested).
  async api(method, p, body, token) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(this.url(`/api/v1${p}`), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    const text = await res.text();
    let data = text;
    try { data = JSON.parse(text); } catch { /* text */ }
    return { status: res.status, body: data };
  }

  async token(email, password) {
    const r = await this.api('POST', '/auth/login', { email, password });
    if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.accessToken;
  }

  // `batchbox user add` on the live data directory.
  addUser(email, password, role = 'user') {
    const r = spawnSync(this.bin, ['user', 'add', email, '--data', this.data, '--role', role, '--password-stdin'],
      { input: `${password}\n`, encoding: 'utf8', timeout: 15000 });
    if (r.status !== 0) throw new Error(`user add ${email}: ${r.status} ${r.stderr}`);
  }
}

// Records everything a page should not do.  allow: regexes matched
// against a problem's text, for failures a test provokes on purpose.
class Watch {
  constructor(page, server) {
    this.page = page;
    this.server = server;
    this.problems = [];
    this.allow = []; // this page's own expected failures (see check)
    this.responses = [];
    this.requests = [];
    page.on('console', (m) => {
      if (m.type() === 'error') this.problems.push(`console error: ${m.text()} (${(m.location() || {}).url || ''})`);
    });
    page.on('pageerror', (e) => this.problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      this.requests.push(r);
      const u = r.url();
      if (!u.startsWith(server.origin) && !u.startsWith('data:') && !u.startsWith('blob:') && u !== 'about:blank') {
        this.problems.push(`request outside the appliance: ${u}`);
      }
    });
    page.on('requestfailed', (r) => {
      const f = r.failure();
      const text = f ? f.errorText : '';
      if (text.includes('ERR_ABORTED')) return; // navigations away, closed streams
      this.problems.push(`request failed: ${r.method()} ${r.url()} ${text}`);
    });
    page.on('response', (r) => {
      this.responses.push(r);
      if (r.status() >= 400) this.problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    });
  }

  // Throws if a problem is matched neither by `allow` nor by this.allow.
  async check(allow = []) {
    let csp = [];
    try {
      csp = await this.page.evaluate(() => window.__cspViolations || []);
    } catch { /* page closed */ }
    const all = this.problems.concat(csp.map((v) => `CSP violation: ${v}`));
    const ok = allow.concat(this.allow);
    const bad = all.filter((p) => !ok.some((re) => re.test(p)));
    if (bad.length) throw new Error(`the page misbehaved:\n  ${bad.join('\n  ')}`);
  }
}

const INIT_SCRIPT = `
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
  });
`;

async function launchBrowser() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30000,
  });
}

async function newPage(browser, server, { width = 1440, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  context.setDefaultTimeout(10000);
  await context.addInitScript(INIT_SCRIPT);
  const page = await context.newPage();
  const watch = new Watch(page, server);
  return { context, page, watch };
}

// build/screenshots/NAME.png: the whole page, or only the viewport (dialogs).
async function screenshot(page, name, { fullPage = true } = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

// Every form control on the page has an accessible label.
async function checkLabels(page, where) {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.type === 'hidden') continue;
      const ok = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      if (!ok) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
  if (bad.length) throw new Error(`${where}: unlabelled controls: ${bad.join(' | ')}`);
}

// Nothing wider than the viewport (a phone must not scroll sideways).
async function checkNoOverflow(page, where) {
  const r = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, w: window.innerWidth }));
  if (r.sw > r.w + 1) throw new Error(`${where}: the page is ${r.sw}px wide in a ${r.w}px viewport`);
}

process.on('exit', () => {
  for (const s of live) {
    try { s.proc.kill('SIGKILL'); } catch { /* gone */ }
  }
});

module.exports = {
  ROOT, SHOTS, Server, Watch, launchBrowser, newPage, screenshot, checkLabels, checkNoOverflow,
  waitFor, sleep, freePort,
};
