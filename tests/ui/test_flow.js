// test_flow.js — the main path: first-run setup, sign-in (by keyboard),
// a field error from a 400, a drag-and-dropped upload with progress, a
// submitted job that goes queued → running → succeeded in the list without
// a reload, and its job page.
'use strict';

const {
  config, LESSON, row, waitRowState, recordStates, dropFiles,
} = require('./common.js');

const OWNER = { email: 'owner@example.com', name: 'Olive Owner', password: 'owner-password-1' };

module.exports = [{
  name: 'setup, sign-in, submit a lesson, live states, job page',
  timeoutMs: 120000, // long path; a busy machine (load 20+) took 70 s
  async run(ctx, h) {
    const server = await ctx.server({ config: config() });
    await h.waitFor(() => server.setupToken, 5000, 'the setup token on stdout');
    const { page, watch } = await ctx.page(server);
    // a wrong field on purpose below: the 400 of POST /jobs
    ctx.allow.push(/HTTP 400: POST .*\/api\/v1\/jobs$/, /Failed to load resource.*400/);

    // first run: the UI asks for the setup token; the printed link fills it in
    await page.goto(server.url('/'));
    await page.getByRole('heading', { name: 'Set up batchbox' }).waitFor();
    await h.checkLabels(page, 'setup');
    await h.screenshot(page, 'setup');
    const link = server.stdout.match(/account at (http:\/\/\S+)/)[1];
    await page.goto(link);
    if (await page.getByLabel('Setup token').inputValue() !== server.setupToken) {
      throw new Error('the setup link did not fill in the token');
    }
    await page.getByLabel('Email').fill(OWNER.email);
    await page.getByLabel('Name (optional)').fill(OWNER.name);
    await page.getByLabel('Password', { exact: true }).fill(OWNER.password);
    await page.getByLabel('Repeat the password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Create the admin account' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByText('No jobs yet — submit a lesson').waitFor();
    await page.getByText('admin', { exact: true }).waitFor();
    await h.screenshot(page, 'dashboard-empty');

    // sign out, then sign in with the keyboard only; focus stays visible
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to batchbox' }).waitFor();
    await h.checkLabels(page, 'sign-in');
    await h.screenshot(page, 'signin');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    if (!/email/.test(focused || '')) throw new Error(`Tab did not reach the email field (focus on ${focused})`);
    await page.keyboard.type(OWNER.email);
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement);
      return `${document.activeElement.type} ${s.outlineStyle} ${s.outlineWidth}`;
    });
    if (!/^password solid [1-9]/.test(outline)) throw new Error(`no visible focus on the password field: ${outline}`);
    await page.keyboard.type(OWNER.password);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByText(OWNER.name).first().waitFor();

    // a 400 names the field: a preset that needs an input, and no input
    await page.getByLabel('Preset', { exact: true }).first().selectOption('wordcount');
    await page.getByRole('button', { name: 'Submit job' }).click();
    const mdErr = page.locator('[data-field=md]');
    await mdErr.waitFor();
    if (!/required|input|md/i.test(await mdErr.textContent())) throw new Error(`md error: ${await mdErr.textContent()}`);

    // drag and drop the lesson: a progress bar, then the uploaded file
    await dropFiles(page, [{ name: 'b1-coffee-shop.md', data: LESSON, type: 'text/markdown' }]);
    await page.locator('.upload-done').waitFor();
    const bar = await page.locator('.upload-done progress').getAttribute('value');
    if (bar !== '100') throw new Error(`upload progress shows ${bar}`);
    if (await mdErr.count()) throw new Error('the md error stayed after a file was chosen');
    await h.checkLabels(page, 'dashboard');

    await page.getByLabel('Preset', { exact: true }).first().selectOption('b1-default');
    if (!await page.getByLabel('Generate audio (TTS)').isChecked()) throw new Error("the preset's TTS default was not applied");
    if (await page.getByLabel('Voice accent').inputValue() !== 'british_male') throw new Error('accent default not applied');
    await recordStates(page, 'tr[data-job-id]');
    await page.getByRole('button', { name: 'Submit job' }).click();
    const notice = page.locator('.notice-ok a');
    await notice.waitFor();
    const jobId = (await notice.textContent()).replace('#', '');
    await waitRowState(page, jobId, 'succeeded', 20000);
    const states = await page.evaluate((id) => window.__states[id], jobId);
    if (JSON.stringify(states) !== JSON.stringify(['queued', 'running', 'succeeded'])) {
      throw new Error(`row ${jobId} showed ${JSON.stringify(states)}`);
    }
    if (await page.evaluate(() => window.__reloadMarker) !== 'still-here') throw new Error('the page reloaded');
    await row(page, jobId).getByText('b1-coffee-shop.md').waitFor();
    await h.screenshot(page, 'dashboard-1440');
    await page.setViewportSize({ width: 375, height: 800 });
    await h.checkNoOverflow(page, 'dashboard at 375 px');
    await h.screenshot(page, 'dashboard-375');
    await page.setViewportSize({ width: 1440, height: 900 });

    // the job page: timeline, log, artifacts
    await row(page, jobId).getByRole('link', { name: `#${jobId}` }).click();
    await page.getByRole('heading', { name: new RegExp(`Job #${jobId}`) }).waitFor();
    const tl = page.locator('[data-testid=timeline] li');
    await h.waitFor(async () => (await tl.count()) >= 3, 5000, 'three timeline entries');
    const tlStates = await tl.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    if (tlStates.join(',') !== 'queued,running,succeeded') throw new Error(`timeline: ${tlStates}`);
    await page.locator('[data-testid=log]').getByText(/tts 7\/7/).waitFor();
    await page.getByRole('link', { name: 'Download lesson.wav' }).waitFor();
    await page.getByRole('link', { name: 'Download manifest.json' }).waitFor();

    // the audio player loads the lesson and seeks (a Range request)
    const audio = page.locator('[data-testid=audio]');
    await audio.waitFor();
    await h.waitFor(() => audio.evaluate((a) => a.readyState >= 1 && a.duration > 5), 10000, 'the audio metadata');
    const seeked = await audio.evaluate((a) => new Promise((resolve) => {
      const t = setTimeout(() => resolve(-1), 8000);
      a.addEventListener('seeked', () => { clearTimeout(t); resolve(a.currentTime); }, { once: true });
      a.currentTime = a.duration - 2;
    }));
    if (!(seeked > 3)) throw new Error(`the audio did not seek (currentTime ${seeked})`);
    const ranged = watch.responses.filter((r) => r.url().endsWith('/artifacts/lesson.wav') && r.status() === 206);
    if (!ranged.length) {
      throw new Error(`no 206 for lesson.wav: ${watch.responses.filter((r) => r.url().includes('lesson.wav')).map((r) => r.status())}`);
    }
    await h.checkLabels(page, 'job page');
    await h.screenshot(page, 'job-1440');
    await page.setViewportSize({ width: 375, height: 800 });
    await h.checkNoOverflow(page, 'job page at 375 px');
    await h.screenshot(page, 'job-375');
    await page.setViewportSize({ width: 1440, height: 900 });

    // the lesson page opens in a new tab
    const [lessonPage] = await Promise.all([
      page.context().waitForEvent('page'),
      page.getByTestId('lesson-link').click(),
    ]);
    const lessonWatch = new h.Watch(lessonPage, server);
    ctx.pages.push({ context: null, page: lessonPage, watch: lessonWatch });
    await lessonPage.getByRole('heading', { name: 'At the Coffee Shop' }).waitFor();
    await lessonPage.locator('audio').waitFor();
    await h.screenshot(lessonPage, 'lesson-page');
    await lessonWatch.check(ctx.allow);
    const lessonUrl = lessonPage.url();
    await lessonPage.close();

    // the same page opened in a browser without a session (a link the CLI
    // printed): the server sends it to sign-in, which comes back to the page
    const other = await ctx.page(server);
    await other.page.goto(lessonUrl);
    await other.page.getByRole('heading', { name: 'Sign in to batchbox' }).waitFor();
    if (!other.page.url().includes('#/signin?next=')) throw new Error(`not sent to sign-in: ${other.page.url()}`);
    await other.page.getByLabel('Email').fill(OWNER.email);
    await other.page.getByLabel('Password', { exact: true }).fill(OWNER.password);
    await other.page.getByRole('button', { name: 'Sign in' }).click();
    await other.page.getByRole('heading', { name: 'At the Coffee Shop' }).waitFor();
    if (other.page.url() !== lessonUrl) throw new Error(`signed in, but at ${other.page.url()}`);
    await other.page.locator('audio').waitFor();

    // rerun the audio with another accent: a child job, shown with its parent
    await page.getByRole('button', { name: 'Regenerate audio' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Voice accent').selectOption('american_female');
    await h.checkLabels(page, 'rerun dialog');
    await h.screenshot(page, 'job-rerun-dialog', { fullPage: false });
    await dialog.getByRole('button', { name: 'Confirm: Regenerate audio' }).click();
    const child = page.getByTestId('child-link');
    await child.waitFor();
    const childId = (await child.textContent()).replace('#', '');
    await child.click();
    const childPage = page.locator(`.job-page[data-job-id="${childId}"]`);
    await childPage.waitFor();
    await page.getByTestId('parent').getByRole('link', { name: `#${jobId}` }).waitFor();
    await h.waitFor(async () => (await childPage.getAttribute('data-state')) === 'succeeded', 20000, 'the child to succeed');
    await page.locator('.details').getByText('yes, American female').waitFor();
    await page.locator('[data-testid=log]').getByText(/american_female/).waitFor();
    await page.getByRole('link', { name: '← Jobs' }).click();
    await row(page, childId).getByText(`rerun of #${jobId}`).waitFor();
  },
}];
