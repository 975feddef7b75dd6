// test_actions.js — actions from the job page: cancel a running job through
// its confirmation dialog (with a reason), edit its preset, retry it.
'use strict';

const { ADMIN, config, openSignedIn } = require('./common.js');

module.exports = [{
  name: 'cancel a running job from its page, edit it, retry it',
  timeoutMs: 45000,
  async run(ctx, h) {
    const server = await ctx.server({ config: config(), admin: ADMIN });
    const token = await server.token(ADMIN.email, ADMIN.password);
    const { page } = await ctx.page(server);
    await openSignedIn(page, server, ADMIN);

    const r = await server.api('POST', '/jobs', { preset: 'sleep' }, token);
    if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
    const id = r.body.jobId;
    await page.locator(`tr[data-job-id="${id}"]`).getByRole('link', { name: `#${id}` }).click();
    const jobPage = page.locator(`.job-page[data-job-id="${id}"]`);
    await jobPage.waitFor();
    await h.waitFor(async () => (await jobPage.getAttribute('data-state')) === 'running', 10000, 'running');
    await page.locator('[data-testid=log]').getByText('sleeping').waitFor();

    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await h.checkLabels(page, 'cancel dialog');
    // the dialog can be dismissed with Escape and nothing happens
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    if ((await jobPage.getAttribute('data-state')) !== 'running') throw new Error('Escape canceled the job');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.getByLabel('Reason (optional)').fill('changed my mind');
    await h.screenshot(page, 'job-action-dialog', { fullPage: false });
    await dialog.getByRole('button', { name: 'Confirm: Cancel' }).click();
    await h.waitFor(async () => (await jobPage.getAttribute('data-state')) === 'canceled', 10000, 'canceled');
    await page.locator('.explain').getByText('Canceled:').waitFor();
    await page.locator('[data-testid=timeline] li[data-state=canceled]').waitFor();
    const dto = await server.api('GET', `/jobs/${id}`, undefined, token);
    if (dto.body.state !== 'canceled') throw new Error(`server says ${dto.body.state}`);
    await h.screenshot(page, 'job-canceled');

    // edit metadata: the canceled job gets another preset
    await page.getByRole('button', { name: 'Edit metadata' }).click();
    await dialog.getByLabel('Preset').selectOption('noop');
    await dialog.getByRole('button', { name: 'Confirm: Edit metadata' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.details').getByText('No-op (testing)').waitFor();

    // retry: the same job goes back to the queue and now runs the new preset
    await page.getByRole('button', { name: 'Retry' }).click();
    await dialog.getByRole('button', { name: 'Confirm: Retry' }).click();
    await h.waitFor(async () => (await jobPage.getAttribute('data-state')) === 'succeeded', 10000, 'the retried job to succeed');
    await page.locator('[data-testid=timeline] li[data-state=queued]').nth(1).waitFor();
    const after = await server.api('GET', `/jobs/${id}`, undefined, token);
    if (after.body.preset !== 'noop' || after.body.state !== 'succeeded') {
      throw new Error(`after edit + retry: ${after.body.preset} ${after.body.state}`);
    }
  },
}];
