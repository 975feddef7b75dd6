// test_comfyui.js — ComfyUI in the browser (docs/comfyui.md): an admin adds
// a server on the ComfyUI page (a wrong URL is named at its field; the fake
// ComfyUI of tests/api/fake_comfyui.py then shows up with its devices,
// version and models; disable/enable; a dead server shows down with its
// error and is removed after a confirmation), then submits a sweep from the
// form — prompts one per line × 2 seeds, a checkpoint picked from the
// catalogue — watches the gallery fill with the fake's images, filters it
// by prompt, picks outputs, and opens a run's page: the server that ran its
// prompt and the node timeline.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ADMIN, presets, openSignedIn } = require('./common.js');
const { freePort } = require('./harness.js');

const API_TESTS = path.join(__dirname, '..', 'api');
const GRAPH = path.join(API_TESTS, 'fixtures', 'comfyui', 'sdxl.json');

// The python that can run the fake (tests/api/comfy.py decides: the one
// with aiohttp).
function pythonForFake() {
  const r = spawnSync('python3', ['-c',
    'import sys; sys.path.insert(0, sys.argv[1]); import comfy; print(comfy.python_for_fake())',
    API_TESTS], { encoding: 'utf8', timeout: 20000 });
  const py = (r.stdout || '').trim();
  if (r.status !== 0 || !py) throw new Error(`python_for_fake(): ${r.status} ${r.stderr}`);
  return py;
}

