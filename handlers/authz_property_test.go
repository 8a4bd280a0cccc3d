package handlers_test

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/auth"
)

// The property test's knobs: -authz.seed replays a failing run.
var (
	authzSeed   = flag.Uint64("authz.seed", 0, "seed of TestAuthzProperty (0: from the clock)")
	authzSteps  = flag.Int("authz.steps", 3000, "random (caller, endpoint, target) triples TestAuthzProperty checks")
	authzBudget = flag.Duration("authz.budget", 20*time.Second, "wall-clock bound of TestAuthzProperty")
	// A session created without partner_id before its tenant's partner is
	// recorded has no partner until a later create names the tenant's
	// partner; from then on it is that partner's on every endpoint (the
	// store adopts it). The world creates such sessions unless told not to.
	authzPartnerless = flag.Bool("authz.partnerless", true, "let TestAuthzProperty create a tenant's first session without partner_id")
)

// kind is a class of caller of the reach table (docs/auth.md). The tests decide it from
// the claims they mint, independently of pkg/auth, so that a mistake there
// cannot hide itself.
type kind int

const (
	kindUser kind = iota
	kindSuper
	kindPartner
	kindTenant
	kindPlatform
	kindService
)

var kindNames = [...]string{"user", "super_admin", "partner_admin", "tenant_admin", "platform", "service"}

func (k kind) String() string { return kindNames[k] }

// who is a caller as the reach table (docs/auth.md) sees it.
type who struct {
	kind                      kind
	sub, tenant, partner, sid string
	scopes                    []string
}

// whoOf classifies the claims of o. An admin role without the id that bounds
// it is no admin: such a caller must never reach more than a plain user.
func whoOf(o auth.MintOptions) who {
	w := who{sub: o.Subject, tenant: o.TenantID, partner: o.PartnerID, sid: o.SessionID, scopes: strings.Fields(o.Scope)}
	switch {
	case o.Role == "super_admin":
		w.kind = kindSuper
	case o.Role == "partner_admin" && o.PartnerID != "":
		w.kind = kindPartner
	case o.Role == "tenant_admin" && o.TenantID != "":
		w.kind = kindTenant
	case o.Platform:
		w.kind = kindPlatform
	case o.TokenType == "client_credentials":
		w.kind = kindService
	default:
		w.kind = kindUser
	}
	return w
}

func (w who) String() string {
	return fmt.Sprintf("%s{sub=%q tenant=%q partner=%q sid=%q scopes=%q}", w.kind, w.sub, w.tenant, w.partner, w.sid, w.scopes)
}

func (w who) has(scope string) bool { return slices.Contains(w.scopes, scope) }

// adminOK: may the caller use the admin endpoints, and the tenant endpoints
// of the tenants it reaches, for reading or writing?
func (w who) adminOK(write bool) bool {
	switch w.kind {
	case kindSuper, kindPartner, kindTenant:
		return true
	case kindPlatform:
		return w.has("admin:write") || !write && w.has("admin:read")
	}
	return false
}

// sees: is the session within the caller's admin reach?
func (w who) sees(s *azSession) bool {
	switch w.kind {
	case kindSuper, kindPlatform:
		return true
	case kindPartner:
		return s.partner == w.partner
	case kindTenant:
		return s.tenant == w.tenant
	}
	return false
}

// tenantOK: may the caller use /api/v1/tenants/{t}/…? tPartner is the
// partner the tenant's sessions were written with, "" for an unknown tenant.
func (w who) tenantOK(t, tPartner string, write bool) bool {
	if !w.adminOK(write) {
		return false
	}
	switch w.kind {
	case kindSuper, kindPlatform:
		return true
	case kindPartner:
		return tPartner != "" && tPartner == w.partner
	case kindTenant:
		return t == w.tenant
	}
	return false
}

// meOK: may the caller use /api/v1/me/…?
func (w who) meOK() bool { return w.sub != "" && w.kind != kindPlatform && w.kind != kindService }

// owns: is the session the caller's own? A token that names a tenant owns
// only that tenant's sessions of its subject.
func (w who) owns(s *azSession) bool {
	return s.user == w.sub && (w.tenant == "" || s.tenant == w.tenant)
}

// internalOK: may the caller use an internal endpoint that needs scope?
func (w who) internalOK(scope string) bool {
	return w.kind == kindService && (w.has(scope) || scope == "sessions:read" && w.has("sessions:write"))
}

// verifies: does GET /api/v1/auth/verify accept the caller, given its
// session (nil when gone)?
func (w who) verifies(s *azSession) bool {
	return w.sid != "" && s != nil && s.user == w.sub && (w.tenant == "" || s.tenant == w.tenant)
}

// azSession is a session of the model.
type azSession struct {
	id, user, tenant, partner string
}

// matches applies an admin filter (empty fields match anything).
func (s *azSession) matches(user, tenant, partner string) bool {
	return (user == "" || s.user == user) && (tenant == "" || s.tenant == tenant) && (partner == "" || s.partner == partner)
}

// sessionKey is the session hash redisstore writes (the key layout, docs/architecture.md).
func sessionKey(tenant, id string) string { return "s:{" + tenant + "}:" + id }

// digestScript returns, per key, a digest of its value and absolute expiry,
// or "" when the key is gone: one round trip tells what a request changed.
var digestScript = redis.NewScript(`
local out = {}
for i, k in ipairs(KEYS) do
  local d = redis.call('DUMP', k)
  if d then
    out[i] = redis.sha1hex(d) .. '@' .. redis.call('PEXPIRETIME', k)
  else
    out[i] = ''
  end
end
return out`)

// azWorld is the model: 3 partners × 5 tenants × 3 users, plus a user
// "multi" with sessions in several tenants of every partner.
type azWorld struct {
	e        *env
	rng      *rand.Rand
	partners []string
	tenants  []string
	partner  map[string]string   // tenant → partner
	users    map[string][]string // tenant → users
	live     map[string]*azSession
	order    []string // live ids in creation order, for reproducible picks
	gone     []*azSession
	next     int
	// known is true for tenants whose partner the store has recorded: a
	// session created without partner_id before that has no partner.
	known map[string]bool
}

const (
	azMinLive     = 60
	azUnknownT    = "p9t9"
	azUnknownUser = "nobody"
	azMulti       = "multi"
)

func newAZWorld(tb testing.TB, e *env, rng *rand.Rand) *azWorld {
	tb.Helper()
	w := &azWorld{e: e, rng: rng, partner: map[string]string{}, known: map[string]bool{}, users: map[string][]string{}, live: map[string]*azSession{}}
	for p := range 3 {
		pid := fmt.Sprintf("p%d", p)
		w.partners = append(w.partners, pid)
		for t := range 5 {
			tid := fmt.Sprintf("p%dt%d", p, t)
			w.tenants = append(w.tenants, tid)
			w.partner[tid] = pid
			for u := range 3 {
				w.users[tid] = append(w.users[tid], fmt.Sprintf("%s-u%d", tid, u))
			}
			if t%2 == 0 {
				w.users[tid] = append(w.users[tid], azMulti)
			}
		}
	}
	for _, t := range w.tenants {
		for _, u := range w.users[t] {
			for range 1 + rng.IntN(2) {
				w.mustAdd(tb, t, u)
			}
		}
	}
	// The digests rely on redisstore's key schema: fail clearly if it moved.
	s := w.live[w.order[0]]
	if n, err := e.rdb.Exists(context.Background(), sessionKey(s.tenant, s.id)).Result(); err != nil || n != 1 {
		tb.Fatalf("session %s is not at key %s (%d, %v): update sessionKey to the store's schema", s.id, sessionKey(s.tenant, s.id), n, err)
	}
	return w
}

func (w *azWorld) newID(tenant string) string {
	w.next++
	return fmt.Sprintf("az-%s-%05d", tenant, w.next)
}

// mustAdd creates a session of user u in tenant t through the router.
func (w *azWorld) mustAdd(tb testing.TB, t, u string) {
	tb.Helper()
	body := sess{"id": w.newID(t), "user_id": u, "tenant_id": t, "ttl_seconds": 1800 + w.rng.IntN(3600)}
	if w.rng.IntN(4) > 0 || !w.known[t] && !*authzPartnerless {
		body["partner_id"] = w.partner[t]
	}
	got := w.e.mustCreate(tb, body)
	w.add(&azSession{id: got.ID, user: u, tenant: t, partner: w.created(t, body["partner_id"] != nil)})
}

// created records a create in tenant t and returns the new session's
// partner: the tenant's, once a create has named it. The sessions of the
// tenant created before then belong to that partner from now on (the reach rules, docs/auth.md:
// a tenant's partner is known from the sessions written for it).
func (w *azWorld) created(t string, named bool) string {
	if named && !w.known[t] {
		w.known[t] = true
		for _, s := range w.live {
			if s.tenant == t {
				s.partner = w.partner[t]
			}
		}
	}
	return w.tenantPartner(t)
}

// tenantPartner is the partner the store knows for tenant t, "" if none.
func (w *azWorld) tenantPartner(t string) string {
	if w.known[t] {
		return w.partner[t]
	}
	return ""
}

func (w *azWorld) add(s *azSession) {
	w.live[s.id] = s
	w.order = append(w.order, s.id)
}

func (w *azWorld) remove(id string) {
	w.gone = append(w.gone, w.live[id])
	delete(w.live, id)
	w.order = slices.DeleteFunc(w.order, func(x string) bool { return x == id })
}

