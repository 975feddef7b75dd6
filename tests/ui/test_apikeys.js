// test_apikeys.js — API keys on the profile page (docs/integrations.md):
// create a submit key (shown once in a dialog), see it listed with its
// prefix, use it from outside the browser, revoke it and see it refused.
'use strict';

const { ADMIN, config, openSignedIn } = require('./common.js');

module.exports = [{
  name: 'profile: create, use and revoke an API key',
  timeoutMs: 40000,
  async run(ctx, h) {
    const server = await ctx.server({ config: config(), admin: ADMIN });
    const { page } = await ctx.page(server);
    await openSignedIn(page, server, ADMIN);
    await page.getByRole('link', { name: 'Profile' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.getByText('No keys yet.').waitFor();
    await page.getByLabel('Key name').fill('nightly CI');
    await page.getByLabel('Scope').selectOption('submit');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByTestId('new-key');
    await shown.waitFor();
    const key = (await shown.textContent()).trim();
    if (!/^bbk_[A-Za-z0-9_-]{43}$/.test(key)) throw new Error(`unexpected key ${key}`);
    await h.checkLabels(page, 'api key dialog');
    await page.getByRole('button', { name: 'Done' }).click();
    const row = page.locator('.key-table tr', { hasText: 'nightly CI' });
    await row.waitFor();
    if (!(await row.textContent()).includes(key.slice(0, 12))) throw new Error('no prefix shown');
    await h.screenshot(page, 'profile-api-keys');

    // the key works from a script
    const use = () => fetch(server.url('/api/v1/jobs'), { headers: { Authorization: `Bearer ${key}` } });
    if ((await use()).status !== 200) throw new Error('the new key was refused');

    await row.getByRole('button', { name: 'Revoke the key nightly CI' }).click();
    await page.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.locator('.key-table tr', { hasText: 'revoked' }).waitFor();
    if ((await use()).status !== 401) throw new Error('a revoked key still works');
  },
}];
