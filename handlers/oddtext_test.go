package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/pkg/auth"
)

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
