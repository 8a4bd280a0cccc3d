// Sections that exist only when sessiond serves their API: the audit trail
// (GET …/sessions/audit, 404 when history is off) and the session policy
// (GET/PUT …/sessions/policy). A 404 hides the section without a word.

import { ApiError, explain, request, tenantPath } from './api.js';
import { $, clear, h, notice, show, status, text, timeEl } from './dom.js';

// loadAudit reads one page of the audit trail: {data, pagination}, or null
// when sessiond has none for this tenant (404). Other errors throw.
export async function loadAudit(tenant, page, perPage = 20) {
  try {
    return await request('GET', `${tenantPath(tenant)}/audit?page=${page}&per_page=${perPage}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

// renderAudit fills the audit section from a page (null hides it).
export function renderAudit(res, page) {
  show($('audit'), res !== null);
  if (res === null) return;
  const rows = clear($('audit-rows'));
  const items = Array.isArray(res.data) ? res.data : [];
  for (const e of items) {
    const ids = Array.isArray(e.session_ids) ? e.session_ids : [];
    const more = Number(e.revoked_count) > ids.length ? ` and ${Number(e.revoked_count) - ids.length} more` : '';
    rows.append(
      h(
        'tr',
        {},
        h('td', { class: 'when' }, timeEl(e.at)),
        h('td', {}, text(e.actor)),
        h('td', {}, text(e.actor_role)),
        h('td', {}, text(e.reason)),
        h('td', {}, text(e.target)),
        h('td', {}, text(e.revoked_count)),
        h('td', { class: 'mono' }, ids.join(', ') + more || '—'),
      ),
    );
  }
  if (items.length === 0) rows.append(h('tr', {}, h('td', { colspan: 7 }, 'No revocations recorded.')));
  const p = res.pagination || {};
  const pages = Number(p.total_pages) || 0;
  $('audit-info').textContent = `Page ${page} of ${Math.max(pages, 1)} · ${Number(p.total_items) || 0} entries`;
  $('audit-prev').disabled = page <= 1;
  $('audit-next').disabled = page >= pages;
}

const policyFields = [
  ['pol-max', 'max_sessions_per_user'],
  ['pol-idle', 'idle_timeout_seconds'],
  ['pol-life', 'max_lifetime_seconds'],
];

function fillPolicy(p) {
  for (const [id, key] of policyFields) $(id).value = String(Number(p?.[key]) || 0);
  $('pol-on-limit').value = p?.on_limit === 'refuse' ? 'refuse' : 'evict_oldest';
}

// loadPolicy shows the policy section when sessiond serves a policy for the
// tenant and hides it on 404; other errors show in the notice.
export async function loadPolicy(tenant, canWrite) {
  try {
    const res = await request('GET', `${tenantPath(tenant)}/policy`);
    fillPolicy(res?.data);
    for (const el of $('policy-form').elements) el.disabled = !canWrite;
    show($('policy'), true);
  } catch (err) {
    show($('policy'), false);
    if (!(err instanceof ApiError && err.status === 404)) notice(explain(err, 'Read the session policy'));
  }
}

// savePolicy PUTs the form; a refusal (403 included) shows as a message.
export async function savePolicy(tenant) {
  const body = { on_limit: $('pol-on-limit').value };
  for (const [id, key] of policyFields) body[key] = Number.parseInt($(id).value, 10) || 0;
  notice('');
  try {
    const res = await request('PUT', `${tenantPath(tenant)}/policy`, { body });
    fillPolicy(res?.data ?? body);
    status(`Saved the session policy of tenant ${tenant}.`);
  } catch (err) {
    notice(explain(err, 'Save the session policy'));
  }
}
