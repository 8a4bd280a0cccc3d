package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/client"
)

func TestRevoke(t *testing.T) {
	t.Parallel()
	ss := mustCreate(t, uniq("acme"), "", uniq("erin"), 2)

	r := mustOK(t, sessionctl(t, "revoke", ss[0].ID))
	if want := "REVOKED\n" + ss[0].ID + "\n"; r.stdout != want {
		t.Errorf("got %q, want %q", r.stdout, want)
	}
	r = mustOK(t, sessionctl(t, "revoke", ss[1].ID, "--output=json"))
	want := client.RevokeResult{RevokedCount: 1, SessionIDs: []string{ss[1].ID}}
	if diff := cmp.Diff(want, decode[client.RevokeResult](t, r)); diff != "" {
		t.Errorf("revoke -o json (-want +got):\n%s", diff)
	}
	// History keeps the revoked sessions: get shows them as revoked, and
	// revoking one again finds nothing.
	for _, s := range ss {
		got := decode[client.Session](t, mustOK(t, sessionctl(t, "get", s.ID, "-o", "json")))
		if got.Status != "revoked" || got.RevokedBy != "root" || got.RevokeReason != "admin_revoke" || got.EndedAt == nil {
			t.Errorf("get %s after revoke: %+v, want revoked by root", s.ID, got.Ending)
		}
		if r := sessionctl(t, "revoke", s.ID); r.code != exitNotFound {
			t.Errorf("revoke %s again: got exit code %d, want %d", s.ID, r.code, exitNotFound)
		}
	}
}

func TestListAllWithEndedAndAudit(t *testing.T) {
	t.Parallel()
	tenant, ivy := uniq("acme"), uniq("ivy")
	ss := mustCreate(t, tenant, "", ivy, 3)
	mustOK(t, sessionctl(t, "revoke", ss[0].ID))
	mustOK(t, sessionctl(t, "revoke-user", "--tenant", tenant, "--user", ivy))

	// One page: active only (none left); --all: the ended ones too.
	if r := mustOK(t, sessionctl(t, "list", "--tenant", tenant, "-o", "json")); len(decode[[]client.SessionListItem](t, r)) != 0 {
		t.Errorf("list without --all: %s, want no session", r.stdout)
	}
	r := mustOK(t, sessionctl(t, "list", "--tenant", tenant, "--all"))
	header, rows := tableRows(t, r.stdout)
	if !slices.Contains(header, "STATUS") || len(rows) != 3 {
		t.Fatalf("list --all: header %v, %d rows; want STATUS and 3 rows:\n%s", header, len(rows), r.stdout)
	}
	items := decode[[]client.SessionListItem](t, mustOK(t, sessionctl(t, "list", "--tenant", tenant, "--all", "-o", "json")))
	reasons := map[string]string{}
	for _, it := range items {
		reasons[it.ID] = it.Status + " " + it.RevokeReason
	}
	want := map[string]string{ss[0].ID: "revoked admin_revoke", ss[1].ID: "revoked user_revoke_admin", ss[2].ID: "revoked user_revoke_admin"}
	if diff := cmp.Diff(want, reasons); diff != "" {
		t.Errorf("list --all -o json (-want +got):\n%s", diff)
	}

	// The audit: two operations, newest first.
	entries := decode[[]client.AuditEntry](t, mustOK(t, sessionctl(t, "audit", tenant, "-o", "json")))
	if len(entries) != 2 || entries[0].Reason != "user_revoke_admin" || entries[0].RevokedCount != 2 ||
		entries[1].Reason != "admin_revoke" || entries[1].Actor != "root" || entries[1].ActorRole != "super_admin" {
		t.Errorf("audit -o json: %+v", entries)
	}
	r = mustOK(t, sessionctl(t, "audit", tenant))
	header, rows = tableRows(t, r.stdout)
	if diff := cmp.Diff([]string{"AT", "ACTOR", "ROLE", "REASON", "TARGET", "COUNT", "SESSIONS"}, header); diff != "" || len(rows) != 2 {
		t.Errorf("audit table: header (-want +got):\n%s\nrows %v", diff, rows)
	}
	if !strings.Contains(r.stderr, "page 1 of 1 (2 revocations") {
		t.Errorf("audit stderr: %q", r.stderr)
	}
}

