// test_review.js — the review page of a translate job (#/jobs/ID/review):
// open it from the finished job's page, filter flagged segments, edit two
// segments with the keyboard only (Enter saves and moves on, Escape undoes),
// see a conflict from a second tab, rebuild, and download the rebuilt
// document from the child job's page.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { ADMIN, config, openSignedIn } = require('./common.js');

// The engine: upper-cases; "KEEP" lines come back unchanged, so QA flags
// them as untranslated (the flagged filter has something to find).
const UPPER = {
  id: 'tr-up', label: 'Translate (test engine)', workflow: 'translate', maxAttempts: 1,
  translate: { provider: 'command', pair: 'eng-spa',
    commandArgv: ['sh', '-c', "sed '/KEEP/!y/abcdefghijklmnopqrstuvwxyz/ABCDEFGHIJKLMNOPQRSTUVWXYZ/'"] },
};
const DOC = 'The cat sleeps.\n\nKEEP this line.\n\nThe dog runs fast.\n';

module.exports = [{
  name: 'review: flagged filter, keyboard edits, conflict, rebuild, download',
  timeoutMs: 90000,
  async run(ctx, h) {
    // the conflict below is provoked on purpose
    ctx.allow.push(/HTTP 409: PATCH .*\/segments\/3$/, /Failed to load resource.*409/);
    const cfg = config();
    cfg.presets.push(UPPER);
    const server = await ctx.server({ config: cfg, admin: ADMIN, files: { 'doc.txt': DOC } });
    const token = await server.token(ADMIN.email, ADMIN.password);
    const r = await server.api('POST', '/jobs', { md: 'doc.txt', preset: 'tr-up' }, token);
    if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
    const id = r.body.jobId;
    await h.waitFor(async () => (await server.api('GET', `/jobs/${id}`, undefined, token)).body.state === 'succeeded',
      30000, 'the translate job to finish');

    const { page } = await ctx.page(server);
    await openSignedIn(page, server, ADMIN);
    await page.goto(server.url(`/#/jobs/${id}`));
    await page.getByTestId('review-link').getByRole('link', { name: 'Review the translation' }).click();
    await page.getByRole('heading', { name: `Review job #${id}` }).waitFor();
    const rows = page.getByTestId('segment');
    await h.waitFor(async () => (await rows.count()) === 3, 10000, 'three segments');
    await page.getByTestId('progress').getByText('0 of 3 reviewed').waitFor();
    await h.checkLabels(page, 'review page');

    // flagged only: the untranslated line
    await page.getByLabel('Flagged only').check();
    await h.waitFor(async () => (await rows.count()) === 1, 10000, 'one flagged segment');
    const flagged = rows.first();
    if ((await flagged.getAttribute('data-n')) !== '2') throw new Error('the flagged segment is not 2');
    await flagged.locator('.qa-flag[data-flag=untranslated]').waitFor();
    await h.screenshot(page, 'review-flagged');
    await page.getByLabel('Flagged only').uncheck();
    await h.waitFor(async () => (await rows.count()) === 3, 10000, 'all segments again');

    // keyboard: focus the first target, Escape undoes, Enter saves and moves on
    const t1 = page.getByLabel('Translation of segment 1');
    await t1.focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Nope');
    await page.keyboard.press('Escape');
    if ((await t1.inputValue()) !== 'THE CAT SLEEPS.') throw new Error('Escape did not undo');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('El gato duerme.');
    await page.keyboard.press('Enter');
    const t2 = page.getByLabel('Translation of segment 2');
    await h.waitFor(async () => page.evaluate(() => document.activeElement && document.activeElement.id === 'seg-2'),
      10000, 'focus on segment 2 after Enter');
    await page.getByTestId('progress').getByText('1 of 3 reviewed, 1 flagged').waitFor();
    const shotDir = path.join(__dirname, '..', '..', 'docs', 'screenshots');
    fs.mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: path.join(shotDir, 'review.png'), fullPage: false });
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Mantén esta línea.');
    await page.keyboard.press('Enter');
    await page.getByTestId('progress').getByText(/^\s*2 of 3 reviewed\s*$/).waitFor();
    await h.waitFor(async () => page.evaluate(() => document.activeElement && document.activeElement.id === 'seg-3'),
      10000, 'focus on segment 3');
    const s1 = await server.api('GET', `/jobs/${id}/segments?limit=2`, undefined, token);
    const [a, b] = s1.body.items;
    if (a.target !== 'El gato duerme.' || a.state !== 'reviewed' || a.origin !== 'edited') {
      throw new Error(`segment 1 is ${JSON.stringify(a)}`);
    }
    if (b.target !== 'Mantén esta línea.' || b.flags.length) throw new Error(`segment 2 is ${JSON.stringify(b)}`);
    if ((await t2.inputValue()) !== 'Mantén esta línea.') throw new Error('segment 2 lost its text');
    await h.screenshot(page, 'review', { fullPage: false });

    // another tab saves segment 3 first: this tab's save shows the conflict
    const other = await server.api('PATCH', `/jobs/${id}/segments/3`, { target: 'El perro corre.', version: 1 }, token);
    if (other.status !== 200) throw new Error(`other tab: ${other.status}`);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('El perro corre rápido.');
    await page.keyboard.press('Enter');
    const conflict = page.getByTestId('conflict');
    await conflict.getByText('El perro corre.').waitFor();
    await conflict.getByRole('button', { name: 'Keep mine' }).click();
    await conflict.waitFor({ state: 'detached' });
    const s3 = await server.api('GET', `/jobs/${id}/segments?cursor=2`, undefined, token);
    if (s3.body.items[0].target !== 'El perro corre rápido.') throw new Error(`segment 3: ${JSON.stringify(s3.body.items[0])}`);

    // rebuild, then download the rebuilt document from the child job
    await page.getByTestId('rebuild').click();
    const done = page.getByTestId('rebuilt');
    await done.waitFor();
    await done.getByRole('link').click();
    const jobPage = page.locator('.job-page');
    await jobPage.waitFor();
    const child = await jobPage.getAttribute('data-job-id');
    if (child === id) throw new Error('the rebuild did not make a new job');
    await h.waitFor(async () => (await jobPage.getAttribute('data-state')) === 'succeeded', 30000, 'the rebuild');
    const link = page.locator('a[download="doc.spa.txt"]');
    await link.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const saved = path.join(server.base, 'doc.spa.txt');
    await download.saveAs(saved);
    const text = fs.readFileSync(saved, 'utf8');
    for (const want of ['El gato duerme.', 'Mantén esta línea.', 'El perro corre rápido.']) {
      if (!text.includes(want)) throw new Error(`the rebuilt document lacks ${want}: ${text}`);
    }
  },
}];
