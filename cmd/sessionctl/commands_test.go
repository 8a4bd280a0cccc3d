package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/client"
)

// decode decodes a run's JSON stdout into v.
func decode[T any](tb testing.TB, r result) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		tb.Fatalf("stdout is not the JSON wanted: %v\n%s", err, r.stdout)
	}
	return v
}

// tableRows splits a table into its header's columns and its rows' lines,
// and checks that every row's cells start where the header's do.
func tableRows(tb testing.TB, out string) (header []string, rows []string) {
	tb.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	header = strings.Fields(lines[0])
	var starts []int
	for i := 0; i < len(lines[0]); i++ {
		if lines[0][i] != ' ' && (i == 0 || lines[0][i-1] == ' ') {
			starts = append(starts, i)
		}
	}
	for _, l := range lines[1:] {
		for _, s := range starts {
			if s >= len(l) || l[s] == ' ' || (s > 0 && l[s-1] != ' ') {
				tb.Errorf("row %q is not aligned with header %q", l, lines[0])
			}
		}
	}
	return header, lines[1:]
}

func ids(items []client.SessionListItem) []string {
	var out []string
	for _, s := range items {
		out = append(out, s.ID)
	}
	return out
}

func TestGet(t *testing.T) {
	t.Parallel()
	tenant := uniq("acme")
	s := mustCreate(t, tenant, "", uniq("dave"), 1)[0]
	if err := srv.service.RecordActivity(context.Background(), s.ID, client.Activity{ApplicationID: "crm", ApplicationName: "CRM"}); err != nil {
		t.Fatal(err)
	}
	want, err := srv.admin.GetSession(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}

	r := mustOK(t, sessionctl(t, "get", s.ID, "-o", "json"))
	if diff := cmp.Diff(want, decode[client.Session](t, r)); diff != "" {
		t.Errorf("get -o json (-api +cli):\n%s", diff)
	}
	raw := decode[map[string]any](t, r)
	for _, k := range []string{"location", "user_display_name"} {
		if v, ok := raw[k]; !ok || v != nil {
			t.Errorf("got %s = %v, want null as the API has it", k, v)
		}
	}

	r = mustOK(t, sessionctl(t, "get", s.ID))
	for _, line := range []string{"ID             " + s.ID, "USER           " + s.UserID, "EMAIL          " + s.UserEmail,
		"LOCATION       -", "APPS           1", "APP ID  APP NAME  ACCESSED", "crm     CRM       "} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("got\n%s\nwant a line %q", r.stdout, line)
		}
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	tenant := uniq("acme")
	mustCreate(t, tenant, "", uniq("judy"), 2)
	mustCreate(t, tenant, "", uniq("ken"), 1)
	want, err := srv.admin.TenantStats(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}

	r := mustOK(t, sessionctl(t, "stats", tenant, "-o", "json"))
	if diff := cmp.Diff(want, decode[client.Stats](t, r), cmpopts.IgnoreFields(client.Stats{}, "GeneratedAt")); diff != "" {
		t.Errorf("stats -o json (-api +cli):\n%s", diff)
	}

	r = mustOK(t, sessionctl(t, "stats", tenant))
	for _, line := range []string{"TENANT            " + tenant, "ACTIVE SESSIONS   3", "ACTIVE USERS      2",
		"DEVICE desktop    3", "DEVICE mobile     0", "CREATED LAST 24H  3", "REVOKED LAST 24H  0"} {
		if !strings.Contains(r.stdout, line+"\n") {
			t.Errorf("got\n%s\nwant a line %q", r.stdout, line)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		r := mustOK(t, sessionctlEnv(t, env(), args...))
		if r.stdout != usage {
			t.Errorf("%v: got %q, want the usage", args, r.stdout)
		}
	}
	for name, cmd := range commands {
		for _, args := range [][]string{{"help", name}, {name, "-h"}, {name, "--help"}} {
			r := mustOK(t, sessionctl(t, args...))
			if r.stdout != cmd.usage {
				t.Errorf("%v: got %q, want the command's usage", args, r.stdout)
			}
		}
	}
	if r := sessionctlEnv(t, env()); r.code != exitUsage || r.stderr != usage {
		t.Errorf("no command: got %d %q, want %d and the usage on stderr", r.code, r.stderr, exitUsage)
	}
	for _, want := range []string{"0    success", "2    bad input", "3    not found", "4    denied", "5    sessiond unavailable", "6    conflict"} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage does not document exit code %q", want)
		}
	}

	// version needs no server.
	r := mustOK(t, sessionctlEnv(t, env("SESSIOND_URL", testserver.ClosedURL(t)), "version"))
	if !strings.HasPrefix(r.stdout, "sessionctl dev (commit ") {
		t.Errorf("got %q, want sessionctl dev (commit …)", r.stdout)
	}
	r = mustOK(t, sessionctl(t, "version", "-o", "json"))
	if bi := decode[buildInfo](t, r); bi.Version != "dev" || bi.Go == "" {
		t.Errorf("got %+v, want version dev and a Go version", bi)
	}
}

// sorted compares string slices in any order.
var sorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })
