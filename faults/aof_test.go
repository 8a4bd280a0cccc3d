//go:build unix

package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/redisstore"
)

// TestAOFRestart stops a standalone Redis persisted with AOF (fsync always)
// while sessiond keeps running, starts a new redis-server on the same port
// and directory, and checks through the same router that nothing changed:
// live sessions and every index (lists, totals, stats, cross-tenant views),
// revocations (single and bulk), and the revocation events.
func TestAOFRestart(t *testing.T) {
	dir := t.TempDir()
	aof := []string{"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--dir", dir}
	first := testredis.Start(t, aof...)
	rdb := connect(t, redisstore.ConnectOptions{URL: first.URL(0), Timeout: redisTimeout})
	// With history on: the ended records must survive the restart too.
	r := newRig(t, rdb, rigConfig{events: true, history: true})

	// Tenants TA and TB belong to partner PA, TC to none. Users ua3 and ux
	// have sessions in two tenants each.
	devices := []string{"desktop", "mobile", "tablet", "bot", "unknown"}
	var all []sess
	for i, p := range []struct {
		tenant, partner, user string
		n                     int
	}{
		{"TA", "PA", "ua1", 3}, {"TA", "PA", "ua2", 2}, {"TA", "PA", "ua3", 2}, {"TA", "PA", "ux", 2},
		{"TB", "PA", "ub1", 3}, {"TB", "PA", "ub2", 2}, {"TB", "PA", "ux", 1},
		{"TC", "", "uc1", 3}, {"TC", "", "ua3", 2},
	} {
		for j := range p.n {
			all = append(all, r.mustCreate(t, p.tenant, p.user, p.partner, devices[(i+j)%len(devices)]))
		}
	}
	of := func(tenant, user string) []sess {
		var out []sess
		for _, s := range all {
			if s.Tenant == tenant && s.User == user {
				out = append(out, s)
			}
		}
		return out
	}

	// Revocations, single and bulk, each through its own route.
	revoked := map[string]string{} // session id -> reason
	mustStatus := func(what string, res result, want int) result {
		t.Helper()
		if res.err != nil || res.status != want {
			t.Fatalf("%s: want %d, got %v", what, want, res)
		}
		return res
	}
	s := of("TA", "ua1")[0]
	mustStatus("tenant DELETE", r.revokeOne(s), http.StatusNoContent)
	revoked[s.ID] = "tenant_revoke"
	s = of("TC", "uc1")[0]
	mustStatus("admin DELETE", r.do(http.MethodDelete, "/api/v1/admin/sessions/"+s.ID, r.admin, nil), http.StatusNoContent)
	revoked[s.ID] = "admin_revoke"
	ua2 := of("TA", "ua2")
	res := mustStatus("revoke by ids", r.do(http.MethodPost, "/api/v1/tenants/TA/sessions/users/ua2/revoke", r.admin,
		map[string]any{"session_ids": []string{ua2[0].ID, ua2[1].ID}}), http.StatusOK)
	for _, id := range revokedIDs(t, res) {
		revoked[id] = "user_revoke_admin"
	}
	res = mustStatus("revoke a user's all", r.do(http.MethodPost, "/api/v1/tenants/TB/sessions/users/ub1/revoke", r.admin,
		map[string]any{"revoke_all": true, "except_current": false}), http.StatusOK)
	for _, id := range revokedIDs(t, res) {
		revoked[id] = "user_revoke_admin"
	}
	res = mustStatus("admin revoke-all of a user", r.do(http.MethodPost, "/api/v1/admin/sessions/revoke-all", r.admin,
		map[string]any{"user_id": "ua3"}), http.StatusOK)
	for _, id := range revokedIDs(t, res) {
		revoked[id] = "admin_revoke_all"
	}
	if want := 1 + 1 + 2 + 3 + 4; len(revoked) != want {
		t.Fatalf("revoked %d sessions, want %d", len(revoked), want)
	}
	var live []sess
	var gone []sess
	for _, s := range all {
		if _, ok := revoked[s.ID]; ok {
			gone = append(gone, s)
		} else {
			live = append(live, s)
		}
	}

	// What the API says, and what Redis holds, before the restart.
	before := apiSnapshot(t, r)
	keysBefore := keyspace(t, first.Addr())
	checkSessions(t, r, "before the restart", live, gone)
	evBefore := r.readEvents(t, "0")
	checkEvents(t, "before the restart", evBefore, revoked)

	// SIGTERM: Redis fsyncs the AOF and exits.
	if err := first.Stop(); err != nil {
		t.Fatalf("stop redis: %v", err)
	}
	if out := first.Output(); !strings.Contains(out, "ready to exit") {
		t.Fatalf("redis-server did not shut down cleanly; output:\n%s", out)
	}
	// While Redis is down, sessiond answers 503, quickly, never 200.
	for _, s := range live[:3] {
		if res := r.verify(s.Token); res.err != nil || res.status != http.StatusServiceUnavailable || res.dur() > 5*time.Second {
			t.Errorf("verify with Redis down: want a quick 503, got %v", res)
		}
	}

	second := testredis.StartNode(t, first.Port(), append([]string{"--databases", strconv.Itoa(testredis.Databases)}, aof...)...)
	if out := second.Output(); !strings.Contains(out, "DB loaded from append only file") {
		t.Fatalf("the new redis-server did not load the AOF; output:\n%s", out)
	}
	restarted := time.Now()
	// The same router and client recover by themselves: the first request
	// after the restart should already be answered, since go-redis drops the
	// pooled connections the old server closed.
	if res := r.do(http.MethodGet, "/readyz", "", nil); res.status != http.StatusOK {
		t.Errorf("first /readyz after the restart: %v", res)
		waitUntil(t, 5*time.Second, "sessiond ready again", func() bool {
			return r.do(http.MethodGet, "/readyz", "", nil).status == http.StatusOK
		})
	}
	t.Logf("ready %s after the restart", time.Since(restarted).Round(time.Millisecond))

	after := apiSnapshot(t, r)
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("API answers changed across the restart (-before +after):\n%s", d)
	}
	if d := cmp.Diff(keysBefore, keyspace(t, second.Addr())); d != "" {
		t.Errorf("Redis keyspace changed across the restart (-before +after):\n%s", d)
	}
	checkSessions(t, r, "after the restart", live, gone)
	evAfter := r.readEvents(t, "0")
	if d := cmp.Diff(evBefore, evAfter); d != "" {
		t.Errorf("revocation events changed across the restart (-before +after):\n%s", d)
	}
	// A follower resuming from an event it saw before the restart gets
	// exactly the events after it.
	k := len(evBefore) / 2
	if d := cmp.Diff(evBefore[k+1:], r.readEvents(t, evBefore[k].ID)); d != "" {
		t.Errorf("resume from %s after the restart (-want +got):\n%s", evBefore[k].ID, d)
	}

	// New revocations still work, and their events follow the old ones.
	s = live[0]
	mustStatus("tenant DELETE after the restart", r.revokeOne(s), http.StatusNoContent)
	evNew := r.readEvents(t, evBefore[len(evBefore)-1].ID)
	if len(evNew) != 1 || evNew[0].SessionID != s.ID {
		t.Errorf("events after the last pre-restart one: got %+v, want the revocation of %s", evNew, s.ID)
	}
	checkSessions(t, r, "after a revocation following the restart", live[1:], append(gone, s))
}

