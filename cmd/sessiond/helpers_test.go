package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/config"
)

// testSecret is a valid SESSIOND_JWT_HS256_SECRET (32 bytes).
const testSecret = "0123456789abcdef0123456789abcdef"

// envMap turns a map into the getenv run expects.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// server is a serve() call running in the background.
type server struct {
	addr   string
	base   string
	stdout *testserver.SyncBuffer
	cancel context.CancelFunc
	done   chan error
}

// mustServe starts serve(cfg) and waits until it listens. The server is
// stopped, and its return value checked, when the test ends unless the test
// stopped it itself with stop.
func mustServe(tb testing.TB, cfg config.Config) *server {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: &testserver.SyncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() { s.done <- serve(ctx, cfg, s.stdout, ready) }()
	select {
	case s.addr = <-ready:
	case err := <-s.done:
		cancel()
		tb.Fatalf("serve returned before listening: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatal("serve did not report its address within 30s")
	}
	s.base = "http://" + s.addr
	tb.Cleanup(func() {
		s.cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			tb.Errorf("serve did not return within 30s of its context ending")
		}
	})
	return s
}

// stop cancels serve's context and returns what serve returned.
func (s *server) stop(tb testing.TB) error {
	tb.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		tb.Fatal("serve did not return within 30s of its context ending")
		return nil
	}
}

// quietConfig is the default configuration listening on a free loopback port
// and logging errors only.
func quietConfig() config.Config {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.LogLevel = "error"
	return cfg
}

// response is a decoded JSON answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// mustDo sends one request and decodes a JSON answer (an empty body decodes
// to a nil map).
func mustDo(tb testing.TB, method, url, token string, body any) response {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, url, err)
	}
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			tb.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, url, err, raw)
		}
	}
	return r
}

// wantStatus fails the test when r has another status.
func (r response) wantStatus(tb testing.TB, want int) response {
	tb.Helper()
	if r.status != want {
		tb.Fatalf("got status %d, want %d; body: %s", r.status, want, r.raw)
	}
	return r
}

// waitClosed waits until nothing accepts connections on addr.
func waitClosed(tb testing.TB, addr string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			if isRefused(err) {
				return
			}
		} else {
			_ = c.Close()
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s still accepts connections (last dial error: %v)", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(err.Error(), "refused")
}

// field walks decoded JSON: field(m, "data", "pagination", "total_items").
func field(tb testing.TB, v any, path ...string) any {
	tb.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			tb.Fatalf("at %q: got %T, want an object", p, v)
		}
		if v, ok = m[p]; !ok {
			tb.Fatalf("no field %q in %v", p, m)
		}
	}
	return v
}

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
