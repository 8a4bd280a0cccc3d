// Building the page. Every string from the API goes in as text (textContent
// or an attribute value), never as HTML: the console has no HTML sink at
// all, and its CSP enforces Trusted Types so that none can be added by
// mistake.

export const $ = (id) => document.getElementById(id);

// h creates an element: attrs are set with setAttribute (or as properties
// for "on…" handlers and "dataset"), children are nodes or text.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const svgNS = 'http://www.w3.org/2000/svg';

// s creates an SVG element.
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(svgNS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// clear removes every child of el.
export function clear(el) {
  el.replaceChildren();
  return el;
}

// text shows v, or a dash when the API said null.
export function text(v) {
  return v === null || v === undefined || v === '' ? '—' : String(v);
}

const pad = (n) => String(n).padStart(2, '0');

// plural is "1 session" or "2 sessions".
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// when formats an RFC 3339 time as "YYYY-MM-DD HH:MM:SS UTC".
export function when(v) {
  if (!v) return '—';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`
  );
}

// timeEl is a <time> element for an RFC 3339 value.
export function timeEl(v) {
  return v ? h('time', { datetime: v }, when(v)) : '—';
}

// timeCell is timeEl on two lines (date, then time), for narrow columns.
export function timeCell(v) {
  const full = when(v);
  const i = full.indexOf(' ');
  if (!v || i < 0) return timeEl(v);
  return h('time', { datetime: v, title: full }, h('span', {}, full.slice(0, i)), ' ', h('span', {}, full.slice(i + 1)));
}

// show and hide toggle the hidden attribute.
export function show(el, on = true) {
  el.hidden = !on;
}

let statusTimer = 0;

// notice shows an error in the alert region; empty clears it.
export function notice(msg) {
  const el = $('notice');
  el.textContent = msg || '';
  el.hidden = !msg;
}

// status says that something worked, in a polite live region.
export function status(msg) {
  const el = $('status');
  el.textContent = msg;
  window.clearTimeout(statusTimer);
  statusTimer = window.setTimeout(() => {
    el.textContent = '';
  }, 8000);
}

// confirmDialog asks with the page's <dialog> and resolves true on "ok".
export function confirmDialog(title, message, okLabel) {
  const dlg = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = message;
  $('confirm-ok').textContent = okLabel;
  dlg.returnValue = '';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.showModal();
    $('confirm-cancel').focus();
  });
}
