package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestRequestID(t *testing.T) {
	sane128 := strings.Repeat("a", 128)
	cases := []struct {
		name, sent string
		echoed     bool
	}{
		{"simple", "req-123", true},
		{"every allowed character", "AZaz09._-", true},
		{"128 characters", sane128, true},
		{"129 characters", sane128 + "a", false},
		{"space", "req 123", false},
		{"slash", "req/123", false},
		{"colon", "req:123", false},
		{"non-ascii", "réq", false},
		{"newline injection", "a\\nb", false},
		{"empty", "", false},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.seedWorld(t)
		paths := []struct {
			name, method, path, token string
			envelope                  bool
		}{
			{"list", "GET", pathAdmin, e.token(t, superAdmin), true},
			{"get", "GET", pathAdmin + "/t1-u2", e.token(t, superAdmin), true},
			{"stats", "GET", pathTenant("T1") + "/stats", e.token(t, superAdmin), true},
			{"me", "GET", pathMe, e.token(t, userU1), true},
			{"401", "GET", pathAdmin, "", false},
			{"404", "GET", pathAdmin + "/nope", e.token(t, superAdmin), false},
			{"healthz", "GET", "/healthz", "", false},
		}
		for _, tc := range cases {
			for _, p := range paths {
				t.Run(tc.name+"/"+p.name, func(t *testing.T) {
					h := map[string]string{}
					if tc.sent != "" {
						h["X-Request-ID"] = tc.sent
					}
					r := e.do(t, req{Method: p.method, Path: p.path, Token: p.token, Header: h})
					got := r.Header.Get("X-Request-ID")
					if tc.echoed {
						if got != tc.sent {
							t.Errorf("X-Request-ID: got %q, want %q", got, tc.sent)
						}
					} else if u, err := uuid.Parse(got); err != nil || got != u.String() {
						t.Errorf("X-Request-ID: got %q, want a new UUID instead of %q", got, tc.sent)
					}
					if p.envelope {
						mustStatus(t, r, http.StatusOK)
						env := mustDecode[envelope[any]](t, r)
						if env.Meta.RequestID != got {
							t.Errorf("meta.request_id: got %q, want the header's %q", env.Meta.RequestID, got)
						}
						mustWireTime(t, "meta.timestamp", env.Meta.Timestamp)
					}
				})
			}
		}
		t.Run("fresh id per request", func(t *testing.T) {
			a := e.get(t, "/healthz", "").Header.Get("X-Request-ID")
			b := e.get(t, "/healthz", "").Header.Get("X-Request-ID")
			if a == b {
				t.Errorf("X-Request-ID: got %q twice, want a new one per request", a)
			}
		})
	})
}

func TestHealth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		for _, path := range []string{"/healthz", "/readyz"} {
			t.Run(path, func(t *testing.T) {
				r := e.get(t, path, "")
				mustStatus(t, r, http.StatusOK)
				mustBody(t, r, `{"status":"ok"}`)
			})
		}
	})
}

// TestTrailingSlash checks that both spellings of the admin list answer 200
// with the same body, and that nothing redirects.
func TestTrailingSlash(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.seedWorld(t)
		tok := e.token(t, superAdmin)
		var bodies []string
		for _, path := range []string{pathAdmin, pathAdmin + "/"} {
			r := e.do(t, req{Method: "GET", Path: path, Token: tok, Header: map[string]string{"X-Request-ID": "same"}})
			mustStatus(t, r, http.StatusOK)
			if loc := r.Header.Get("Location"); loc != "" {
				t.Errorf("%s: Location: got %q, want none", path, loc)
			}
			env := mustDecode[envelope[[]listItemJSON]](t, r)
			if len(env.Data) != len(world) {
				t.Errorf("%s: got %d sessions, want %d", path, len(env.Data), len(world))
			}
			bodies = append(bodies, strings.Join(ids(env.Data), ","))
		}
		if bodies[0] != bodies[1] {
			t.Errorf("lists differ: got %q and %q, want the same", bodies[0], bodies[1])
		}
		// Other routes keep their one spelling.
		mustDetail(t, e.get(t, pathMe+"/", e.token(t, userU1)), http.StatusNotFound)
	})
}
