package testserver

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// WaitFor polls cond every few milliseconds until it holds, and fails the
// test after 10 seconds, naming what it waited for.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ClosedURL is a loopback URL nobody listens on.
func ClosedURL(tb testing.TB) string {
	tb.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}
