// test_restart.js — the dashboard keeps working while the server restarts
// underneath it: the event stream reconnects with the id of the last event
// it saw, and the events published while it was away appear, in order,
// without a reload.
'use strict';

const { ADMIN, config, openSignedIn, waitRowState } = require('./common.js');

module.exports = [{
  name: 'server restart: SSE reconnects and resumes by Last-Event-ID',
  timeoutMs: 45000,
  async run(ctx, h) {
    const server = await ctx.server({ config: config(), admin: ADMIN });
    const token = await server.token(ADMIN.email, ADMIN.password);
    const { page } = await ctx.page(server);
    await openSignedIn(page, server, ADMIN);
    await page.locator('[data-live=live]').waitFor();
    await page.evaluate(() => { window.__reloadMarker = 'still-here'; });

    const first = await server.api('POST', '/jobs', { preset: 'noop' }, token);
    await waitRowState(page, first.body.jobId, 'succeeded');

    // Hold the stream's reconnection until the missed events exist, so the
    // test knows they were published while the page was away.
    // the headers as sent on the wire (after Chromium adds Last-Event-ID)
    const wire = [];
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
      const hdrs = {};
      for (const [k, v] of Object.entries(e.headers)) hdrs[k.toLowerCase()] = v;
      wire.push(hdrs);
    });
    let release;
    const held = new Promise((r) => { release = r; });
    const reconnects = [];
    await page.route('**/api/v1/jobs/events*', async (route) => {
      reconnects.push(route.request());
      await held;
      await route.continue();
    });
    await server.restart();
    await page.locator('[data-live=reconnecting]').waitFor();
    await h.screenshot(page, 'dashboard-reconnecting');
    const missed = [];
    for (let i = 0; i < 2; i += 1) {
      const r = await server.api('POST', '/jobs', { preset: 'noop' }, token);
      if (r.status !== 202) throw new Error(`submit after restart: ${r.status}`);
      missed.push(r.body.jobId);
    }
    await h.waitFor(async () => {
      const all = await Promise.all(missed.map((id) => server.api('GET', `/jobs/${id}`, undefined, token)));
      return all.every((r) => r.body.state === 'succeeded');
    }, 10000, 'the missed jobs to finish');
    await h.waitFor(() => reconnects.length > 0, 10000, 'the browser to reconnect');
    release();

    for (const id of missed) await waitRowState(page, id, 'succeeded', 10000);
    await page.locator('[data-live=live]').waitFor();
    const url = new URL(reconnects[0].url());
    const sent = wire.find((hd) => hd['last-event-id']);
    const resumed = Number(sent ? sent['last-event-id'] : url.searchParams.get('lastEventId'));
    if (!(resumed > 0)) {
      throw new Error(`the reconnect did not resume: ${url} ${JSON.stringify(wire)}`);
    }
    if (await page.evaluate(() => window.__reloadMarker) !== 'still-here') throw new Error('the page reloaded');
    await page.unroute('**/api/v1/jobs/events*');

    // and the form still works against the new process
    await page.getByLabel('Preset', { exact: true }).first().selectOption('noop');
    await page.getByRole('button', { name: 'Submit job' }).click();
    const link = page.locator('.notice-ok a');
    await link.waitFor();
    await waitRowState(page, (await link.textContent()).replace('#', ''), 'succeeded');
  },
}];
