package main

import (
	"strings"
	"testing"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/client"
)

// TestReceivers: a tenant's receivers and, with TENANT -, the platform's
// (a super admin's token) or the partner's (a partner admin's), each apart:
// add, list, failures, redeliver, delete, as tables and as JSON.
func TestReceivers(t *testing.T) {
	t.Parallel()
	tenant := uniq("rc")
	partnerEnv := env("SESSIOND_TOKEN", mint(t, auth.MintOptions{Subject: "pa", Role: auth.RolePartnerAdmin, PartnerID: uniq("p")}))
	cases := []struct {
		name   string
		target string
		getenv func(string) string
	}{
		{"tenant", tenant, env()},
		{"platform", "-", env()},
		{"partner", "-", partnerEnv},
	}
	added := map[string]string{}
	for _, tc := range cases {
		r := mustOK(t, sessionctlEnv(t, tc.getenv, "receivers", "add", tc.target, "--endpoint", "https://rp.example/"+tc.name,
			"--kind", "caep", "--audience", "rp-"+tc.name, "--events", "admin_revoke", "-o", "json"))
		got := decode[client.Receiver](t, r)
		if got.ID == "" || got.URL != "https://rp.example/"+tc.name || got.Audience != "rp-"+tc.name || len(got.Events) != 1 {
			t.Fatalf("%s: added %+v", tc.name, got)
		}
		added[tc.name] = got.ID
	}
	for _, tc := range cases {
		list := decode[[]client.Receiver](t, mustOK(t, sessionctlEnv(t, tc.getenv, "receivers", "list", tc.target, "-o", "json")))
		if len(list) != 1 || list[0].ID != added[tc.name] {
			t.Errorf("%s: list %+v, want only its own %s", tc.name, list, added[tc.name])
		}
		header, rows := tableRows(t, mustOK(t, sessionctlEnv(t, tc.getenv, "receivers", "list", tc.target)).stdout)
		if len(rows) != 1 || header[0] != "ID" || !strings.HasPrefix(rows[0], added[tc.name]) {
			t.Errorf("%s: table %v %q", tc.name, header, rows)
		}
		r := mustOK(t, sessionctlEnv(t, tc.getenv, "receivers", "failures", tc.target, added[tc.name]))
		if !strings.HasPrefix(r.stdout, "AT") {
			t.Errorf("%s: failures %q", tc.name, r.stdout)
		}
		r = mustOK(t, sessionctlEnv(t, tc.getenv, "receivers", "redeliver", tc.target, added[tc.name]))
		if !strings.Contains(r.stdout, "DELIVERED") {
			t.Errorf("%s: redeliver %q", tc.name, r.stdout)
		}
	}
	for _, tc := range cases {
		mustOK(t, sessionctlEnv(t, tc.getenv, "receivers", "delete", tc.target, added[tc.name]))
		if r := sessionctlEnv(t, tc.getenv, "receivers", "delete", tc.target, added[tc.name]); r.code == 0 {
			t.Errorf("%s: deleting twice succeeded", tc.name)
		}
	}
	if r := sessionctl(t, "receivers", "list"); r.code == 0 || !strings.Contains(r.stderr, "receivers list|add TENANT") {
		t.Errorf("a list without TENANT: %d %q", r.code, r.stderr)
	}
}
