package handlers_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

func TestInternalCreate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		exp := e.now.Add(3*time.Hour + 678*time.Millisecond)
		r := e.do(t, req{Method: "POST", Path: pathInternal, Token: e.token(t, serviceWrite), Body: map[string]any(fullSession(exp)),
			Header: map[string]string{"X-Request-ID": "create-1"}})
		mustStatus(t, r, http.StatusCreated)
		mustBody(t, r, fmt.Sprintf(`{"data":{"id":"s-full","user_id":"u1",
			"user_email":"u1@example.com","user_display_name":"User One","ip_address":"203.0.113.7",
			"user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			"device_type":"desktop","location":"Berlin, DE","is_current":false,"created_at":%q,
			"last_activity_at":null,"expires_at":%q,"sso_apps":[]},"meta":{"request_id":"create-1","timestamp":"<ts>"}}`,
			wt(e.now), wt(exp)))

		cases := []struct {
			name       string
			body       sess
			wantDevice string
			wantExp    time.Time
		}{
			{"generated id, device unknown", sess{"user_id": "u2", "tenant_id": "T1", "ttl_seconds": 120}, "unknown", e.now.Add(2 * time.Minute)},
			{"device from a phone user agent", sess{"user_id": "u2", "tenant_id": "T1", "ttl_seconds": 60,
				"user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"},
				"mobile", e.now.Add(time.Minute)},
			{"device from curl", sess{"user_id": "u2", "tenant_id": "T1", "ttl_seconds": 60, "user_agent": "curl/8.5.0"}, "bot", e.now.Add(time.Minute)},
			{"explicit device wins", sess{"user_id": "u2", "tenant_id": "T1", "ttl_seconds": 60, "user_agent": "curl/8.5.0", "device_type": "tablet"}, "tablet", e.now.Add(time.Minute)},
			{"ttl at the max lifetime", sess{"user_id": "u2", "tenant_id": "T1", "ttl_seconds": int(maxLifetime / time.Second)}, "unknown", e.now.Add(maxLifetime)},
			{"expires_at with an offset", sess{"user_id": "u2", "tenant_id": "T1", "expires_at": exp.In(time.FixedZone("x", 2*3600)).Format(time.RFC3339Nano)}, "unknown", exp},
			{"ipv6 is normalised", sess{"user_id": "u2", "tenant_id": "T1", "ip_address": "2001:DB8::1"}, "unknown", e.now.Add(time.Hour)},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got := e.mustCreate(t, tc.body)
				if id, ok := tc.body["id"]; ok {
					if got.ID != id {
						t.Errorf("id: got %q, want %q", got.ID, id)
					}
				} else if u, err := uuid.Parse(got.ID); err != nil || u.Version() != 7 {
					t.Errorf("generated id: got %q, want a UUIDv7", got.ID)
				}
				if got.DeviceType == nil || *got.DeviceType != tc.wantDevice {
					t.Errorf("device_type: got %v, want %q", got.DeviceType, tc.wantDevice)
				}
				if got.ExpiresAt != wt(tc.wantExp) {
					t.Errorf("expires_at: got %s, want %s", got.ExpiresAt, wt(tc.wantExp))
				}
				if ip, ok := tc.body["ip_address"]; ok && (got.IPAddress == nil || *got.IPAddress != "2001:db8::1") {
					t.Errorf("ip_address: got %v, want 2001:db8::1 (from %v)", got.IPAddress, ip)
				}
				// What was created is what a read returns.
				r := e.get(t, pathAdmin+"/"+got.ID, e.token(t, superAdmin))
				mustStatus(t, r, http.StatusOK)
				if diff := cmp.Diff(got, mustDecode[envelope[sessionJSON]](t, r).Data); diff != "" {
					t.Errorf("read back (-created +read):\n%s", diff)
				}
			})
		}
	})
}

