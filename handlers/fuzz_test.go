package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
)

// The fuzz targets drive the real router on redis-server with the world
// fixture (seedWorld) and check each answer against an oracle written from
// the rules of docs/auth.md and docs/api.md, independently of the handlers' own parsers:
//
//   - no 5xx (a panic is a 500: the router recovers), and only the statuses
//     the endpoint may answer;
//   - 2xx only for valid input, and a valid input is not refused with 422;
//   - a refused request (4xx) changes nothing in Redis, checked with a digest
//     of every key's value and expiry taken in one round trip.
//
// After a request that changed Redis the world is seeded afresh, so every
// input meets the same fixture. Seeds live in testdata/fuzz/<FuzzName>/;
// scripts/fuzz.sh runs each target for a while.

// dbDigestScript hashes every key with its serialized value and absolute
// expiry, and returns the digest and the number of keys.
var dbDigestScript = redis.NewScript(`
local keys = redis.call('KEYS', '*')
table.sort(keys)
local parts = {}
for _, k in ipairs(keys) do
  local d = redis.call('DUMP', k) or ''
  parts[#parts + 1] = k .. '=' .. redis.sha1hex(d) .. '@' .. redis.call('PEXPIRETIME', k)
end
return {redis.sha1hex(table.concat(parts, ';')), #keys}`)

// fuzzEnv is a router on a database holding the world fixture.
type fuzzEnv struct {
	*env
	toks   []string // tokens of fuzzCallers
	digest string   // of the freshly seeded world
}

// fuzzCallers are the callers a fuzz input picks from, by index.
var fuzzCallers = []auth.MintOptions{superAdmin, partnerAdmin, tenantAdmin, platformRead, platformWrite, serviceRead, serviceWrite, userU1}

// fixture is the world fixture as the oracles see it; t1-u1-b names no
// partner but its tenant's partner is recorded by then.
var fixture = []*azSession{
	{id: "t1-u1-a", user: "u1", tenant: "T1", partner: "P1"},
	{id: "t1-u1-b", user: "u1", tenant: "T1", partner: "P1"},
	{id: "t1-u2", user: "u2", tenant: "T1", partner: "P1"},
	{id: "t2-u3", user: "u3", tenant: "T2", partner: "P1"},
	{id: "t3-u4", user: "u4", tenant: "T3", partner: "P2"},
}

var fixturePartner = map[string]string{"T1": "P1", "T2": "P1", "T3": "P2"}

func fixtureSession(id string) *azSession {
	for _, s := range fixture {
		if s.id == id {
			return s
		}
	}
	return nil
}

func fixtureWhere(f func(*azSession) bool) []string {
	var out []string
	for _, s := range fixture {
		if f(s) {
			out = append(out, s.id)
		}
	}
	return out
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	if len(world) != len(fixture) {
		f.Fatalf("the fuzz fixture has %d sessions, seedWorld %d: update fixture", len(fixture), len(world))
	}
	fe := &fuzzEnv{env: newEnvWith(f, realRedis.NewClient(f), envConfig{})}
	for _, o := range fuzzCallers {
		o.TTL = 24 * time.Hour
		fe.toks = append(fe.toks, fe.token(f, o))
	}
	fe.reset(f)
	return fe
}

// reset seeds the world afresh, with the clock at now.
func (fe *fuzzEnv) reset(tb testing.TB) {
	tb.Helper()
	if err := fe.rdb.FlushDB(context.Background()).Err(); err != nil {
		tb.Fatalf("FLUSHDB: %v", err)
	}
	fe.now = time.Now().UTC().Truncate(time.Millisecond)
	fe.seedWorld(tb)
	fe.digest, _ = fe.dbDigest(tb)
}

func (fe *fuzzEnv) dbDigest(tb testing.TB) (string, int64) {
	tb.Helper()
	res, err := dbDigestScript.Run(context.Background(), fe.rdb, nil).Slice()
	if err != nil || len(res) != 2 {
		tb.Fatalf("digest the database: %v", err)
	}
	return res[0].(string), res[1].(int64)
}

