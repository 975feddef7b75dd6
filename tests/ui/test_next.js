// test_next.js — where the sign-in page may send the browser afterwards
// (web/js/auth-pages.js resolveNext, used by nav.js goNext): a unit test in
// Node, no browser.  The function is cut out of the module between its
// RESOLVE-NEXT markers (the module itself imports the UI's libraries by
// server paths) and loaded as a module of its own.  Issue 17, item 9:
// "#/signin?next=/%09/evil.example/x" must not leave the page's origin.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

async function loadResolveNext() {
  const src = fs.readFileSync(path.join(__dirname, '..', '..', 'web', 'js', 'auth-pages.js'), 'utf8');
  const m = src.match(/\/\/ RESOLVE-NEXT-BEGIN[^\n]*\n([\s\S]*?)\/\/ RESOLVE-NEXT-END/);
  if (!m) throw new Error('auth-pages.js has no RESOLVE-NEXT markers');
  const mod = await import(`data:text/javascript,${encodeURIComponent(m[1])}`);
  return mod.resolveNext;
}

const ORIGIN = 'http://127.0.0.1:8080';

module.exports = [{
  name: 'sign-in next: only this origin',
  timeoutMs: 10000,
  async run() {
    const resolveNext = await loadResolveNext();
    // what the page's query parser hands over: URLSearchParams decodes %09 to a tab
    const decoded = (q) => new URLSearchParams(q).get('next');
    const refused = [
      decoded('next=/%09/evil.example/x'),
      decoded('next=/%0a/evil.example/x'),
      decoded('next=/%0d%0a/evil.example'),
      '//evil.example/x', '/\\evil.example', '\\\\evil.example', '/\\/evil.example',
      'https://evil.example/', 'javascript:alert(1)', 'evil.example', '', null, undefined,
      '/\t\\evil.example', ' //evil.example', '#/x\nfoo',
    ];
    for (const next of refused) {
      const to = resolveNext(next, ORIGIN);
      if (to !== null) throw new Error(`${JSON.stringify(next)} leads to ${JSON.stringify(to)}`);
    }
    const kept = [
      ['#/jobs/3', { hash: '#/jobs/3' }],
      ['/api/v1/jobs/3/artifacts/lesson.html',
        { href: `${ORIGIN}/api/v1/jobs/3/artifacts/lesson.html` }],
      ['/api/v1/jobs/3/artifacts/a%20b.html?x=1#t',
        { href: `${ORIGIN}/api/v1/jobs/3/artifacts/a%20b.html?x=1#t` }],
      // a path that resolves to "//host" is an absolute URL of this origin, never "//host"
      ['/.//evil.example/x', { href: `${ORIGIN}//evil.example/x` }],
    ];
    for (const [next, want] of kept) {
      const got = resolveNext(next, ORIGIN);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        throw new Error(`${JSON.stringify(next)}: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
      }
    }
  },
}];
