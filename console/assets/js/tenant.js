// The view of one tenant: stats, the session list, revocations, and the
// live feed that polls what an admin token may read.

import { explain, request, tenantPath } from './api.js';
import { $, clear, confirmDialog, h, notice, plural, show, status, text } from './dom.js';
import * as extras from './extras.js';
import * as feed from './feed.js';
import { renderStats, sessionRows } from './render.js';

// pollMs is how often the live feed re-reads the tenant.
const pollMs = 3000;

let st = null; // the open tenant's state

// open shows tenant for the signed-in caller. It resolves null, or the
// error with which sessiond refused the tenant (the view stays hidden then).
export async function open(tenant, who) {
  close();
  const my = {
    tenant, who, page: 1, perPage: Number($('per-page').value) || 20, user: '', ended: false,
    gen: 0, timer: 0, expanded: new Set(), details: new Map(), listSig: '', prev: null,
    auditPage: 1, auditSeen: null, history: false, pollNotice: '',
  };
  st = my;
  $('tenant-title').textContent = `Tenant ${tenant}`;
  $('filter-user').value = '';
  $('show-ended').checked = false;
  clear($('feed-items'));
  clear($('session-rows'));
  for (const el of document.querySelectorAll('#tenant .write-only')) show(el, who.canWrite);
  $('feed-mode').textContent =
    'Live: the event stream is for service tokens only, so the console re-reads the stats, ' +
    `this page and the audit trail every ${pollMs / 1000} seconds and lists what changed.`;
  $('feed-mode').dataset.mode = 'poll';
  try {
    await refresh();
  } catch (err) {
    if (st === my) close();
    return err;
  }
  if (st !== my) return null;
  show($('tenant'), true);
  extras.loadPolicy(tenant, who.canWrite);
  schedule(my);
  return null;
}

// close stops the poller and hides the view.
export function close() {
  if (st) window.clearTimeout(st.timer);
  st = null;
  show($('tenant'), false);
}

function schedule(my) {
  my.timer = window.setTimeout(async () => {
    if (st !== my) return;
    if (document.visibilityState !== 'hidden') {
      try {
        await refresh();
        if (my.pollNotice && $('notice').textContent === my.pollNotice) notice('');
        my.pollNotice = '';
      } catch (err) {
        const msg = explain(err, 'Refresh');
        if ($('notice').textContent !== msg) notice(msg);
        my.pollNotice = msg;
      }
    }
    if (st === my) schedule(my);
  }, pollMs);
}

function listPath(my) {
  const q = new URLSearchParams({ page: String(my.page), per_page: String(my.perPage) });
  if (my.ended) q.set('active_only', 'false');
  const base = tenantPath(my.tenant);
  return my.user ? `${base}/users/${encodeURIComponent(my.user)}?${q}` : `${base}?${q}`;
}

// refresh reads the stats, the shown page and the audit trail at once and
// renders what is still current. It throws the first refusal.
async function refresh() {
  const my = st;
  if (!my) return;
  const gen = ++my.gen;
  const key = listPath(my);
  const [stats, list, audit1] = await Promise.all([
    request('GET', `${tenantPath(my.tenant)}/stats`),
    request('GET', key),
    extras.loadAudit(my.tenant, 1),
  ]);
  if (st !== my || gen !== my.gen) return;
  renderStats(stats?.data || {});
  my.history = audit1 !== null;
  show($('ended-toggle'), my.history);
  const auditPage = my.auditPage === 1 || audit1 === null ? audit1 : await extras.loadAudit(my.tenant, my.auditPage);
  if (st !== my || gen !== my.gen) return;
  extras.renderAudit(auditPage, my.auditPage);
  feedChanges(my, key, list, audit1);
  if (audit1) {
    my.auditSeen ??= new Set();
    for (const e of audit1.data || []) my.auditSeen.add(e.id);
  }
  my.prev = { key, items: list?.data || [] };
  const p = list?.pagination || {};
  if (my.page > 1 && my.page > (Number(p.total_pages) || 1)) {
    my.page = Math.max(Number(p.total_pages) || 1, 1); // the last page emptied: show the one before
    return refresh();
  }
  renderList(my, list?.data || [], p);
}

