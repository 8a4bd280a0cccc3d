package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
		want   identity
	}{
		{
			name:   "identity from the gateway",
			header: map[string]string{"X-Session-Id": "s1", "X-User-Id": "alice", "X-Tenant-Id": "t1", "X-Partner-Id": "p1"},
			status: http.StatusOK,
			want:   identity{Greeting: "hello alice, your session is live", SessionID: "s1", UserID: "alice", TenantID: "t1", PartnerID: "p1"},
		},
		{name: "no identity", status: http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			handler(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status != http.StatusOK {
				return
			}
			var got identity
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
