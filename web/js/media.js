// media.js — an artifact shown inline: images (animated GIF, WebP and APNG
// too) as <img>, video as a <video> that loads only near the viewport,
// audio as <audio>, anything else as a download link.  Used by the batch
// page's tiles and the job page's results.
import { html, useEffect, useRef, useState } from './lib.js';

// Only links to this appliance (artifact URLs are ours).
export function localUrl(u) {
  return typeof u === 'string' && /^\/[^/]/.test(u) ? u : null;
}

export function kindOf(a) {
  const t = (a.contentType || '').toLowerCase();
  if (t.startsWith('image/')) return 'image';
  if (t.startsWith('video/')) return 'video';
  if (t.startsWith('audio/')) return 'audio';
  return 'file';
}

// A video that loads only once its tile comes near the viewport (a batch
// of hundreds of clips must not fetch them all); muted and looping like an
// animated image, with controls for sound and seeking.
function LazyVideo({ url, name }) {
  const ref = useRef(null);
  const [near, setNear] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || near) return undefined;
    if (typeof IntersectionObserver !== 'function') { setNear(true); return undefined; }
    const io = new IntersectionObserver((es) => {
      if (es.some((e) => e.isIntersecting)) { setNear(true); io.disconnect(); }
    }, { rootMargin: '300px' });
    io.observe(el);
    return () => io.disconnect();
  }, [near]);
  return html`<video ref=${ref} src=${near ? url : undefined} controls muted loop playsinline
    preload="metadata" aria-label=${name} data-lazy=${near ? 'loaded' : 'waiting'}></video>`;
}

// Images (animated GIF, WebP and APNG too) as <img>, video as a lazy
// <video>, audio as <audio>; anything else as a download link.
export function Preview({ a, url }) {
  const k = kindOf(a);
  if (!url) return html`<span class="tile-link">${a.name}</span>`;
  if (k === 'image') return html`<img src=${url} alt=${a.name} loading="lazy" decoding="async" />`;
  if (k === 'video') return html`<${LazyVideo} url=${url} name=${a.name} />`;
  if (k === 'audio') return html`<audio src=${url} controls preload="none" aria-label=${a.name}></audio>`;
  const dot = a.name.lastIndexOf('.');
  return html`<a class="tile-link" href=${url} download=${a.name.split('/').pop()} tabindex="-1"
    aria-label=${`Download ${a.name}`}>${dot > 0 ? a.name.slice(dot + 1).toUpperCase() : 'FILE'}</a>`;
}
