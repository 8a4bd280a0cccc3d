package handlers_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/auth"
)

func TestMeList(t *testing.T) {
	forEachWorld(t, func(t *testing.T, e *env) {
		// u1 also has a session in T2, which a token of tenant T1 does not show.
		e.mustCreate(t, sess{"id": "t2-u1", "user_id": "u1", "tenant_id": "T2", "ttl_seconds": 100})
		r := e.do(t, req{Method: "GET", Path: pathMe, Token: e.token(t, userU1), Header: map[string]string{"X-Request-ID": "me-1"}})
		mustStatus(t, r, http.StatusOK)
		mustBody(t, r, fmt.Sprintf(`{"data":[
			{"id":"t1-u1-a","user_id":"u1","user_email":null,"ip_address":null,"user_agent":null,"device_type":"desktop",
			 "is_current":true,"created_at":%[1]q,"last_activity_at":null,"expires_at":%[2]q,"app_count":0},
			{"id":"t1-u1-b","user_id":"u1","user_email":null,"ip_address":null,"user_agent":null,"device_type":"mobile",
			 "is_current":false,"created_at":%[1]q,"last_activity_at":null,"expires_at":%[3]q,"app_count":0}],
			"meta":{"request_id":"me-1","timestamp":"<ts>"}}`,
			wt(e.now), wt(e.now.Add(3600*time.Second)), wt(e.now.Add(3500*time.Second))))

		cases := []struct {
			name   string
			caller auth.MintOptions
			want   []string
		}{
			{"token without tenant sees every tenant", auth.MintOptions{Subject: "u1", SessionID: "t2-u1"}, []string{"t1-u1-a", "t1-u1-b", "t2-u1"}},
			{"user without sessions", auth.MintOptions{Subject: "u7", TenantID: "T1"}, []string{}},
			{"admins see their own sessions", auth.MintOptions{Subject: "u2", Role: auth.RoleTenantAdmin, TenantID: "T1"}, []string{"t1-u2"}},
			{"super admin sees its own sessions", auth.MintOptions{Subject: "u4", Role: auth.RoleSuperAdmin}, []string{"t3-u4"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.get(t, pathMe, e.token(t, tc.caller))
				mustStatus(t, r, http.StatusOK)
				got := mustDecode[envelope[[]listItemJSON]](t, r)
				if got.Pagination != nil {
					t.Errorf("pagination: got %+v, want none", got.Pagination)
				}
				if diff := cmp.Diff(tc.want, ids(got.Data)); diff != "" {
					t.Errorf("ids (-want +got):\n%s", diff)
				}
				for _, it := range got.Data {
					if want := it.ID == tc.caller.SessionID; it.IsCurrent != want {
						t.Errorf("%s is_current: got %v, want %v", it.ID, it.IsCurrent, want)
					}
				}
			})
		}
	})
}

func TestMeRevokeAll(t *testing.T) {
	cases := []struct {
		name    string
		caller  auth.MintOptions
		revoked []string
		left    []string
	}{
		{"keeps the current session", userU1, []string{"t1-u1-b"}, []string{"t1-u1-a", "t1-u2", "t2-u3", "t3-u4"}},
		{"without sid revokes every own session", auth.MintOptions{Subject: "u1", TenantID: "T1"}, []string{"t1-u1-a", "t1-u1-b"}, []string{"t1-u2", "t2-u3", "t3-u4"}},
		{"sid of another user keeps nothing extra", auth.MintOptions{Subject: "u1", TenantID: "T1", SessionID: "t1-u2"}, []string{"t1-u1-a", "t1-u1-b"}, []string{"t1-u2", "t2-u3", "t3-u4"}},
		{"nothing to revoke", auth.MintOptions{Subject: "u9", TenantID: "T1"}, []string{}, []string{"t1-u1-a", "t1-u1-b", "t1-u2", "t2-u3", "t3-u4"}},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, b)
				e.seedWorld(t)
				r := e.post(t, pathMe+"/revoke-all", e.token(t, tc.caller), nil)
				mustStatus(t, r, http.StatusOK)
				got := mustDecode[envelope[revokeJSON]](t, r).Data
				slices.Sort(got.SessionIDs)
				if diff := cmp.Diff(revokeJSON{RevokedCount: len(tc.revoked), SessionIDs: tc.revoked}, got); diff != "" {
					t.Errorf("revoke (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.left, e.mustListIDs(t, pathAdmin)); diff != "" {
					t.Errorf("sessions left (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestMeDelete(t *testing.T) {
	forEachWorld(t, func(t *testing.T, e *env) {
		tok := e.token(t, userU1)

		r := e.do(t, req{Method: "DELETE", Path: pathMe + "/t1-u1-b", Token: tok, Header: map[string]string{"X-Request-ID": "del-1"}})
		mustStatus(t, r, http.StatusOK)
		mustBody(t, r, `{"data":{"revoked_count":1,"session_ids":["t1-u1-b"]},"meta":{"request_id":"del-1","timestamp":"<ts>"}}`)

		cases := []struct {
			name, id string
			want     int
			loc      []any
		}{
			{"already revoked", "t1-u1-b", http.StatusNotFound, nil},
			{"another user's", "t1-u2", http.StatusNotFound, nil},
			{"another tenant's", "t3-u4", http.StatusNotFound, nil},
			{"unknown", "does-not-exist", http.StatusNotFound, nil},
			{"malformed", "bad.id", http.StatusUnprocessableEntity, []any{"path", "session_id"}},
			{"too long", string(make128('x')) + "x", http.StatusUnprocessableEntity, []any{"path", "session_id"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := mustSnapshot(t, e.rdb)
				r := e.del(t, pathMe+"/"+tc.id, tok)
				if tc.loc != nil {
					mustValidationAt(t, r, "string_pattern_mismatch", tc.loc...)
				} else {
					mustDetail(t, r, tc.want)
				}
				mustUnchanged(t, e.rdb, before)
			})
		}

		// The current session may be revoked too.
		mustStatus(t, e.del(t, pathMe+"/t1-u1-a", tok), http.StatusOK)
		if diff := cmp.Diff([]string{"t1-u2", "t2-u3", "t3-u4"}, e.mustListIDs(t, pathAdmin)); diff != "" {
			t.Errorf("sessions left (-want +got):\n%s", diff)
		}
	})
}

// make128 is a string of 128 c, the longest valid session id.
func make128(c byte) []byte {
	b := make([]byte, 128)
	for i := range b {
		b[i] = c
	}
	return b
}
