#!/usr/bin/env node
// run.js — runs the batchbox browser tests: playwright-core drives Debian's
// chromium against the real binary.
//
//   node tests/ui/run.js --bin build/batchbox [-k FILTER] [--keep]
//
// Each test gets its own servers (harness.js) and browser contexts, a time
// limit, and after it every page is checked for console errors, failed
// requests, CSP violations and requests leaving the appliance, and every
// server must stop with exit code 0.  Prints "ok - NAME (1.2s)" or
// "FAIL - NAME: why", then "N passed, M failed".  Screenshots go to
// build/screenshots/ (FAIL-*.png: the pages of a failed test as it ended).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness.js');

function parseArgs(argv) {
  const a = { bin: 'build/batchbox', filter: [], keep: false };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--bin') a.bin = argv[++i];
    else if (argv[i] === '-k') a.filter.push(argv[++i]);
    else if (argv[i] === '--keep') a.keep = true;
    else {
      console.error(`usage: run.js --bin BINARY [-k FILTER] [--keep]; unknown ${argv[i]}`);
      process.exit(2);
    }
  }
  return a;
}

function withTimeout(promise, ms, what) {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

// The resources of one test, released whatever happens.
class Ctx {
  constructor(bin, browser) {
    this.bin = bin;
    this.browser = browser;
    this.servers = [];
    this.pages = [];
    this.allow = []; // regexes of problems this test provokes on purpose
  }

  async server(opts = {}) {
    const s = new h.Server({ bin: this.bin, ...opts });
    this.servers.push(s);
    await s.start();
    return s;
  }

  async page(server, opts) {
    const p = await h.newPage(this.browser, server, opts);
    this.pages.push(p);
    return p;
  }

  async finish(failed, keep, name) {
    const problems = [];
    if (failed) {
      // what each page showed when the test failed: build/screenshots/FAIL-*.png
      for (const [i, p] of this.pages.entries()) {
        const file = `FAIL-${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}-${i}`;
        try { await withTimeout(h.screenshot(p.page, file), 5000, 'a failure screenshot'); } catch { /* closed */ }
      }
    }
    if (!failed) {
      for (const p of this.pages) {
        try {
          await p.watch.check(this.allow);
        } catch (e) {
          problems.push(e.message);
        }
      }
    }
    for (const p of this.pages) {
      if (p.context) {
        try { await withTimeout(p.context.close(), 5000, 'closing a browser context'); } catch { /* gone */ }
      }
    }
    for (const s of this.servers) {
      const wasAlive = s.alive();
      let code = null;
      try { code = await s.stop(); } catch (e) { problems.push(`stopping the server: ${e.message}`); }
      if (wasAlive && code !== 0) problems.push(`server exited with ${code} on SIGTERM\n${s.stderrTail()}`);
      if (!failed && problems.length === 0) s.cleanup(false);
      else {
        s.cleanup(keep);
        if (keep) problems.push(`(kept ${s.base})`);
      }
    }
    return problems;
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const bin = path.resolve(h.ROOT, args.bin);
  if (!fs.existsSync(bin)) {
    console.log(`no binary at ${bin}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  const files = fs.readdirSync(__dirname).filter((f) => /^test_.*\.js$/.test(f)).sort();
  const tests = [];
  for (const f of files) {
    for (const t of require(path.join(__dirname, f))) {
      const name = `${f.replace(/\.js$/, '')}::${t.name}`;
      if (args.filter.length && !args.filter.some((k) => name.includes(k))) continue;
      tests.push({ ...t, name });
    }
  }
  fs.mkdirSync(h.SHOTS, { recursive: true });
  let browser;
  try {
    browser = await h.launchBrowser();
  } catch (e) {
    console.log(`FAIL - chromium did not start: ${e.message}`);
    console.log(`0 passed, ${tests.length || 1} failed`);
    process.exit(1);
  }
  let passed = 0;
  let failed = 0;
  for (const t of tests) {
    const ctx = new Ctx(bin, browser);
    const t0 = Date.now();
    let err = null;
    try {
      await withTimeout(t.run(ctx, h), t.timeoutMs || 60000, t.name);
    } catch (e) {
      err = e;
    }
    const problems = await ctx.finish(err !== null, args.keep, t.name);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (!err && !problems.length) {
      passed += 1;
      console.log(`ok - ${t.name} (${secs}s)`);
    } else {
      failed += 1;
      // fetch hides the socket error in err.cause ("fetch failed" alone says nothing)
      const cause = err && err.cause ? `cause: ${err.cause.code || ''} ${err.cause.message || err.cause}` : null;
      const why = [err ? (err.stack || String(err)) : null, cause, ...problems].filter(Boolean).join('\n');
      console.log(`FAIL - ${t.name} (${secs}s): ${why.split('\n').join('\n    ')}`);
    }
  }
  try { await withTimeout(browser.close(), 10000, 'closing chromium'); } catch { /* killed on exit */ }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL - the runner crashed: ${e.stack || e}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
