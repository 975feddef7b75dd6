// nav.js — hash navigation (#/jobs/12): every screen lives in index.html.
export function navigate(hash) {
  if (location.hash !== hash) location.hash = hash;
}
