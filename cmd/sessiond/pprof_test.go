package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServePprof: SESSIOND_PPROF_ADDR serves the profiles on its own
// listener only, never on the API's, and the listener ends with the server.
func TestServePprof(t *testing.T) {
	cfg := quietConfig()
	cfg.PprofAddr = freeAddr(t)
	s := mustServe(t, cfg)
	for _, tc := range []struct {
		name, url string
		want      int
		body      string // substring of the answer
	}{
		{"index on the pprof listener", "http://" + cfg.PprofAddr + "/debug/pprof/", http.StatusOK, "goroutine"},
		{"a named profile", "http://" + cfg.PprofAddr + "/debug/pprof/goroutine?debug=1", http.StatusOK, "goroutine profile"},
		{"short CPU profile", "http://" + cfg.PprofAddr + "/debug/pprof/profile?seconds=1", http.StatusOK, ""},
		{"nothing else on the pprof listener", "http://" + cfg.PprofAddr + "/api/v1/auth/verify", http.StatusNotFound, ""},
		{"not on the API listener", s.base + "/debug/pprof/", http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := http.Get(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != tc.want || !strings.Contains(string(body), tc.body) {
				t.Errorf("status %d, body %.80q; want %d with %q", res.StatusCode, body, tc.want, tc.body)
			}
		})
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}
	waitClosed(t, cfg.PprofAddr)
}
