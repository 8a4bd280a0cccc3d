package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkVerifyHandler is the forward-auth hot path through the real router
// against the real redis-server: token check (cached after the first call),
// one HGETALL, the identity headers.
func BenchmarkVerifyHandler(b *testing.B) {
	e := newEnvWith(b, realRedis.NewClient(b), envConfig{})
	e.mustCreate(b, sess{"id": "bench", "user_id": "u1", "tenant_id": "T1", "partner_id": "P1",
		"user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.3"})
	u := userU1
	u.SessionID = "bench"
	tok := "Bearer " + e.token(b, u)
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
