// common.js — shared pieces of the UI tests: the test configuration, the
// accounts, the lesson fixture and UI steps several tests take.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { waitFor } = require('./harness.js');

const ADMIN = { email: 'admin@example.com', password: 'admin-password-1' };
const LESSON_FILE = path.join(__dirname, 'fixtures', 'b1-coffee-shop.md');
const LESSON = fs.readFileSync(LESSON_FILE);

// Presets of the test configuration: a lesson preset and the two
// command/noop ones like the built-in configuration, plus commands that take
// a while (to watch states change and to cancel).
function presets() {
  return [
    { id: 'b1-default', label: 'B1 lesson (narrated, British)', workflow: 'lesson', maxAttempts: 2,
      defaults: { withTts: true, voiceAccent: 'british_male', mode: 'auto' } },
    { id: 'noop', label: 'No-op (testing)', workflow: 'noop', maxAttempts: 1 },
    { id: 'wordcount', label: 'Word count (wc)', workflow: 'command', argv: ['wc', '-w', '{input}'], timeoutSec: 60, maxAttempts: 1 },
    { id: 'slowcount', label: 'Slow word count', workflow: 'command',
      argv: ['sh', '-c', 'echo counting; sleep 1.2; wc -w "$0" > "$1/count.txt"; cat "$1/count.txt"', '{input}', '{outdir}'],
      timeoutSec: 60, maxAttempts: 1 },
    { id: 'fail', label: 'Always fails', workflow: 'command',
      argv: ['sh', '-c', 'echo "cannot read the lesson" >&2; exit 3'], timeoutSec: 30, maxAttempts: 1 },
    { id: 'sleep', label: 'Sleep (cancel me)', workflow: 'command',
      argv: ['sh', '-c', 'echo sleeping; exec sleep 60'], timeoutSec: 120, maxAttempts: 1 },
  ];
}

function config(extra = {}) {
  return { presets: presets(), ...extra };
}

async function signIn(page, email, password) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

// Opens the app signed in as `who` on the dashboard.
async function openSignedIn(page, server, who) {
  await page.goto(server.url('/'));
  await page.getByRole('heading', { name: 'Sign in to batchbox' }).waitFor();
  await signIn(page, who.email, who.password);
  await page.getByRole('heading', { name: 'Submit a lesson' }).waitFor();
  await page.locator('form.submit-form').waitFor(); // the job options arrived
}

// Uploads a file through the form's file input and waits for 100 %.
async function uploadViaInput(page, name, buffer, mimeType = 'text/markdown') {
  await page.locator('.dropzone input[type=file]').setInputFiles({ name, mimeType, buffer });
  await page.locator('.upload-done').waitFor();
}

// Drops files on the form's drop zone at once, the way a browser does (one
// DataTransfer).  files: [{name, data: Buffer, type}].
async function dropFiles(page, files) {
  await page.evaluate((list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bin = atob(f.b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    const zone = document.querySelector('[data-testid=dropzone]');
    for (const type of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
  }, files.map((f) => ({ name: f.name, type: f.type, b64: f.data.toString('base64') })));
}

// Records, from now on, every value of data-state each element matching
// `selector` shows (by its data-job-id) in window.__states, and marks the
// page (window.__reloadMarker) so that a reload can be told.
async function recordStates(page, selector) {
  await page.evaluate((sel) => {
    window.__reloadMarker = 'still-here';
    window.__states = {};
    const seen = () => {
      for (const el of document.querySelectorAll(sel)) {
        const id = el.getAttribute('data-job-id');
        const st = el.getAttribute('data-state');
        const list = window.__states[id] || (window.__states[id] = []);
        if (list[list.length - 1] !== st) list.push(st);
      }
    };
    seen();
    new MutationObserver(seen).observe(document.body, {
      subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'],
    });
  }, selector);
}

function row(page, jobId) {
  return page.locator(`tr[data-job-id="${jobId}"]`);
}

async function waitRowState(page, jobId, state, ms = 15000) {
  await waitFor(async () => (await row(page, jobId).getAttribute('data-state', { timeout: 500 })) === state,
    ms, `job ${jobId} to show ${state}`);
}

module.exports = {
  ADMIN, LESSON, LESSON_FILE, presets, config, signIn, openSignedIn, uploadViaInput, row, waitRowState,
  recordStates, dropFiles,
};
