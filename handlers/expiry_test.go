package handlers_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestExpiredSession creates a one-second session and waits until it is
// gone: then every endpoint treats it as missing, and no list or count shows
// it.
func TestExpiredSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.now = time.Now().UTC()
		e.mustCreate(t, sess{"id": "brief", "user_id": "u1", "tenant_id": "T1", "partner_id": "P1", "ttl_seconds": 1})
		e.mustCreate(t, sess{"id": "stays", "user_id": "u1", "tenant_id": "T1", "ttl_seconds": 600})
		super := e.token(t, superAdmin)
		deadline := time.Now().Add(10 * time.Second)
		for e.get(t, pathAdmin+"/brief", super).Code != http.StatusNotFound {
			if time.Now().After(deadline) {
				t.Fatalf("session with ttl_seconds 1 still answers after 10s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		user := e.token(t, userU1)
		for _, path := range []string{pathAdmin, pathAdmin + "?user_id=u1", pathAdmin + "?partner_id=P1", pathTenant("T1"), pathTenant("T1") + "/users/u1"} {
			r := e.get(t, path, super)
			mustStatus(t, r, http.StatusOK)
			env := mustDecode[envelope[[]listItemJSON]](t, r)
			if diff := cmp.Diff([]string{"stays"}, ids(env.Data)); diff != "" || env.Pagination.TotalItems != 1 {
				t.Errorf("%s: ids (-want +got):\n%s; total_items %d, want 1", path, diff, env.Pagination.TotalItems)
			}
		}
		if got := ids(mustDecode[envelope[[]listItemJSON]](t, e.get(t, pathMe, user)).Data); !cmp.Equal(got, []string{"stays"}) {
			t.Errorf("me list: got %v, want [stays]", got)
		}
		st := mustDecode[envelope[statsJSON]](t, e.get(t, pathTenant("T1")+"/stats", super)).Data
		if st.ActiveSessions != 1 || st.ActiveUsers != 1 {
			t.Errorf("stats: got %d sessions, %d users, want 1 and 1", st.ActiveSessions, st.ActiveUsers)
		}
		mustDetail(t, e.get(t, pathTenant("T1")+"/brief", super), http.StatusNotFound)
		mustDetail(t, e.del(t, pathAdmin+"/brief", super), http.StatusNotFound)
		mustDetail(t, e.del(t, pathTenant("T1")+"/brief", super), http.StatusNotFound)
		mustDetail(t, e.del(t, pathMe+"/brief", user), http.StatusNotFound)
		mustDetail(t, e.post(t, pathInternal+"/brief/activity", e.token(t, serviceWrite), nil), http.StatusNotFound)
		r := e.post(t, pathTenant("T1")+"/users/u1/revoke", super, map[string]any{"session_ids": []string{"brief"}})
		mustStatus(t, r, http.StatusOK)
		if got := mustDecode[envelope[revokeJSON]](t, r).Data; got.RevokedCount != 0 {
			t.Errorf("revoking an expired session: got %+v, want nothing revoked", got)
		}
	})
}