// feedChanges lists what happened since the last refresh: the audit
// trail's new entries when sessiond keeps one, else the sessions that left
// the shown page before their expiry.
function feedChanges(my, key, list, audit1) {
  if (audit1 && my.auditSeen) {
    const fresh = (audit1.data || []).filter((e) => !my.auditSeen.has(e.id)).reverse();
    for (const e of fresh) {
      const ids = Array.isArray(e.session_ids) ? e.session_ids.join(', ') : '';
      const n = Number(e.revoked_count) || 0;
      feed.add($('feed-items'), e.at, `${text(e.actor)} (${text(e.actor_role)}) revoked ${plural(n, 'session')} (${text(e.reason)})${ids ? ': ' + ids : ''}`);
    }
    return;
  }
  if (!my.prev || my.prev.key !== key) return;
  const now = Date.now();
  const ids = new Set((list?.data || []).map((x) => x.id));
  for (const x of my.prev.items) {
    if (!ids.has(x.id) && Date.parse(x.expires_at) > now && (x.status ?? 'active') === 'active') {
      feed.add($('feed-items'), new Date().toISOString(), `session ${x.id} of user ${x.user_id} ended before its expiry`);
    }
  }
}

function renderList(my, items, p) {
  // Keep the keyboard focus on the same button across a re-render.
  const focused = document.activeElement?.closest?.('#session-rows [data-action]');
  const focusSel = focused ? `#session-rows [data-action="${focused.dataset.action}"][data-id="${CSS.escape(focused.dataset.id)}"]` : '';
  const sig = JSON.stringify([items, [...my.expanded], [...my.details.keys()], my.who.canWrite]);
  if (sig !== my.listSig) {
    my.listSig = sig;
    const rows = clear($('session-rows'));
    for (const x of items) rows.append(...sessionRows(my, x));
    if (items.length === 0) rows.append(h('tr', {}, h('td', { colspan: 10 }, 'No sessions.')));
    if (focusSel) document.querySelector(focusSel)?.focus();
  }
  const pages = Number(p.total_pages) || 0;
  const total = Number(p.total_items) || 0;
  $('page-info').textContent = `Page ${my.page} of ${Math.max(pages, 1)} · ${plural(total, 'session')}`;
  $('prev-page').disabled = my.page <= 1;
  $('next-page').disabled = my.page >= pages;
  const what = my.ended ? 'active and ended sessions' : 'active sessions';
  $('list-scope').textContent = my.user ? `Showing ${what} of user ${my.user}.` : `Showing ${what} of every user.`;
  show($('revoke-user'), my.who.canWrite && my.user !== '');
}

async function toggleDetails(my, id) {
  if (my.expanded.has(id)) {
    my.expanded.delete(id);
    my.details.delete(id);
  } else {
    my.expanded.add(id);
    try {
      const res = await request('GET', `${tenantPath(my.tenant)}/${encodeURIComponent(id)}`);
      my.details.set(id, res?.data || {});
    } catch (err) {
      my.details.set(id, { error: explain(err, `Read session ${id}`) });
    }
  }
  if (st === my) await refresh().catch((err) => notice(explain(err, 'Refresh')));
}

async function revokeOne(my, id) {
  notice('');
  try {
    await request('DELETE', `${tenantPath(my.tenant)}/${encodeURIComponent(id)}`);
    status(`Revoked session ${id}.`);
  } catch (err) {
    notice(explain(err, `Revoke session ${id}`));
  }
  if (st === my) await refresh().catch((err) => notice(explain(err, 'Refresh')));
}