// checkSessions checks live sessions answer 200 (tenant GET, admin GET,
// verify with and without the tenant in the token) and revoked ones 401 on
// verify and, on GET, 404 (history off) or 200 with status "revoked".
func checkSessions(t *testing.T, r *rig, when string, live, gone []sess) {
	t.Helper()
	for _, s := range live {
		for name, res := range map[string]result{
			"tenant GET": r.tenantGet(s), "admin GET": r.adminGet(s),
			"verify": r.verify(s.Token), "verify by pointer": r.verify(s.PointerToken),
		} {
			if res.err != nil || res.status != http.StatusOK {
				t.Errorf("%s: %s of live session %s/%s: want 200, got %v", when, name, s.Tenant, s.ID, res)
			}
		}
	}
	get := http.StatusNotFound
	if r.history {
		get = http.StatusOK
	}
	for _, s := range gone {
		for name, c := range map[string]struct {
			res  result
			want int
		}{
			"tenant GET":        {r.tenantGet(s), get},
			"admin GET":         {r.adminGet(s), get},
			"verify":            {r.verify(s.Token), http.StatusUnauthorized},
			"verify by pointer": {r.verify(s.PointerToken), http.StatusUnauthorized},
		} {
			if c.res.err != nil || c.res.status != c.want {
				t.Errorf("%s: %s of revoked session %s/%s: want %d, got %v", when, name, s.Tenant, s.ID, c.want, c.res)
			}
			if c.want == http.StatusOK && !bytes.Contains(c.res.body, []byte(`"status":"revoked"`)) {
				t.Errorf("%s: %s of revoked session %s/%s: want it revoked, got %s", when, name, s.Tenant, s.ID, c.res.body)
			}
		}
	}
}