// serve sends hr through the router and tells whether Redis changed.
func (fe *fuzzEnv) serve(t *testing.T, hr *http.Request) (response, bool) {
	t.Helper()
	before, _ := fe.dbDigest(t)
	w := httptest.NewRecorder()
	fe.router.ServeHTTP(w, hr)
	after, _ := fe.dbDigest(t)
	return response{Code: w.Code, Header: w.Result().Header, Body: w.Body.Bytes()}, before != after
}

func (fe *fuzzEnv) send(t *testing.T, r req) (response, bool) {
	t.Helper()
	hr := httptest.NewRequest(r.Method, r.Path, bytes.NewReader(r.Body.([]byte)))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+r.Token)
	return fe.serve(t, hr)
}

// after checks that only a 2xx changed Redis, and then seeds the world
// afresh if it changed.
func (fe *fuzzEnv) after(t *testing.T, r response, changed bool) {
	t.Helper()
	checkChange(t, r, changed)
	if changed {
		fe.reset(t)
	}
}

func checkChange(t *testing.T, r response, changed bool) {
	t.Helper()
	if r.Code >= 500 {
		t.Errorf("got %d, want no server error; body %s", r.Code, r.Body)
	}
	if changed && (r.Code < 200 || r.Code > 299) {
		t.Errorf("a %d answer changed Redis; body %s", r.Code, r.Body)
	}
}

// Identifier syntax of the wire format, docs/api.md (session ids) and pkg/session's documented
// rules (tenant, partner and user ids).
var (
	sessionIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	tenantIDRE  = idModel{regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)}
	userIDRE    = idModel{regexp.MustCompile(`^[A-Za-z0-9._@:|+-]{1,256}$`)}
)

// --- query parameters -------------------------------------------------------

// queryParams are the list parameters, in the order of FuzzQuery's present
// bits.
var queryParams = []string{"page", "per_page", "active_only", "user_id", "tenant_id", "partner_id"}

// validQuery reports whether query parameter name has an acceptable value.
func validQuery(name, v string) bool {
	switch name {
	case "page", "per_page":
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if name == "page" {
			return err == nil && n >= 1 && n <= 1_000_000_000
		}
		return err == nil && n >= 1 && n <= 100
	case "active_only":
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "1", "yes", "on", "t", "y", "false", "0", "no", "off", "f", "n":
			return true
		}
		return false
	case "user_id":
		return v == "" || userIDRE.MatchString(v)
	default:
		return v == "" || tenantIDRE.MatchString(v)
	}
}