func TestInternalActivity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.mustCreate(t, sess{"id": "s1", "user_id": "u1", "tenant_id": "T1", "ip_address": "10.0.0.1"})
		svc := e.token(t, serviceWrite)
		steps := []struct {
			name string
			body any
			at   time.Duration
		}{
			{"bare activity", nil, time.Minute},
			{"first app", map[string]any{"application_id": "app-1", "application_name": "App One", "ip_address": "10.0.0.2"}, 2 * time.Minute},
			{"second app, name defaults to id", map[string]any{"application_id": "app-2"}, 3 * time.Minute},
			{"first app again", map[string]any{"application_id": "app-1", "application_name": "App One"}, 4 * time.Minute},
		}
		start := e.now
		for _, st := range steps {
			e.now = start.Add(st.at)
			r := e.post(t, pathInternal+"/s1/activity", svc, st.body)
			mustStatus(t, r, http.StatusNoContent)
			if len(r.Body) != 0 {
				t.Errorf("%s: 204 body: got %q, want empty", st.name, r.Body)
			}
		}
		r := e.get(t, pathAdmin+"/s1", e.token(t, superAdmin))
		mustStatus(t, r, http.StatusOK)
		got := mustDecode[envelope[sessionJSON]](t, r).Data
		want := sessionJSON{
			ID: "s1", UserID: "u1", IPAddress: ptr("10.0.0.2"), DeviceType: ptr("unknown"),
			CreatedAt: wt(start), LastActivityAt: ptr(wt(start.Add(4 * time.Minute))), ExpiresAt: wt(start.Add(time.Hour)),
			SSOApps: []appJSON{
				{ApplicationID: "app-1", ApplicationName: "App One", AccessedAt: wt(start.Add(4 * time.Minute))},
				{ApplicationID: "app-2", ApplicationName: "app-2", AccessedAt: wt(start.Add(3 * time.Minute))},
			},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("session after activity (-want +got):\n%s", diff)
		}
		r = e.get(t, pathTenant("T1"), e.token(t, superAdmin))
		items := mustDecode[envelope[[]listItemJSON]](t, r).Data
		if len(items) != 1 || items[0].AppCount != 2 || items[0].LastActivityAt == nil || *items[0].LastActivityAt != wt(start.Add(4*time.Minute)) {
			t.Errorf("list item after activity: got %+v, want app_count 2 and last_activity_at %s", items, wt(start.Add(4*time.Minute)))
		}
	})
}

func TestInternalActivityErrors(t *testing.T) {
	cases := []struct {
		name, id string
		body     any
		status   int
		typ      string
		loc      []any
	}{
		{"unknown session", "nope", nil, http.StatusNotFound, "", nil},
		{"revoked session", "gone", nil, http.StatusNotFound, "", nil},
		{"malformed id", "a.b", nil, http.StatusUnprocessableEntity, "string_pattern_mismatch", []any{"path", "session_id"}},
		{"name without id", "s1", map[string]any{"application_name": "x"}, http.StatusUnprocessableEntity, "missing", []any{"body", "application_id"}},
		{"bad ip", "s1", map[string]any{"ip_address": "300.1.1.1"}, http.StatusUnprocessableEntity, "ip_any_address", []any{"body", "ip_address"}},
		{"app id not a string", "s1", map[string]any{"application_id": 1}, http.StatusUnprocessableEntity, "string_type", []any{"body", "application_id"}},
		{"malformed json", "s1", `{"application_id":`, http.StatusUnprocessableEntity, "json_invalid", []any{"body", 18}},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.mustCreate(t, sess{"id": "s1", "user_id": "u1", "tenant_id": "T1"})
		e.mustCreate(t, sess{"id": "gone", "user_id": "u1", "tenant_id": "T1"})
		mustStatus(t, e.del(t, pathAdmin+"/gone", e.token(t, superAdmin)), http.StatusNoContent)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := mustSnapshot(t, e.rdb)
				r := e.post(t, pathInternal+"/"+tc.id+"/activity", e.token(t, serviceWrite), tc.body)
				if tc.loc != nil {
					mustValidationAt(t, r, tc.typ, tc.loc...)
				} else {
					mustDetail(t, r, tc.status)
				}
				mustUnchanged(t, e.rdb, before)
			})
		}
	})
}
