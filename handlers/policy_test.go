package handlers_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/metrics"
)

type policyJSON struct {
	MaxSessionsPerUser int    `json:"max_sessions_per_user"`
	OnLimit            string `json:"on_limit"`
	IdleTimeoutSeconds int    `json:"idle_timeout_seconds"`
	MaxLifetimeSeconds int    `json:"max_lifetime_seconds"`
}

func (e *env) putPolicy(tb testing.TB, tenant, token string, body any) response {
	tb.Helper()
	return e.do(tb, req{Method: "PUT", Path: pathTenant(tenant) + "/policy", Token: token, Body: body})
}

func TestPolicyRoutes(t *testing.T) {
	forEachWorld(t, func(t *testing.T, e *env) {
		ta := e.token(t, tenantAdmin)
		// The default: unlimited, evict_oldest, no timeouts.
		r := e.get(t, pathTenant("T1")+"/policy", ta)
		mustStatus(t, r, http.StatusOK)
		if got := mustDecode[envelope[policyJSON]](t, r).Data; got != (policyJSON{OnLimit: "evict_oldest"}) {
			t.Errorf("default policy: %+v", got)
		}
		want := policyJSON{MaxSessionsPerUser: 2, OnLimit: "refuse", IdleTimeoutSeconds: 600, MaxLifetimeSeconds: 7200}
		r = e.putPolicy(t, "T1", ta, want)
		mustStatus(t, r, http.StatusOK)
		if got := mustDecode[envelope[policyJSON]](t, r).Data; got != want {
			t.Errorf("PUT answered %+v, want %+v", got, want)
		}
		if got := mustDecode[envelope[policyJSON]](t, e.get(t, pathTenant("T1")+"/policy", e.token(t, partnerAdmin))).Data; got != want {
			t.Errorf("GET after PUT: %+v, want %+v", got, want)
		}

		bad := []struct {
			name string
			body any
			loc  []any
			typ  string
		}{
			{"negative limit", map[string]any{"max_sessions_per_user": -1}, []any{"body", "max_sessions_per_user"}, "greater_than_equal"},
			{"absurd limit", map[string]any{"max_sessions_per_user": 10001}, []any{"body", "max_sessions_per_user"}, "less_than_equal"},
			{"unknown on_limit", map[string]any{"on_limit": "drop"}, []any{"body", "on_limit"}, "enum"},
			{"idle beyond the maximum lifetime", map[string]any{"idle_timeout_seconds": int(maxLifetime/time.Second) + 1}, []any{"body", "idle_timeout_seconds"}, "less_than_equal"},
			{"lifetime beyond the maximum", map[string]any{"max_lifetime_seconds": int(maxLifetime/time.Second) + 1}, []any{"body", "max_lifetime_seconds"}, "less_than_equal"},
			{"unknown field", map[string]any{"max_sessions": 3}, []any{"body", "max_sessions"}, "extra_forbidden"},
			{"wrong type", map[string]any{"max_sessions_per_user": "3"}, []any{"body", "max_sessions_per_user"}, "int_type"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				mustValidationAt(t, e.putPolicy(t, "T1", ta, tc.body), tc.typ, tc.loc...)
			})
		}
		mustStatus(t, e.putPolicy(t, "T1", ta, "not json"), http.StatusUnprocessableEntity)
		// Nothing bad was stored.
		if got := mustDecode[envelope[policyJSON]](t, e.get(t, pathTenant("T1")+"/policy", ta)).Data; got != want {
			t.Errorf("policy after refused PUTs: %+v, want %+v", got, want)
		}

		// Reach: another tenant's admin 403, the user 403, a reader may not write.
		other := e.token(t, auth.MintOptions{Subject: "t3", Role: auth.RoleTenantAdmin, TenantID: "T3"})
		mustStatus(t, e.get(t, pathTenant("T1")+"/policy", other), http.StatusForbidden)
		mustStatus(t, e.putPolicy(t, "T1", other, want), http.StatusForbidden)
		mustStatus(t, e.putPolicy(t, "T1", e.token(t, userU1), want), http.StatusForbidden)
		mustStatus(t, e.putPolicy(t, "T1", e.token(t, platformRead), want), http.StatusForbidden)
		mustStatus(t, e.putPolicy(t, "T3", e.token(t, partnerAdmin), want), http.StatusForbidden)
		mustStatus(t, e.putPolicy(t, "T1", e.token(t, platformWrite), want), http.StatusOK)
		mustStatus(t, e.get(t, pathTenant("T1")+"/policy", ""), http.StatusUnauthorized)
	})
}

