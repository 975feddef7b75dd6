// test_bulk.js — flow control in the job list: the paused-queue banner,
// "Select all matching" with its dry-run count and confirmation (bulk
// cancel), and the dead-letters view.
'use strict';

const { ADMIN, config, openSignedIn, row, waitRowState } = require('./common.js');

module.exports = [{
  name: 'bulk cancel with the count, the paused banner, dead letters',
  timeoutMs: 45000,
  async run(ctx, h) {
    const server = await ctx.server({ config: config(), admin: ADMIN });
    const token = await server.token(ADMIN.email, ADMIN.password);
    const call = async (method, path, body, want) => {
      const r = await server.api(method, path, body, token);
      if (r.status !== want) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    await call('POST', '/admin/queue/pause', { preset: 'noop' }, 200);
    const held = [];
    for (let i = 0; i < 5; i += 1) held.push((await call('POST', '/jobs', { preset: 'noop' }, 202)).jobId);
    const failed = (await call('POST', '/jobs', { preset: 'fail' }, 202)).jobId;

    const { page } = await ctx.page(server);
    await openSignedIn(page, server, ADMIN);
    const banner = page.locator('[data-testid=queue-banner]');
    await banner.getByText('noop').waitFor();
    await waitRowState(page, failed, 'failed');

    // select all matching: 5 queued noop jobs, counted first, canceled after confirming
    await page.getByLabel('Preset', { exact: true }).nth(1).selectOption('noop');
    await h.waitFor(async () => (await page.locator('tr[data-job-id]').count()) === 5, 5000, 'the noop jobs');
    await page.locator('[data-testid=bulk-cancel]').click();
    const count = page.locator('[data-testid=bulk-count]');
    await count.waitFor();
    if (!/^\s*5\s+jobs match/.test(await count.textContent())) {
      throw new Error(`count: ${await count.textContent()}`);
    }
    for (const id of held) {
      const dto = await call('GET', `/jobs/${id}`, undefined, 200);
      if (dto.state !== 'queued') throw new Error(`the count changed job ${id}: ${dto.state}`);
    }
    await h.screenshot(page, 'bulk-count');
    await page.getByRole('button', { name: 'Cancel 5 jobs' }).click();
    await page.locator('[data-testid=bulk-result]').getByText('Canceled: 5 of 5 jobs').waitFor();
    for (const id of held) await waitRowState(page, id, 'canceled');

    // the dead-letters view: only the failed job with no attempts left
    await page.getByLabel('Preset', { exact: true }).nth(1).selectOption('');
    await page.locator('[data-testid=dead-letters]').check();
    await h.waitFor(async () => (await page.locator('tr[data-job-id]').count()) === 1, 5000, 'one dead letter');
    await row(page, failed).waitFor();
    await h.checkLabels(page, 'dead letters');

    // resume from the banner
    await banner.getByRole('button', { name: 'Resume noop' }).click();
    await banner.waitFor({ state: 'detached' });
    const q = await call('GET', '/admin/queue', undefined, 200);
    if (q.presets.some((p) => p.paused)) throw new Error(`still paused: ${JSON.stringify(q)}`);
  },
}];
