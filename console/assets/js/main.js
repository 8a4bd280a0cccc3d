// The console's entry point: sign-in, who the token is, and which view its
// role gets. sessiond decides on every call; the claims decoded here only
// choose what to offer.

import { ApiError, explain, request, useToken } from './api.js';
import { $, clear, h, notice, show, status, when } from './dom.js';
import * as feed from './feed.js';
import * as tenant from './tenant.js';
import * as token from './token.js';

let streamAbort = null;

// recentKey keeps the tenants opened in this tab (ids, not secrets).
const recentKey = 'sessiond.console.tenants';

useToken(() => token.stored());

const kindLabels = {
  super_admin: 'super admin: every tenant',
  partner_admin: 'partner admin: the tenants of its partner',
  tenant_admin: 'tenant admin: its own tenant',
  platform: 'platform token',
  platform_none: 'platform token without admin scopes',
  service: 'service token: the revocation event stream',
  service_none: 'service token without sessions scopes',
  user: 'user',
};

function renderIdentity(who) {
  const dl = clear($('claims'));
  const item = (label, key, v) => {
    if (v) dl.append(h('div', {}, h('dt', {}, label), h('dd', { 'data-claim': key }, v)));
  };
  item('Subject', 'sub', who.sub || '(none)');
  item('Role', 'role', who.role || '(none)');
  item('Reach', 'kind', kindLabels[who.kind]);
  item('Tenant', 'tenant_id', who.tenant);
  item('Partner', 'partner_id', who.partner);
  item('Scopes', 'scope', who.scopes.join(' '));
  item('Expires', 'exp', who.exp ? when(who.exp.toISOString()) : '');
  show($('identity'), true);
}

function resetViews() {
  if (streamAbort) streamAbort.abort();
  streamAbort = null;
  tenant.close();
  show($('picker'), false);
  show($('stream'), false);
  show($('identity'), false);
  clear($('tenant-suggestions'));
  clear($('stream-items'));
}

function showSignin(msg) {
  resetViews();
  notice(msg || '');
  $('token').value = '';
  show($('signin'), true);
  $('token').focus();
}

function signOut(msg) {
  token.forget();
  setTenantFragment('');
  try {
    window.sessionStorage.removeItem(recentKey);
  } catch {
    // Nothing was kept then.
  }
  showSignin(msg);
  if (!msg) status('Signed out. The token is no longer kept in this tab.');
}

// setTenantFragment keeps the open tenant in the fragment (never the
// token), so that a reload returns to it.
function setTenantFragment(t) {
  const url = window.location.pathname + window.location.search + (t ? '#tenant=' + encodeURIComponent(t) : '');
  window.history.replaceState(null, '', url);
}

async function openTenant(t, who) {
  notice('');
  const err = await tenant.open(t, who);
  if (!err) {
    setTenantFragment(who.fixedTenant ? '' : t);
    if (!who.fixedTenant) rememberTenant(t);
    return;
  }
  if (err instanceof ApiError && err.status === 401) {
    signOut(explain(err, `Open tenant ${t}`));
    return;
  }
  notice(explain(err, `Open tenant ${t}`));
}

function recentTenants() {
  try {
    const v = JSON.parse(window.sessionStorage.getItem(recentKey) || '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function rememberTenant(t) {
  const v = [t, ...recentTenants().filter((x) => x !== t)].slice(0, 20);
  try {
    window.sessionStorage.setItem(recentKey, JSON.stringify(v));
  } catch {
    // Suggestions are a convenience.
  }
}

// suggestTenants offers the tenants of the sessions in reach (when the
// admin list names them) and those opened before in this tab. It returns
// the error of the list call, if any.
async function suggestTenants() {
  const list = clear($('tenant-suggestions'));
  let failure = null;
  let listed = [];
  try {
    const res = await request('GET', '/api/v1/admin/sessions?per_page=100');
    listed = (res?.data || []).map((x) => x.tenant_id).filter((x) => typeof x === 'string' && x);
  } catch (err) {
    failure = err;
  }
  const ids = [...new Set([...listed, ...recentTenants()])].sort();
  for (const id of ids) list.append(h('option', { value: id }));
  $('picker-hint').textContent = ids.length
    ? `Suggestions: ${ids.join(', ')}.`
    : 'Type the id of a tenant in reach of this token.';
  return failure;
}

async function start(tok) {
  resetViews();
  show($('signin'), false);
  notice('');
  status('');
  let who;
  try {
    who = token.describe(token.decode(tok));
  } catch (err) {
    signOut(err.message);
    return;
  }
  if (token.expired(who)) {
    signOut(`This token expired at ${when(who.exp.toISOString())}. Sign in with a fresh one.`);
    return;
  }
  renderIdentity(who);
  switch (who.kind) {
    case 'tenant_admin':
      await openTenant(who.fixedTenant, who);
      return;
    case 'super_admin':
    case 'partner_admin':
    case 'platform': {
      show($('picker'), true);
      const err = await suggestTenants();
      if (err instanceof ApiError && err.status === 401) {
        signOut(explain(err, 'List the sessions in reach'));
        return;
      }
      if (err) notice(explain(err, 'List the sessions in reach'));
      const t = token.fragmentParam('tenant');
      if (t) {
        $('tenant-input').value = t;
        await openTenant(t, who);
      } else {
        $('tenant-input').focus();
      }
      return;
    }
    case 'service':
      followStream();
      return;
    default:
      notice(
        `This token is a ${kindLabels[who.kind]} token. The console is for tenant, partner and super ` +
          'admins (and platform tokens with admin scopes); sign out and use such a token.',
      );
  }
}

function followStream() {
  show($('stream'), true);
  streamAbort = new AbortController();
  feed.follow($('stream-items'), $('stream-mode'), streamAbort.signal, (msg) => {
    $('stream-mode').textContent = 'Not following the event stream.';
    notice(msg);
  });
}

function bind() {
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const tok = $('token').value.trim().replace(/^Bearer\s+/i, '');
    $('token').value = '';
    if (!tok) return;
    token.store(tok);
    start(tok);
  });
  $('signout').addEventListener('click', () => signOut(''));
  $('picker-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('tenant-input').value.trim();
    const tok = token.stored();
    if (!t || !tok) return;
    openTenant(t, token.describe(token.decode(tok)));
  });
  window.addEventListener('hashchange', () => {
    const tok = token.takeFromFragment();
    if (tok) start(tok);
  });
  tenant.bind();
}

function boot() {
  bind();
  const tok = token.takeFromFragment() || token.stored();
  if (tok) start(tok);
  else showSignin('');
}

boot();
