package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// newVerifyBench is an env holding one browser session of u1, "bench", and
// the Authorization header of its user.
func newVerifyBench(b *testing.B) (*env, string) {
	b.Helper()
	e := newEnvWith(b, realRedis.NewClient(b), envConfig{})
	e.mustCreate(b, sess{"id": "bench", "user_id": "u1", "tenant_id": "T1", "partner_id": "P1",
		"user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.3"})
	u := userU1
	u.SessionID = "bench"
	return e, "Bearer " + e.token(b, u)
}

// BenchmarkVerifyHandler is the forward-auth hot path through the real router
// against the real redis-server: token check (cached after the first call),
// one HGETALL, the identity headers.
func BenchmarkVerifyHandler(b *testing.B) {
	e, tok := newVerifyBench(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest(http.MethodGet, pathVerify, nil)
		r.Header.Set("Authorization", tok)
		w := httptest.NewRecorder()
		e.router.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkVerifyRouter is BenchmarkVerifyHandler without the test harness's
// own allocations (a new httptest request and recorder per call): one request
// reused, a fresh response header map per call as net/http gives each
// request. Its allocs/op are those of the router, the handler, go-redis and
// the store.
func BenchmarkVerifyRouter(b *testing.B) {
	e, tok := newVerifyBench(b)
	r := httptest.NewRequest(http.MethodGet, pathVerify, nil)
	r.Header.Set("Authorization", tok)
	w := &headerWriter{}
	b.ReportAllocs()
	for b.Loop() {
		w.h, w.code = make(http.Header), 0
		e.router.ServeHTTP(w, r)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

// headerWriter keeps the status and headers of a response and drops its body.
type headerWriter struct {
	h    http.Header
	code int
}

func (w *headerWriter) Header() http.Header { return w.h }
func (w *headerWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *headerWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}