func TestRevokeUser(t *testing.T) {
	t.Parallel()
	tenant, frank, grace := uniq("acme"), uniq("frank"), uniq("grace")
	fs := mustCreate(t, tenant, "", frank, 3)
	gs := mustCreate(t, tenant, "", grace, 3)

	r := mustOK(t, sessionctl(t, "revoke-user", "--tenant", tenant, "--user", frank))
	header, rows := tableRows(t, r.stdout)
	if diff := cmp.Diff([]string{"REVOKED"}, header); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	wantIDs := []string{fs[0].ID, fs[1].ID, fs[2].ID}
	if diff := cmp.Diff(wantIDs, rows, sorted); diff != "" {
		t.Errorf("revoked ids (-want +got):\n%s", diff)
	}
	wantSummary := "revoked 3 sessions of user " + frank + " in tenant " + tenant + " in "
	if !strings.HasPrefix(r.stderr, wantSummary) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("got stderr %q, want one line %q…", r.stderr, wantSummary)
	}

	// Only the listed ids, in JSON; another user's id is ignored.
	r = mustOK(t, sessionctl(t, "revoke-user", "--tenant", tenant, "--user", grace, "--ids", gs[0].ID+","+gs[1].ID+","+fs[0].ID, "-o", "json"))
	got := decode[client.RevokeResult](t, r)
	want := client.RevokeResult{RevokedCount: 2, SessionIDs: []string{gs[0].ID, gs[1].ID}}
	if diff := cmp.Diff(want, got, sorted); diff != "" {
		t.Errorf("revoke-user --ids (-want +got):\n%s", diff)
	}
	left, err := srv.admin.ListSessions(context.Background(), client.AdminFilter{TenantID: tenant}, client.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{gs[2].ID}, ids(left.Sessions)); diff != "" {
		t.Errorf("sessions left (-want +got):\n%s", diff)
	}

	// --except-current=false is accepted (an admin token has no session).
	r = mustOK(t, sessionctl(t, "revoke-user", "--tenant", tenant, "--user", grace, "--except-current=false", "-o", "json"))
	if got := decode[client.RevokeResult](t, r); got.RevokedCount != 1 {
		t.Errorf("got %+v, want the last session revoked", got)
	}

	// A terminal sees a spinner, then the summary.
	mustCreate(t, tenant, "", frank, 1)
	r = mustOK(t, sessionctlConsole(t, context.Background(), console{errTTY: true}, "revoke-user", "--tenant", tenant, "--user", frank))
	if !strings.HasPrefix(r.stderr, "\r") || !strings.Contains(r.stderr, " revoking sessions of user "+frank) ||
		!strings.Contains(r.stderr, "\r\x1b[Krevoked 1 session of user") {
		t.Errorf("got stderr %q, want a spinner and a summary", r.stderr)
	}
}