// FuzzQuery sends list requests with arbitrary query strings: page,
// per_page, active_only and the id filters, each present or not, plus a raw
// tail that may repeat or garble them. The status is exactly what the oracle
// says (403 before 422 before 200); a 200 lists exactly the fixture's
// sessions the caller reaches through the filter, paged as asked; nothing
// changes in Redis.
func FuzzQuery(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(0b111011), "1", "20", "true", "u1", "T1", "P1", "")
	f.Add(uint8(2), uint8(2), uint8(0b001111), " 2 ", "1", "YES", "u1", "", "", "page=0")
	f.Add(uint8(4), uint8(1), uint8(0b000111), "1000000000", "100", "off", "", "", "", "per_page=101&per_page=1")
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, route, caller, present uint8, page, perPage, activeOnly, userID, tenantID, partnerID, extra string) {
		c := whoOf(fuzzCallers[int(caller)%len(fuzzCallers)])
		values := []string{page, perPage, activeOnly, userID, tenantID, partnerID}
		var parts []string
		for i, name := range queryParams {
			if present&(1<<i) != 0 {
				parts = append(parts, name+"="+url.QueryEscape(values[i]))
			}
		}
		if extra != "" {
			parts = append(parts, extra)
		}
		raw := strings.Join(parts, "&")

		type routeSpec struct {
			path, tenant, user string
			params             []string
		}
		routes := []routeSpec{
			{pathAdmin, "", "", []string{"page", "per_page", "user_id", "tenant_id", "partner_id"}},
			{pathAdmin + "/", "", "", []string{"page", "per_page", "user_id", "tenant_id", "partner_id"}},
			{pathTenant("T1"), "T1", "", []string{"page", "per_page", "active_only", "user_id"}},
			{pathTenant("T3"), "T3", "", []string{"page", "per_page", "active_only", "user_id"}},
			{pathTenant("T1") + "/users/u1", "T1", "u1", []string{"page", "per_page", "active_only"}},
			{pathMe, "", "", nil},
		}
		rs := routes[int(route)%len(routes)]

		q, _ := url.ParseQuery(raw) // what the router reads: the first of each
		first := func(name string) (string, bool) {
			v, ok := q[name]
			if !ok || len(v) == 0 {
				return "", false
			}
			return v[0], true
		}
		valid := true
		for _, name := range rs.params {
			if v, ok := first(name); ok && !validQuery(name, v) {
				valid = false
			}
		}
		var want int
		var reach func(*azSession) bool
		switch {
		case rs.path == pathMe:
			want = status(c.meOK(), true, true, http.StatusOK)
			reach = c.owns
		case rs.tenant == "":
			want = status(c.adminOK(false), valid, true, http.StatusOK)
			user, _ := first("user_id")
			tenant, _ := first("tenant_id")
			partner, _ := first("partner_id")
			reach = func(s *azSession) bool { return c.sees(s) && s.matches(user, tenant, partner) }
		default:
			want = status(c.tenantOK(rs.tenant, fixturePartner[rs.tenant], false), valid, true, http.StatusOK)
			user := rs.user
			if user == "" {
				user, _ = first("user_id")
			}
			reach = func(s *azSession) bool { return s.tenant == rs.tenant && (user == "" || s.user == user) }
		}

		hr := httptest.NewRequest(http.MethodGet, rs.path, nil)
		hr.URL.RawQuery = raw
		hr.RequestURI = rs.path + "?" + raw
		hr.Header.Set("Authorization", "Bearer "+fe.toks[int(caller)%len(fuzzCallers)])
		r, changed := fe.serve(t, hr)
		if changed {
			t.Errorf("GET %s?%s changed Redis", rs.path, raw)
		}
		fe.after(t, r, changed)
		if r.Code != want {
			t.Fatalf("GET %s?%s as %s: got %d, want %d; body %s", rs.path, raw, c, r.Code, want, r.Body)
		}
		if r.Code != http.StatusOK {
			return
		}
		var env envelope[[]listItemJSON]
		if err := json.Unmarshal(r.Body, &env); err != nil {
			t.Fatalf("decode %s: %v", r.Body, err)
		}
		expect := fixtureWhere(reach)
		for _, id := range ids(env.Data) {
			if !slices.Contains(expect, id) {
				t.Errorf("GET %s?%s as %s lists %s; want only %v", rs.path, raw, c, id, expect)
			}
		}
		if rs.path == pathMe {
			if len(env.Data) != len(expect) {
				t.Errorf("GET %s as %s: got %d sessions, want %v", rs.path, c, len(env.Data), expect)
			}
			return
		}
		pg, per := 1, 20
		if v, ok := first("page"); ok {
			pg, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if v, ok := first("per_page"); ok {
			per, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		wantLen := max(0, min(per, len(expect)-(pg-1)*per))
		if env.Pagination == nil || env.Pagination.TotalItems != len(expect) || env.Pagination.Page != pg ||
			env.Pagination.PerPage != per || len(env.Data) != wantLen {
			t.Errorf("GET %s?%s as %s: got %d items, pagination %+v; want %d of %v, page %d per %d",
				rs.path, raw, c, len(env.Data), env.Pagination, wantLen, expect, pg, per)
		}
	})
}

