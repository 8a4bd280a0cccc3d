package metrics_test

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessiond/sessiond/pkg/metrics"
)

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *metrics.Metrics
	m.ObserveRequest("/x", "GET", 200, time.Millisecond)
	m.InFlight(1)
	m.ObserveRedis("get", time.Millisecond, true)
	m.Revoked("admin_revoke", 3)
	m.EventDelivered(time.Millisecond)
	m.Swept(nil, 5)
}

func TestMetricsExposition(t *testing.T) {
	m := metrics.New("v9.9.9")
	m.ObserveRequest("/api/v1/admin/sessions", "GET", 200, 3*time.Millisecond)
	m.ObserveRequest("/api/v1/admin/sessions", "GET", 200, 4*time.Millisecond)
	m.ObserveRequest("unmatched", "GET", 404, time.Millisecond)
	m.InFlight(2)
	m.InFlight(-1)
	m.ObserveRedis("evalsha", time.Millisecond, false)
	m.ObserveRedis("get", time.Millisecond, true)
	m.Revoked("tenant_revoke_all", 1000)
	m.Revoked("admin_revoke", 0)
	m.EventDelivered(2 * time.Millisecond)
	m.Swept(nil, 42)
	m.Swept(errors.New("down"), 0)
	m.Followers(func() int { return 3 })
	m.Pool(func() metrics.PoolStats { return metrics.PoolStats{Hits: 7, Misses: 2, TotalConns: 5, IdleConns: 4} })

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	out := string(body)
	for _, want := range []string{
		`sessiond_http_requests_total{method="GET",route="/api/v1/admin/sessions",status="200"} 2`,
		`sessiond_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`sessiond_http_request_duration_seconds_count{method="GET",route="/api/v1/admin/sessions"} 2`,
		`sessiond_http_requests_in_flight 1`,
		`sessiond_redis_command_duration_seconds_count{command="evalsha"} 1`,
		`sessiond_redis_errors_total{command="get"} 1`,
		`sessiond_revocations_total{reason="tenant_revoke_all"} 1000`,
		`sessiond_event_delivery_lag_seconds_count 1`,
		`sessiond_sweeps_total{result="ok"} 1`,
		`sessiond_sweeps_total{result="error"} 1`,
		`sessiond_sweep_pruned_total 42`,
		`sessiond_event_followers 3`,
		`sessiond_redis_pool_hits_total 7`,
		`sessiond_redis_pool_connections{state="idle"} 4`,
		`sessiond_build_info{goversion="`,
		`version="v9.9.9"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if strings.Contains(out, `reason="admin_revoke"`) {
		t.Errorf("a revocation of 0 sessions created a series")
	}
	if n := testutil.CollectAndCount(m.Registry(), "sessiond_http_requests_total"); n != 2 {
		t.Errorf("request series: got %d, want 2", n)
	}
}

// TestObserveRequestBoundsMethod: a client picks its method freely; only the
// standard methods become label values, anything else is OTHER.
func TestObserveRequestBoundsMethod(t *testing.T) {
	m := metrics.New("test")
	for _, method := range []string{"GET", "PROPFIND", "X-RANDOM-1", "X-RANDOM-2", "get"} {
		m.ObserveRequest("unmatched", method, 405, time.Millisecond)
	}
	out := exposition(t, m)
	for _, want := range []string{
		`sessiond_http_requests_total{method="GET",route="unmatched",status="405"} 1`,
		`sessiond_http_requests_total{method="OTHER",route="unmatched",status="405"} 4`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if n := testutil.CollectAndCount(m.Registry(), "sessiond_http_requests_total"); n != 2 {
		t.Errorf("request series: got %d, want 2", n)
	}
}

// TestObserveAllocatesNothing: after a label set's first use, recording a
// request or a Redis command allocates nothing (the children are resolved
// once, the status is not formatted again).
func TestObserveAllocatesNothing(t *testing.T) {
	m := metrics.New("test")
	tests := []struct {
		name string
		f    func()
	}{
		{"request", func() { m.ObserveRequest("/api/v1/auth/verify", "GET", 200, time.Millisecond) }},
		{"redis", func() { m.ObserveRedis("hgetall", time.Millisecond, false) }},
		{"in flight", func() { m.InFlight(1); m.InFlight(-1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.f()
			if got := testing.AllocsPerRun(100, tc.f); got != 0 {
				t.Errorf("got %v allocations, want 0", got)
			}
		})
	}
}

func exposition(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}