func TestRevokeTenant(t *testing.T) {
	t.Parallel()
	tenant := uniq("acme")
	ss := mustCreate(t, tenant, "", uniq("heidi"), 2)
	count := func() int {
		t.Helper()
		pg, err := srv.admin.ListSessions(context.Background(), client.AdminFilter{TenantID: tenant}, client.Page{})
		if err != nil {
			t.Fatal(err)
		}
		return len(pg.Sessions)
	}

	// The test binary's stdin is not a terminal: refused without --yes.
	r := sessionctl(t, "revoke-tenant", tenant)
	if r.code != exitUsage || !strings.Contains(r.stderr, "stdin is not a terminal; pass --yes") {
		t.Errorf("got %d %q, want %d and a refusal", r.code, r.stderr, exitUsage)
	}
	if r.stdout != "" || count() != 2 {
		t.Errorf("a refused revoke-tenant revoked something (stdout %q)", r.stdout)
	}

	// On a terminal it asks; anything but yes aborts.
	for _, answer := range []string{"n\n", "\n", ""} {
		r = sessionctlConsole(t, context.Background(), console{in: strings.NewReader(answer), inTTY: true}, "revoke-tenant", tenant)
		if r.code != exitError || !strings.Contains(r.stderr, `Revoke all 2 active sessions of tenant "`+tenant+`"? Users will have to log in again. [y/N] `) ||
			!strings.Contains(r.stderr, "aborted") {
			t.Errorf("answer %q: got %d %q, want %d, the question and aborted", answer, r.code, r.stderr, exitError)
		}
	}
	if count() != 2 {
		t.Fatalf("a declined revoke-tenant revoked something")
	}
	r = mustOK(t, sessionctlConsole(t, context.Background(), console{in: strings.NewReader("yes\n"), inTTY: true}, "revoke-tenant", tenant, "-o", "json"))
	got := decode[client.RevokeResult](t, r)
	want := client.RevokeResult{RevokedCount: 2, SessionIDs: []string{ss[0].ID, ss[1].ID}}
	if diff := cmp.Diff(want, got, sorted); diff != "" {
		t.Errorf("revoke-tenant after yes (-want +got):\n%s", diff)
	}

	// --yes, after the tenant, does not ask.
	ss = mustCreate(t, tenant, "", uniq("ivan"), 2)
	r = mustOK(t, sessionctl(t, "revoke-tenant", tenant, "--yes"))
	_, rows := tableRows(t, r.stdout)
	if diff := cmp.Diff([]string{ss[0].ID, ss[1].ID}, rows, sorted); diff != "" {
		t.Errorf("revoke-tenant --yes (-want +got):\n%s", diff)
	}
	if want := "revoked 2 sessions of tenant " + tenant + " in "; !strings.HasPrefix(r.stderr, want) || strings.Contains(r.stderr, "[y/N]") {
		t.Errorf("got stderr %q, want %q… and no question", r.stderr, want)
	}
	if count() != 0 {
		t.Errorf("sessions left after revoke-tenant --yes")
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	tenant := uniq("acme")
	got := decode[client.Policy](t, mustOK(t, sessionctl(t, "policy", "get", tenant, "-o", "json")))
	if got != (client.Policy{OnLimit: "evict_oldest"}) {
		t.Errorf("default policy: %+v", got)
	}
	want := client.Policy{MaxSessionsPerUser: 2, OnLimit: "refuse", IdleTimeoutSeconds: 900, MaxLifetimeSeconds: 3600}
	r := mustOK(t, sessionctl(t, "policy", "set", tenant, "--max-sessions", "2", "--on-limit", "refuse",
		"--idle-timeout", "900", "--max-lifetime", "3600", "-o", "json"))
	if got := decode[client.Policy](t, r); got != want {
		t.Errorf("policy set: %+v, want %+v", got, want)
	}
	r = mustOK(t, sessionctl(t, "policy", "get", tenant))
	for _, line := range []string{"MAX SESSIONS PER USER  2", "ON LIMIT               refuse", "IDLE TIMEOUT           900s", "MAX LIFETIME           3600s"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("policy get lacks %q:\n%s", line, r.stdout)
		}
	}
	if r := sessionctl(t, "policy", "set", tenant, "--on-limit", "drop"); r.code != exitUsage {
		t.Errorf("policy set --on-limit drop: exit %d, want %d", r.code, exitUsage)
	}
	if r := sessionctl(t, "policy", "show", tenant); r.code != exitUsage {
		t.Errorf("policy show: exit %d, want %d", r.code, exitUsage)
	}
}
