// test_profile.js — the profile screen: a new display name (sent after the
// access cookie expired: the page refreshes its session), a wrong and a
// right current password, and signing in with the new one.
'use strict';

const { ADMIN, config, openSignedIn, signIn } = require('./common.js');

module.exports = [{
  name: 'profile: change the name and the password',
  timeoutMs: 40000,
  async run(ctx, h) {
    const server = await ctx.server({ config: config(), admin: ADMIN });
    const { page, watch } = await ctx.page(server);
    await openSignedIn(page, server, ADMIN);
    await page.getByRole('link', { name: 'Profile' }).click();
    await page.getByRole('heading', { name: 'Your profile' }).waitFor();
    await h.checkLabels(page, 'profile');
    // an expired access cookie: the request is refused once, the page
    // refreshes the session with the refresh cookie and retries
    ctx.allow.push(/HTTP 401: PATCH .*\/api\/v1\/user\/profile$/, /Failed to load resource.*401/);
    await page.context().clearCookies({ name: 'bb_access' });
    await page.getByLabel('Display name').fill('Ada Admin');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByText('Name saved.').waitFor();
    if (!watch.responses.some((r) => r.url().endsWith('/api/v1/auth/refresh') && r.status() === 200)) {
      throw new Error('the session was not refreshed');
    }
    await page.locator('.who-name', { hasText: 'Ada Admin' }).waitFor();

    // a wrong current password is named next to its field
    ctx.allow.push(/HTTP 400: PATCH .*\/api\/v1\/user\/profile$/, /Failed to load resource.*400/);
    await page.getByLabel('Current password').fill('not-the-password');
    await page.getByLabel('New password', { exact: true }).fill('new-password-2');
    await page.getByLabel('Repeat the new password').fill('new-password-2');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.locator('.field-error', { hasText: /wrong/ }).waitFor();
    await page.getByLabel('Current password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed.').waitFor();
    await h.screenshot(page, 'profile');
    await page.setViewportSize({ width: 375, height: 800 });
    await h.checkNoOverflow(page, 'profile at 375 px');
    await h.screenshot(page, 'profile-375');
    await page.setViewportSize({ width: 1440, height: 900 });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to batchbox' }).waitFor();
    ctx.allow.push(/HTTP 401: POST .*\/api\/v1\/auth\/login$/, /Failed to load resource.*401/);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong email or password.').waitFor();
    await signIn(page, ADMIN.email, 'new-password-2');
    await page.locator('.who-name', { hasText: 'Ada Admin' }).waitFor();
  },
}];