// One fake ComfyUI process; stop() in a finally.
class FakeComfy {
  constructor(name) {
    this.name = name;
    this.proc = null;
    this.port = null;
    this.err = '';
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    this.port = await freePort();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbfake-'));
    const py = pythonForFake();
    const proc = spawn(py, [path.join(API_TESTS, 'fake_comfyui.py'), '--port', String(this.port),
      '--name', this.name, '--dir', this.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (c) => { this.err = (this.err + c).slice(-2000); });
    await new Promise((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`the fake did not start in 15 s: ${this.err}`)), 15000);
      proc.stdout.setEncoding('utf8');
      proc.stdout.on('data', (c) => {
        out += c;
        if (/READY \d+/.test(out)) { clearTimeout(t); resolve(); }
      });
      proc.once('exit', (code) => { clearTimeout(t); reject(new Error(`the fake exited (${code}): ${this.err}`)); });
    });
  }

  async config(body) {
    const r = await fetch(`${this.url}/__fake/config`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    if (!r.ok) throw new Error(`fake config: ${r.status}`);
  }

  async prompts() {
    const r = await fetch(`${this.url}/__fake/prompts`, { signal: AbortSignal.timeout(5000) });
    return r.json();
  }

  async stop() {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function sdxlPreset() {
  return {
    id: 'sdxl', label: 'SDXL text → image', workflow: 'comfyui', graph: GRAPH,
    timeoutSec: 60, maxAttempts: 1,
    params: [
      { name: 'prompt', type: 'text', label: 'Prompt', required: true },
      { name: 'seed', type: 'seed', label: 'Seed', default: 'random' },
      { name: 'steps', type: 'int', label: 'Steps', default: 4, min: 1, max: 50 },
      { name: 'ckpt', type: 'enum', label: 'Checkpoint', optionsSource: 'comfyui:checkpoints' },
    ],
  };
}

// The same params on the graph that ends in VHS_VideoCombine (an mp4).
function clipPreset() {
  return { ...sdxlPreset(), id: 'clip', label: 'Clip', graph: path.join(API_TESTS, 'fixtures', 'comfyui', 'video.json') };
}

function comfyConfig() {
  return {
    presets: [...presets(), sdxlPreset(), clipPreset()],
    comfyui: { servers: [], healthIntervalSec: 1 },
  };
}

module.exports = [{
  name: 'comfyui: add a server on the admin page, submit a sweep with a catalogue checkpoint, '
    + 'the gallery fills, pick outputs, the prompt timeline',
  timeoutMs: 120000,
  async run(ctx, h) {
    const fake = new FakeComfy('gpu1');
    try {
      await fake.start();
      await fake.config({ step_ms: 20, steps: 4 });
      const server = await ctx.server({ config: comfyConfig(), admin: ADMIN });
      const { page } = await ctx.page(server);
      // the wrong URL below is a 400 on purpose
      ctx.allow.push(/HTTP 400: POST .*\/api\/v1\/comfyui\/servers$/, /Failed to load resource.*400/);
      await openSignedIn(page, server, ADMIN);

      // ---- the admin page: empty, a bad URL named at its field, then the fake
      await page.getByRole('link', { name: 'ComfyUI' }).click();
      await page.getByRole('heading', { name: 'ComfyUI servers' }).waitFor();
      await page.getByText('No ComfyUI server yet').waitFor();
      const form = page.locator('[data-testid=comfy-add]');
      await form.getByLabel('Id').fill('gpu1');
      await form.getByLabel('URL').fill('ftp://127.0.0.1:1');
      await form.getByRole('button', { name: 'Add server' }).click();
      const url = form.getByLabel('URL');
      await h.waitFor(async () => (await url.getAttribute('aria-invalid')) === 'true', 5000, 'the URL marked invalid');
      const errId = (await url.getAttribute('aria-describedby')) || '';
      if (!errId.includes('error')) throw new Error(`the URL's error is not tied to it: ${errId}`);
      if (await form.getByLabel('Id').getAttribute('aria-invalid')) throw new Error('the id was blamed too');
      await url.fill(fake.url);
      if (await url.getAttribute('aria-invalid')) throw new Error('the error stayed after an edit');
      await form.getByLabel('Labels').fill('sdxl, fast');
      await form.getByRole('button', { name: 'Add server' }).click();
      const row = page.locator('tr[data-server=gpu1]');
      await row.waitFor();
      await h.waitFor(async () => (await row.getAttribute('data-status')) === 'up', 15000, 'gpu1 to be up');
      await row.getByText('sdxl').first().waitFor();
      await h.waitFor(async () => /ComfyUI \d/.test(await row.textContent()), 10000, 'the version');
      const models = page.locator('[data-testid=comfy-models]');
      await models.locator('tr[data-model="sd_xl_base_1.0.safetensors"]').waitFor({ timeout: 15000 });
      if (!(await models.locator('tr[data-model="sd_xl_base_1.0.safetensors"]').textContent()).includes('gpu1')) {
        throw new Error('the catalogue does not name gpu1');
      }

      // disable and enable again
      await row.getByRole('button', { name: 'Disable gpu1' }).click();
      await h.waitFor(async () => (await row.getAttribute('data-enabled')) === 'false', 5000, 'gpu1 disabled');
      await row.locator('[data-status=disabled]').waitFor();
      await row.getByRole('button', { name: 'Enable gpu1' }).click();
      await h.waitFor(async () => (await row.getAttribute('data-enabled')) === 'true', 5000, 'gpu1 enabled');

      // a server nobody listens on: down with its error; removed after a confirmation
      const dead = await freePort();
      await form.getByLabel('Id').fill('gone');
      await form.getByLabel('URL').fill(`http://127.0.0.1:${dead}`);
      await form.getByLabel('Labels').fill('');
      await form.getByRole('button', { name: 'Add server' }).click();
      const gone = page.locator('tr[data-server=gone]');
      await h.waitFor(async () => (await gone.getAttribute('data-status')) === 'down', 15000, 'the dead server down');
      await gone.locator('[data-testid=last-error]').waitFor();
      await h.checkLabels(page, 'the ComfyUI servers page');
      await h.screenshot(page, 'comfyui-servers');
      await gone.getByRole('button', { name: 'Remove gone' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Keep it' }).click();
      if (!await gone.count()) throw new Error('"Keep it" removed the server');
      await gone.getByRole('button', { name: 'Remove gone' }).click();
      await page.getByRole('dialog').getByTestId('confirm').click();
      await h.waitFor(async () => (await gone.count()) === 0, 5000, 'the dead server removed');
      await page.setViewportSize({ width: 375, height: 800 });
      await h.checkNoOverflow(page, 'the ComfyUI servers page at 375 px');
      await page.setViewportSize({ width: 1440, height: 900 });

      // ---- the form: a checkpoint from the catalogue, prompts one per line × 2 seeds
      await page.getByRole('link', { name: 'Jobs' }).click();
      await page.locator('form.submit-form').waitFor();
      await page.getByLabel('Preset', { exact: true }).first().selectOption('sdxl');
      const ckpt = page.locator('[data-param="ckpt"]');
      await ckpt.waitFor();
      const choices = await ckpt.locator('option').evaluateAll((os) => os.map((o) => o.value));
      if (!choices.includes('sd_xl_base_1.0.safetensors') || !choices.includes('v1-5-pruned-emaonly.safetensors')) {
        throw new Error(`the checkpoint choices are not the catalogue: ${choices}`);
      }
      await ckpt.selectOption('sd_xl_base_1.0.safetensors');
      await page.locator('[data-sweep="prompt"]').check();
      await page.locator('[data-sweep-lines="prompt"]').check();
      await page.locator('[data-sweep-values="prompt"]').fill('a red fox in the snow\na lighthouse at dusk');
      await page.locator('[data-sweep="seed"]').check();
      await page.locator('[data-sweep-count="seed"]').fill('2');
      await page.getByText('= 4 runs').waitFor();
      await page.getByRole('button', { name: 'Submit 4 runs' }).click();
      const link = page.locator('.notice a[href^="#/batches/"]');
      await link.waitFor();
      const batchId = (await link.getAttribute('href')).split('/').pop();
      await link.click();

      // ---- the gallery fills without a reload
      await page.getByRole('heading', { name: `Batch #${batchId}` }).waitFor();
      await h.waitFor(async () => (await page.locator('.run-card[data-state=succeeded]').count()) === 4,
        60000, 'four runs succeeded');
      const imgs = page.locator('.run-card .tile-image img');
      await h.waitFor(async () => (await imgs.count()) >= 4, 15000, 'four images in the gallery');
      await h.waitFor(async () => imgs.evaluateAll((list) => list.every((i) => i.complete && i.naturalWidth > 0)),
        15000, 'the images decoded');
      const sent = await fake.prompts();
      if (sent.length !== 4) throw new Error(`the fake got ${sent.length} prompts, not 4`);

      // filter by prompt
      await page.getByLabel('prompt', { exact: true }).selectOption('a lighthouse at dusk');
      await h.waitFor(async () => (await page.locator('.run-card').count()) === 2, 5000, 'two lighthouse runs');
      await page.getByLabel('prompt', { exact: true }).selectOption('');
      await h.waitFor(async () => (await page.locator('.run-card').count()) === 4, 5000, 'four runs again');

      // pick two outputs with the mouse; they stay picked after a reload
      const picks = page.locator('.tile-image [data-pick]');
      await picks.nth(0).click();
      await picks.nth(2).click();
      await h.waitFor(async () => (await page.locator('[data-picked=true]').count()) === 2, 5000, 'two picks');
      await page.getByTestId('download-picked').getByText('Download picked (2)').waitFor();
      await h.screenshot(page, 'comfyui-batch');
      if (process.env.BB_DOC_SHOTS) {
        await page.screenshot({ path: path.join(h.ROOT, 'docs', 'screenshots', 'comfyui-batch.png'), fullPage: true });
      }
      await page.reload();
      await page.getByRole('heading', { name: `Batch #${batchId}` }).waitFor();
      await h.waitFor(async () => (await page.locator('[data-picked=true]').count()) === 2, 10000, 'picks after a reload');

      // ---- a run's page: the server, the prompt's state and its node timeline
      const runId = await page.locator('.run-card').first().getAttribute('data-job-id');
      await page.locator(`.run-card[data-job-id="${runId}"] .run-head a`).click();
      const card = page.locator('[data-testid=comfy-prompts]');
      await card.waitFor();
      await card.locator('.comfy-prompt[data-state=succeeded]').waitFor({ timeout: 10000 });
      if ((await card.getByTestId('comfy-server').first().textContent()) !== 'gpu1') {
        throw new Error('the prompt does not name gpu1');
      }
      const nodeStates = await card.locator('.comfy-nodes li').evaluateAll(
        (ls) => ls.map((l) => `${l.querySelector('.node-class').textContent}:${l.getAttribute('data-node-state')}`),
      );
      if (!nodeStates.some((s) => s.startsWith('KSampler:done'))) {
        throw new Error(`no finished KSampler in the timeline: ${nodeStates}`);
      }
      await h.screenshot(page, 'comfyui-job');

      // ---- the Details card shows the rows of the comfyui workflow, none of the lesson's
      const terms = await page.locator('dl.details dt').allTextContents();
      for (const t of ['Preset', 'Attempts', 'Parameters']) {
        if (!terms.includes(t)) throw new Error(`no ${t} row in Details: ${terms}`);
      }
      for (const t of ['Audio', 'Mode', 'Notion', 'Upload']) {
        if (terms.includes(t)) throw new Error(`a lesson-only ${t} row in Details: ${terms}`);
      }

      // ---- a video output: a muted, looping <video> on the job page, loaded when in view
      const token = await server.token(ADMIN.email, ADMIN.password);
      const clip = await server.api('POST', '/jobs', {
        preset: 'clip', params: { prompt: 'waves', ckpt: 'sd_xl_base_1.0.safetensors' },
      }, token);
      if (clip.status !== 202 && clip.status !== 201) throw new Error(`clip job: ${clip.status} ${JSON.stringify(clip.body)}`);
      await page.goto(server.url(`/#/jobs/${clip.body.jobId}`));
      const video = page.locator('[data-testid=previews] video');
      await video.waitFor({ timeout: 30000 });
      await h.waitFor(async () => (await video.getAttribute('data-lazy')) === 'loaded', 5000, 'the video source set');
      const v = await video.evaluate((el) => ({
        src: el.getAttribute('src'), muted: el.muted, loop: el.loop, controls: el.controls,
      }));
      if (!/\/api\/v1\/jobs\/\d+\/artifacts\/.+\.mp4$/.test(v.src) || !v.muted || !v.loop || !v.controls) {
        throw new Error(`the video element: ${JSON.stringify(v)}`);
      }
    } finally {
      await fake.stop();
    }
  },
}];