// --- path parameters --------------------------------------------------------

// pathRoute is a route with path parameters; segs lists which of tenant,
// user and session it uses.
type pathRoute struct {
	method, name string
	build        func(t, u, s string) string
	tenant, user bool
	sid          bool
	write        bool
}

var pathRoutes = []pathRoute{
	{http.MethodGet, "admin get", func(_, _, s string) string { return pathAdmin + "/" + s }, false, false, true, false},
	{http.MethodDelete, "admin revoke", func(_, _, s string) string { return pathAdmin + "/" + s }, false, false, true, true},
	{http.MethodDelete, "me revoke", func(_, _, s string) string { return pathMe + "/" + s }, false, false, true, true},
	{http.MethodGet, "tenant list", func(t, _, _ string) string { return "/api/v1/tenants/" + t + "/sessions" }, true, false, false, false},
	{http.MethodGet, "tenant stats", func(t, _, _ string) string { return "/api/v1/tenants/" + t + "/sessions/stats" }, true, false, false, false},
	{http.MethodGet, "tenant user list", func(t, u, _ string) string { return "/api/v1/tenants/" + t + "/sessions/users/" + u }, true, true, false, false},
	{http.MethodPost, "tenant user revoke", func(t, u, _ string) string { return "/api/v1/tenants/" + t + "/sessions/users/" + u + "/revoke" }, true, true, false, true},
	{http.MethodGet, "tenant get", func(t, _, s string) string { return "/api/v1/tenants/" + t + "/sessions/" + s }, true, false, true, false},
	{http.MethodDelete, "tenant revoke", func(t, _, s string) string { return "/api/v1/tenants/" + t + "/sessions/" + s }, true, false, true, true},
	{http.MethodPost, "tenant revoke-all", func(t, _, _ string) string { return "/api/v1/tenants/" + t + "/sessions/revoke-all" }, true, false, false, true},
	{http.MethodPost, "internal activity", func(_, _, s string) string { return pathInternal + "/" + s + "/activity" }, false, false, true, true},
}

// FuzzPath sends requests whose tenant, user and session path segments are
// arbitrary strings, URL-escaped. When the unescaped segments still route
// where they were meant to, the status is exactly the oracle's (403 for a
// caller or tenant out of reach, 422 for a bad id, 404 for a session that is
// missing or out of reach); otherwise any 4xx will do. Never a 5xx, and only
// a 2xx write changes Redis.
func FuzzPath(f *testing.F) {
	f.Add(uint8(0), uint8(0), "T1", "u1", "t1-u1-a")
	f.Add(uint8(7), uint8(1), "T3", "u4", "t3-u4")
	f.Add(uint8(5), uint8(2), "T1", "a@b.c|x:y+z", "x")
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, route, caller uint8, tenant, user, sid string) {
		rt := pathRoutes[int(route)%len(pathRoutes)]
		c := whoOf(fuzzCallers[int(caller)%len(fuzzCallers)])
		path := rt.build(url.PathEscape(tenant), url.PathEscape(user), url.PathEscape(sid))
		var body []byte
		if rt.name == "tenant user revoke" {
			body = []byte(`{"revoke_all": true}`)
		}
		r, changed := fe.send(t, req{Method: rt.method, Path: path, Token: fe.toks[int(caller)%len(fuzzCallers)], Body: body})
		fe.after(t, r, changed)
		if changed && !rt.write {
			t.Errorf("%s %s changed Redis", rt.method, path)
		}
		want, exact := pathOracle(rt, c, tenant, user, sid)
		switch {
		case exact && r.Code != want:
			t.Errorf("%s %s as %s: got %d, want %d; body %s", rt.method, path, c, r.Code, want, r.Body)
		case !exact && !slices.Contains([]int{200, 204, 401, 403, 404, 405, 422}, r.Code):
			t.Errorf("%s %s as %s: got %d, want a 2xx or 4xx; body %s", rt.method, path, c, r.Code, r.Body)
		}
	})
}

