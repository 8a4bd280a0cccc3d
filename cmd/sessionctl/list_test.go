package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/client"
)

func TestList(t *testing.T) {
	t.Parallel()
	tenant, other, partner := uniq("acme"), uniq("globex"), uniq("p")
	alice, bob := uniq("alice"), uniq("bob")
	mustCreate(t, tenant, partner, alice, 3)
	mustCreate(t, tenant, partner, bob, 2)
	mustCreate(t, other, partner, alice, 1)
	ctx := context.Background()

	tests := []struct {
		name   string
		args   []string
		filter client.AdminFilter
		page   client.Page
		want   int
	}{
		{"tenant", []string{"--tenant", tenant}, client.AdminFilter{TenantID: tenant}, client.Page{}, 5},
		{"tenant and user", []string{"--tenant", tenant, "--user", alice}, client.AdminFilter{TenantID: tenant, UserID: alice}, client.Page{}, 3},
		{"user across tenants", []string{"--user", alice}, client.AdminFilter{UserID: alice}, client.Page{}, 4},
		{"partner", []string{"--partner", partner}, client.AdminFilter{PartnerID: partner}, client.Page{}, 6},
		{"page 2 of 2 per page", []string{"--tenant", tenant, "--page", "2", "--per-page", "2"},
			client.AdminFilter{TenantID: tenant}, client.Page{Page: 2, PerPage: 2}, 2},
		{"last page", []string{"--tenant", tenant, "--page=3", "--per-page=2"},
			client.AdminFilter{TenantID: tenant}, client.Page{Page: 3, PerPage: 2}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := srv.admin.ListSessions(ctx, tc.filter, tc.page)
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Sessions) != tc.want {
				t.Fatalf("fixture: got %d sessions from the API, want %d", len(want.Sessions), tc.want)
			}

			r := mustOK(t, sessionctl(t, append([]string{"list", "-o", "json"}, tc.args...)...))
			got := decode[[]client.SessionListItem](t, r)
			if diff := cmp.Diff(want.Sessions, got); diff != "" {
				t.Errorf("list -o json (-api +cli):\n%s", diff)
			}
			wantPage := "page " + strconv.Itoa(want.Pagination.Page) + " of " + strconv.FormatInt(want.Pagination.TotalPages, 10)
			if !strings.Contains(r.stderr, wantPage) {
				t.Errorf("got stderr %q, want it to say %q", r.stderr, wantPage)
			}

			r = mustOK(t, sessionctl(t, append([]string{"list"}, tc.args...)...))
			header, rows := tableRows(t, r.stdout)
			wantHeader := []string{"ID", "USER", "DEVICE", "IP", "CREATED", "EXPIRES", "APPS"}
			if tc.filter.TenantID != "" {
				wantHeader = slices.Insert(wantHeader, 2, "TENANT")
			}
			if diff := cmp.Diff(wantHeader, header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			var gotIDs []string
			for _, row := range rows {
				gotIDs = append(gotIDs, strings.Fields(row)[0])
			}
			if diff := cmp.Diff(ids(want.Sessions), gotIDs); diff != "" {
				t.Errorf("table rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListRow(t *testing.T) {
	t.Parallel()
	tenant, user := uniq("acme"), uniq("carol")
	s := mustCreate(t, tenant, "", user, 1)[0]
	r := mustOK(t, sessionctl(t, "list", "--tenant", tenant))
	_, rows := tableRows(t, r.stdout)
	want := []string{s.ID, user, tenant, "desktop", "10.0.0.1", tableTime(s.CreatedAt), tableTime(s.ExpiresAt), "0"}
	if diff := cmp.Diff([][]string{want}, [][]string{strings.Fields(rows[0])}); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
}

func TestListAll(t *testing.T) {
	t.Parallel()
	tenant := uniq("acme")
	var created []client.Session
	for range 3 {
		created = append(created, mustCreate(t, tenant, "", uniq("u"), 3)...)
	}
	// With --tenant, --all lists the tenant's sessions with the ended ones.
	want, err := srv.admin.TenantSessions(context.Background(), tenant, client.TenantFilter{IncludeInactive: true}, client.Page{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}

	r := mustOK(t, sessionctl(t, "list", "--tenant", tenant, "--all", "--per-page", "4", "--output", "json"))
	got := decode[[]client.SessionListItem](t, r)
	if diff := cmp.Diff(want.Sessions, got); diff != "" {
		t.Errorf("list --all -o json (-api +cli):\n%s", diff)
	}
	// Not a terminal: one summary line, no animation.
	if !strings.HasPrefix(r.stderr, "listed 9 sessions (3 pages) in ") || strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "\r") {
		t.Errorf("got stderr %q, want one summary line", r.stderr)
	}

	r = mustOK(t, sessionctl(t, "list", "--tenant", tenant, "--all", "--per-page", "2"))
	_, rows := tableRows(t, r.stdout)
	if len(rows) != len(created) {
		t.Errorf("got %d rows, want %d:\n%s", len(rows), len(created), r.stdout)
	}

	// A terminal sees a counter, then the summary.
	r = sessionctlConsole(t, context.Background(), console{errTTY: true}, "list", "--tenant", tenant, "--all", "--per-page", "4", "-o", "json")
	mustOK(t, r)
	if !strings.HasPrefix(r.stderr, "\r") || !strings.Contains(r.stderr, " listing sessions: 9 of 9 (page 3 of 3)") {
		t.Errorf("got stderr %q, want a progress counter", r.stderr)
	}
	if !strings.Contains(r.stderr, "\r\x1b[Klisted 9 sessions (3 pages)") {
		t.Errorf("got stderr %q, want the counter cleared and a summary", r.stderr)
	}
	if got := decode[[]client.SessionListItem](t, r); len(got) != 9 {
		t.Errorf("got %d sessions, want 9", len(got))
	}

	// An empty list is an empty array.
	r = mustOK(t, sessionctl(t, "list", "--tenant", uniq("empty"), "--all", "-o", "json"))
	if got := decode[[]client.SessionListItem](t, r); got == nil || len(got) != 0 {
		t.Errorf("got %q, want []", r.stdout)
	}
}
