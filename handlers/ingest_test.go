package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/sessiond/sessiond/pkg/auth"
)

func TestInternalCreate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		exp := e.now.Add(3*time.Hour + 678*time.Millisecond)
		r := e.do(t, req{Method: "POST", Path: pathInternal, Token: e.token(t, serviceWrite), Body: map[string]any(fullSession(exp)),
			Header: map[string]string{"X-Request-ID": "create-1"}})
		mustStatus(t, r, http.StatusCreated)
		mustBody(t, r, fullSessionBody(e.now, exp, false, "create-1"))

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

// TestInternalCreateConflict checks that a create whose id is taken answers
// 409 and changes nothing in Redis, and that one naming a tenant of another
// partner answers 409 and leaves every session, index, pointer and counter
// as it was (the membership sets are left out here: see
// TestPartnerMismatchChangesNothing).
func TestInternalCreateConflict(t *testing.T) {
	cases := []struct {
		name     string
		body     sess
		withSets bool
	}{
		{"same id, same tenant", sess{"id": "dup", "user_id": "u1", "tenant_id": "T1", "ttl_seconds": 60}, true},
		{"same id, same tenant, longer", sess{"id": "dup", "user_id": "u1", "tenant_id": "T1", "ttl_seconds": 7200}, true},
		{"same id, other user and tenant", sess{"id": "dup", "user_id": "u2", "tenant_id": "T2", "partner_id": "P2", "ttl_seconds": 60}, true},
		{"same id as a session of another tenant", sess{"id": "other", "user_id": "u1", "tenant_id": "T1", "ttl_seconds": 60}, true},
		{"tenant of another partner", partnerMismatch, false},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.mustCreate(t, sess{"id": "dup", "user_id": "u1", "tenant_id": "T1", "partner_id": "P1"})
		e.mustCreate(t, sess{"id": "other", "user_id": "u3", "tenant_id": "T2", "partner_id": "P2"})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				skip := []string{"ut:", "pt:", "tn:"}
				if tc.withSets {
					skip = nil
				}
				before := mustSnapshot(t, e.rdb).without(skip...)
				r := e.post(t, pathInternal, e.token(t, serviceWrite), map[string]any(tc.body))
				mustDetail(t, r, http.StatusConflict)
				if diff := cmp.Diff(before, mustSnapshot(t, e.rdb).without(skip...)); diff != "" {
					t.Errorf("Redis changed (-before +after):\n%s", diff)
				}
			})
		}
	})
}

var partnerMismatch = sess{"id": "new", "user_id": "u9", "tenant_id": "T1", "partner_id": "P2", "ttl_seconds": 60}

// TestPartnerMismatchChangesNothing fails while
// redisstore.Store.Create writes the user-tenants set ut:{u:U}, the
// partner-tenants set pt:{p:P} and the tenants zset tn:{#g} before create.lua
// finds that the tenant belongs to another partner: the refused create
// (409) still records tenant T1 under partner P2 and user u9, and raises
// T1's score in tn:{#g}. Bad input changes nothing in Redis.
func TestPartnerMismatchChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.mustCreate(t, sess{"id": "dup", "user_id": "u1", "tenant_id": "T1", "partner_id": "P1"})
		e.mustCreate(t, sess{"id": "other", "user_id": "u3", "tenant_id": "T2", "partner_id": "P2"})
		before := mustSnapshot(t, e.rdb)
		r := e.post(t, pathInternal, e.token(t, serviceWrite), map[string]any(partnerMismatch))
		mustDetail(t, r, http.StatusConflict)
		mustUnchanged(t, e.rdb, before)
	})
}

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

// TestIPZone: an IPv6 zone is kept only when it can be an interface name or
// index; free text after '%' is refused on create and on activity.
func TestIPZone(t *testing.T) {
	e := newEnv(t, backends[0])
	e.seedWorld(t)
	svc := e.token(t, serviceWrite)
	cases := []struct {
		ip string
		ok bool
	}{
		{"fe80::1%eth0", true},
		{"fe80::1%3", true},
		{"fe80::1%enp0s31f6.100", true},
		{"fe80::1%<script>alert(1)</script>", false},
		{"fe80::1%\r\n<b>", false},
		{"fe80::1%a b", false},
		{"fe80::1%0123456789abcdef", false}, // 16 bytes
		{"fe80::1%é", false},
		{"192.0.2.1", true},
	}
	for _, tc := range cases {
		t.Run(tc.ip, func(t *testing.T) {
			create := e.post(t, pathInternal, svc, map[string]any{"user_id": "u9", "tenant_id": "T1", "ttl_seconds": 60, "ip_address": tc.ip})
			activity := e.post(t, pathInternal+"/t1-u2/activity", svc, map[string]any{"ip_address": tc.ip})
			if !tc.ok {
				mustValidationAt(t, create, "ip_any_address", "body", "ip_address")
				mustValidationAt(t, activity, "ip_any_address", "body", "ip_address")
				return
			}
			mustStatus(t, create, http.StatusCreated)
			mustStatus(t, activity, http.StatusNoContent)
			if got := mustDecode[envelope[sessionJSON]](t, create).Data.IPAddress; got == nil || *got != tc.ip {
				t.Errorf("stored ip: got %v, want %q", got, tc.ip)
			}
		})
	}
}

// TestEventsEscapeStoredText: a revocation whose actor holds line breaks and
// terminal escapes is one SSE data line of JSON with those escaped: nothing
// a follower reads can forge another event or reach a terminal raw.
func TestEventsEscapeStoredText(t *testing.T) {
	e := newEnvWith(t, backends[0].client(t), envConfig{events: true})
	e.seedWorld(t)
	url := e.serve(t)
	s := follow(t, url, e.token(t, serviceRead), "")
	actor := "root\r\n\r\nevent: session.revoked\ndata: {}\x1b]0;x\x07"
	evil := e.token(t, auth.MintOptions{Subject: actor, Role: auth.RoleSuperAdmin})
	mustStatus(t, e.del(t, pathAdmin+"/t1-u2", evil), http.StatusNoContent)
	ev := s.next(t)
	if strings.ContainsAny(ev.data, "\r\n\x1b\x07") {
		t.Errorf("event data holds raw control characters: %q", ev.data)
	}
	if got := decodeEvent(t, ev); got.Actor != actor || got.SessionID != "t1-u2" {
		t.Errorf("event: actor %q session %q, want %q and t1-u2", got.Actor, got.SessionID, actor)
	}
}
