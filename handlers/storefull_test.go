package handlers_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/metrics"
)

// fullRedis is a redis-server with the eviction policy deploy/ recommends
// (noeviction), on which setFull puts memory above maxmemory.
func fullRedis(t *testing.T) *testredis.Server {
	t.Helper()
	return testredis.Start(t, "--maxmemory-policy", "noeviction")
}

// setFull makes every write that adds data fail with OOM: maxmemory far
// below what the server already uses. Deleting never brings it back under.
func setFull(t *testing.T, rdb redis.UniversalClient, full bool) {
	t.Helper()
	limit := "0"
	if full {
		limit = "1"
	}
	if err := rdb.ConfigSet(context.Background(), "maxmemory", limit).Err(); err != nil {
		t.Fatalf("CONFIG SET maxmemory %s: %v", limit, err)
	}
	if full {
		err := rdb.Set(context.Background(), "oom-probe", "x", 0).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "OOM") {
			t.Fatalf("SET on a full Redis: got %v, want an OOM error", err)
		}
	}
}

// TestRevokeWhenStoreFull: on a Redis at maxmemory with noeviction, every
// revoke route takes effect (the session stops verifying at once) and its
// event reaches the stream and an SSE follower.
func TestRevokeWhenStoreFull(t *testing.T) {
	srv := fullRedis(t)
	cases := []struct {
		name, method, path string
		caller             auth.MintOptions
		body               any
		status             int
		revoked            []string // sessions that stop verifying
		reason             string
	}{
		{"admin delete", "DELETE", pathAdmin + "/t1-u2", superAdmin, nil, http.StatusNoContent, []string{"t1-u2"}, "admin_revoke"},
		{"admin revoke-all by tenant", "POST", pathAdmin + "/revoke-all", superAdmin, map[string]any{"tenant_id": "T2"}, http.StatusOK, []string{"t2-u3"}, ""},
		{"admin revoke-all by user", "POST", pathAdmin + "/revoke-all", superAdmin, map[string]any{"user_id": "u1"}, http.StatusOK, []string{"t1-u1-a", "t1-u1-b"}, ""},
		{"admin revoke-all by partner", "POST", pathAdmin + "/revoke-all", superAdmin, map[string]any{"partner_id": "P2"}, http.StatusOK, []string{"t3-u4"}, ""},
		{"tenant delete", "DELETE", pathTenant("T1") + "/t1-u2", tenantAdmin, nil, http.StatusNoContent, []string{"t1-u2"}, ""},
		{"tenant revoke-all", "POST", pathTenant("T1") + "/revoke-all", superAdmin, nil, http.StatusOK, []string{"t1-u1-a", "t1-u1-b", "t1-u2"}, ""},
		{"tenant user revoke-all", "POST", pathTenant("T1") + "/users/u1/revoke", superAdmin, map[string]any{"revoke_all": true}, http.StatusOK, []string{"t1-u1-a", "t1-u1-b"}, ""},
		{"tenant user revoke ids", "POST", pathTenant("T1") + "/users/u1/revoke", partnerAdmin, map[string]any{"session_ids": []string{"t1-u1-b"}}, http.StatusOK, []string{"t1-u1-b"}, ""},
		{"me delete", "DELETE", pathMe + "/t1-u1-b", userU1, nil, http.StatusOK, []string{"t1-u1-b"}, "user_revoke"},
		{"me revoke-all", "POST", pathMe + "/revoke-all", userU1, nil, http.StatusOK, []string{"t1-u1-b"}, "user_revoke_others"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rdb := srv.NewClient(t)
			setFull(t, rdb, false)
			if err := rdb.FlushAll(context.Background()).Err(); err != nil {
				t.Fatalf("FLUSHALL: %v", err)
			}
			e := newEnvWith(t, rdb, envConfig{events: true})
			e.seedWorld(t)
			stream := follow(t, e.serve(t), e.token(t, serviceRead), "")
			setFull(t, rdb, true)

			r := e.do(t, req{Method: tc.method, Path: tc.path, Token: e.token(t, tc.caller), Body: tc.body})
			mustStatus(t, r, tc.status)
			for _, w := range world {
				id := w["id"].(string)
				uid := w["user_id"].(string)
				want := http.StatusOK
				if slices.Contains(tc.revoked, id) {
					want = http.StatusUnauthorized
				}
				tok := e.token(t, auth.MintOptions{Subject: uid, TenantID: w["tenant_id"].(string), SessionID: id})
				if got := e.get(t, "/api/v1/auth/verify", tok).Code; got != want {
					t.Errorf("verify %s after the revoke: got %d, want %d", id, got, want)
				}
			}
			var got []string
			for range tc.revoked {
				ev := decodeEvent(t, stream.next(t))
				got = append(got, ev.SessionID)
				if tc.reason != "" && ev.Reason != tc.reason {
					t.Errorf("event of %s: reason %q, want %q", ev.SessionID, ev.Reason, tc.reason)
				}
				if ev.Actor == "" {
					t.Errorf("event of %s has no actor", ev.SessionID)
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.revoked))
			if !slices.Equal(got, want) {
				t.Errorf("events: got %v, want %v", got, want)
			}
		})
	}
}

// TestWritesWhenStoreFull: writes that add data answer 503 with Retry-After
// and a body that says the store is full, are counted, and warn once.
func TestWritesWhenStoreFull(t *testing.T) {
	srv := fullRedis(t)
	rdb := srv.NewClient(t)
	core, logs := observer.New(zap.WarnLevel)
	m := metrics.New("test")
	e := newEnvWith(t, rdb, envConfig{metrics: m, log: zap.New(core)})
	e.seedWorld(t)
	setFull(t, rdb, true)
	cases := []struct {
		name, path string
		body       any
	}{
		{"create", pathInternal, map[string]any{"user_id": "u9", "tenant_id": "T1", "ttl_seconds": 60}},
		{"create in a new tenant", pathInternal, map[string]any{"user_id": "u9", "tenant_id": "T9", "partner_id": "P9", "ttl_seconds": 60}},
		{"activity", pathInternal + "/t1-u2/activity", map[string]any{"application_id": "app-1", "ip_address": "192.0.2.1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(t, tc.path, e.token(t, serviceWrite), tc.body)
			d := mustDetail(t, r, http.StatusServiceUnavailable)
			if !strings.Contains(d, "full") {
				t.Errorf("detail: got %q, want it to say the store is full", d)
			}
			if r.Header.Get("Retry-After") == "" {
				t.Errorf("no Retry-After on a 503 for a full store")
			}
		})
	}
	out := string(e.get(t, "/metrics", "").Body)
	if want := "sessiond_store_full_total " + strconv.Itoa(len(cases)); !strings.Contains(out, want+"\n") {
		t.Errorf("/metrics lacks %q", want)
	}
	if n := logs.FilterMessageSnippet("session store is full").Len(); n != 1 {
		t.Errorf("store-full warnings: got %d, want 1 per interval", n)
	}
	if n := logs.FilterLevelExact(zap.ErrorLevel).Len(); n != 0 {
		t.Errorf("error-level logs for a full store: got %d, want 0", n)
	}
	// Nothing was half-written: the store answers as before once memory is back.
	setFull(t, rdb, false)
	e.mustCreate(t, sess{"user_id": "u9", "tenant_id": "T1"})
}
