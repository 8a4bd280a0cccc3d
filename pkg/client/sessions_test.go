package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/client"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name, url string
		wantErr   bool
	}{
		{name: "plain", url: "http://sessiond:8080"},
		{name: "trailing slash", url: "http://sessiond:8080/"},
		{name: "https with prefix", url: "https://gw.example/sessiond/"},
		{name: "no scheme", url: "sessiond:8080", wantErr: true},
		{name: "other scheme", url: "ftp://sessiond", wantErr: true},
		{name: "no host", url: "http://", wantErr: true},
		{name: "query", url: "http://sessiond/?a=b", wantErr: true},
		{name: "unparsable", url: "http://[::1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.New(tc.url)
			if got := err != nil; got != tc.wantErr {
				t.Errorf("New(%q) error = %v, want error %v", tc.url, err, tc.wantErr)
			}
		})
	}
}

func TestBaseURLPrefix(t *testing.T) {
	e := newEnv(t)
	// A proxy mounting sessiond under /sessiond.
	mux := newPrefixProxy(t, "/sessiond", e.handler)
	c := mustClient(t, mux.URL+"/sessiond/", client.WithToken(mint(t, auth.MintOptions{Subject: "root", Role: auth.RoleSuperAdmin})))
	if _, err := c.ListSessions(context.Background(), client.AdminFilter{}, client.Page{}); err != nil {
		t.Fatalf("ListSessions through a prefix: %v", err)
	}
}

func TestCreateSessionAndGet(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	exp := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Millisecond)
	created, err := e.service.CreateSession(ctx, client.CreateSessionRequest{
		ID: "sess-1", UserID: "alice", TenantID: "t1", PartnerID: "p1",
		UserEmail: "alice@example.com", UserDisplayName: "Alice", IPAddress: "192.0.2.7",
		UserAgent: "Mozilla/5.0", Location: "Berlin", ExpiresAt: exp,
	})
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	want := client.Session{
		ID: "sess-1", UserID: "alice", UserEmail: "alice@example.com", UserDisplayName: "Alice",
		IPAddress: "192.0.2.7", UserAgent: "Mozilla/5.0", DeviceType: "desktop", Location: "Berlin",
		ExpiresAt: exp, SSOApps: []client.SSOApp{},
	}
	ignoreCreated := cmpopts.IgnoreFields(client.Session{}, "CreatedAt")
	if diff := cmp.Diff(want, created, ignoreCreated); diff != "" {
		t.Errorf("CreateSession answer (-want +got):\n%s", diff)
	}
	if created.CreatedAt.IsZero() || !created.LastActivityAt.IsZero() {
		t.Errorf("got created_at %v, last_activity_at %v; want a creation time and no activity", created.CreatedAt, created.LastActivityAt)
	}

	if err := e.service.RecordActivity(ctx, "sess-1", client.Activity{ApplicationID: "crm", ApplicationName: "CRM", IPAddress: "192.0.2.8"}); err != nil {
		t.Fatalf("RecordActivity: %v", err)
	}
	got, err := e.admin.GetSession(ctx, "sess-1")
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	if got.LastActivityAt.IsZero() {
		t.Errorf("got last_activity_at null after RecordActivity, want a time")
	}
	if len(got.SSOApps) != 1 || got.SSOApps[0].ApplicationID != "crm" || got.SSOApps[0].ApplicationName != "CRM" || got.SSOApps[0].AccessedAt.IsZero() {
		t.Errorf("got sso_apps %+v, want one access of crm/CRM", got.SSOApps)
	}
	if got.ExpiresAt != exp {
		t.Errorf("got expires_at %v, want %v", got.ExpiresAt, exp)
	}

	ts, err := e.admin.TenantSession(ctx, "t1", "sess-1")
	if err != nil {
		t.Fatalf("TenantSession: %v", err)
	}
	if diff := cmp.Diff(got, ts); diff != "" {
		t.Errorf("TenantSession differs from GetSession (-admin +tenant):\n%s", diff)
	}

	// A TTL instead of an absolute expiry, and a generated id.
	s2, err := e.service.CreateSession(ctx, client.CreateSessionRequest{UserID: "bob", TenantID: "t1", TTL: 90 * time.Second})
	if err != nil {
		t.Fatalf("CreateSession with TTL: %v", err)
	}
	if s2.ID == "" || s2.UserEmail != "" {
		t.Errorf("got id %q email %q, want a generated id and no email", s2.ID, s2.UserEmail)
	}
	if d := s2.ExpiresAt.Sub(s2.CreatedAt); d != 90*time.Second {
		t.Errorf("got expires_at - created_at = %v, want 90s", d)
	}
}

func TestListSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tenant, other := uniq("t"), uniq("t")
	var ids []string
	for i := range 5 {
		s := e.mustCreate(t, client.CreateSessionRequest{UserID: "u1", TenantID: tenant, PartnerID: "p1", TTL: time.Duration(i+1) * time.Hour})
		ids = append(ids, s.ID)
	}
	e.mustCreate(t, client.CreateSessionRequest{UserID: "u2", TenantID: other})
	slices.Reverse(ids) // latest expiry first

	tests := []struct {
		name      string
		f         client.AdminFilter
		p         client.Page
		wantIDs   []string
		wantPages client.Pagination
	}{
		{name: "first page", f: client.AdminFilter{TenantID: tenant}, p: client.Page{Page: 1, PerPage: 2},
			wantIDs: ids[:2], wantPages: client.Pagination{Page: 1, PerPage: 2, TotalItems: 5, TotalPages: 3}},
		{name: "last page", f: client.AdminFilter{UserID: "u1", PartnerID: "p1"}, p: client.Page{Page: 3, PerPage: 2},
			wantIDs: ids[4:], wantPages: client.Pagination{Page: 3, PerPage: 2, TotalItems: 5, TotalPages: 3}},
		{name: "past the end", f: client.AdminFilter{TenantID: tenant}, p: client.Page{Page: 9, PerPage: 2},
			wantIDs: []string{}, wantPages: client.Pagination{Page: 9, PerPage: 2, TotalItems: 5, TotalPages: 3}},
		{name: "defaults", f: client.AdminFilter{}, wantIDs: nil,
			wantPages: client.Pagination{Page: 1, PerPage: 20, TotalItems: 6, TotalPages: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pg, err := e.admin.ListSessions(ctx, tc.f, tc.p)
			if err != nil {
				t.Fatalf("ListSessions: %v", err)
			}
			if pg.Pagination != tc.wantPages {
				t.Errorf("got pagination %+v, want %+v", pg.Pagination, tc.wantPages)
			}
			if pg.Meta.RequestID == "" || pg.Meta.Timestamp.IsZero() {
				t.Errorf("got meta %+v, want a request id and a timestamp", pg.Meta)
			}
			if tc.wantIDs == nil {
				return
			}
			if diff := cmp.Diff(tc.wantIDs, listIDs(pg.Sessions)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTenantCalls(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tenant := uniq("t")
	tenantAdmin := e.client(t, mint(t, auth.MintOptions{Subject: "ta", Role: auth.RoleTenantAdmin, TenantID: tenant}))
	a1 := e.mustCreate(t, client.CreateSessionRequest{UserID: "ann", TenantID: tenant})
	a2 := e.mustCreate(t, client.CreateSessionRequest{UserID: "ann", TenantID: tenant, TTL: 2 * time.Hour})
	b1 := e.mustCreate(t, client.CreateSessionRequest{UserID: "ben", TenantID: tenant})

	t.Run("TenantSessions", func(t *testing.T) {
		pg, err := tenantAdmin.TenantSessions(ctx, tenant, client.TenantFilter{}, client.Page{})
		if err != nil {
			t.Fatalf("TenantSessions: %v", err)
		}
		if got, want := pg.Pagination.TotalItems, int64(3); got != want {
			t.Errorf("got %d sessions, want %d", got, want)
		}
		pg, err = tenantAdmin.TenantSessions(ctx, tenant, client.TenantFilter{UserID: "ann", IncludeInactive: true}, client.Page{PerPage: 1})
		if err != nil {
			t.Fatalf("TenantSessions(user ann): %v", err)
		}
		if diff := cmp.Diff([]string{a2.ID}, listIDs(pg.Sessions)); diff != "" || pg.Pagination.TotalPages != 2 {
			t.Errorf("got ids %v, %d pages; want [%s], 2 pages", listIDs(pg.Sessions), pg.Pagination.TotalPages, a2.ID)
		}
	})
	t.Run("TenantUserSessions", func(t *testing.T) {
		pg, err := tenantAdmin.TenantUserSessions(ctx, tenant, "ann", client.Page{})
		if err != nil {
			t.Fatalf("TenantUserSessions: %v", err)
		}
		if diff := cmp.Diff([]string{a2.ID, a1.ID}, listIDs(pg.Sessions)); diff != "" {
			t.Errorf("ids (-want +got):\n%s", diff)
		}
	})
	t.Run("TenantStats", func(t *testing.T) {
		st, err := tenantAdmin.TenantStats(ctx, tenant)
		if err != nil {
			t.Fatalf("TenantStats: %v", err)
		}
		if st.TenantID != tenant || st.ActiveSessions != 3 || st.ActiveUsers != 2 || st.SessionsByDeviceType["desktop"] != 3 ||
			st.SessionsCreatedLast24h != 3 || st.SessionsRevokedLast24h != 0 || st.GeneratedAt.IsZero() {
			t.Errorf("got stats %+v, want 3 desktop sessions of 2 users created, none revoked", st)
		}
	})
	t.Run("TenantSession", func(t *testing.T) {
		s, err := tenantAdmin.TenantSession(ctx, tenant, b1.ID)
		if err != nil {
			t.Fatalf("TenantSession: %v", err)
		}
		if s.ID != b1.ID || s.UserID != "ben" {
			t.Errorf("got session %s of %s, want %s of ben", s.ID, s.UserID, b1.ID)
		}
	})
	t.Run("RevokeUserSessions by id", func(t *testing.T) {
		res, err := tenantAdmin.RevokeUserSessions(ctx, tenant, "ann", client.SessionRevokeRequest{SessionIDs: []string{a1.ID, b1.ID, "nope"}})
		if err != nil {
			t.Fatalf("RevokeUserSessions: %v", err)
		}
		// b1 is ben's and nope does not exist: ignored, not counted.
		if diff := cmp.Diff(client.RevokeResult{RevokedCount: 1, SessionIDs: []string{a1.ID}}, res); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
	})
	t.Run("RevokeUserSessions all", func(t *testing.T) {
		res, err := tenantAdmin.RevokeUserSessions(ctx, tenant, "ann", client.SessionRevokeRequest{RevokeAll: true, ExceptCurrent: client.Bool(false)})
		if err != nil {
			t.Fatalf("RevokeUserSessions: %v", err)
		}
		if diff := cmp.Diff(client.RevokeResult{RevokedCount: 1, SessionIDs: []string{a2.ID}}, res); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
	})
	t.Run("RevokeTenantSession", func(t *testing.T) {
		if err := tenantAdmin.RevokeTenantSession(ctx, tenant, b1.ID); err != nil {
			t.Fatalf("RevokeTenantSession: %v", err)
		}
		if err := tenantAdmin.RevokeTenantSession(ctx, tenant, b1.ID); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("second RevokeTenantSession: got %v, want ErrNotFound", err)
		}
	})
	t.Run("RevokeTenantSessions", func(t *testing.T) {
		c1 := e.mustCreate(t, client.CreateSessionRequest{UserID: "cy", TenantID: tenant})
		c2 := e.mustCreate(t, client.CreateSessionRequest{UserID: "dee", TenantID: tenant})
		res, err := tenantAdmin.RevokeTenantSessions(ctx, tenant)
		if err != nil {
			t.Fatalf("RevokeTenantSessions: %v", err)
		}
		if diff := cmp.Diff([]string{c1.ID, c2.ID}, sorted(res.SessionIDs)); diff != "" || res.RevokedCount != 2 {
			t.Errorf("got %+v, want both of %s, %s", res, c1.ID, c2.ID)
		}
		res, err = tenantAdmin.RevokeTenantSessions(ctx, tenant)
		if err != nil || res.RevokedCount != 0 || res.SessionIDs == nil {
			t.Errorf("RevokeTenantSessions of an empty tenant: got %+v, %v; want 0 and an empty list", res, err)
		}
	})
}

func TestAdminRevokeCalls(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tenant := uniq("t")
	s1 := e.mustCreate(t, client.CreateSessionRequest{UserID: "u1", TenantID: tenant})
	s2 := e.mustCreate(t, client.CreateSessionRequest{UserID: "u1", TenantID: tenant})
	s3 := e.mustCreate(t, client.CreateSessionRequest{UserID: "u2", TenantID: tenant})

	if err := e.admin.RevokeSession(ctx, s1.ID); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	// History keeps it: read by id, it is revoked; revoked again, not found.
	if got, err := e.admin.GetSession(ctx, s1.ID); err != nil || got.Status != "revoked" || got.RevokeReason != "admin_revoke" {
		t.Errorf("GetSession of a revoked session: got %+v, %v; want it revoked", got.Ending, err)
	}
	if err := e.admin.RevokeSession(ctx, s1.ID); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("RevokeSession of a revoked session: got %v, want ErrNotFound", err)
	}
	if pg, err := e.admin.TenantAudit(ctx, tenant, client.Page{}); err != nil || len(pg.Entries) != 1 || pg.Entries[0].SessionIDs[0] != s1.ID || pg.Pagination.TotalItems != 1 {
		t.Errorf("TenantAudit: %+v, %v; want the one revocation of %s", pg, err, s1.ID)
	}
	res, err := e.admin.RevokeAll(ctx, client.AdminRevokeAll{UserID: "u1", TenantID: tenant})
	if err != nil {
		t.Fatalf("RevokeAll: %v", err)
	}
	if diff := cmp.Diff(client.RevokeResult{RevokedCount: 1, SessionIDs: []string{s2.ID}}, res); diff != "" {
		t.Errorf("RevokeAll (-want +got):\n%s", diff)
	}
	if _, err := e.admin.GetSession(ctx, s3.ID); err != nil {
		t.Errorf("GetSession(%s) of another user after RevokeAll: %v", s3.ID, err)
	}
}

func TestMeCalls(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tenant := uniq("t")
	cur := e.mustCreate(t, client.CreateSessionRequest{UserID: "me", TenantID: tenant, TTL: 3 * time.Hour})
	o1 := e.mustCreate(t, client.CreateSessionRequest{UserID: "me", TenantID: tenant, TTL: 2 * time.Hour})
	o2 := e.mustCreate(t, client.CreateSessionRequest{UserID: "me", TenantID: tenant, TTL: time.Hour})
	e.mustCreate(t, client.CreateSessionRequest{UserID: "someone-else", TenantID: tenant})
	me := e.admin.As(userToken(t, cur, tenant))

	list, err := me.MySessions(ctx)
	if err != nil {
		t.Fatalf("MySessions: %v", err)
	}
	if diff := cmp.Diff([]string{cur.ID, o1.ID, o2.ID}, listIDs(list)); diff != "" {
		t.Errorf("MySessions ids (-want +got):\n%s", diff)
	}
	if len(list) > 0 && (!list[0].IsCurrent || list[1].IsCurrent) {
		t.Errorf("got is_current %v, %v; want true for the token's own session only", list[0].IsCurrent, list[1].IsCurrent)
	}

	res, err := me.RevokeMySession(ctx, o1.ID)
	if err != nil {
		t.Fatalf("RevokeMySession: %v", err)
	}
	if diff := cmp.Diff(client.RevokeResult{RevokedCount: 1, SessionIDs: []string{o1.ID}}, res); diff != "" {
		t.Errorf("RevokeMySession (-want +got):\n%s", diff)
	}
	res, err = me.RevokeMyOtherSessions(ctx)
	if err != nil {
		t.Fatalf("RevokeMyOtherSessions: %v", err)
	}
	if diff := cmp.Diff(client.RevokeResult{RevokedCount: 1, SessionIDs: []string{o2.ID}}, res); diff != "" {
		t.Errorf("RevokeMyOtherSessions (-want +got):\n%s", diff)
	}
	list, err = me.MySessions(ctx)
	if err != nil || len(list) != 1 || list[0].ID != cur.ID {
		t.Errorf("MySessions after revoking the others: got %v, %v; want only %s", listIDs(list), err, cur.ID)
	}
}

// newPrefixProxy serves h under prefix, as a reverse proxy mounting
// sessiond on a path would.
func newPrefixProxy(tb testing.TB, prefix string, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(http.StripPrefix(prefix, h))
	tb.Cleanup(srv.Close)
	return srv
}

func listIDs(items []client.SessionListItem) []string {
	ids := make([]string, len(items))
	for i, s := range items {
		ids[i] = s.ID
	}
	return ids
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestTenantPolicyCalls(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tenant := uniq("t")
	if p, err := e.admin.TenantPolicy(ctx, tenant); err != nil || p != (client.Policy{OnLimit: "evict_oldest"}) {
		t.Fatalf("TenantPolicy: %+v, %v", p, err)
	}
	want := client.Policy{MaxSessionsPerUser: 1, OnLimit: "refuse", MaxLifetimeSeconds: 600}
	if p, err := e.admin.SetTenantPolicy(ctx, tenant, want); err != nil || p != want {
		t.Fatalf("SetTenantPolicy: %+v, %v; want %+v", p, err, want)
	}
	if _, err := e.admin.SetTenantPolicy(ctx, tenant, client.Policy{OnLimit: "drop"}); !errors.Is(err, client.ErrValidation) {
		t.Errorf("SetTenantPolicy with a bad on_limit: %v, want ErrValidation", err)
	}
	// The policy holds: one session per user, the second refused.
	e.mustCreate(t, client.CreateSessionRequest{UserID: "u1", TenantID: tenant})
	if _, err := e.service.CreateSession(ctx, client.CreateSessionRequest{UserID: "u1", TenantID: tenant, TTL: time.Minute}); !errors.Is(err, client.ErrConflict) {
		t.Errorf("second create at a limit of 1: %v, want ErrConflict", err)
	}
}
