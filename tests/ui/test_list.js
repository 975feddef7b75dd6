// test_list.js — the job list's filters, search and pagination, and a
// failed job's page explaining what went wrong.
'use strict';

const { ADMIN, config, openSignedIn, row, waitRowState } = require('./common.js');

module.exports = [{
  name: 'job list: filter by state and preset, search, pages; a failure explained',
  timeoutMs: 45000,
  async run(ctx, h) {
    const server = await ctx.server({
      config: config(),
      admin: ADMIN,
      files: { 'notes/alpha-lesson.md': '# Alpha\n\nOne two three.\n', 'notes/beta.md': '# Beta\n\nFour.\n' },
    });
    const token = await server.token(ADMIN.email, ADMIN.password);
    const submit = async (body) => {
      const r = await server.api('POST', '/jobs', body, token);
      if (r.status !== 202) throw new Error(`submit ${JSON.stringify(body)}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.jobId;
    };
    const noops = [];
    for (let i = 0; i < 22; i += 1) noops.push(await submit({ preset: 'noop' }));
    const alpha = await submit({ preset: 'wordcount', md: 'notes/alpha-lesson.md' });
    const beta = await submit({ preset: 'wordcount', md: 'notes/beta.md' });
    const failed = await submit({ preset: 'fail' });

    const { page } = await ctx.page(server);
    await openSignedIn(page, server, ADMIN);
    await waitRowState(page, failed, 'failed');
    await waitRowState(page, alpha, 'succeeded');
    // 25 jobs, 20 a page: the oldest noops are on page 2
    if (await page.locator('tr[data-job-id]').count() !== 20) throw new Error('page 1 does not hold 20 jobs');
    if (await row(page, noops[0]).count()) throw new Error('the oldest job is on page 1');
    await page.getByRole('button', { name: 'Older →' }).click();
    await row(page, noops[0]).waitFor();
    await page.getByText('Page 2').waitFor();
    if (await page.locator('tr[data-job-id]').count() !== 5) throw new Error('page 2 does not hold 5 jobs');
    await page.getByRole('button', { name: '← Newer' }).click();
    await row(page, failed).waitFor();

    await page.getByLabel('State', { exact: true }).selectOption('failed');
    await row(page, failed).waitFor();
    await h.waitFor(async () => (await page.locator('tr[data-job-id]').count()) === 1, 5000, 'only the failed job');
    await page.getByLabel('State', { exact: true }).selectOption('');
    await page.getByLabel('Preset', { exact: true }).nth(1).selectOption('wordcount');
    await h.waitFor(async () => (await page.locator('tr[data-job-id]').count()) === 2, 5000, 'the two wordcount jobs');
    await page.getByLabel('Search inputs').fill('alpha');
    await h.waitFor(async () => (await page.locator('tr[data-job-id]').count()) === 1, 5000, 'the search');
    await row(page, alpha).getByText('alpha-lesson.md').waitFor();
    if (await row(page, beta).count()) throw new Error('the search kept beta');
    await page.getByLabel('Search inputs').fill('no-such-lesson');
    await page.getByText('No jobs match these filters.').waitFor();
    await h.screenshot(page, 'dashboard-filtered-empty');

    // a failed job: the error, what it means, and its log
    await page.goto(server.url(`/#/jobs/${failed}`));
    const explain = page.locator('.explain');
    await explain.waitFor();
    await explain.getByText('Failed:').waitFor();
    if (!/error status|log/i.test(await explain.locator('p').textContent())) {
      throw new Error(`no explanation: ${await explain.textContent()}`);
    }
    await page.locator('[data-testid=log]').getByText('cannot read the lesson').waitFor();
    await page.getByRole('button', { name: 'Retry' }).waitFor();
    await h.screenshot(page, 'job-failed');
  },
}];
