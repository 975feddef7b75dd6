// deliveries.js — the job page's webhook deliveries (docs/integrations.md,
// "Webhooks"): GET /jobs/:id/deliveries, refreshed while the job runs and
// a little after it ends (retries keep going); hidden when there are none.
import { html, useEffect, useState } from './lib.js';
import { api } from './api.js';
import { ErrorBox } from './components.js';
import { dateTime } from './format.js';

export function Deliveries({ jobId, running }) {
  const [state, setState] = useState({ items: [], error: null });
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let gone = false;
    api('GET', `/jobs/${encodeURIComponent(jobId)}/deliveries`).then(
      (r) => { if (!gone) setState({ items: r.items || [], error: null }); },
      (error) => { if (!gone) setState({ items: [], error }); },
    );
    return () => { gone = true; };
  }, [jobId, tick, running]);

  const pending = state.items.some((d) => d.state === 'pending');
  useEffect(() => {
    if (!running && !pending) return undefined;
    const t = setTimeout(() => setTick((n) => n + 1), 3000);
    return () => clearTimeout(t);
  }, [running, pending, tick]);

  if (!state.error && !state.items.length) return null;
  return html`<section class="card" aria-labelledby="dlv-title" data-testid="deliveries">
    <h2 id="dlv-title">Webhook deliveries</h2>
    <${ErrorBox} error=${state.error} title="The deliveries could not be loaded" />
    <div class="table-wrap"><table class="mini">
      <caption class="visually-hidden">Webhook deliveries of this job</caption>
      <thead><tr><th scope="col">Event</th><th scope="col">To</th><th scope="col">State</th>
        <th scope="col">Tries</th><th scope="col">Last answer</th><th scope="col">When</th></tr></thead>
      <tbody>${state.items.map((d) => html`<tr key=${d.id}>
        <td>${d.event}</td><td><code class="small">${d.url}</code></td>
        <td class=${`dlv-${d.state}`}>${d.state}</td><td>${d.attempts}</td>
        <td>${d.lastStatus ? `HTTP ${d.lastStatus}` : ''}${d.lastError ? html` <span class="muted small">${d.lastError}</span>` : ''}</td>
        <td>${dateTime(d.updatedAt)}</td></tr>`)}</tbody>
    </table></div>
  </section>`;
}