// pathOracle is the status route rt must answer; exact is false when the
// unescaped segments no longer name the route (an empty segment, a slash, a
// static segment such as "stats" where a session id goes).
func pathOracle(rt pathRoute, c who, tenant, user, sid string) (want int, exact bool) {
	simple := func(s string) bool { return s != "" && !strings.Contains(s, "/") }
	if rt.tenant && !simple(tenant) || rt.user && !simple(user) || rt.sid && !simple(sid) ||
		rt.tenant && rt.sid && slices.Contains([]string{"stats", "users", "revoke-all"}, sid) {
		return 0, false
	}
	// A segment made only of dots is no id: 404 before anything else.
	dots := func(s string) bool { return strings.Trim(s, ".") == "" }
	if rt.tenant && dots(tenant) || rt.user && dots(user) || rt.sid && dots(sid) {
		return http.StatusNotFound, true
	}
	s := fixtureSession(sid)
	switch {
	case rt.name == "me revoke":
		return status(c.meOK(), sessionIDRE.MatchString(sid), s != nil && c.owns(s), http.StatusOK), true
	case rt.name == "internal activity":
		return status(c.internalOK("sessions:write"), sessionIDRE.MatchString(sid), s != nil, http.StatusNoContent), true
	case !rt.tenant:
		ok := http.StatusOK
		if rt.write {
			ok = http.StatusNoContent
		}
		return status(c.adminOK(rt.write), sessionIDRE.MatchString(sid), s != nil && c.sees(s), ok), true
	}
	// Tenant routes: the caller's kind, then the tenant id's syntax, then the
	// tenant's reach, then the other segments.
	if !c.adminOK(rt.write) {
		return http.StatusForbidden, true
	}
	if !tenantIDRE.MatchString(tenant) {
		return http.StatusUnprocessableEntity, true
	}
	if !c.tenantOK(tenant, fixturePartner[tenant], rt.write) {
		return http.StatusForbidden, true
	}
	valid := (!rt.user || userIDRE.MatchString(user)) && (!rt.sid || sessionIDRE.MatchString(sid))
	switch {
	case !valid:
		return http.StatusUnprocessableEntity, true
	case rt.sid && (s == nil || s.tenant != tenant):
		return http.StatusNotFound, true
	case rt.name == "tenant revoke":
		return http.StatusNoContent, true
	}
	return http.StatusOK, true
}

// idModel is the model of a tenant, partner or user id: the pattern, and
// not made only of dots.
type idModel struct{ re *regexp.Regexp }

// MatchString reports whether s is such an id.
func (m idModel) MatchString(s string) bool {
	return m.re.MatchString(s) && strings.Trim(s, ".") != ""
}

// --- bodies ------------------------------------------------------------------

// object decodes a request body as the contract reads one: a JSON object
// (surrounding white space is ignored, as the handlers do, including
// Unicode spaces); an empty body is the empty object when allowed. Fields
// set to null count as absent.
func object(raw []byte, emptyOK bool) (map[string]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return map[string]json.RawMessage{}, emptyOK
	}
	var m map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &m) != nil || !strictShape(raw) {
		return nil, false
	}
	for k, v := range m {
		if string(v) == "null" {
			delete(m, k)
		}
	}
	return m, true
}

// strictShape is the model of the strict decoder: no object repeats a key
// (the members a decoded value keeps are as many as the ':' outside strings
// in the text) and nothing nests deeper than 32 objects and arrays.
func strictShape(raw []byte) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	colons, inStr, esc := 0, false, false
	for _, c := range raw {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && c == ':':
			colons++
		}
	}
	var walk func(v any, depth int) (members, maxDepth int)
	walk = func(v any, depth int) (int, int) {
		n, d := 0, depth
		switch t := v.(type) {
		case map[string]any:
			n, d = len(t), depth+1
			for _, x := range t {
				m, xd := walk(x, depth+1)
				n, d = n+m, max(d, xd)
			}
		case []any:
			d = depth + 1
			for _, x := range t {
				m, xd := walk(x, depth+1)
				n, d = n+m, max(d, xd)
			}
		}
		return n, d
	}
	members, depth := walk(v, 0)
	return members == colons && depth <= 32
}

