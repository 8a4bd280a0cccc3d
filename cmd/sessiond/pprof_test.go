package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/pkg/config"
)

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

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

// TestServePprofListenError: a pprof address in use fails the start, naming
// the variable, and leaves the API port free.
func TestServePprofListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := quietConfig()
	cfg.Addr = freeAddr(t)
	cfg.PprofAddr = ln.Addr().String()
	err = serve(context.Background(), cfg, &syncBuffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), config.EnvPprofAddr) {
		t.Fatalf("got error %v, want one naming %s", err, config.EnvPprofAddr)
	}
	waitClosed(t, cfg.Addr)
}
