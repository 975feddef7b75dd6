// nav.js — hash navigation (#/jobs/12): every screen lives in index.html.
import { resolveNext } from './auth-pages.js';

export function navigate(hash) {
  if (location.hash !== hash) location.hash = hash;
}

// After signing in: on to where the user was going.  `next` is a hash
// route ("#/jobs/3"), or a path on this server ("/api/v1/jobs/3/artifacts/
// lesson.html": the server sends a browser that opens a lesson page without
// a session here first), loaded as a page; resolveNext (auth-pages.js)
// keeps it on this origin.  Anything else: the dashboard.
export function goNext(next) {
  const to = resolveNext(next, location.origin);
  if (to && to.href) {
    location.assign(to.href);
    return;
  }
  navigate(to && to.hash ? to.hash : '#/');
}
