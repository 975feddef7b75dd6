// profile.js — the signed-in user's name and password.
import { html, useEffect, useState } from './lib.js';
import { api, ApiError } from './api.js';
import { Field, describedBy, ErrorBox, useId, useNotice } from './components.js';
import { dateTime } from './format.js';
import { ApiKeysCard } from './apikeys.js';

export function ProfilePage({ me, setMe }) {
  const id = useId('profile');
  const [name, setName] = useState(me.name || '');
  const [pw, setPw] = useState({ currentPassword: '', password: '', confirm: '' });
  const [nameBusy, setNameBusy] = useState(false);
  const [pwBusy, setPwBusy] = useState(false);
  const [nameErr, setNameErr] = useState({ error: null, fields: {} });
  const [pwErr, setPwErr] = useState({ error: null, fields: {} });
  const [nameNote, showName] = useNotice();
  const [pwNote, showPw] = useNotice();
  useEffect(() => { document.title = 'Profile · batchbox'; }, []);

  const saveName = async (e) => {
    e.preventDefault();
    setNameBusy(true);
    setNameErr({ error: null, fields: {} });
    try {
      const u = await api('PATCH', '/user/profile', { name: name.trim() || null });
      setMe(u.user || u);
      showName('ok', 'Name saved.');
    } catch (err) {
      setNameErr({ error: err, fields: err instanceof ApiError ? err.fields : {} });
    } finally {
      setNameBusy(false);
    }
  };

  const savePw = async (e) => {
    e.preventDefault();
    const local = {};
    if (pw.password.length < 8) local.password = 'At least 8 characters.';
    else if (pw.password !== pw.confirm) local.confirm = 'The two passwords differ.';
    if (!pw.currentPassword) local.currentPassword = 'Enter your current password.';
    if (Object.keys(local).length) {
      setPwErr({ error: null, fields: local });
      return;
    }
    setPwBusy(true);
    setPwErr({ error: null, fields: {} });
    try {
      const r = await api('PATCH', '/user/profile', { currentPassword: pw.currentPassword, password: pw.password });
      if (r && r.user) setMe(r.user);
      setPw({ currentPassword: '', password: '', confirm: '' });
      showPw('ok', 'Password changed. Other sessions were signed out.');
    } catch (err) {
      const fields = err instanceof ApiError ? { ...err.fields } : {};
      if (err instanceof ApiError && err.status === 401 && !fields.currentPassword) {
        fields.currentPassword = 'This is not your current password.';
      }
      setPwErr({ error: Object.keys(fields).length ? null : err, fields });
    } finally {
      setPwBusy(false);
    }
  };

  const pwField = (key, label, auto, hint) => html`<${Field} id=${`${id}-${key}`} label=${label}
      error=${pwErr.fields[key]} hint=${hint}>
    <input id=${`${id}-${key}`} type="password" autocomplete=${auto} value=${pw[key]}
      aria-invalid=${pwErr.fields[key] ? 'true' : undefined}
      aria-describedby=${describedBy(`${id}-${key}`, pwErr.fields[key], hint)}
      onInput=${(e) => { const v = e.currentTarget.value; setPw((o) => ({ ...o, [key]: v })); }} />
  </${Field}>`;

  return html`<div class="profile">
    <h1 tabindex="-1">Your profile</h1>
    <section class="card" aria-labelledby=${`${id}-acct`}>
      <h2 id=${`${id}-acct`}>Account</h2>
      <dl class="details">
        <div><dt>Email</dt><dd>${me.email}</dd></div>
        <div><dt>Role</dt><dd>${me.role}</dd></div>
        <div><dt>Member since</dt><dd>${dateTime(me.createdAt)}</dd></div>
      </dl>
      <form onSubmit=${saveName} novalidate>
        <${Field} id=${`${id}-name`} label="Display name" error=${nameErr.fields.name}>
          <input id=${`${id}-name`} type="text" autocomplete="name" value=${name} maxlength="200"
            aria-describedby=${describedBy(`${id}-name`, nameErr.fields.name)}
            onInput=${(e) => setName(e.currentTarget.value)} />
        </${Field}>
        <${ErrorBox} error=${nameErr.error} title="The name was not saved" />
        ${nameNote}
        <button type="submit" class="btn btn-primary" disabled=${nameBusy}>${nameBusy ? 'Saving…' : 'Save name'}</button>
      </form>
    </section>
    <section class="card" aria-labelledby=${`${id}-pw`}>
      <h2 id=${`${id}-pw`}>Password</h2>
      <form onSubmit=${savePw} novalidate>
        ${pwField('currentPassword', 'Current password', 'current-password')}
        ${pwField('password', 'New password', 'new-password', 'At least 8 characters.')}
        ${pwField('confirm', 'Repeat the new password', 'new-password')}
        <${ErrorBox} error=${pwErr.error} title="The password was not changed" />
        ${pwNote}
        <button type="submit" class="btn btn-primary" disabled=${pwBusy}>${pwBusy ? 'Saving…' : 'Change password'}</button>
      </form>
    </section>
    <${ApiKeysCard} me=${me} />
  </div>`;
}
