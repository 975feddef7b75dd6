// app.js — entry point of the batchbox web UI: finds out whether the
// appliance needs its first account, whether the browser is signed in, and
// routes #/... hashes to the screens (every page is index.html; hash routing
// keeps the server's static handler simple).
import { html, render, useEffect, useState, useCallback } from './js/lib.js';
import { api, ApiError, hasSession, onSignedOut } from './js/api.js';
import { Loading, ErrorBox } from './js/components.js';
import { goNext, navigate } from './js/nav.js';
import { SetupPage, SignInPage } from './js/auth-pages.js';
import { Dashboard } from './js/dashboard.js';
import { JobPage } from './js/job-page.js';
import { BatchPage } from './js/batch-page.js';
import { ReviewPage } from './js/review-page.js';
import { ProfilePage } from './js/profile.js';
import { UsersPage, StatsPage } from './js/admin.js';
import { SchedulesPage } from './js/schedules.js';
import { ComfyServersPage } from './js/comfyui-admin.js';

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  return { path: path || '/', query };
}

function useRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

function Header({ me, onSignOut, path }) {
  const link = (href, label, active) => html`<a href=${href}
    class=${active ? 'active' : ''} aria-current=${active ? 'page' : undefined}>${label}</a>`;
  const admin = me.role === 'admin';
  return html`<header class="top">
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <a class="brand" href="#/">batchbox</a>
    <nav aria-label="Main">
      ${link('#/', 'Jobs', path === '/' || path.startsWith('/jobs') || path.startsWith('/batches'))}
      ${link('#/schedules', 'Schedules', path === '/schedules')}
      ${link('#/profile', 'Profile', path === '/profile')}
      ${admin ? link('#/admin/users', 'Users', path === '/admin/users') : null}
      ${admin ? link('#/admin/stats', 'Stats', path === '/admin/stats') : null}
      ${admin ? link('#/admin/comfyui', 'ComfyUI', path === '/admin/comfyui') : null}
    </nav>
    <div class="who">
      <span class="who-name" title=${me.email}>${me.name || me.email}</span>
      ${admin ? html`<span class="role">admin</span>` : null}
      <button type="button" class="btn btn-quiet" onClick=${onSignOut}>Sign out</button>
    </div>
  </header>`;
}

function NotFound() {
  return html`<section><h1 tabindex="-1">Page not found</h1>
    <p>There is no page at this address. <a href="#/">Go to the job list</a>.</p></section>`;
}

function Forbidden() {
  return html`<section><h1 tabindex="-1">Admins only</h1>
    <p>This page is for administrators. <a href="#/">Go to the job list</a>.</p></section>`;
}

function Screen({ route, me, setMe }) {
  const { path, query } = route;
  const admin = me.role === 'admin';
  let m;
  if (path === '/' || path === '/jobs') return html`<${Dashboard} me=${me} />`;
  if ((m = path.match(/^\/jobs\/(\d+)$/))) return html`<${JobPage} key=${m[1]} id=${m[1]} me=${me} />`;
  if ((m = path.match(/^\/jobs\/(\d+)\/review$/))) return html`<${ReviewPage} key=${m[1]} id=${m[1]} me=${me} />`;
  if ((m = path.match(/^\/batches\/(\d+)$/))) return html`<${BatchPage} key=${m[1]} id=${m[1]} me=${me} />`;
  if (path === '/schedules') return html`<${SchedulesPage} />`;
  if (path === '/profile') return html`<${ProfilePage} me=${me} setMe=${setMe} />`;
  if (path === '/admin/users') return admin ? html`<${UsersPage} me=${me} />` : html`<${Forbidden} />`;
  if (path === '/admin/stats') return admin ? html`<${StatsPage} />` : html`<${Forbidden} />`;
  if (path === '/admin/comfyui') return admin ? html`<${ComfyServersPage} />` : html`<${Forbidden} />`;
  if (path === '/signin' || path === '/setup') {
    goNext(query.get('next'));
    return null;
  }
  return html`<${NotFound} />`;
}

function App() {
  const route = useRoute();
  // boot: {phase: 'loading'|'error'|'setup'|'signin'|'ready', error?}
  const [boot, setBoot] = useState({ phase: 'loading' });
  const [me, setMe] = useState(null);

  const start = useCallback(async () => {
    setBoot({ phase: 'loading' });
    try {
      const health = await api('GET', '/health');
      if (health.setupRequired) {
        setBoot({ phase: 'setup' });
        return;
      }
      if (!hasSession()) {
        setBoot({ phase: 'signin' });
        return;
      }
      const user = await api('GET', '/auth/me');
      setMe(user);
      setBoot({ phase: 'ready' });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setBoot({ phase: 'signin' });
      else setBoot({ phase: 'error', error: e });
    }
  }, []);

  useEffect(() => { start(); }, []);
  useEffect(() => onSignedOut(() => { setMe(null); setBoot({ phase: 'signin', expired: true }); }), []);

  // Focus the page heading after a route change, for keyboard and screen
  // reader users.
  useEffect(() => {
    const h1 = document.querySelector('main h1');
    if (h1 && document.activeElement === document.body) h1.focus({ preventScroll: true });
  }, [route.path, boot.phase]);

  const signedIn = (user) => {
    setMe(user);
    setBoot({ phase: 'ready' });
    const next = route.query.get('next');
    if (route.path === '/signin' || route.path === '/setup') goNext(next);
  };

  const signOut = async () => {
    try { await api('POST', '/auth/logout'); } catch { /* the cookies go either way */ }
    setMe(null);
    setBoot({ phase: 'signin' });
    navigate('#/signin');
  };

  let body;
  if (boot.phase === 'loading') {
    body = html`<main id="main" tabindex="-1" class="narrow"><${Loading} what="batchbox" /></main>`;
  } else if (boot.phase === 'error') {
    body = html`<main id="main" tabindex="-1" class="narrow"><h1 tabindex="-1">batchbox</h1>
      <${ErrorBox} error=${boot.error} title="The appliance did not answer" onRetry=${start} /></main>`;
  } else if (boot.phase === 'setup') {
    body = html`<main id="main" tabindex="-1" class="narrow">
      <${SetupPage} key=${route.query.get('token') || ''} token=${route.query.get('token') || ''} onDone=${signedIn} /></main>`;
  } else if (boot.phase === 'signin' || !me) {
    body = html`<main id="main" tabindex="-1" class="narrow">
      <${SignInPage} expired=${boot.expired} onDone=${signedIn} /></main>`;
  } else {
    body = html`<${Header} me=${me} path=${route.path} onSignOut=${signOut} />
      <main id="main" tabindex="-1"><${Screen} route=${route} me=${me} setMe=${setMe} /></main>`;
  }
  return body;
}

const root = document.getElementById('app');
root.classList.remove('boot');
root.textContent = '';
render(html`<${App} />`, root);
