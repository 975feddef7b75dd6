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

function row(page, jobId) {
  return page.locator(`tr[data-job-id="${jobId}"]`);
}

async function waitRowState(page, jobId, state, ms = 15000) {
  await waitFor(async () => (await row(page, jobId).getAttribute('data-state', { timeout: 500 })) === state,
    ms, `job ${jobId} to show ${state}`);
}

module.exports = {
  ADMIN, LESSON, LESSON_FILE, presets, config, signIn, openSignedIn, uploadViaInput, row, waitRowState,
};
