// test_batch.js — batches in the browser: three files dropped at once, each
// in two sizes, become one batch whose grid fills live; two outputs picked with the
// keyboard and the mouse; "download picked" gives a ZIP with exactly those
// files (read with Python's zipfile); another browser's job list shows the
// batch as one row whose state and counts follow live.  And the input picker: a folder with a glob becomes a batch
// over its matching files.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const {
  ADMIN, presets, openSignedIn, row, recordStates, dropFiles,
} = require('./common.js');

// A command preset that turns each input into a PNG "thumbnail" (a copy)
// and a text file, after a moment (so the grid is seen filling).
function thumbPreset() {
  return {
    id: 'thumb', label: 'Thumbnail', workflow: 'command', timeoutSec: 60, maxAttempts: 1,
    argv: ['sh', '-c', 'sleep 0.6; cp "$0" "$1/thumb.png"; echo "size $2" > "$1/info.txt"',
      '{input}', '{outdir}', '{param.size}'],
    params: [{
      name: 'size', type: 'int', label: 'Size (px)', help: 'Longest side of the thumbnail.',
      default: 64, min: 16, max: 512, step: 16,
    }],
  };
}

function batchConfig() {
  return { presets: [...presets(), thumbPreset()] };
}

// PNG images (160 × 120) drawn by the browser on a canvas, one colour each.
async function makePngs(page, colours) {
  const urls = await page.evaluate((cs) => cs.map((c, i) => {
    const cv = document.createElement('canvas');
    cv.width = 160;
    cv.height = 120;
    const g = cv.getContext('2d');
    const grad = g.createLinearGradient(0, 0, 160, 120);
    grad.addColorStop(0, c);
    grad.addColorStop(1, '#fff');
    g.fillStyle = grad;
    g.fillRect(0, 0, 160, 120);
    g.fillStyle = '#fff';
    g.beginPath();
    g.arc(50 + i * 30, 60, 28, 0, 2 * Math.PI);
    g.fill();
    return cv.toDataURL('image/png');
  }), colours);
  return urls.map((u) => Buffer.from(u.split(',')[1], 'base64'));
}

