package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sessiond/sessiond/pkg/client"
)

// fakeSessiond stands in for a sessiond so that the examples run offline:
// it accepts the token "good" of session s1 and refuses every other, and
// its event stream starts with the revocation of another session, s0.
func fakeSessiond() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/auth/verify", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good" {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="session revoked or expired"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"detail":"session revoked or expired"}`)
			return
		}
		w.Header().Set("X-Session-Id", "s1")
		w.Header().Set("X-User-Id", "alice")
		w.Header().Set("X-Tenant-Id", "acme")
	})
	mux.HandleFunc("/api/v1/admin/sessions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":[{"id":"s1","user_id":"alice","user_email":null,"ip_address":"192.0.2.1",`+
			`"user_agent":null,"device_type":"desktop","is_current":false,"created_at":"2026-05-01T10:00:00.000Z",`+
			`"last_activity_at":null,"expires_at":"2026-05-01T18:00:00.000Z","app_count":0}],`+
			`"pagination":{"page":1,"per_page":20,"total_items":1,"total_pages":1},`+
			`"meta":{"request_id":"r1","timestamp":"2026-05-01T10:00:00.000Z"}}`)
	})
	mux.HandleFunc("/api/v1/internal/sessions/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": connected\n\n")
		if r.Header.Get("Last-Event-ID") == "" {
			fmt.Fprint(w, "id: 1714557600000-0\nevent: session.revoked\n"+
				`data: {"type":"session.revoked","session_id":"s0","user_id":"bob","tenant_id":"acme",`+
				`"partner_id":null,"revoked_at":"2026-05-01T10:00:00.000Z","reason":"admin_revoke","actor":"root"}`+"\n\n")
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a real stream stays open
	})
	return httptest.NewServer(mux)
}

func ExampleClient_Verify() {
	srv := fakeSessiond()
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		log.Fatal(err)
	}

	id, err := c.Verify(context.Background(), "good")
	fmt.Printf("%+v %v\n", id, err)

	_, err = c.Verify(context.Background(), "stolen")
	var ce *client.Error
	if errors.Is(err, client.ErrUnauthorized) && errors.As(err, &ce) {
		fmt.Println("denied:", ce.Reason)
	}
	// Output:
	// {SessionID:s1 UserID:alice TenantID:acme PartnerID:} <nil>
	// denied: session revoked or expired
}

func ExampleClient_ListSessions() {
	srv := fakeSessiond()
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithToken("admin-token"))
	if err != nil {
		log.Fatal(err)
	}
	pg, err := c.ListSessions(context.Background(), client.AdminFilter{TenantID: "acme"}, client.Page{Page: 1, PerPage: 20})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range pg.Sessions {
		fmt.Println(s.ID, s.UserID, s.DeviceType, s.ExpiresAt.Format(time.RFC3339), s.LastActivityAt.IsZero())
	}
	fmt.Printf("page %d of %d, %d sessions\n", pg.Pagination.Page, pg.Pagination.TotalPages, pg.Pagination.TotalItems)
	// Output:
	// s1 alice desktop 2026-05-01T18:00:00Z true
	// page 1 of 1, 1 sessions
}

func ExampleClient_FollowEvents() {
	srv := fakeSessiond()
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithToken("service-token"))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errSeen := errors.New("seen one")
	last, err := c.FollowEvents(ctx, "", func(ev client.Event) error {
		fmt.Println(ev.Type, ev.SessionID, ev.Reason, ev.Actor)
		return errSeen // stop after one event
	})
	fmt.Printf("resume from %q (%v)\n", last, err)
	// Output:
	// session.revoked s0 admin_revoke root
	// resume from "" (seen one)
}

func ExampleCachingVerifier() {
	srv := fakeSessiond()
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	// The stream needs a token with scope sessions:read.
	events, err := client.New(srv.URL, client.WithToken("service-token"))
	if err != nil {
		log.Fatal(err)
	}
	v := client.NewCachingVerifier(c, client.CacheOptions{EventsClient: events, MaxStaleness: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = v.Run(ctx) }()
	for !v.Stats().Connected {
		time.Sleep(time.Millisecond)
	}
	// The first Verify asks the server, the next two are answered from
	// the cache. A session.revoked event of s1 would drop the entry at
	// once; a broken stream empties the cache.
	for range 3 {
		if _, err := v.Verify(ctx, "good"); err != nil {
			log.Fatal(err)
		}
	}
	st := v.Stats()
	fmt.Printf("hits %d, misses %d, entries %d\n", st.Hits, st.Misses, st.Entries)
	// Output:
	// hits 2, misses 1, entries 1
}
