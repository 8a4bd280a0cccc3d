package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/pkg/metrics"
)

// TestMetricsEndpoint: /metrics counts requests by route template and
// revocations by reason, and no label carries an id or a token.
func TestMetricsEndpoint(t *testing.T) {
	m := metrics.New("test")
	e := newEnvWith(t, realRedis.NewClient(t), envConfig{metrics: m})
	e.seedWorld(t)
	admin := e.token(t, superAdmin)
	mustStatus(t, e.get(t, pathAdmin+"/t1-u1-a", admin), http.StatusOK)
	mustStatus(t, e.get(t, pathAdmin+"/nope", admin), http.StatusNotFound)
	mustStatus(t, e.del(t, pathAdmin+"/t1-u1-b", admin), http.StatusNoContent)
	mustStatus(t, e.post(t, pathTenant("T2")+"/revoke-all", admin, nil), http.StatusOK)
	mustStatus(t, e.get(t, "/no/such/route", ""), http.StatusNotFound)

	r := e.get(t, "/metrics", "")
	mustStatus(t, r, http.StatusOK)
	out := string(r.Body)
	for _, want := range []string{
		`sessiond_http_requests_total{method="GET",route="/api/v1/admin/sessions/:session_id",status="200"} 1`,
		`sessiond_http_requests_total{method="GET",route="/api/v1/admin/sessions/:session_id",status="404"} 1`,
		`sessiond_http_requests_total{method="POST",route="/api/v1/internal/sessions",status="201"} 5`,
		`sessiond_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`sessiond_revocations_total{reason="admin_revoke"} 1`,
		`sessiond_revocations_total{reason="tenant_revoke_all"} 1`,
		`sessiond_http_requests_in_flight 1`, // the /metrics request itself
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, leak := range []string{"t1-u1-a", "t1-u1-b", "nope", "u1", "T2", admin} {
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "sessiond_") && strings.Contains(line, `"`+leak+`"`) {
				t.Errorf("a label carries %q: %s", leak, line)
			}
		}
	}
}
