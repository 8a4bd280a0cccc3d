// The bearer token: where it comes from, where it is kept, and what its
// claims say. The claims are decoded for display and to choose which parts
// of the console to show; sessiond verifies the token on every call and is
// the only judge of what it may do.

const storageKey = 'sessiond.console.token';

// takeFromFragment reads "#token=…" (dev mode prints such a link), keeps the
// token and removes the fragment from the address bar and the history, so
// that it is not bookmarked, shared or left behind.
export function takeFromFragment() {
  const hash = window.location.hash;
  if (!hash.startsWith('#')) return '';
  const params = new URLSearchParams(hash.slice(1));
  const token = (params.get('token') || '').trim();
  if (!params.has('token')) return '';
  params.delete('token');
  const rest = params.toString();
  const url = window.location.pathname + window.location.search + (rest ? '#' + rest : '');
  window.history.replaceState(null, '', url);
  if (token) store(token);
  return token;
}

// fragmentParam returns a non-secret parameter of the fragment ("tenant").
export function fragmentParam(name) {
  const params = new URLSearchParams(window.location.hash.slice(1));
  return (params.get(name) || '').trim();
}

export function stored() {
  try {
    return window.sessionStorage.getItem(storageKey) || '';
  } catch {
    return '';
  }
}

export function store(token) {
  window.sessionStorage.setItem(storageKey, token);
}

export function forget() {
  try {
    window.sessionStorage.removeItem(storageKey);
  } catch {
    // Storage may be unavailable; nothing is kept then.
  }
}

function base64urlDecode(s) {
  let b = s.replace(/-/g, '+').replace(/_/g, '/');
  while (b.length % 4) b += '=';
  const bin = window.atob(b);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

// decode returns the token's claims, or throws an Error saying why the text
// is not a JWT.
export function decode(token) {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] === '' || parts[1] === '') {
    throw new Error('This is not a JWT: a bearer token has three parts separated by dots.');
  }
  let claims;
  try {
    claims = JSON.parse(base64urlDecode(parts[1]));
  } catch {
    throw new Error('This is not a JWT: its payload is not base64url-encoded JSON.');
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new Error('This is not a JWT: its payload is not a JSON object.');
  }
  return claims;
}

function scopesOf(claims) {
  const s = claims.scope ?? claims.scp;
  if (Array.isArray(s)) return s.filter((x) => typeof x === 'string');
  if (typeof s === 'string') return s.split(/\s+/).filter(Boolean);
  return [];
}

function str(v) {
  return typeof v === 'string' ? v : '';
}

// describe says what kind of caller the claims make, the way sessiond's
// pkg/auth Principal.Kind does, and what the console may offer it.
export function describe(claims) {
  const role = str(claims.role);
  const tenant = str(claims.tenant_id);
  const partner = str(claims.partner_id);
  const scopes = scopesOf(claims);
  const who = {
    sub: str(claims.sub),
    role,
    tenant,
    partner,
    scopes,
    exp: typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : null,
    kind: 'user',
    canWrite: false,
    fixedTenant: '',
  };
  if (role === 'super_admin') {
    who.kind = 'super_admin';
    who.canWrite = true;
  } else if (role === 'partner_admin' && partner) {
    who.kind = 'partner_admin';
    who.canWrite = true;
  } else if (role === 'tenant_admin' && tenant) {
    who.kind = 'tenant_admin';
    who.canWrite = true;
    who.fixedTenant = tenant;
  } else if (claims.platform_token === true) {
    who.kind = scopes.includes('admin:read') || scopes.includes('admin:write') ? 'platform' : 'platform_none';
    who.canWrite = scopes.includes('admin:write');
  } else if (claims.token_type === 'client_credentials') {
    who.kind = scopes.includes('sessions:read') || scopes.includes('sessions:write') ? 'service' : 'service_none';
  }
  return who;
}

// expired reports whether the token's exp has passed.
export function expired(who, now = new Date()) {
  return who.exp !== null && who.exp.getTime() <= now.getTime();
}