// checkEvents checks the stream holds exactly one event per revocation, with
// its reason.
func checkEvents(t *testing.T, when string, evs []event, revoked map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, e := range evs {
		if _, dup := got[e.SessionID]; dup {
			t.Errorf("%s: two events for session %s", when, e.SessionID)
		}
		got[e.SessionID] = e.Reason
	}
	if d := cmp.Diff(revoked, got); d != "" {
		t.Errorf("%s: revocation events (session -> reason) differ (-want +got):\n%s", when, d)
	}
}

// apiSnapshot reads every listing, total and stats of the test's world
// through the router, without the parts that change with each request.
func apiSnapshot(t *testing.T, r *rig) map[string]any {
	t.Helper()
	paths := []string{
		"/api/v1/admin/sessions?per_page=100",
		"/api/v1/admin/sessions?partner_id=PA&per_page=100",
		"/api/v1/admin/sessions?user_id=ux&per_page=100",
		"/api/v1/admin/sessions?user_id=ua3&per_page=100",
		"/api/v1/admin/sessions?per_page=3&page=2",
	}
	for _, tn := range []string{"TA", "TB", "TC"} {
		paths = append(paths,
			"/api/v1/tenants/"+tn+"/sessions?per_page=100",
			"/api/v1/tenants/"+tn+"/sessions?per_page=2&page=2",
			"/api/v1/tenants/"+tn+"/sessions/stats")
		for _, u := range []string{"ua1", "ua2", "ua3", "ux", "ub1", "ub2", "uc1"} {
			paths = append(paths, "/api/v1/tenants/"+tn+"/sessions/users/"+u+"?per_page=100")
		}
	}
	out := map[string]any{}
	for _, p := range paths {
		res := r.do(http.MethodGet, p, r.admin, nil)
		if res.err != nil || res.status != http.StatusOK {
			t.Fatalf("GET %s: %v", p, res)
		}
		var v map[string]any
		if err := json.Unmarshal(res.body, &v); err != nil {
			t.Fatalf("GET %s: %q: %v", p, res.body, err)
		}
		delete(v, "meta")
		if d, ok := v["data"].(map[string]any); ok {
			delete(d, "generated_at")
		}
		out[p] = v
	}
	return out
}

// keyspace dumps every key of database 0 with its type, content and absolute
// expiry (PEXPIRETIME), so that two dumps compare exactly.
func keyspace(t *testing.T, addr string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatalf("KEYS on %s: %v", addr, err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatalf("TYPE %s: %v", k, err)
		}
		var v any
		switch typ {
		case "string":
			v, err = c.Get(ctx, k).Result()
		case "hash":
			v, err = c.HGetAll(ctx, k).Result()
		case "set":
			var m []string
			m, err = c.SMembers(ctx, k).Result()
			slices.Sort(m)
			v = m
		case "zset":
			v, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		case "stream":
			v, err = c.XRange(ctx, k, "-", "+").Result()
		default:
			t.Fatalf("key %s has unexpected type %s", k, typ)
		}
		if err != nil {
			t.Fatalf("read %s %s: %v", typ, k, err)
		}
		exp, err := c.Do(ctx, "PEXPIRETIME", k).Int64()
		if err != nil {
			t.Fatalf("PEXPIRETIME %s: %v", k, err)
		}
		out[k] = fmt.Sprintf("%s exp=%d %v", typ, exp, v)
	}
	return out
}

// waitUntil polls cond every 20ms until it holds, failing after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