func TestPolicyAppliesToCreates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvWith(t, b.client(t), envConfig{metrics: metrics.New("test")})
		ta := e.token(t, tenantAdmin)
		mustStatus(t, e.putPolicy(t, "T1", ta, policyJSON{MaxSessionsPerUser: 2, IdleTimeoutSeconds: 600, MaxLifetimeSeconds: 3600}), http.StatusOK)

		// No expiry given: the policy's lifetime and idle timeout.
		s := e.mustCreate(t, sess{"id": "p1", "user_id": "u1", "tenant_id": "T1", "ttl_seconds": nil})
		if s.ExpiresAt != wt(e.now.Add(600*time.Second)) {
			t.Errorf("expires_at = %s, want now + the idle timeout %s", s.ExpiresAt, wt(e.now.Add(600*time.Second)))
		}
		// A longer lifetime is brought back to the policy's.
		s = e.mustCreate(t, sess{"id": "p2", "user_id": "u1", "tenant_id": "T1", "ttl_seconds": 86400, "idle_timeout_seconds": 7200})
		if s.ExpiresAt != wt(e.now.Add(600*time.Second)) {
			t.Errorf("expires_at = %s, want it within the policy", s.ExpiresAt)
		}
		// The third evicts the oldest, and says so.
		r := e.post(t, pathInternal, e.token(t, serviceWrite), sess{"id": "p3", "user_id": "u1", "tenant_id": "T1", "ttl_seconds": 60})
		mustStatus(t, r, http.StatusCreated)
		created := mustDecode[envelope[struct {
			EvictedSessionIDs []string `json:"evicted_session_ids"`
		}]](t, r)
		if !slices.Equal(created.Data.EvictedSessionIDs, []string{"p1"}) {
			t.Errorf("evicted_session_ids = %v, want [p1]", created.Data.EvictedSessionIDs)
		}
		mustStatus(t, e.get(t, "/api/v1/auth/verify", e.token(t, auth.MintOptions{Subject: "u1", TenantID: "T1", SessionID: "p1"})), http.StatusUnauthorized)
		if got := e.mustListIDs(t, pathTenant("T1")); len(got) != 2 || !slices.Contains(got, "p2") || !slices.Contains(got, "p3") {
			t.Errorf("left: %v, want p2 and p3", got)
		}
		// A create that evicts nothing carries no evicted_session_ids.
		r = e.post(t, pathInternal, e.token(t, serviceWrite), sess{"id": "q1", "user_id": "u2", "tenant_id": "T1", "ttl_seconds": 60})
		mustStatus(t, r, http.StatusCreated)
		if bytes.Contains(r.Body, []byte("evicted_session_ids")) {
			t.Errorf("a create within the limit names evictions: %s", r.Body)
		}

		// refuse: 409 with the documented detail, nothing written.
		mustStatus(t, e.putPolicy(t, "T1", ta, policyJSON{MaxSessionsPerUser: 2, OnLimit: "refuse"}), http.StatusOK)
		r = e.post(t, pathInternal, e.token(t, serviceWrite), sess{"id": "p4", "user_id": "u1", "tenant_id": "T1", "ttl_seconds": 60})
		if got := mustDetail(t, r, http.StatusConflict); got != "session limit reached" {
			t.Errorf("detail = %q", got)
		}
		mustStatus(t, e.get(t, pathAdmin+"/p4", e.token(t, superAdmin)), http.StatusNotFound)
		metricsBody := string(e.get(t, "/metrics", "").Body)
		for _, want := range []string{`sessiond_session_limit_total{outcome="evicted"} 1`, `sessiond_session_limit_total{outcome="refused"} 1`,
			`sessiond_revocations_total{reason="session_limit"} 1`} {
			if !strings.Contains(metricsBody, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
		// Lowering a limit revokes nothing.
		mustStatus(t, e.putPolicy(t, "T1", ta, policyJSON{MaxSessionsPerUser: 1}), http.StatusOK)
		if got := e.mustListIDs(t, pathTenant("T1")+"/users/u1"); len(got) != 2 {
			t.Errorf("after lowering the limit: %v, want both sessions kept", got)
		}
		// Without a lifetime in the policy, a create must give one again.
		mustStatus(t, e.putPolicy(t, "T1", ta, map[string]any{}), http.StatusOK)
		mustValidationAt(t, e.post(t, pathInternal, e.token(t, serviceWrite), sess{"user_id": "u9", "tenant_id": "T1", "ttl_seconds": nil}), "missing", "body", "expires_at")
	})
}
