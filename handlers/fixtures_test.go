package handlers_test

import (
	"net/http"
	"testing"
)

const (
	pathAdmin    = "/api/v1/admin/sessions"
	pathMe       = "/api/v1/me/sessions"
	pathInternal = "/api/v1/internal/sessions"
)

func pathTenant(t string) string { return "/api/v1/tenants/" + t + "/sessions" }

// sess is the body of a create call; ttl defaults to an hour.
type sess map[string]any

// mustCreate creates a session through POST /api/v1/internal/sessions.
func (e *env) mustCreate(tb testing.TB, body sess) sessionJSON {
	tb.Helper()
	if _, ok := body["expires_at"]; !ok {
		if _, ok := body["ttl_seconds"]; !ok {
			body["ttl_seconds"] = 3600
		}
	}
	r := e.post(tb, pathInternal, e.token(tb, serviceWrite), map[string]any(body))
	mustStatus(tb, r, http.StatusCreated)
	return mustDecode[envelope[sessionJSON]](tb, r).Data
}

// world is the fixture of the reach tests:
//
//	partner P1: tenant T1 (u1: t1-u1-a, t1-u1-b; u2: t1-u2), tenant T2 (u3: t2-u3)
//	partner P2: tenant T3 (u4: t3-u4)
//
// Expiries differ, so every list has one order: the ids as listed here.
var world = []sess{
	{"id": "t1-u1-a", "user_id": "u1", "tenant_id": "T1", "partner_id": "P1", "ttl_seconds": 3600, "device_type": "desktop"},
	{"id": "t1-u1-b", "user_id": "u1", "tenant_id": "T1", "ttl_seconds": 3500, "device_type": "mobile"},
	{"id": "t1-u2", "user_id": "u2", "tenant_id": "T1", "partner_id": "P1", "ttl_seconds": 3400},
	{"id": "t2-u3", "user_id": "u3", "tenant_id": "T2", "partner_id": "P1", "ttl_seconds": 3300},
	{"id": "t3-u4", "user_id": "u4", "tenant_id": "T3", "partner_id": "P2", "ttl_seconds": 3200},
}

// seedWorld creates the world's sessions.
func (e *env) seedWorld(tb testing.TB) {
	tb.Helper()
	for _, s := range world {
		c := sess{}
		for k, v := range s {
			c[k] = v
		}
		e.mustCreate(tb, c)
	}
}

// mustListIDs lists every session a super admin sees (one page of 100).
func (e *env) mustListIDs(tb testing.TB, path string) []string {
	tb.Helper()
	return e.mustListIDsAs(tb, path, e.token(tb, superAdmin))
}

// mustListIDsAs lists the ids of one page of path as token sees it.
func (e *env) mustListIDsAs(tb testing.TB, path, token string) []string {
	tb.Helper()
	r := e.get(tb, path, token)
	mustStatus(tb, r, http.StatusOK)
	return ids(mustDecode[envelope[[]listItemJSON]](tb, r).Data)
}