// fields checks the fields of a decoded body one by one.
type fields struct {
	m  map[string]json.RawMessage
	ok bool
}

func (f *fields) str(name string, maxLen int, valid func(string) bool) (string, bool) {
	raw, present := f.m[name]
	if !present {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || len(s) > maxLen || valid != nil && !valid(s) {
		f.ok = false
	}
	return s, true
}

func (f *fields) integer(name string) (int64, bool) {
	raw, present := f.m[name]
	if !present {
		return 0, false
	}
	var n int64
	if json.Unmarshal(raw, &n) != nil {
		f.ok = false
	}
	return n, true
}

func (f *fields) boolean(name string, def bool) bool {
	raw, present := f.m[name]
	if !present {
		return def
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		f.ok = false
	}
	return b
}

func ip(s string) bool {
	if s == "" {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// validCreate is the oracle of POST /api/v1/internal/sessions (the internal API, docs/api.md).
func validCreate(raw []byte, now time.Time, maxLife time.Duration) bool {
	m, ok := object(raw, false)
	if !ok {
		return false
	}
	f := &fields{m: m, ok: true}
	f.str("id", 1<<20, sessionIDRE.MatchString)
	if _, ok := f.str("user_id", 1<<20, userIDRE.MatchString); !ok {
		return false
	}
	if _, ok := f.str("tenant_id", 1<<20, tenantIDRE.MatchString); !ok {
		return false
	}
	f.str("partner_id", 1<<20, tenantIDRE.MatchString)
	f.str("user_email", 320, nil)
	f.str("user_display_name", 256, nil)
	f.str("user_agent", 1024, nil)
	f.str("location", 256, nil)
	f.str("ip_address", 64, ip)
	f.str("device_type", 16, func(s string) bool {
		return s == "" || slices.Contains([]string{"desktop", "mobile", "tablet", "bot", "unknown"}, s)
	})
	maxSec := int64(maxLife / time.Second)
	exp, expGiven := f.str("expires_at", 64, nil)
	ttl, ttlGiven := f.integer("ttl_seconds")
	switch {
	case expGiven == ttlGiven:
		return false
	case expGiven:
		at, err := time.Parse(time.RFC3339Nano, exp)
		if err != nil || !at.After(now) || at.Sub(now) > maxLife {
			return false
		}
	case ttl < 1 || ttl > maxSec:
		return false
	}
	if idle, ok := f.integer("idle_timeout_seconds"); ok && (idle < 1 || idle > maxSec) {
		return false
	}
	return f.ok
}

// FuzzCreateBody posts arbitrary bodies to POST /api/v1/internal/sessions.
func FuzzCreateBody(f *testing.F) {
	f.Add([]byte(`{"user_id":"u9","tenant_id":"T1","ttl_seconds":60}`))
	f.Add([]byte(`{"id":"t1-u2","user_id":"u9","tenant_id":"T1","ttl_seconds":60}`))
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		valid := validCreate(body, fe.now, maxLifetime)
		r, changed := fe.send(t, req{Method: http.MethodPost, Path: pathInternal, Token: fe.toks[6], Body: body})
		fe.after(t, r, changed)
		checkBodyStatus(t, r, valid, len(body), http.StatusCreated, http.StatusConflict)
		if r.Code == http.StatusCreated {
			var got envelope[sessionJSON]
			m, _ := object(body, false)
			var id string
			_ = json.Unmarshal(m["id"], &id)
			if err := json.Unmarshal(r.Body, &got); err != nil || id != "" && got.Data.ID != id || !sessionIDRE.MatchString(got.Data.ID) {
				t.Errorf("201 for %s: body %s", body, r.Body)
			}
		}
	})
}

// checkBodyStatus checks the status of a request whose only variable is its
// body: 2xx (or one of also) for a valid body, 422 for an invalid one, 413
// only for an oversized one.
func checkBodyStatus(t *testing.T, r response, valid bool, n int, ok int, also ...int) {
	t.Helper()
	switch {
	case r.Code == ok || slices.Contains(also, r.Code):
		if !valid {
			t.Errorf("got %d for an invalid body; want 422; answer %s", r.Code, r.Body)
		}
	case r.Code == http.StatusUnprocessableEntity:
		if valid {
			t.Errorf("got 422 for a valid body; want %d; answer %s", ok, r.Body)
		}
	case r.Code == http.StatusRequestEntityTooLarge && n > 1<<20:
	default:
		t.Errorf("got %d; want %d or 422; answer %s", r.Code, ok, r.Body)
	}
}

// validActivity is the oracle of POST /api/v1/internal/sessions/{id}/activity.
func validActivity(raw []byte) bool {
	m, ok := object(raw, true)
	if !ok {
		return false
	}
	f := &fields{m: m, ok: true}
	_, hasID := f.str("application_id", 1<<20, sessionIDRE.MatchString)
	name, _ := f.str("application_name", 256, nil)
	f.str("ip_address", 64, ip)
	return f.ok && (name == "" || hasID)
}

// FuzzActivityBody posts arbitrary bodies to the activity of a live session.
func FuzzActivityBody(f *testing.F) {
	f.Add([]byte(`{"application_id":"app","application_name":"App","ip_address":"10.0.0.1"}`))
	f.Add([]byte(``))
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		valid := validActivity(body)
		r, changed := fe.send(t, req{Method: http.MethodPost, Path: pathInternal + "/t1-u2/activity", Token: fe.toks[6], Body: body})
		// Recorded activity leaves the session in place (and its apps are
		// bounded): no need to seed the world again.
		checkChange(t, r, changed)
		checkBodyStatus(t, r, valid, len(body), http.StatusNoContent)
	})
}

