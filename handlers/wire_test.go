package handlers_test

import (
	"net/http"
	"testing"

	"github.com/sessiond/sessiond/pkg/auth"
)

// TestRevokeResponseShapes checks the exact body of every bulk revocation:
// {data: {revoked_count, session_ids}, meta}, with an empty list (not null)
// when nothing was revoked.
func TestRevokeResponseShapes(t *testing.T) {
	cases := []struct {
		name, path string
		caller     auth.MintOptions
		body       any
		want       string
	}{
		{"admin revoke-all", pathAdmin + "/revoke-all", superAdmin, map[string]any{"user_id": "u3"},
			`{"data":{"revoked_count":1,"session_ids":["t2-u3"]},"meta":{"request_id":"rv-1","timestamp":"<ts>"}}`},
		{"admin revoke-all nothing", pathAdmin + "/revoke-all", superAdmin, map[string]any{"user_id": "nobody"},
			`{"data":{"revoked_count":0,"session_ids":[]},"meta":{"request_id":"rv-1","timestamp":"<ts>"}}`},
		{"admin revoke-all out of reach", pathAdmin + "/revoke-all", tenantAdmin, map[string]any{"tenant_id": "T3"},
			`{"data":{"revoked_count":0,"session_ids":[]},"meta":{"request_id":"rv-1","timestamp":"<ts>"}}`},
		{"tenant revoke-all", pathTenant("T3") + "/revoke-all", superAdmin, nil,
			`{"data":{"revoked_count":1,"session_ids":["t3-u4"]},"meta":{"request_id":"rv-1","timestamp":"<ts>"}}`},
		{"tenant user revoke", pathTenant("T1") + "/users/u2/revoke", tenantAdmin, map[string]any{"session_ids": []string{"t1-u2"}},
			`{"data":{"revoked_count":1,"session_ids":["t1-u2"]},"meta":{"request_id":"rv-1","timestamp":"<ts>"}}`},
		{"me revoke-all", pathMe + "/revoke-all", userU1, nil,
			`{"data":{"revoked_count":1,"session_ids":["t1-u1-b"]},"meta":{"request_id":"rv-1","timestamp":"<ts>"}}`},
		{"me revoke-all nothing", pathMe + "/revoke-all", auth.MintOptions{Subject: "nobody"}, nil,
			`{"data":{"revoked_count":0,"session_ids":[]},"meta":{"request_id":"rv-1","timestamp":"<ts>"}}`},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, b)
				e.seedWorld(t)
				r := e.do(t, req{Method: "POST", Path: tc.path, Token: e.token(t, tc.caller), Body: tc.body,
					Header: map[string]string{"X-Request-ID": "rv-1"}})
				mustStatus(t, r, http.StatusOK)
				mustBody(t, r, tc.want)
			})
		}
	})
}
