// test_form.js — the submit form rendered from a typed schema: a widget per
// type with its range, default, help and required mark; a range error from
// the server's 400 shown next to its field; sweeps and the number of runs,
// with the batch size limit explained; and templates saved (shared), loaded
// into the form and deleted.
'use strict';

const { ADMIN, presets, openSignedIn } = require('./common.js');

function typedPreset() {
  return {
    id: 'typed', label: 'Typed parameters', workflow: 'command', timeoutSec: 30, maxAttempts: 1,
    argv: ['sh', '-c', 'echo "$@" > "$0/args.txt"', '{outdir}', '{param.size}', '{param.scale}',
      '{param.sharp}', '{param.fmt}', '{param.seed}', '{param.title}'],
    params: [
      { name: 'size', type: 'int', label: 'Size (px)', help: 'Longest side.', default: 256, min: 16, max: 4096, step: 16 },
      { name: 'scale', type: 'float', label: 'Scale', default: 1.5, min: 0.1, max: 4 },
      { name: 'sharp', type: 'bool', label: 'Sharpen', default: true },
      { name: 'fmt', type: 'enum', label: 'Format', default: 'png',
        choices: [{ value: 'png', label: 'PNG' }, { value: 'jpg', label: 'JPEG' }] },
      { name: 'seed', type: 'seed', label: 'Seed', default: 'random' },
      { name: 'title', type: 'string', label: 'Title', required: true, maxLength: 40 },
      { name: 'notes', type: 'text', label: 'Notes' },
      { name: 'mask', type: 'file', label: 'Mask' },
    ],
  };
}

function formConfig() {
  return { presets: [...presets(), typedPreset()], limits: { maxBatchSize: 5 } };
}

function param(page, name) {
  return page.locator(`[data-param-field="${name}"]`);
}

async function attr(loc, name) {
  return loc.getAttribute(name);
}