// The names and bytes of a ZIP's entries, read by Python's zipfile.
function zipEntries(file) {
  const py = 'import sys, zipfile, json, base64\n'
    + 'z = zipfile.ZipFile(sys.argv[1])\n'
    + 'print(json.dumps({n: base64.b64encode(z.read(n)).decode() for n in z.namelist()}))\n';
  const r = spawnSync('python3', ['-c', py, file], { encoding: 'utf8', timeout: 15000 });
  if (r.status !== 0) throw new Error(`zipfile could not read ${file}: ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  for (const k of Object.keys(out)) out[k] = Buffer.from(out[k], 'base64');
  return out;
}

module.exports = [{
  name: 'three dropped files make one batch; the grid fills live; pick two; download picked',
  timeoutMs: 150000,
  async run(ctx, h) {
    const server = await ctx.server({ config: batchConfig(), admin: ADMIN });
    const { page } = await ctx.page(server);
    await openSignedIn(page, server, ADMIN);
    // a second browser watches the job list while the batch runs
    const watcher = await ctx.page(server);
    await openSignedIn(watcher.page, server, ADMIN);
    await recordStates(watcher.page, 'tr[data-job-id]');
    await page.getByLabel('Preset', { exact: true }).first().selectOption('thumb');
    const pngs = await makePngs(page, ['#d33', '#3a3', '#33d']);
    const files = pngs.map((data, i) => ({ name: `shot-${i + 1}.png`, data, type: 'image/png' }));
    await dropFiles(page, files);
    await h.waitFor(async () => (await page.locator('.upload-done').count()) === 3, 15000, 'three uploads');
    const runs = page.getByTestId('run-count');
    await h.waitFor(async () => (await runs.getAttribute('data-runs')) === '3', 5000, 'the run count to say 3');
    if (!/3 inputs = 3 runs/.test(await runs.textContent())) throw new Error(`run count: ${await runs.textContent()}`);
    // and two sizes of each
    await page.locator('[data-param-field=size]').getByLabel(/^Sweep/).check();
    await page.locator('[data-param-field=size]').getByLabel('Values to try, one per line').fill('64\n128');
    await h.waitFor(async () => (await runs.getAttribute('data-runs')) === '6', 5000, 'the run count to say 6');
    if (!/2 Size \(px\) × 3 inputs = 6 runs/.test(await runs.textContent())) {
      throw new Error(`run count: ${await runs.textContent()}`);
    }
    await h.checkLabels(page, 'dashboard with three uploads');

    await page.getByRole('button', { name: 'Submit 6 runs' }).click();
    const link = page.locator('.notice-ok a');
    await link.waitFor();
    const batchId = (await link.textContent()).replace('#', '');
    // the list shows the batch (not its runs) with its size
    await row(page, batchId).getByText('Batch · 6 runs').waitFor();
    if (await page.locator('tr[data-job-id]').count() !== 1) throw new Error('the runs are listed beside their batch');
    await link.click();
    await page.getByRole('heading', { name: new RegExp(`Batch #${batchId}`) }).waitFor();
    await recordStates(page, '.run-card[data-job-id]');
    const cards = page.locator('.run-card');
    await h.waitFor(async () => (await cards.count()) === 6, 10000, 'six run cards');
    await h.waitFor(async () => (await page.locator('.run-card[data-state=succeeded]').count()) === 6,
      30000, 'all six runs to succeed on the page');
    await h.waitFor(async () => (await page.locator('.tile-image img').count()) === 6, 10000, 'six image previews');
    const states = await page.evaluate(() => window.__states);
    if (await page.evaluate(() => window.__reloadMarker) !== 'still-here') throw new Error('the page reloaded');
    const movedLive = Object.values(states).filter((l) => l.length > 1 && l[l.length - 1] === 'succeeded');
    if (!movedLive.length) throw new Error(`no card changed state while shown: ${JSON.stringify(states)}`);
    // the previews are real images the browser decoded and scaled
    await h.waitFor(() => page.locator('.tile-image img').evaluateAll(
      (imgs) => imgs.every((i) => i.complete && i.naturalWidth === 160),
    ), 10000, 'the previews to load');
    // the text output is linked, not previewed
    if (await page.locator('a.tile-link').count() !== 6) throw new Error('info.txt is not linked in each card');
    await h.checkLabels(page, 'batch page');

    // pick with the keyboard: Space on the first run's thumbnail; the arrow
    // keys move through the tiles in order; P picks and unpicks
    const ids = await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-job-id')));
    const keys = await page.locator('[data-tile]').evaluateAll((els) => els.map((e) => e.getAttribute('data-tile')));
    const firstThumb = page.locator(`[data-tile="${ids[0]}/thumb.png"]`);
    await firstThumb.focus();
    await page.keyboard.press('Space');
    await h.waitFor(async () => (await firstThumb.getAttribute('data-picked')) === 'true', 5000, 'the first pick');
    const at = keys.indexOf(`${ids[0]}/thumb.png`);
    const activeTile = () => page.evaluate(() => document.activeElement.getAttribute('data-tile'));
    await page.keyboard.press('ArrowRight');
    if (await activeTile() !== keys[at + 1]) throw new Error(`ArrowRight moved to ${await activeTile()}, not ${keys[at + 1]}`);
    await page.keyboard.press('p'); // pick it...
    const other = page.locator(`[data-tile="${keys[at + 1]}"]`);
    await h.waitFor(async () => (await other.getAttribute('data-picked')) === 'true', 5000, 'P to pick');
    await page.keyboard.press('p'); // ...and unpick it
    await h.waitFor(async () => (await other.getAttribute('data-picked')) === 'false', 5000, 'P to unpick');
    await page.keyboard.press('ArrowLeft');
    if (await activeTile() !== keys[at]) throw new Error(`ArrowLeft moved to ${await activeTile()}`);
    // the second run's thumbnail, with the mouse
    const secondThumb = page.locator(`[data-tile="${ids[1]}/thumb.png"]`);
    await secondThumb.getByRole('button', { name: 'Pick', exact: true }).click();
    await h.waitFor(async () => (await secondThumb.getAttribute('data-picked')) === 'true', 5000, 'the second pick');
    await page.getByTestId('download-picked').getByText('Download picked (2)').waitFor();
    // the picks are the server's: a reload shows them
    await page.reload();
    await page.locator(`[data-tile="${ids[1]}/thumb.png"][data-picked=true]`).waitFor();
    await page.locator(`[data-tile="${ids[0]}/thumb.png"][data-picked=true]`).waitFor();
    if (await page.locator('[data-picked=true]').count() !== 2) throw new Error('not exactly two picks after a reload');

    // filters: by a swept value, by state and "picked only"
    await page.getByLabel('size', { exact: true }).selectOption('128');
    await h.waitFor(async () => (await page.locator('.run-card').count()) === 3, 5000, 'the three runs of size 128');
    await page.getByLabel('size', { exact: true }).selectOption('');
    await page.getByLabel('Picked only').check();
    await h.waitFor(async () => (await page.locator('.run-card').count()) === 2, 5000, 'two runs with picks');
    await page.getByLabel('Picked only').uncheck();
    await page.getByLabel('State', { exact: true }).selectOption('failed');
    await page.getByText('No runs match these filters.').waitFor();
    await page.getByLabel('State', { exact: true }).selectOption('');
    await h.screenshot(page, 'batch-1440');
    if (process.env.BB_DOC_SHOTS) {
      await page.screenshot({ path: path.join(h.ROOT, 'docs', 'screenshots', 'batch.png'), fullPage: true });
    }
    await page.setViewportSize({ width: 375, height: 800 });
    await h.checkNoOverflow(page, 'batch page at 375 px');
    await h.screenshot(page, 'batch-375');
    await page.setViewportSize({ width: 1440, height: 900 });

    // download picked: a ZIP with the two thumbnails, right bytes
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('download-picked').click(),
    ]);
    const zipPath = path.join(server.base, 'picked.zip');
    await download.saveAs(zipPath);
    const entries = zipEntries(zipPath);
    const want = [`job-${ids[0]}/thumb.png`, `job-${ids[1]}/thumb.png`].sort();
    if (JSON.stringify(Object.keys(entries).sort()) !== JSON.stringify(want)) {
      throw new Error(`the ZIP holds ${JSON.stringify(Object.keys(entries))}, not ${JSON.stringify(want)}`);
    }
    // which upload went to which run: the gallery's md names it
    const token = await server.token(ADMIN.email, ADMIN.password);
    const gal = await server.api('GET', `/jobs/${batchId}/gallery`, undefined, token);
    const uploads = await server.api('GET', '/user/files', undefined, token);
    const nameOf = {};
    for (const f of uploads.body.items) nameOf[f.fileId] = f.filename;
    for (const id of ids.slice(0, 2)) {
      const item = gal.body.items.find((x) => String(x.id) === id);
      const src = files.find((f) => f.name === nameOf[item.md]);
      if (!src || !entries[`job-${id}/thumb.png`].equals(src.data)) throw new Error(`job-${id}/thumb.png has other bytes`);
    }
    fs.rmSync(zipPath);

    // the other browser's list: one row for the batch, which went to
    // succeeded with its counts as the runs finished (no reload)
    const wp = watcher.page;
    await row(wp, batchId).getByTestId('batch-counts').getByText('6 of 6 done').waitFor();
    const rowStates = await wp.evaluate((id) => window.__states[id], batchId);
    if (!rowStates || rowStates[rowStates.length - 1] !== 'succeeded' || rowStates.length < 2) {
      throw new Error(`the batch row showed ${JSON.stringify(rowStates)}`);
    }
    if (await wp.evaluate(() => window.__reloadMarker) !== 'still-here') throw new Error('the list reloaded');
    if (await wp.locator('tr[data-job-id]').count() !== 1) throw new Error('runs appeared in the list');
  },
}, {
  name: 'input picker: a folder with a glob becomes a batch over its files',
  timeoutMs: 90000,
  async run(ctx, h) {
    const server = await ctx.server({
      config: batchConfig(),
      admin: ADMIN,
      files: {
        'photos/a.png': 'a', 'photos/b.png': 'b', 'photos/c.jpg': 'c', 'photos/sub/d.png': 'd', 'notes.md': '# n\n',
      },
    });
    const { page } = await ctx.page(server);
    await openSignedIn(page, server, ADMIN);
    await page.getByLabel('Preset', { exact: true }).first().selectOption('thumb');
    await page.getByTestId('browse-inputs').click();
    const picker = page.getByTestId('input-picker');
    await picker.locator('[data-entry="notes.md"]').waitFor();
    await h.checkLabels(page, 'input picker');
    await picker.getByRole('button', { name: 'Open folder photos' }).click();
    await picker.locator('[data-entry="a.png"]').waitFor();
    if (!await picker.locator('[data-entry="sub"]').count()) throw new Error('the subfolder is not listed');
    await picker.getByLabel('Only files matching').fill('*.png');
    await picker.getByText('2 matching files: one run each.').waitFor();
    await h.screenshot(page, 'input-picker', { fullPage: false });
    await picker.getByRole('button', { name: 'Use this folder' }).click();
    await page.getByTestId('chosen-inputs').getByText('photos').waitFor();
    const runs = page.getByTestId('run-count');
    await h.waitFor(async () => (await runs.getAttribute('data-runs')) === '2', 5000, 'the run count to say 2');

    await page.getByRole('button', { name: 'Submit 2 runs' }).click();
    const link = page.locator('.notice-ok a');
    await link.waitFor();
    const batchId = (await link.textContent()).replace('#', '');
    await link.click();
    await page.getByRole('heading', { name: new RegExp(`Batch #${batchId}`) }).waitFor();
    await h.waitFor(async () => (await page.locator('.run-card').count()) === 2, 10000, 'two run cards');
    const inputs = await page.locator('.run-params dd[title]').evaluateAll((els) => els.map((e) => e.textContent).sort());
    if (JSON.stringify(inputs) !== JSON.stringify(['a.png', 'b.png'])) throw new Error(`runs over ${inputs}`);

    // several single files picked one by one make a batch too
    await page.getByRole('link', { name: '← Jobs' }).click();
    await page.getByTestId('browse-inputs').click();
    await picker.getByRole('button', { name: 'Open folder photos' }).click();
    await picker.getByLabel('c.jpg').check();
    await picker.getByRole('button', { name: 'Open folder sub' }).click();
    await picker.getByLabel('d.png').check();
    await picker.getByRole('button', { name: 'Use 2 selected files' }).click();
    await page.getByTestId('chosen-inputs').getByText('photos/sub/d.png').waitFor();
    await h.waitFor(async () => (await runs.getAttribute('data-runs')) === '2', 5000, 'two picked files = 2 runs');
  },
}];
