// Rendering the tenant view's data: the stats with their chart, and the
// session rows. Every API string goes in as text.

import { $, clear, h, s, text, timeCell, when } from './dom.js';

const devices = ['desktop', 'mobile', 'tablet', 'bot', 'unknown'];

// renderStats shows the figures and the bar chart by device type.
export function renderStats(d) {
  const figures = clear($('stats-figures'));
  const fig = (label, key) =>
    figures.append(h('div', {}, h('dt', {}, label), h('dd', { 'data-stat': key }, text(d[key] ?? 0))));
  fig('Active sessions', 'active_sessions');
  fig('Active users', 'active_users');
  fig('Created in the last 24 h', 'sessions_created_last_24h');
  fig('Revoked in the last 24 h', 'sessions_revoked_last_24h');
  $('revoke-tenant').dataset.count = String(Number(d.active_sessions) || 0);

  const by = d.sessions_by_device_type || {};
  const names = [...devices, ...Object.keys(by).filter((k) => !devices.includes(k))];
  const max = Math.max(1, ...names.map((n) => Number(by[n]) || 0));
  const rowH = 26;
  const svg = s('svg', {
    viewBox: `0 0 360 ${names.length * rowH}`,
    role: 'img',
    'aria-label': 'Active sessions by device type: ' + names.map((n) => `${n} ${Number(by[n]) || 0}`).join(', '),
  });
  names.forEach((n, i) => {
    const v = Number(by[n]) || 0;
    const y = i * rowH;
    svg.append(
      s('text', { x: 0, y: y + 17 }, n),
      s('rect', { class: 'bar', x: 80, y: y + 5, height: 16, width: Math.max(v > 0 ? 2 : 0, (v / max) * 230), rx: 2 }),
      s('text', { x: 80 + (v / max) * 230 + 6, y: y + 17, 'data-device': n }, String(v)),
    );
  });
  clear($('device-chart')).append(svg);
}

// sessionRows is a session's row, and its details row when expanded.
export function sessionRows(my, x) {
  const state = x.status || 'active';
  const active = state === 'active';
  const btn = (action, label, aria, cls) =>
    h('button', { type: 'button', class: `small ${cls || ''}`, dataset: { action, id: x.id, user: x.user_id }, 'aria-label': aria }, label);
  const open = my.expanded.has(x.id);
  const actions = [
    h('button', { type: 'button', class: 'small', dataset: { action: 'details', id: x.id }, 'aria-expanded': String(open), 'aria-label': `Details of session ${x.id}` }, open ? 'Hide' : 'Details'),
  ];
  if (active && my.who.canWrite) {
    actions.push(btn('revoke', 'Revoke', `Revoke session ${x.id} of user ${x.user_id}`, 'danger'));
    actions.push(btn('revoke-user', 'Revoke user', `Revoke all sessions of user ${x.user_id}`, 'danger'));
  }
  const ending = active ? '' : [x.ended_at ? ` ${when(x.ended_at)}` : '', x.revoked_by ? ` by ${x.revoked_by}` : '', x.revoke_reason ? ` (${x.revoke_reason})` : ''].join('');
  const row = h(
    'tr',
    { class: active ? '' : 'ended', 'data-session': x.id },
    h('td', {}, h('div', { class: 'mono' }, x.user_id), x.user_email ? h('div', {}, x.user_email) : null),
    h('td', {}, text(x.device_type)),
    h('td', { class: 'mono' }, text(x.ip_address)),
    h('td', { class: 'ua' }, h('span', { class: 'clamp', title: text(x.user_agent) }, text(x.user_agent))),
    h('td', { class: 'when' }, timeCell(x.created_at)),
    h('td', { class: 'when' }, timeCell(x.last_activity_at)),
    h('td', { class: 'when' }, timeCell(x.expires_at)),
    h('td', {}, String(Number(x.app_count) || 0)),
    h('td', {}, h('span', { class: `badge ${state}` }, state), ending),
    h('td', {}, h('div', { class: 'cell-actions' }, actions)),
  );
  if (!open) return [row];
  return [row, h('tr', { class: 'details', 'data-details': x.id }, h('td', { colspan: 10 }, detailsBody(my.details.get(x.id))))];
}

function detailsBody(d) {
  if (!d) return 'Loading…';
  if (d.error) return d.error;
  const apps = Array.isArray(d.sso_apps) ? d.sso_apps : [];
  return h(
    'div',
    { class: 'details' },
    h('dl', {},
      ...[
        ['Session id', d.id], ['Display name', d.user_display_name], ['Email', d.user_email],
        ['Location', d.location], ['User agent', d.user_agent],
      ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, text(v))]),
    ),
    h('strong', {}, `SSO apps (${apps.length})`),
    apps.length === 0
      ? h('p', {}, 'None recorded.')
      : h('ul', { class: 'apps' }, apps.map((a) => h('li', {}, `${text(a.application_name)} (${text(a.application_id)}), last ${when(a.accessed_at)}`))),
  );
}
