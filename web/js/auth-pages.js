// auth-pages.js — first-run setup (the first, admin account, with the
// one-time token `batchbox serve` printed) and sign-in.
import { html, useState } from './lib.js';
import { api, ApiError } from './api.js';
import { Field, describedBy, ErrorBox, useId, useSubmit } from './components.js';

// Where `next` may lead after signing in: a hash route of this page
// ("#/jobs/3"), or a path on this server (the lesson page the server sent a
// signed-out browser here from), as { hash } or { href } (absolute); anything
// else null.  A path is resolved the way the browser will (the URL parser
// drops tabs and newlines and reads "\" as "/", so "/\t/evil.example"
// means "//evil.example") against the page's origin, and must stay on it.
// RESOLVE-NEXT-BEGIN (tests/ui/test_next.js loads this function alone)
export function resolveNext(next, origin) {
  if (typeof next !== 'string' || next === '') return null;
  if (/^#\/[^\u0000-\u001f\u007f]*$/.test(next)) return { hash: next };
  if (next[0] !== '/') return null;
  let url;
  let base;
  try {
    base = new URL(origin);
    url = new URL(next, base);
  } catch {
    return null;
  }
  if (url.origin !== base.origin || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return null;
  }
  return { href: url.href };
}
// RESOLVE-NEXT-END

function useForm(initial) {
  const [values, setValues] = useState(initial);
  const bind = (name) => ({
    value: values[name],
    onInput: (e) => setValues((v) => ({ ...v, [name]: e.currentTarget.value })),
  });
  return [values, bind];
}

export function SetupPage({ token, onDone }) {
  const id = useId('setup');
  const [v, bind] = useForm({ setupToken: token, email: '', name: '', password: '', confirm: '' });
  const { busy, fields, setFields, error, setError, run } = useSubmit();

  const submit = async (e) => {
    e.preventDefault();
    const local = {};
    if (!v.setupToken.trim()) local.setupToken = 'Paste the setup token that batchbox printed at start.';
    if (v.password.length < 8) local.password = 'At least 8 characters.';
    else if (v.password !== v.confirm) local.confirm = 'The two passwords differ.';
    setFields(local);
    setError(null);
    if (Object.keys(local).length) return;
    await run(async () => {
      const body = { email: v.email.trim(), password: v.password, setupToken: v.setupToken.trim() };
      if (v.name.trim()) body.name = v.name.trim();
      const r = await api('POST', '/auth/register', body);
      onDone(r.user);
    });
  };

  const f = (name, label, type, extra = {}) => html`<${Field} id=${`${id}-${name}`} label=${label}
      error=${fields[name]} hint=${extra.hint}>
    <input id=${`${id}-${name}`} name=${name} type=${type} required=${extra.required !== false}
      autocomplete=${extra.autocomplete} aria-invalid=${fields[name] ? 'true' : undefined}
      aria-describedby=${describedBy(`${id}-${name}`, fields[name], extra.hint)} ...${bind(name)} />
  </${Field}>`;

  return html`<section class="card auth">
    <h1 tabindex="-1">Set up batchbox</h1>
    <p>No account exists yet. Create the first account: it becomes the administrator.</p>
    <form onSubmit=${submit} novalidate>
      ${f('setupToken', 'Setup token', 'text', { autocomplete: 'off', hint: 'Printed by batchbox serve on its first start (bbs_…).' })}
      ${f('email', 'Email', 'email', { autocomplete: 'username' })}
      ${f('name', 'Name (optional)', 'text', { autocomplete: 'name', required: false })}
      ${f('password', 'Password', 'password', { autocomplete: 'new-password', hint: 'At least 8 characters.' })}
      ${f('confirm', 'Repeat the password', 'password', { autocomplete: 'new-password' })}
      <${ErrorBox} error=${error} title="The account was not created" />
      <button type="submit" class="btn btn-primary" disabled=${busy}>
        ${busy ? 'Creating…' : 'Create the admin account'}</button>
    </form>
  </section>`;
}

export function SignInPage({ onDone, expired }) {
  const id = useId('signin');
  const [v, bind] = useForm({ email: '', password: '' });
  const { busy, fields, error, run } = useSubmit();

  const submit = async (e) => {
    e.preventDefault();
    await run(async () => {
      const r = await api('POST', '/auth/login', { email: v.email.trim(), password: v.password });
      onDone(r.user);
    }, (err) => {
      if (err instanceof ApiError && err.status === 401) return new Error('Wrong email or password.');
      if (err instanceof ApiError && err.status === 429) {
        return new Error('Too many failed sign-ins. Wait a few minutes and try again.');
      }
      return err;
    });
  };

  return html`<section class="card auth">
    <h1 tabindex="-1">Sign in to batchbox</h1>
    ${expired ? html`<p class="notice notice-info" role="status">Your session ended. Sign in again.</p>` : null}
    <form onSubmit=${submit} novalidate>
      <${Field} id=${`${id}-email`} label="Email" error=${fields.email}>
        <input id=${`${id}-email`} name="email" type="email" required autocomplete="username"
          aria-describedby=${describedBy(`${id}-email`, fields.email)} ...${bind('email')} />
      </${Field}>
      <${Field} id=${`${id}-password`} label="Password" error=${fields.password}>
        <input id=${`${id}-password`} name="password" type="password" required
          autocomplete="current-password"
          aria-describedby=${describedBy(`${id}-password`, fields.password)} ...${bind('password')} />
      </${Field}>
      <${ErrorBox} error=${error} title="Not signed in" />
      <button type="submit" class="btn btn-primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
    <p class="muted small">No account? An administrator creates accounts
      (<code>batchbox user add</code>).</p>
  </section>`;
}
