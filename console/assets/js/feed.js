// The live revocation feed. Two sources, chosen by what the token may read:
//
//   - the event stream GET /api/v1/internal/sessions/events, read with
//     fetch() and a stream reader (EventSource cannot send Authorization).
//     sessiond serves it to service tokens only (sessions:read), so the
//     console follows it when signed in with one;
//   - for admin tokens, which the stream refuses, the tenant view polls what
//     the token may read (stats, the shown page, the audit trail) every few
//     seconds and adds what changed to the feed (tenant.js).

import { ApiError, explain, stream } from './api.js';
import { h, timeEl, when } from './dom.js';

const maxItems = 100;

// add puts one line at the top of a feed list.
export function add(list, at, ...parts) {
  list.prepend(h('li', {}, timeEl(at), ...parts));
  while (list.children.length > maxItems) list.lastElementChild.remove();
}

// eventLine is the text of one session.revoked event.
export function eventLine(e) {
  const who = e.actor ? ` by ${e.actor}` : '';
  return `session ${e.session_id} of user ${e.user_id} in tenant ${e.tenant_id} revoked${who} (${e.reason})`;
}

// follow reads the event stream into list until signal aborts, resuming
// with Last-Event-ID after a dropped connection. onRefused is called with a
// message when sessiond refuses the stream (401/403): it does not retry then.
export async function follow(list, mode, signal, onRefused) {
  let lastId = '';
  let delay = 1000;
  while (!signal.aborted) {
    try {
      mode.textContent = 'Connecting to the revocation event stream…';
      await stream('/api/v1/internal/sessions/events', {
        lastEventId: lastId,
        signal,
        onOpen: () => {
          delay = 1000;
          mode.textContent = 'Live: following the revocation event stream (GET /api/v1/internal/sessions/events).';
          mode.dataset.mode = 'stream';
        },
        onEvent: (ev) => {
          if (ev.id) lastId = ev.id;
          let data = {};
          try {
            data = JSON.parse(ev.data);
          } catch {
            data = {};
          }
          if (ev.event === 'session.revoked') add(list, data.revoked_at || new Date().toISOString(), eventLine(data));
          else if (ev.event === 'reset') add(list, new Date().toISOString(), 'The stream was reset: events may have been missed.');
          else if (ev.event === 'error') add(list, new Date().toISOString(), `Stream error: ${data.detail || 'unknown'}; reconnecting.`);
        },
      });
    } catch (err) {
      if (signal.aborted || err?.name === 'AbortError') return;
      if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 404)) {
        onRefused(explain(err, 'Follow the revocation event stream'));
        return;
      }
    }
    if (signal.aborted) return;
    mode.textContent = `Reconnecting to the event stream at ${when(new Date(Date.now() + delay).toISOString())}…`;
    await new Promise((r) => window.setTimeout(r, delay));
    delay = Math.min(delay * 2, 30000);
  }
}