// replenish keeps every tenant populated (a partner admin reaches a tenant
// by the partner its sessions carry) and the world at azMinLive sessions.
func (w *azWorld) replenish(tb testing.TB) int {
	tb.Helper()
	n := 0
	count := map[string]int{}
	for _, s := range w.live {
		count[s.tenant]++
	}
	for _, t := range w.tenants {
		if count[t] == 0 {
			w.mustAdd(tb, t, w.pick(w.users[t]))
			n++
		}
	}
	for len(w.live) < azMinLive {
		t := w.pick(w.tenants)
		w.mustAdd(tb, t, w.pick(w.users[t]))
		n++
	}
	return n
}

func (w *azWorld) pick(xs []string) string { return xs[w.rng.IntN(len(xs))] }

// pickLive returns a live session for which in is want, nil when none is.
func (w *azWorld) pickLive(in func(*azSession) bool, want bool) *azSession {
	var c []*azSession
	for _, id := range w.order {
		if s := w.live[id]; in(s) == want {
			c = append(c, s)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[w.rng.IntN(len(c))]
}

// pickSession picks a session id for an endpoint: mostly one in reach, else
// one out of reach, a revoked one, one that never existed, or a bad one.
func (w *azWorld) pickSession(in func(*azSession) bool) string {
	r := w.rng.IntN(100)
	if r < 50 {
		if s := w.pickLive(in, true); s != nil {
			return s.id
		}
	}
	if r < 80 {
		if s := w.pickLive(in, false); s != nil {
			return s.id
		}
	}
	if r < 90 && len(w.gone) > 0 {
		return w.gone[w.rng.IntN(len(w.gone))].id
	}
	if r < 97 {
		return fmt.Sprintf("az-%s-%05d", azUnknownT, w.rng.IntN(100000))
	}
	return "bad.id"
}

// pickTenant picks a tenant: often the caller's own, else any of the world,
// an unknown one or a bad one.
func (w *azWorld) pickTenant(c who) string {
	r := w.rng.IntN(100)
	switch {
	case r < 35 && c.tenant != "":
		return c.tenant
	case r < 35 && c.partner != "":
		var own []string
		for _, t := range w.tenants {
			if w.partner[t] == c.partner {
				own = append(own, t)
			}
		}
		return w.pick(own)
	case r < 90:
		return w.pick(w.tenants)
	case r < 97:
		return azUnknownT
	}
	return "bad!t"
}

// pickUser picks a user for tenant t: one of its own, "multi", another
// tenant's or an unknown one.
func (w *azWorld) pickUser(t string) string {
	r := w.rng.IntN(100)
	switch {
	case r < 60 && len(w.users[t]) > 0:
		return w.pick(w.users[t])
	case r < 75:
		return azMulti
	case r < 90:
		return w.pick(w.users[w.pick(w.tenants)])
	}
	return azUnknownUser
}

// callerFor picks a caller for endpoint ep: half the time one of any kind,
// else one of the kinds the endpoint is for, so that both refusals and
// allowed requests are frequent.
func (w *azWorld) callerFor(ep int) auth.MintOptions {
	if w.rng.IntN(2) == 0 {
		return w.caller(w.rng.IntN(12))
	}
	switch {
	case ep == 15 || ep == 16:
		return auth.MintOptions{Subject: "svc", TokenType: "client_credentials", Scope: w.pick([]string{"sessions:write", "sessions:read sessions:write"})}
	case ep >= 5 && ep <= 7 || ep >= 17:
		return w.caller(w.pick3i(3, 7, 8))
	}
	return w.caller(w.rng.IntN(5))
}

func (w *azWorld) pick3i(a, b, c int) int { return []int{a, b, c}[w.rng.IntN(3)] }

// caller returns a caller of the given case: every kind of the the reach rules, docs/auth.md
// table, and odd tokens. Users (and tenant admins with a session) carry the
// sid of a live or revoked session.
func (w *azWorld) caller(n int) auth.MintOptions {
	switch n {
	case 0:
		return auth.MintOptions{Subject: w.pick([]string{"root", azMulti}), Role: "super_admin"}
	case 1:
		return auth.MintOptions{Subject: w.pick([]string{"padmin", azMulti}), Role: "partner_admin", PartnerID: w.pick(w.partners)}
	case 2:
		return auth.MintOptions{Subject: "tadmin", Role: "tenant_admin", TenantID: w.pick(w.tenants)}
	case 3:
		// A tenant admin logged in with a session of its own.
		s := w.live[w.pick(w.order)]
		return auth.MintOptions{Subject: s.user, Role: "tenant_admin", TenantID: s.tenant, SessionID: s.id}
	case 4:
		return auth.MintOptions{Subject: "platform", Platform: true, Scope: w.pick([]string{"admin:read", "admin:write", "admin:read admin:write", "", "sessions:write"})}
	case 5:
		return auth.MintOptions{Subject: "svc", TokenType: "client_credentials", Scope: w.pick([]string{"sessions:read", "sessions:write", "sessions:read sessions:write", "admin:write", ""})}
	case 6:
		// Admin roles without the id that bounds them, and a user token
		// with service scopes: plain users.
		return w.pick3(
			auth.MintOptions{Subject: azMulti, Role: "partner_admin"},
			auth.MintOptions{Subject: w.pick(w.users[w.pick(w.tenants)]), Role: "tenant_admin"},
			auth.MintOptions{Subject: azMulti, Scope: "sessions:write admin:write"},
		)
	default:
		s := w.live[w.pick(w.order)]
		if len(w.gone) > 0 && w.rng.IntN(6) == 0 {
			s = w.gone[w.rng.IntN(len(w.gone))] // a token of a revoked session
		}
		o := auth.MintOptions{Subject: s.user, TenantID: s.tenant, SessionID: s.id}
		switch w.rng.IntN(10) {
		case 0:
			o.TenantID = "" // a token that names no tenant
		case 1:
			o.Subject = w.pickUser(o.TenantID) // a sid of someone else
		}
		return o
	}
}

func (w *azWorld) pick3(a, b, c auth.MintOptions) auth.MintOptions {
	return []auth.MintOptions{a, b, c}[w.rng.IntN(3)]
}

// azOp is one request and everything the model predicts about it.
type azOp struct {
	endpoint string
	r        req
	want     int
	// mentions are the session ids the request names itself.
	mentions []string
	// shows reports whether the answer may name a live session.
	shows func(*azSession) bool
	// revoke is exactly what a 2xx answer removes; touch may change in place.
	revoke map[string]bool
	touch  string
	// shape says how to read a 2xx answer.
	shape string
	// list is the exact set of a list answer, with its page.
	list          map[string]bool
	page, perPage int
	// get is the session a get answer shows; stats the tenant of a stats answer.
	get   string
	stats string
	// create is the session a 201 adds (its id may be generated).
	create *azSession
}

func set(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// liveWhere lists the ids of the live sessions for which f holds.
func (w *azWorld) liveWhere(f func(*azSession) bool) map[string]bool {
	m := map[string]bool{}
	for id, s := range w.live {
		if f(s) {
			m[id] = true
		}
	}
	return m
}

// status picks between the statuses of a request that needs access
// (allowed), a valid input (valid) and a found target (found).
func status(allowed, valid, found bool, okStatus int) int {
	switch {
	case !allowed:
		return http.StatusForbidden
	case !valid:
		return http.StatusUnprocessableEntity
	case !found:
		return http.StatusNotFound
	}
	return okStatus
}

var (
	azSessionIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	azTenantIDRE  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
)

// op builds a random request of endpoint ep for caller c.
func (w *azWorld) op(ep int, o auth.MintOptions, tok string) azOp {
	c := whoOf(o)
	none := func(*azSession) bool { return false }
	op := azOp{shows: none, page: 1, perPage: 100}
	switch ep {
	case 0, 1: // GET /api/v1/admin/sessions[/]
		op.endpoint = "admin list"
		user, tenant, partner := w.filter(c, false)
		q := url.Values{}
		for k, v := range map[string]string{"user_id": user, "tenant_id": tenant, "partner_id": partner} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if w.rng.IntN(4) == 0 {
			op.page, op.perPage = 1+w.rng.IntN(4), 1+w.rng.IntN(30)
		}
		q.Set("page", fmt.Sprint(op.page))
		q.Set("per_page", fmt.Sprint(op.perPage))
		path := pathAdmin
		if ep == 1 {
			path += "/"
		}
		op.r = req{Method: http.MethodGet, Path: path + "?" + q.Encode()}
		op.want = status(c.adminOK(false), true, true, http.StatusOK)
		op.shows = c.sees
		op.shape = "page"
		op.list = w.liveWhere(func(s *azSession) bool { return c.sees(s) && s.matches(user, tenant, partner) })
	case 2: // POST /api/v1/admin/sessions/revoke-all
		op.endpoint = "admin revoke-all"
		user, tenant, partner := w.filter(c, true)
		body := map[string]string{}
		for k, v := range map[string]string{"user_id": user, "tenant_id": tenant, "partner_id": partner} {
			if v != "" {
				body[k] = v
			}
		}
		op.r = req{Method: http.MethodPost, Path: pathAdmin + "/revoke-all", Body: body}
		op.want = status(c.adminOK(true), true, true, http.StatusOK)
		op.shows = c.sees
		op.shape = "revoke"
		op.revoke = w.liveWhere(func(s *azSession) bool { return c.sees(s) && s.matches(user, tenant, partner) })
	case 3, 4: // DELETE, GET /api/v1/admin/sessions/{id}
		write := ep == 3
		id := w.pickSession(c.sees)
		s := w.live[id]
		op.mentions = []string{id}
		op.shows = c.sees
		found := s != nil && c.sees(s)
		if write {
			op.endpoint = "admin revoke"
			op.r = req{Method: http.MethodDelete, Path: pathAdmin + "/" + id}
			op.want = status(c.adminOK(true), azSessionIDRE.MatchString(id), found, http.StatusNoContent)
			op.revoke = set(id)
			op.shape = "none"
		} else {
			op.endpoint = "admin get"
			op.r = req{Method: http.MethodGet, Path: pathAdmin + "/" + id}
			op.want = status(c.adminOK(false), azSessionIDRE.MatchString(id), found, http.StatusOK)
			op.get, op.shape = id, "session"
		}
	case 5: // GET /api/v1/me/sessions
		op.endpoint = "me list"
		op.r = req{Method: http.MethodGet, Path: pathMe}
		op.want = status(c.meOK(), true, true, http.StatusOK)
		op.shows = c.owns
		op.shape = "list"
		op.list = w.liveWhere(c.owns)
		op.perPage = 1000
	case 6: // POST /api/v1/me/sessions/revoke-all
		op.endpoint = "me revoke-all"
		op.r = req{Method: http.MethodPost, Path: pathMe + "/revoke-all"}
		op.want = status(c.meOK(), true, true, http.StatusOK)
		op.shows = c.owns
		op.shape = "revoke"
		op.revoke = w.liveWhere(func(s *azSession) bool { return c.owns(s) && s.id != c.sid })
	case 7: // DELETE /api/v1/me/sessions/{id}
		op.endpoint = "me revoke"
		id := w.pickSession(c.owns)
		s := w.live[id]
		op.mentions = []string{id}
		op.r = req{Method: http.MethodDelete, Path: pathMe + "/" + id}
		op.want = status(c.meOK(), azSessionIDRE.MatchString(id), s != nil && c.owns(s), http.StatusOK)
		op.shows = c.owns
		op.revoke = set(id)
		op.shape = "revoke"
	case 8, 9, 10, 11, 12, 13, 14: // /api/v1/tenants/{t}/sessions…
		t := w.pickTenant(c)
		write := ep == 9 || ep == 12 || ep == 13
		allowed := c.adminOK(write)
		tValid := azTenantIDRE.MatchString(t)
		if allowed && tValid {
			allowed = c.tenantOK(t, w.tenantPartner(t), write)
		}
		inT := func(s *azSession) bool { return s.tenant == t }
		op.shows = inT
		base := pathTenant(t)
		switch ep {
		case 8:
			op.endpoint = "tenant list"
			user := ""
			q := url.Values{}
			if w.rng.IntN(3) == 0 {
				user = w.pickUser(t)
				q.Set("user_id", user)
			}
			if w.rng.IntN(3) == 0 {
				q.Set("active_only", w.pick([]string{"true", "false"}))
			}
			op.r = req{Method: http.MethodGet, Path: base + "?" + q.Encode()}
			op.want = status(allowed, tValid, true, http.StatusOK)
			op.shape = "page"
			op.list = w.liveWhere(func(s *azSession) bool { return inT(s) && (user == "" || s.user == user) })
			op.perPage = 20
		case 9:
			op.endpoint = "tenant revoke-all"
			op.r = req{Method: http.MethodPost, Path: base + "/revoke-all"}
			op.want = status(allowed, tValid, true, http.StatusOK)
			op.shape = "revoke"
			op.revoke = w.liveWhere(inT)
		case 10:
			op.endpoint = "tenant stats"
			op.r = req{Method: http.MethodGet, Path: base + "/stats"}
			op.want = status(allowed, tValid, true, http.StatusOK)
			op.shape, op.stats = "stats", t
		case 11:
			op.endpoint = "tenant user list"
			u := w.pickUser(t)
			op.r = req{Method: http.MethodGet, Path: base + "/users/" + u}
			op.want = status(allowed, tValid, true, http.StatusOK)
			op.shape = "page"
			op.list = w.liveWhere(func(s *azSession) bool { return inT(s) && s.user == u })
			op.perPage = 20
		case 12:
			op.endpoint = "tenant user revoke"
			u := w.pickUser(t)
			inTU := func(s *azSession) bool { return inT(s) && s.user == u }
			var body map[string]any
			switch w.rng.IntN(3) {
			case 0:
				body = map[string]any{"revoke_all": true}
				op.revoke = w.liveWhere(func(s *azSession) bool { return inTU(s) && s.id != c.sid })
			case 1:
				body = map[string]any{"revoke_all": true, "except_current": false}
				op.revoke = w.liveWhere(inTU)
			default:
				var ids []string
				for range 1 + w.rng.IntN(3) {
					ids = append(ids, w.pickSession(inTU))
				}
				ids = slices.DeleteFunc(ids, func(id string) bool { return !azSessionIDRE.MatchString(id) })
				if len(ids) == 0 {
					ids = []string{"az-p9t9-00000"}
				}
				body = map[string]any{"session_ids": ids}
				op.mentions = ids
				op.revoke = w.liveWhere(func(s *azSession) bool { return inTU(s) && slices.Contains(ids, s.id) })
			}
			op.r = req{Method: http.MethodPost, Path: base + "/users/" + u + "/revoke", Body: body}
			op.want = status(allowed, tValid, true, http.StatusOK)
			op.shape = "revoke"
		case 13, 14:
			id := w.pickSession(inT)
			s := w.live[id]
			op.mentions = []string{id}
			valid := tValid && azSessionIDRE.MatchString(id)
			found := s != nil && s.tenant == t
			if ep == 13 {
				op.endpoint = "tenant revoke"
				op.r = req{Method: http.MethodDelete, Path: base + "/" + id}
				op.want = status(allowed, valid, found, http.StatusNoContent)
				op.revoke = set(id)
				op.shape = "none"
			} else {
				op.endpoint = "tenant get"
				op.r = req{Method: http.MethodGet, Path: base + "/" + id}
				op.want = status(allowed, valid, found, http.StatusOK)
				op.get, op.shape = id, "session"
			}
		}
		if !tValid && c.adminOK(write) {
			// A bad tenant id is answered before any reach check.
			op.want = http.StatusUnprocessableEntity
		}
	case 15: // POST /api/v1/internal/sessions
		op.endpoint = "internal create"
		t := w.pick(w.tenants)
		u := w.pick(w.users[t])
		s := &azSession{id: w.newID(t), user: u, tenant: t}
		body := sess{"user_id": u, "tenant_id": t, "ttl_seconds": 1800 + w.rng.IntN(3600),
			"user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}
		conflict := false
		switch r := w.rng.IntN(20); {
		case r == 0:
			s.id = "" // generated
		case r == 1:
			s.id = w.pick(w.order) // taken
			conflict = true
		}
		if s.id != "" {
			body["id"] = s.id
			op.mentions = []string{s.id}
		}
		switch r := w.rng.IntN(10); {
		case r < 6 || !w.known[t] && !*authzPartnerless:
			body["partner_id"] = w.partner[t]
		case r == 6 && w.known[t]:
			body["partner_id"] = w.pick(slices.DeleteFunc(slices.Clone(w.partners), func(p string) bool { return p == w.partner[t] }))
			conflict = true
		}
		op.r = req{Method: http.MethodPost, Path: pathInternal, Body: map[string]any(body)}
		op.want = http.StatusCreated
		if conflict {
			op.want = http.StatusConflict
		}
		if !c.internalOK("sessions:write") {
			op.want = http.StatusForbidden
		}
		op.create, op.shape = s, "created"
	case 16: // POST /api/v1/internal/sessions/{id}/activity
		op.endpoint = "internal activity"
		all := func(*azSession) bool { return true }
		id := w.pickSession(all)
		op.mentions = []string{id}
		body := map[string]any{"application_id": fmt.Sprintf("app-%d", w.rng.IntN(5))}
		if w.rng.IntN(2) == 0 {
			body["application_name"] = "App"
			body["ip_address"] = "198.51.100.7"
		}
		op.r = req{Method: http.MethodPost, Path: pathInternal + "/" + id + "/activity", Body: body}
		op.want = status(c.internalOK("sessions:write"), azSessionIDRE.MatchString(id), w.live[id] != nil, http.StatusNoContent)
		op.touch, op.shape = id, "none"
	default: // GET /api/v1/auth/verify
		op.endpoint = "verify"
		op.r = req{Method: http.MethodGet, Path: "/api/v1/auth/verify"}
		op.want = http.StatusUnauthorized
		if c.verifies(w.live[c.sid]) {
			op.want = http.StatusOK
			op.shows = func(s *azSession) bool { return s.id == c.sid }
		}
		op.shape = "verify"
	}
	op.r.Token = tok
	if c.sid != "" {
		// The caller's own sid is in the token; a "current" marker may name it.
		op.mentions = append(op.mentions, c.sid)
	}
	return op
}

// filter picks an admin filter: each field set with probability 1/2, from
// the caller's reach or anywhere; required asks for at least one.
func (w *azWorld) filter(c who, required bool) (user, tenant, partner string) {
	for user == "" && tenant == "" && partner == "" {
		if w.rng.IntN(2) == 0 {
			tenant = w.pickTenant(c)
			if !azTenantIDRE.MatchString(tenant) {
				tenant = azUnknownT
			}
		}
		if w.rng.IntN(2) == 0 {
			partner = w.pick(append([]string{"p9"}, w.partners...))
			if c.partner != "" && w.rng.IntN(2) == 0 {
				partner = c.partner
			}
		}
		if w.rng.IntN(2) == 0 {
			t := tenant
			if w.partner[t] == "" {
				t = w.pick(w.tenants)
			}
			user = w.pickUser(t)
		}
		if !required {
			break
		}
	}
	return user, tenant, partner
}

// digests reads the digest of every live session's hash.
func (w *azWorld) digests(tb testing.TB, ids []string) map[string]string {
	tb.Helper()
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = sessionKey(w.live[id].tenant, id)
	}
	res, err := digestScript.Run(context.Background(), w.e.rdb, keys).StringSlice()
	if err != nil {
		tb.Fatalf("digest sessions: %v", err)
	}
	out := make(map[string]string, len(ids))
	for i, id := range ids {
		out[id] = res[i]
	}
	return out
}

// mentionedIDRE finds what may be a session id in an answer: the world's
// ids and generated UUIDs.
var mentionedIDRE = regexp.MustCompile(`az-p[0-9]t[0-9]-[0-9]{5}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// azStats counts what the run covered.
type azStats struct {
	triples, writes, revoked, recreated int
	byEndpoint                          map[string]map[int]int
	byKind                              map[kind]int
	failures                            int
}

// TestAuthzProperty sends thousands of random (caller, endpoint, target)
// triples to the real router on redis-server, with a model of the world
// kept beside it. After every request it reads every session's digest and
// checks that no answer names a session outside the caller's reach (the reach rules, docs/auth.md,
// computed from the model, not by pkg/auth), that exactly the sessions the
// model predicts were revoked (never one out of reach), that nothing else
// changed, and that statuses, lists and counts are what the model says.
func TestAuthzProperty(t *testing.T) {
	seed := *authzSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: go test ./handlers -run TestAuthzProperty -authz.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	e := newEnvWith(t, realRedis.NewClient(t), envConfig{})
	w := newAZWorld(t, e, rng)
	st := azStats{byEndpoint: map[string]map[int]int{}, byKind: map[kind]int{}}
	steps, budget := *authzSteps, *authzBudget
	if testing.Short() {
		steps = min(steps, 500)
	}
	deadline := time.Now().Add(budget)
	// Endpoint weights: bulk revocations are rarer, or the world would be
	// recreated more often than probed.
	weights := []int{3, 1, 1, 3, 4, 4, 1, 3, 4, 1, 3, 4, 2, 3, 4, 3, 4, 4}
	var deck []int
	for ep, n := range weights {
		for range n {
			deck = append(deck, ep)
		}
	}
	start := time.Now()
	for st.triples < steps && time.Now().Before(deadline) {
		ep := deck[rng.IntN(len(deck))]
		o := w.callerFor(ep)
		op := w.op(ep, o, e.token(t, o))
		w.check(t, &st, whoOf(o), op)
		st.recreated += w.replenish(t)
		if st.failures > 20 {
			t.Fatalf("too many failures; seed %d", seed)
		}
	}
	w.mustMatchStore(t)
	t.Logf("checked %d triples in %s (%d writes, %d sessions revoked, %d recreated; seed %d)",
		st.triples, time.Since(start).Round(time.Millisecond), st.writes, st.revoked, st.recreated, seed)
	t.Logf("callers by kind: %v", st.byKind)
	for _, ep := range slices.Sorted(maps.Keys(st.byEndpoint)) {
		t.Logf("  %-18s %v", ep, st.byEndpoint[ep])
	}
	if st.triples < steps && !testing.Short() {
		t.Logf("the %s budget ran out before %d triples", budget, steps)
	}
}

// check sends op and compares everything the model predicts.
func (w *azWorld) check(t *testing.T, st *azStats, c who, op azOp) {
	t.Helper()
	ids := slices.Clone(w.order)
	before := w.digests(t, ids)
	r := w.e.do(t, op.r)
	after := w.digests(t, ids)
	st.triples++
	st.byKind[c.kind]++
	if st.byEndpoint[op.endpoint] == nil {
		st.byEndpoint[op.endpoint] = map[int]int{}
	}
	st.byEndpoint[op.endpoint][r.Code]++
	fail := func(format string, args ...any) {
		t.Helper()
		st.failures++
		t.Errorf("%s %s as %s: "+format, append([]any{op.r.Method, op.r.Path, c}, args...)...)
	}
	if r.Code != op.want {
		fail("status: got %d, want %d; body %s", r.Code, op.want, r.Body)
	}
	if r.Code >= 500 {
		fail("got a server error %d: %s", r.Code, r.Body)
	}
	ok := r.Code >= 200 && r.Code < 300

	// What changed in Redis.
	var gone, changed []string
	for _, id := range ids {
		switch {
		case before[id] != "" && after[id] == "":
			gone = append(gone, id)
		case before[id] != after[id]:
			changed = append(changed, id)
		}
	}
	for _, id := range gone {
		s := w.live[id]
		if !ok || !op.revoke[id] {
			fail("revoked %s (user %s, tenant %s, partner %s), which the request may not revoke (status %d; in reach: %v)",
				id, s.user, s.tenant, s.partner, r.Code, op.shows(s))
		}
	}
	if ok {
		for id := range op.revoke {
			if before[id] != "" && !slices.Contains(gone, id) {
				fail("did not revoke %s, which the request selects and reaches", id)
			}
		}
	}
	for _, id := range changed {
		if !ok || id != op.touch {
			fail("changed session %s in place, which the request may not touch (status %d)", id, r.Code)
		}
	}
	if len(gone) > 0 || op.shape == "created" && ok || op.touch != "" && ok {
		st.writes++
	}
	st.revoked += len(gone)

	// No answer names a live session outside the caller's reach.
	mention := set(op.mentions...)
	if op.create != nil {
		mention[op.create.id] = true
	}
	text := string(r.Body)
	for _, h := range []string{"X-Session-Id", "X-User-Id", "X-Tenant-Id", "Location"} {
		text += "\n" + r.Header.Get(h)
	}
	for _, m := range mentionedIDRE.FindAllString(text, -1) {
		if s := w.live[m]; s != nil && !mention[m] && !op.shows(s) {
			fail("answer names session %s (user %s, tenant %s, partner %s) outside the caller's reach: %s",
				m, s.user, s.tenant, s.partner, r.Body)
		}
	}

	if ok {
		w.checkAnswer(t, fail, c, op, r, gone)
	}
	for _, id := range gone {
		w.remove(id)
	}
}

// checkAnswer compares a 2xx answer with the model.
func (w *azWorld) checkAnswer(t *testing.T, fail func(string, ...any), c who, op azOp, r response, gone []string) {
	t.Helper()
	switch op.shape {
	case "page", "list":
		env := mustDecode[envelope[[]listItemJSON]](t, r)
		got := set(ids(env.Data)...)
		total := len(op.list)
		if op.shape == "page" {
			if env.Pagination == nil {
				fail("no pagination in %s", r.Body)
				return
			}
			total = env.Pagination.TotalItems
			if total != len(op.list) {
				fail("total_items: got %d, want %d (%v)", total, len(op.list), sortedKeys(op.list))
			}
		}
		wantLen := max(0, min(op.perPage, len(op.list)-(op.page-1)*op.perPage))
		if len(env.Data) != wantLen {
			fail("got %d items, want %d of %d", len(env.Data), wantLen, len(op.list))
		}
		for id := range got {
			if !op.list[id] {
				fail("lists %s, which is not in %v", id, sortedKeys(op.list))
			}
		}
		if len(got) < wantLen || total != len(op.list) {
			var missing []string
			for id := range op.list {
				if !got[id] {
					missing = append(missing, id)
				}
			}
			slices.Sort(missing)
			t.Logf("not on this page (of %d): %v", len(op.list), missing)
		}
		for _, it := range env.Data {
			if it.IsCurrent != (c.sid != "" && it.ID == c.sid) {
				fail("%s: is_current %v with token sid %q", it.ID, it.IsCurrent, c.sid)
			}
		}
	case "revoke":
		got := mustDecode[envelope[revokeJSON]](t, r).Data
		if got.RevokedCount != len(got.SessionIDs) || !sameSet(got.SessionIDs, gone) {
			fail("answer says revoked %d %v; Redis lost %v", got.RevokedCount, got.SessionIDs, gone)
		}
	case "session":
		got := mustDecode[envelope[sessionJSON]](t, r).Data
		if s := w.live[op.get]; got.ID != op.get || s == nil || got.UserID != s.user {
			fail("got session %s of %s, want %s", got.ID, got.UserID, op.get)
		}
	case "stats":
		got := mustDecode[envelope[statsJSON]](t, r).Data
		users := map[string]bool{}
		n := 0
		for _, s := range w.live {
			if s.tenant == op.stats {
				n++
				users[s.user] = true
			}
		}
		if got.TenantID != op.stats || got.ActiveSessions != n || got.ActiveUsers != len(users) {
			fail("stats: got tenant %s %d sessions %d users, want %s %d %d", got.TenantID, got.ActiveSessions, got.ActiveUsers, op.stats, n, len(users))
		}
	case "created":
		got := mustDecode[envelope[sessionJSON]](t, r).Data
		s := *op.create
		if s.id != "" && got.ID != s.id || got.UserID != s.user {
			fail("created %s of %s, want %s of %s", got.ID, got.UserID, s.id, s.user)
		}
		s.id = got.ID
		s.partner = w.created(s.tenant, op.r.Body.(map[string]any)["partner_id"] != nil)
		w.add(&s)
	case "verify":
		s := w.live[c.sid]
		if r.Header.Get("X-Session-Id") != s.id || r.Header.Get("X-User-Id") != s.user || r.Header.Get("X-Tenant-Id") != s.tenant {
			fail("verify headers %v, want session %+v", r.Header, *s)
		}
	}
}

// mustMatchStore compares every session hash in Redis with the model.
func (w *azWorld) mustMatchStore(tb testing.TB) {
	tb.Helper()
	keys, err := w.e.rdb.Keys(context.Background(), "s:*").Result()
	if err != nil {
		tb.Fatalf("KEYS s:*: %v", err)
	}
	want := make([]string, 0, len(w.live))
	for id, s := range w.live {
		want = append(want, sessionKey(s.tenant, id))
	}
	sort.Strings(keys)
	sort.Strings(want)
	if !slices.Equal(keys, want) {
		tb.Errorf("sessions in Redis differ from the model:\n got %v\nwant %v", keys, want)
	}
}

func sameSet(a, b []string) bool {
	return len(a) == len(b) && maps.Equal(set(a...), set(b...))
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
