// test_schedules.js — scheduling in the browser (docs/scheduling.md): the
// schedules page (add with a bad cron named next to its field, then a good
// one, pause and resume, delete after confirming), a delayed job's
// "scheduled" badge with its time in the job list, and a dependency chain
// on the job page (upstream and downstream jobs, the waiting badge with
// what it waits for, then the chain running to the end).
'use strict';

const { ADMIN, config, openSignedIn, row } = require('./common.js');
const { waitFor } = require('./harness.js');

module.exports = [{
  name: 'schedules: add, pause, resume and delete on the schedules page',
  timeoutMs: 40000,
  async run(ctx, h) {
    const server = await ctx.server({ config: config(), admin: ADMIN });
    const { page } = await ctx.page(server);
    await openSignedIn(page, server, ADMIN);
    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('heading', { name: 'Schedules', level: 1 }).waitFor();
    await page.getByText('No schedules yet.').waitFor();
    await h.checkLabels(page, 'schedules');

    ctx.allow.push(/HTTP 400: POST .*\/api\/v1\/schedules$/, /Failed to load resource.*400/);
    await page.getByLabel('Name').fill('nightly count');
    await page.getByLabel('Cron').fill('99 2 * * *');
    await page.getByLabel('Time zone').fill('Europe/Madrid');
    await page.getByLabel('Preset').selectOption('noop');
    await page.getByRole('button', { name: 'Add schedule' }).click();
    await page.locator('.field-error', { hasText: /minute/ }).waitFor();
    await page.getByLabel('Cron').fill('30 2 * * *');
    await page.getByRole('button', { name: 'Add schedule' }).click();
    await page.getByText(/Schedule "nightly count" created/).waitFor();
    const rowSel = page.locator('table[data-testid="schedules"] tbody tr');
    await waitFor(async () => (await rowSel.count()) === 1, 5000, 'the schedule row');
    const id = await rowSel.first().getAttribute('data-schedule-id');
    await rowSel.first().getByText('Europe/Madrid').waitFor();
    await h.screenshot(page, 'schedules');

    await rowSel.first().getByRole('button', { name: 'Pause' }).click();
    await page.locator(`tr[data-schedule-id="${id}"][data-enabled="false"]`).waitFor();
    const tok = await server.token(ADMIN.email, ADMIN.password);
    let r = await server.api('GET', `/schedules/${id}`, undefined, tok);
    if (r.body.enabled !== false || r.body.nextRunAt !== null) throw new Error(`not paused: ${JSON.stringify(r.body)}`);
    await rowSel.first().getByRole('button', { name: 'Resume' }).click();
    await page.locator(`tr[data-schedule-id="${id}"][data-enabled="true"]`).waitFor();

    await rowSel.first().getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No schedules yet.').waitFor();
    r = await server.api('GET', `/schedules/${id}`, undefined, tok);
    if (r.status !== 404) throw new Error(`not deleted: ${r.status}`);
  },
}, {
  name: 'schedules: a scheduled badge in the list and a dependency chain on the job page',
  timeoutMs: 40000,
  async run(ctx, h) {
    const server = await ctx.server({ config: config(), admin: ADMIN });
    const tok = await server.token(ADMIN.email, ADMIN.password);
    const submit = async (body) => {
      const r = await server.api('POST', '/jobs', body, tok);
      if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.jobId;
    };
    const later = await submit({ preset: 'noop', delaySec: 3600 });
    const first = await submit({ preset: 'sleep' });
    const second = await submit({ preset: 'noop', dependsOn: [first] });
    const third = await submit({ preset: 'noop', dependsOn: [second], runWhen: 'always' });

    const { page } = await ctx.page(server);
    await openSignedIn(page, server, ADMIN);
    await row(page, later).locator('[data-state="scheduled"]').waitFor();
    await row(page, later).getByText(/runs at/).waitFor();
    await row(page, second).locator('[data-state="waiting"]').waitFor();
    await row(page, second).getByText(`waiting for job ${first} (runWhen success)`).waitFor();

    await page.goto(server.url(`/#/jobs/${second}`));
    const chain = page.locator('[data-testid="dependency-chain"]');
    await chain.locator(`[data-testid="upstream"] li[data-job-id="${first}"]`).waitFor();
    await chain.locator(`[data-testid="downstream"] li[data-job-id="${third}"]`).waitFor();
    await page.locator('.job-head [data-testid="hold-note"]', { hasText: `job ${first}` }).waitFor();
    await h.screenshot(page, 'dependency-chain');

    // canceling the first job: success can no longer be met, second ends
    // canceled with the reason; third (runWhen always) runs
    const r = await server.api('POST', `/jobs/${first}/actions`, { type: 'cancel' }, tok);
    if (r.status !== 200) throw new Error(`cancel: ${r.status}`);
    await page.locator(`.job-page[data-state="canceled"]`).waitFor({ timeout: 15000 });
    await page.getByText(/it depends on ended canceled/).first().waitFor();
    await chain.locator(`[data-testid="downstream"] li[data-job-id="${third}"] [data-state="succeeded"]`)
      .waitFor({ timeout: 15000 });
  },
}];
