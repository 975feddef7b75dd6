// test_users.js — scoping and the admin screens: a second user sees only
// their own jobs; the admin sees both, manages the user (role, disable) and
// gets statistics whose charts are drawn.
'use strict';

const { ADMIN, config, openSignedIn, row, waitRowState } = require('./common.js');

const USER = { email: 'second@example.com', password: 'second-password-1' };

// Counts the drawn pixels of every canvas inside `sel`.
async function inkedCanvases(page, sel) {
  return page.locator(`${sel} canvas`).evaluateAll((canvases) => canvases.map((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n += 1;
    return n;
  }));
}

module.exports = [{
  name: 'a second user sees only their jobs; the admin sees all, manages users and stats',
  timeoutMs: 60000,
  async run(ctx, h) {
    const server = await ctx.server({ config: config(), admin: ADMIN });
    server.addUser(USER.email, USER.password);
    const adminToken = await server.token(ADMIN.email, ADMIN.password);
    const a = await server.api('POST', '/jobs', { preset: 'noop' }, adminToken);
    if (a.status !== 202) throw new Error(`admin submit: ${a.status}`);
    const adminJob = a.body.jobId;

    // the second user: submits through the form, sees only that job
    const u = await ctx.page(server);
    await openSignedIn(u.page, server, USER);
    await u.page.getByLabel('Preset', { exact: true }).first().selectOption('noop');
    await u.page.getByRole('button', { name: 'Submit job' }).click();
    const link = u.page.locator('.notice-ok a');
    await link.waitFor();
    const userJob = (await link.textContent()).replace('#', '');
    await waitRowState(u.page, userJob, 'succeeded');
    await u.page.getByRole('heading', { name: 'Your jobs' }).waitFor();
    if (await row(u.page, adminJob).count()) throw new Error("the user sees the admin's job");
    if (await u.page.locator('tr[data-job-id]').count() !== 1) throw new Error('the user sees more than one job');
    if (await u.page.getByRole('link', { name: 'Users' }).count()) throw new Error('a user sees the Users link');
    await h.screenshot(u.page, 'dashboard-user');
    // another user's job answers 404: the page says so
    ctx.allow.push(new RegExp(`HTTP 404: GET .*/api/v1/jobs/${adminJob}$`), /Failed to load resource.*404/);
    await u.page.goto(server.url(`/#/jobs/${adminJob}`));
    await u.page.getByText(`There is no job #${adminJob}, or it belongs to someone else.`).waitFor();
    await u.page.goto(server.url('/#/admin/stats'));
    await u.page.getByRole('heading', { name: 'Admins only' }).waitFor();

    // the admin sees both jobs with their owners
    const ad = await ctx.page(server);
    await openSignedIn(ad.page, server, ADMIN);
    await ad.page.getByRole('heading', { name: 'All jobs' }).waitFor();
    await waitRowState(ad.page, adminJob, 'succeeded');
    await waitRowState(ad.page, userJob, 'succeeded');
    await row(ad.page, userJob).getByText(USER.email).waitFor();
    await row(ad.page, adminJob).getByText(ADMIN.email).waitFor();
    // filters: by preset and by state
    await ad.page.getByLabel('State', { exact: true }).selectOption('failed');
    await ad.page.getByText('No jobs match these filters.').waitFor();
    await ad.page.getByLabel('State', { exact: true }).selectOption('');
    await waitRowState(ad.page, userJob, 'succeeded');

    // users: role and disable, through the UI
    await ad.page.getByRole('link', { name: 'Users' }).click();
    await ad.page.getByRole('heading', { name: 'Users' }).waitFor();
    const urow = ad.page.locator(`tr[data-user="${USER.email}"]`);
    await urow.waitFor();
    await h.checkLabels(ad.page, 'users');
    await urow.getByLabel(`Role of ${USER.email}`).selectOption('admin');
    await urow.getByText('Role set to admin.').waitFor();
    await urow.getByLabel(`Role of ${USER.email}`).selectOption('user');
    await urow.getByText('Role set to user.').waitFor();
    await urow.getByRole('button', { name: 'Disable' }).click();
    await ad.page.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
    await h.waitFor(async () => (await urow.getAttribute('data-disabled')) === 'true', 5000, 'disabled');
    const users = await server.api('GET', '/admin/users', undefined, adminToken);
    if (!users.body.items.find((x) => x.email === USER.email).disabled) throw new Error('not disabled on the server');
    await h.screenshot(ad.page, 'admin-users');
    await ad.page.setViewportSize({ width: 375, height: 800 });
    await h.checkNoOverflow(ad.page, 'users at 375 px');
    await h.screenshot(ad.page, 'admin-users-375');
    await ad.page.setViewportSize({ width: 1440, height: 900 });
    // the disabled user's session ends: a reload shows the sign-in screen
    u.watch.allow.push(/HTTP 401: /, /HTTP 403: POST .*\/api\/v1\/auth\/refresh$/,
      /Failed to load resource.*40[13]/);
    await u.page.goto(server.url('/#/'));
    await u.page.reload();
    await u.page.getByRole('heading', { name: 'Sign in to batchbox' }).waitFor();
    await urow.getByRole('button', { name: 'Enable' }).click();
    await h.waitFor(async () => (await urow.getAttribute('data-disabled')) === 'false', 5000, 'enabled');

    // stats: gauges and three drawn charts
    await ad.page.getByRole('link', { name: 'Stats' }).click();
    await ad.page.getByRole('heading', { name: 'Statistics' }).waitFor();
    for (const id of ['chart-hour', 'chart-duration', 'chart-state']) {
      await ad.page.locator(`[data-testid=${id}] canvas`).waitFor();
      const ink = await inkedCanvases(ad.page, `[data-testid=${id}]`);
      if (!ink.length || Math.max(...ink) < 50) throw new Error(`${id} looks empty: ${ink}`);
    }
    await ad.page.locator('.gauge', { hasText: 'Users' }).getByText('2').waitFor();
    await h.screenshot(ad.page, 'admin-stats');
    await ad.page.setViewportSize({ width: 375, height: 800 });
    await h.checkNoOverflow(ad.page, 'stats at 375 px');
    await h.screenshot(ad.page, 'admin-stats-375');
  },
}];
