// Calls to sessiond's public REST API. The token goes only in the
// Authorization header: never in a URL, a cookie or a log line.

// ApiError is a refused call: status and the API's detail.
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

// detailText turns the API's {"detail": …} into one line: a string as it is,
// a FastAPI validation list as "where: what" pairs.
export function detailText(body, status) {
  const d = body && typeof body === 'object' ? body.detail : undefined;
  if (typeof d === 'string' && d) return d;
  if (Array.isArray(d)) {
    return d
      .map((e) => {
        const loc = Array.isArray(e?.loc) ? e.loc.join('.') : '';
        const msg = typeof e?.msg === 'string' ? e.msg : 'invalid';
        return loc ? `${loc}: ${msg}` : msg;
      })
      .join('; ');
  }
  return `HTTP ${status}`;
}

let tokenSource = () => '';

// useToken sets where the token is read from for each call.
export function useToken(fn) {
  tokenSource = fn;
}

function headers(extra) {
  const h = new Headers(extra);
  const t = tokenSource();
  if (t) h.set('Authorization', 'Bearer ' + t);
  return h;
}

// request calls the API and returns the decoded JSON body (or null for a
// body-less answer such as 204). It throws ApiError for any non-2xx status,
// and a plain Error when sessiond cannot be reached.
export async function request(method, path, { body, signal } = {}) {
  const init = {
    method,
    headers: headers({ Accept: 'application/json' }),
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
    signal,
  };
  if (body !== undefined) {
    init.headers.set('Content-Type', 'application/json');
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new Error('sessiond did not answer: check that it is running and reachable.');
  }
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!res.ok) throw new ApiError(res.status, detailText(json, res.status));
  return json;
}

// stream opens a Server-Sent Events route with fetch (EventSource cannot
// send an Authorization header) and calls onEvent({id, event, data}) for each
// event until the stream ends or signal aborts. It throws ApiError when the
// route refuses the call.
export async function stream(path, { lastEventId, signal, onEvent, onOpen }) {
  const h = headers({ Accept: 'text/event-stream' });
  if (lastEventId) h.set('Last-Event-ID', lastEventId);
  const res = await fetch(path, {
    headers: h,
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
    signal,
  });
  if (!res.ok) {
    let json = null;
    try {
      json = await res.json();
    } catch {
      json = null;
    }
    throw new ApiError(res.status, detailText(json, res.status));
  }
  if (onOpen) onOpen();
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let ev = { id: '', event: '', data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (ev.data.length > 0 || ev.event) {
          onEvent({ id: ev.id, event: ev.event || 'message', data: ev.data.join('\n') });
        }
        ev = { id: '', event: '', data: [] };
        continue;
      }
      if (line.startsWith(':')) continue; // comment: connected, keep-alive
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let val = colon < 0 ? '' : line.slice(colon + 1);
      if (val.startsWith(' ')) val = val.slice(1);
      if (field === 'id') ev.id = val;
      else if (field === 'event') ev.event = val;
      else if (field === 'data') ev.data.push(val);
    }
  }
}

// explain turns a failed call into a message for a person: what was being
// done, what sessiond answered, and what that means here.
export function explain(err, action) {
  if (!(err instanceof ApiError)) return `${action}: ${err?.message || err}`;
  const said = `${err.status} ${err.detail}`;
  switch (err.status) {
    case 401:
      return `${action}: sessiond refused the token (${said}). Sign out and sign in with a valid token.`;
    case 403:
      return `${action}: this token may not do that (${said}).`;
    case 404:
      return `${action}: not found, or outside this token's reach (${said}).`;
    case 422:
      return `${action}: sessiond found the request invalid (${said}).`;
    case 503:
      return `${action}: the session store is unavailable (${said}). Try again shortly.`;
    default:
      return `${action}: sessiond answered ${said}.`;
  }
}

// tenantPath is the base of a tenant's endpoints.
export function tenantPath(tenant) {
  return `/api/v1/tenants/${encodeURIComponent(tenant)}/sessions`;
}