// adminRevokeFilter is the oracle of POST /api/v1/admin/sessions/revoke-all:
// the filter, and whether the body is valid.
func adminRevokeFilter(raw []byte) (user, tenant, partner string, valid bool) {
	m, ok := object(raw, false)
	if !ok {
		return "", "", "", false
	}
	f := &fields{m: m, ok: true}
	user, hasU := f.str("user_id", 1<<20, userIDRE.MatchString)
	tenant, hasT := f.str("tenant_id", 1<<20, tenantIDRE.MatchString)
	partner, hasP := f.str("partner_id", 1<<20, tenantIDRE.MatchString)
	return user, tenant, partner, f.ok && (hasU || hasT || hasP)
}

// FuzzAdminRevokeAllBody posts arbitrary bodies to the admin revoke-all as a
// super admin: a 200 revokes exactly the fixture's sessions the filter
// selects.
func FuzzAdminRevokeAllBody(f *testing.F) {
	f.Add([]byte(`{"tenant_id":"T1"}`))
	f.Add([]byte(`{}`))
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		user, tenant, partner, valid := adminRevokeFilter(body)
		r, changed := fe.send(t, req{Method: http.MethodPost, Path: pathAdmin + "/revoke-all", Token: fe.toks[0], Body: body})
		fe.after(t, r, changed)
		checkBodyStatus(t, r, valid, len(body), http.StatusOK)
		if r.Code == http.StatusOK && valid {
			want := fixtureWhere(func(s *azSession) bool { return s.matches(user, tenant, partner) })
			mustRevoked(t, r, want)
		}
	})
}