module.exports = [{
  name: 'typed form: widgets from the schema, a range error at its field, sweeps and the batch limit',
  timeoutMs: 90000,
  async run(ctx, h) {
    const server = await ctx.server({ config: formConfig(), admin: ADMIN });
    const { page } = await ctx.page(server);
    // the range error below is a 400 on purpose
    ctx.allow.push(/HTTP 400: POST .*\/api\/v1\/jobs$/, /Failed to load resource.*400/);
    await openSignedIn(page, server, ADMIN);
    await page.getByLabel('Preset', { exact: true }).first().selectOption('typed');

    // one widget per type, with the schema's range, default and help
    const size = page.locator('[data-param="size"]');
    if (await attr(size, 'min') !== '16' || await attr(size, 'max') !== '4096' || await attr(size, 'step') !== '16') {
      throw new Error('the int field lacks min/max/step');
    }
    if (await size.inputValue() !== '256') throw new Error('the default size is not filled in');
    await param(page, 'size').getByText('Longest side. 16 to 4096, in steps of 16.').waitFor();
    if (await page.locator('[data-param="scale"]').getAttribute('step') !== 'any') {
      throw new Error('the float field does not take any step');
    }
    if (!await page.locator('[data-param="sharp"]').isChecked()) throw new Error('bool default');
    const fmt = page.locator('[data-param="fmt"]');
    if (await fmt.inputValue() !== 'png') throw new Error('enum default');
    const labels = await fmt.locator('option').allTextContents();
    if (!labels.includes('JPEG')) throw new Error(`enum choices: ${labels}`);
    if (!await param(page, 'seed').getByLabel('Random').isChecked()) throw new Error('the seed is not random');
    if (!await page.locator('textarea[data-param="notes"]').count()) throw new Error('text is no textarea');
    await param(page, 'title').getByText('*').waitFor();
    if (await page.locator('[data-param="title"]').getAttribute('aria-required') !== 'true') {
      throw new Error('the required field is not marked');
    }
    await h.checkLabels(page, 'typed form');

    // out of range: the server's message sits next to the field
    await size.fill('5000');
    await page.locator('[data-param="title"]').fill('Holiday');
    await page.getByRole('button', { name: 'Submit job' }).click();
    const err = param(page, 'size').locator('[data-field="params.size"]');
    await err.waitFor();
    if (!/4096|at most|max|range/i.test(await err.textContent())) throw new Error(`size error: ${await err.textContent()}`);
    if (await size.getAttribute('aria-invalid') !== 'true') throw new Error('the size field is not marked invalid');
    const described = await size.getAttribute('aria-describedby');
    if (!described.includes(await err.getAttribute('id'))) throw new Error('the error is not tied to the field');
    if (await page.locator('.field-error[data-field]').count() !== 1) throw new Error('errors shown at other fields');
    await h.screenshot(page, 'form-range-error');

    // fixed: one job, its params typed and the random seed resolved; the
    // file param gets a file uploaded from the form
    await size.fill('64');
    if (await err.count()) throw new Error('the error stayed after the value changed');
    await page.getByLabel('Upload a file for Mask').setInputFiles({
      name: 'mask.txt', mimeType: 'text/plain', buffer: Buffer.from('mask\n'),
    });
    await h.waitFor(async () => /^upl_\d+$/.test(await page.locator('[data-param="mask"]').inputValue()),
      10000, 'the mask upload to fill in its id');
    const maskId = await page.locator('[data-param="mask"]').inputValue();
    await page.getByRole('button', { name: 'Submit job' }).click();
    const link = page.locator('.notice-ok a');
    await link.waitFor();
    const jobId = (await link.textContent()).replace('#', '');
    const token = await server.token(ADMIN.email, ADMIN.password);
    const job = await server.api('GET', `/jobs/${jobId}`, undefined, token);
    const p = job.body.params;
    if (p.size !== 64 || p.scale !== 1.5 || p.sharp !== true || p.fmt !== 'png' || p.title !== 'Holiday'
        || !Number.isInteger(p.seed) || p.mask !== maskId) {
      throw new Error(`the job's params: ${JSON.stringify(p)}`);
    }

    // sweeps: three sizes × two seeds = 6 runs, over the limit of 5
    await param(page, 'size').getByLabel(/^Sweep/).check();
    await param(page, 'size').getByLabel('Values to try, one per line').fill('32\n64\n128');
    await param(page, 'seed').getByLabel(/^Sweep/).check();
    await param(page, 'seed').getByLabel('Number of seeds').fill('2');
    const runs = page.getByTestId('run-count');
    await h.waitFor(async () => (await runs.getAttribute('data-runs')) === '6', 5000, 'the run count to say 6');
    await runs.getByText('3 Size (px) × 2 Seed = 6 runs').waitFor();
    const lim = runs.locator('[data-field=batch-limit]');
    await lim.waitFor();
    const limText = (await lim.textContent()).replace(/\s+/g, ' ');
    if (!/more than this server allows in one batch \(5 runs.*limits\.maxBatchSize/.test(limText)) {
      throw new Error(`the limit is not explained: ${limText}`);
    }
    const submit = page.getByRole('button', { name: 'Submit 6 runs' });
    if (!await submit.isDisabled()) throw new Error('a batch over the limit can be submitted');
    await h.screenshot(page, 'form-batch-limit');
    await page.setViewportSize({ width: 375, height: 800 });
    await h.checkNoOverflow(page, 'the typed form with sweeps at 375 px');
    await page.setViewportSize({ width: 1440, height: 900 });
    await param(page, 'seed').getByLabel('Number of seeds').fill('1');
    await h.waitFor(async () => (await runs.getAttribute('data-runs')) === '3', 5000, 'the run count to say 3');
    if (await runs.locator('[data-field=batch-limit]').count()) throw new Error('the limit message stayed');
    await page.getByRole('button', { name: 'Submit 3 runs' }).click();
    const blink = page.locator('.notice-ok a');
    await blink.getByText(/#\d+/).waitFor();
    await h.waitFor(async () => (await blink.getAttribute('href')).startsWith('#/batches/'), 5000, 'a batch link');
    await blink.click();
    await h.waitFor(async () => (await page.locator('.run-card').count()) === 3, 10000, 'three runs');
    // filter by a swept value
    await page.getByLabel('size', { exact: true }).selectOption('64');
    await h.waitFor(async () => (await page.locator('.run-card').count()) === 1, 5000, 'one run of size 64');
    await page.locator('.run-card .run-params').getByText('64', { exact: true }).waitFor();
  },
}, {
  name: 'templates: save (shared), load into the form, delete',
  timeoutMs: 90000,
  async run(ctx, h) {
    const server = await ctx.server({ config: formConfig(), admin: ADMIN });
    const USER = { email: 'user@example.com', password: 'user-password-1' };
    server.addUser(USER.email, USER.password);
    const { page } = await ctx.page(server);
    await openSignedIn(page, server, ADMIN);
    await page.getByLabel('Preset', { exact: true }).first().selectOption('typed');
    await page.locator('[data-param="size"]').fill('128');
    await page.locator('[data-param="title"]').fill('Holiday');
    await page.locator('[data-param="fmt"]').selectOption('jpg');
    await param(page, 'seed').getByLabel(/^Sweep/).check();
    await param(page, 'seed').getByLabel('Number of seeds').fill('3');

    await page.getByRole('button', { name: 'Save as template' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Template name').fill('three seeds');
    await dialog.getByLabel('Share with everybody').check();
    await h.checkLabels(page, 'template dialog');
    await h.screenshot(page, 'template-save', { fullPage: false });
    await dialog.getByRole('button', { name: 'Save the template' }).click();
    await page.getByText('Saved the template "three seeds".').waitFor();

    // what was stored
    const token = await server.token(ADMIN.email, ADMIN.password);
    const list = await server.api('GET', '/presets/typed/templates', undefined, token);
    const t = list.body.templates.find((x) => x.name === 'three seeds');
    if (!t || t.params.size !== 128 || t.params.fmt !== 'jpg' || t.params.title !== 'Holiday'
        || !t.shared || !t.sweep || t.sweep.seed.count !== 3) {
      throw new Error(`stored template: ${JSON.stringify(list.body)}`);
    }
    // shared: another user sees it
    const utoken = await server.token(USER.email, USER.password);
    const ulist = await server.api('GET', '/presets/typed/templates', undefined, utoken);
    if (!ulist.body.templates.some((x) => x.name === 'three seeds')) throw new Error('the shared template is not shared');

    // a fresh form: load it back
    await page.reload();
    await page.locator('form.submit-form').waitFor();
    await page.getByLabel('Preset', { exact: true }).first().selectOption('typed');
    if (await page.locator('[data-param="size"]').inputValue() !== '256') throw new Error('not a fresh form');
    await page.getByLabel('Template', { exact: true }).selectOption({ label: 'three seeds (shared)' });
    await page.getByRole('button', { name: 'Load template' }).click();
    await page.getByText('Loaded "three seeds".').waitFor();
    if (await page.locator('[data-param="size"]').inputValue() !== '128') throw new Error('size not loaded');
    if (await page.locator('[data-param="title"]').inputValue() !== 'Holiday') throw new Error('title not loaded');
    if (await page.locator('[data-param="fmt"]').inputValue() !== 'jpg') throw new Error('format not loaded');
    if (await param(page, 'seed').getByLabel('Number of seeds').inputValue() !== '3') throw new Error('sweep not loaded');
    const runs = page.getByTestId('run-count');
    await h.waitFor(async () => (await runs.getAttribute('data-runs')) === '3', 5000, 'the loaded sweep to make 3 runs');

    // delete it
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete the template' }).click();
    await page.getByText('Deleted the template "three seeds".').waitFor();
    const after = await server.api('GET', '/presets/typed/templates', undefined, token);
    if (after.body.templates.some((x) => x.name === 'three seeds')) throw new Error('the template is still there');
    const opts = await page.getByLabel('Template', { exact: true }).locator('option').allTextContents();
    if (opts.some((o) => o.includes('three seeds'))) throw new Error('the template is still offered');
  },
}];
