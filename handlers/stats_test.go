package handlers_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/auth"
)

func TestTenantStats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		for _, s := range []sess{
			{"id": "d1", "user_id": "u1", "tenant_id": "T1", "device_type": "desktop"},
			{"id": "d2", "user_id": "u1", "tenant_id": "T1", "device_type": "desktop"},
			{"id": "m1", "user_id": "u2", "tenant_id": "T1", "device_type": "mobile"},
			{"id": "t1", "user_id": "u2", "tenant_id": "T1", "device_type": "tablet"},
			{"id": "b1", "user_id": "u3", "tenant_id": "T1", "user_agent": "curl/8.5.0"},
			{"id": "x1", "user_id": "u4", "tenant_id": "T1", "device_type": "mobile"},
			{"id": "o1", "user_id": "u1", "tenant_id": "T2", "device_type": "desktop"},
		} {
			e.mustCreate(t, s)
		}
		tok := e.token(t, tenantAdmin)
		mustStatus(t, e.del(t, pathTenant("T1")+"/x1", tok), http.StatusNoContent)

		cases := []struct {
			name, tenant string
			caller       auth.MintOptions
			want         statsJSON
		}{
			{"tenant with sessions", "T1", tenantAdmin, statsJSON{
				TenantID: "T1", ActiveSessions: 5, ActiveUsers: 3,
				SessionsByDeviceType:   map[string]int{"desktop": 2, "mobile": 1, "tablet": 1, "bot": 1, "unknown": 0},
				SessionsCreatedLast24h: 6, SessionsRevokedLast24h: 1,
			}},
			{"tenant without sessions", "T9", superAdmin, statsJSON{
				TenantID: "T9", SessionsByDeviceType: map[string]int{"desktop": 0, "mobile": 0, "tablet": 0, "bot": 0, "unknown": 0},
			}},
		}
		t.Run("exact body", func(t *testing.T) {
			r := e.do(t, req{Method: "GET", Path: pathTenant("T1") + "/stats", Token: tok, Header: map[string]string{"X-Request-ID": "st-1"}})
			mustStatus(t, r, http.StatusOK)
			mustBody(t, r, `{"data":{"tenant_id":"T1","active_sessions":5,"active_users":3,
				"sessions_by_device_type":{"desktop":2,"mobile":1,"tablet":1,"bot":1,"unknown":0},
				"sessions_created_last_24h":6,"sessions_revoked_last_24h":1,"generated_at":"<ts>"},
				"meta":{"request_id":"st-1","timestamp":"<ts>"}}`)
		})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.get(t, pathTenant(tc.tenant)+"/stats", e.token(t, tc.caller))
				mustStatus(t, r, http.StatusOK)
				env := mustDecode[envelope[statsJSON]](t, r)
				mustWireTime(t, "generated_at", env.Data.GeneratedAt)
				mustWireTime(t, "meta.timestamp", env.Meta.Timestamp)
				env.Data.GeneratedAt = ""
				if diff := cmp.Diff(tc.want, env.Data); diff != "" {
					t.Errorf("stats (-want +got):\n%s", diff)
				}
				if env.Pagination != nil {
					t.Errorf("pagination: got %+v, want none", env.Pagination)
				}
			})
		}
	})
}