// tenantUserRevoke is the oracle of POST
// /api/v1/tenants/T1/sessions/users/u1/revoke by a caller without a sid: what
// it revokes, and whether the body is valid.
func tenantUserRevoke(raw []byte) ([]string, bool) {
	m, ok := object(raw, false)
	if !ok {
		return nil, false
	}
	f := &fields{m: m, ok: true}
	all := f.boolean("revoke_all", false)
	f.boolean("except_current", true)
	var list []json.RawMessage
	var given []string
	if raw, ok := m["session_ids"]; ok {
		if json.Unmarshal(raw, &list) != nil || len(list) > 1000 {
			return nil, false
		}
		for _, item := range list {
			var s string
			if json.Unmarshal(item, &s) != nil || !sessionIDRE.MatchString(s) {
				return nil, false
			}
			given = append(given, s)
		}
	}
	if !f.ok || !all && len(given) == 0 {
		return nil, false
	}
	return fixtureWhere(func(s *azSession) bool {
		return s.tenant == "T1" && s.user == "u1" && (all || slices.Contains(given, s.id))
	}), true
}

// FuzzTenantUserRevokeBody posts arbitrary bodies to a user's revoke in a
// tenant as a super admin: a 200 revokes exactly what the body selects.
func FuzzTenantUserRevokeBody(f *testing.F) {
	f.Add([]byte(`{"session_ids":["t1-u1-a","t1-u2"]}`))
	f.Add([]byte(`{"revoke_all":true}`))
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		want, valid := tenantUserRevoke(body)
		r, changed := fe.send(t, req{Method: http.MethodPost, Path: pathTenant("T1") + "/users/u1/revoke", Token: fe.toks[0], Body: body})
		fe.after(t, r, changed)
		checkBodyStatus(t, r, valid, len(body), http.StatusOK)
		if r.Code == http.StatusOK && valid {
			mustRevoked(t, r, want)
		}
	})
}

// mustRevoked checks a revoke answer names exactly want.
func mustRevoked(t *testing.T, r response, want []string) {
	t.Helper()
	var got envelope[revokeJSON]
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	if got.Data.RevokedCount != len(want) || !sameSet(got.Data.SessionIDs, want) {
		t.Errorf("revoked %d %v, want %v", got.Data.RevokedCount, got.Data.SessionIDs, want)
	}
}

// --- Authorization header ------------------------------------------------------

// FuzzAuthHeader sends arbitrary Authorization headers to verify, the admin
// list and the caller's own list: 401 or 403 unless the header carries a
// token signed with the secret; never a 5xx.
func FuzzAuthHeader(f *testing.F) {
	fe := newFuzzEnv(f)
	for i, tok := range fe.toks {
		f.Add(uint8(i%3), "Bearer "+tok)
	}
	f.Add(uint8(0), "bearer  "+fe.toks[7]+" ")
	f.Add(uint8(1), "Basic dXNlcjpwYXNz")
	f.Fuzz(func(t *testing.T, route uint8, header string) {
		path := []string{"/api/v1/auth/verify", pathAdmin, pathMe}[int(route)%3]
		hr := httptest.NewRequest(http.MethodGet, path, nil)
		hr.Header["Authorization"] = []string{header}
		r, changed := fe.serve(t, hr)
		fe.after(t, r, changed)
		if changed {
			t.Errorf("GET %s with Authorization %q changed Redis", path, header)
		}
		switch r.Code {
		case http.StatusOK:
			scheme, tok, _ := strings.Cut(strings.TrimSpace(header), " ")
			if !strings.EqualFold(scheme, "bearer") || testserver.SignedHS256(strings.TrimSpace(tok), testSecret, time.Now()) != nil {
				t.Errorf("GET %s with Authorization %q: got 200 for a token not signed with the secret", path, header)
			}
		case http.StatusUnauthorized, http.StatusForbidden:
		default:
			t.Errorf("GET %s with Authorization %q: got %d, want 200, 401 or 403; body %s", path, header, r.Code, r.Body)
		}
	})
}