async function revokeUser(my, user) {
  notice('');
  const base = tenantPath(my.tenant);
  try {
    const cur = await request('GET', `${base}/users/${encodeURIComponent(user)}?per_page=1`);
    const n = Number(cur?.pagination?.total_items) || 0;
    const ok = await confirmDialog(
      'Revoke all sessions of a user',
      `Revoke all ${n} active session${n === 1 ? '' : 's'} of user ${user} in tenant ${my.tenant}? They are signed out everywhere.`,
      `Revoke ${plural(n, 'session')}`,
    );
    if (!ok) return;
    const res = await request('POST', `${base}/users/${encodeURIComponent(user)}/revoke`, { body: { revoke_all: true, except_current: true } });
    status(`Revoked ${plural(Number(res?.data?.revoked_count) || 0, 'session')} of user ${user}.`);
  } catch (err) {
    notice(explain(err, `Revoke the sessions of user ${user}`));
  }
  if (st === my) await refresh().catch((err) => notice(explain(err, 'Refresh')));
}

async function revokeTenant(my) {
  notice('');
  const base = tenantPath(my.tenant);
  try {
    const stats = await request('GET', `${base}/stats`);
    renderStats(stats?.data || {});
    const n = Number(stats?.data?.active_sessions) || 0;
    const ok = await confirmDialog(
      'Revoke all sessions of the tenant',
      `Revoke all ${n} active session${n === 1 ? '' : 's'} of tenant ${my.tenant}? Every user of the tenant is signed out.`,
      `Revoke ${plural(n, 'session')}`,
    );
    if (!ok) return;
    const res = await request('POST', `${base}/revoke-all`);
    status(`Revoked ${plural(Number(res?.data?.revoked_count) || 0, 'session')} of tenant ${my.tenant}.`);
  } catch (err) {
    notice(explain(err, `Revoke all sessions of tenant ${my.tenant}`));
  }
  if (st === my) await refresh().catch((err) => notice(explain(err, 'Refresh')));
}

function reload() {
  notice('');
  refresh().catch((err) => notice(explain(err, 'Read the sessions')));
}

// bind wires the view's controls once.
export function bind() {
  $('session-rows').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    const my = st;
    if (!b || !my) return;
    if (b.dataset.action === 'details') toggleDetails(my, b.dataset.id);
    else if (b.dataset.action === 'revoke') revokeOne(my, b.dataset.id);
    else if (b.dataset.action === 'revoke-user') revokeUser(my, b.dataset.user);
  });
  $('filter-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!st) return;
    st.user = $('filter-user').value.trim();
    st.page = 1;
    reload();
  });
  $('filter-clear').addEventListener('click', () => {
    if (!st) return;
    $('filter-user').value = '';
    st.user = '';
    st.page = 1;
    reload();
  });
  $('show-ended').addEventListener('change', () => {
    if (!st) return;
    st.ended = $('show-ended').checked;
    st.page = 1;
    reload();
  });
  $('per-page').addEventListener('change', () => {
    if (!st) return;
    st.perPage = Number($('per-page').value) || 20;
    st.page = 1;
    reload();
  });
  $('prev-page').addEventListener('click', () => {
    if (st && st.page > 1) {
      st.page--;
      reload();
    }
  });
  $('next-page').addEventListener('click', () => {
    if (st) {
      st.page++;
      reload();
    }
  });
  $('audit-prev').addEventListener('click', () => {
    if (st && st.auditPage > 1) {
      st.auditPage--;
      reload();
    }
  });
  $('audit-next').addEventListener('click', () => {
    if (st) {
      st.auditPage++;
      reload();
    }
  });
  $('revoke-user').addEventListener('click', () => st && st.user && revokeUser(st, st.user));
  $('revoke-tenant').addEventListener('click', () => st && revokeTenant(st));
  $('policy-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (st) extras.savePolicy(st.tenant);
  });
}
