package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/client"
)

// errStop ends a FollowEvents from its fn.
var errStop = errors.New("stop")

// collector gathers the events a FollowEvents passes to fn.
type collector struct {
	mu  sync.Mutex
	evs []client.Event
	// stopAfter, when positive, makes fn return errStop once it has
	// accepted that many events.
	stopAfter int
}

func (c *collector) fn(ev client.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopAfter > 0 && len(c.evs) >= c.stopAfter {
		return errStop
	}
	c.evs = append(c.evs, ev)
	return nil
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.evs)
}

func (c *collector) sessionIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for _, ev := range c.evs {
		ids = append(ids, ev.SessionID)
	}
	return ids
}

type followResult struct {
	last string
	err  error
}

// follow runs FollowEvents in the background.
func follow(ctx context.Context, c *client.Client, from string, col *collector) <-chan followResult {
	done := make(chan followResult, 1)
	go func() {
		last, err := c.FollowEvents(ctx, from, col.fn)
		done <- followResult{last, err}
	}()
	return done
}

func wait(tb testing.TB, done <-chan followResult) followResult {
	tb.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		tb.Fatalf("FollowEvents did not return within 10s")
		return followResult{}
	}
}

// revokeN creates and revokes n sessions one by one, returning their ids in
// revocation order.
func (e *env) revokeN(tb testing.TB, tenant string, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		s := e.mustCreate(tb, client.CreateSessionRequest{UserID: "u", TenantID: tenant, PartnerID: "p1"})
		if err := e.admin.RevokeSession(context.Background(), s.ID); err != nil {
			tb.Fatalf("RevokeSession: %v", err)
		}
		ids[i] = s.ID
	}
	return ids
}

func TestFollowEvents(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tenant := uniq("t")
	e.revokeN(t, tenant, 2) // before the follower started: not delivered

	var col collector
	done := follow(ctx, e.service, "", &col)
	e.waitFollowers(t, 1)
	start := time.Now()
	ids := e.revokeN(t, tenant, 5)
	testserver.WaitFor(t, "5 events", func() bool { return col.len() == 5 })
	if diff := cmp.Diff(ids, col.sessionIDs()); diff != "" {
		t.Errorf("session ids (-revoked +received):\n%s", diff)
	}
	for _, ev := range col.evs {
		if ev.ID == "" || ev.Type != client.EventSessionRevoked || ev.UserID != "u" || ev.TenantID != tenant ||
			ev.PartnerID != "p1" || ev.Reason != "admin_revoke" || ev.Actor != "root" || ev.RevokedAt.Before(start.Add(-time.Second)) {
			t.Errorf("got event %+v, want a session.revoked of u in %s/p1 by root", ev, tenant)
		}
	}
	cancel()
	r := wait(t, done)
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("got error %v after cancel, want context.Canceled", r.err)
	}
	if want := col.evs[len(col.evs)-1].ID; r.last != want {
		t.Errorf("got last id %q, want the last event's %q", r.last, want)
	}
}

// TestFollowEventsResume: stopping after k events and following again from
// the returned id delivers the rest, and what happened in between, exactly
// once and in order.
func TestFollowEventsResume(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tenant := uniq("t")

	first := collector{stopAfter: 3}
	done := follow(ctx, e.service, "", &first)
	e.waitFollowers(t, 1)
	ids := e.revokeN(t, tenant, 6)
	r := wait(t, done)
	if !errors.Is(r.err, errStop) {
		t.Fatalf("got error %v, want fn's errStop", r.err)
	}
	if r.last != first.evs[2].ID {
		t.Fatalf("got last id %q, want the third event's %q", r.last, first.evs[2].ID)
	}
	ids = append(ids, e.revokeN(t, tenant, 4)...) // while nobody follows

	var second collector
	cctx, cancel := context.WithCancel(ctx)
	done = follow(cctx, e.service, r.last, &second)
	testserver.WaitFor(t, "7 more events", func() bool { return second.len() >= 7 })
	more := e.revokeN(t, tenant, 2)
	ids = append(ids, more...)
	testserver.WaitFor(t, "9 more events", func() bool { return second.len() >= 9 })
	cancel()
	wait(t, done)

	got := append(first.sessionIDs(), second.sessionIDs()...)
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("session ids across the resume (-revoked +received):\n%s", diff)
	}
	for i := 1; i < len(second.evs); i++ {
		if second.evs[i].ID == second.evs[i-1].ID {
			t.Errorf("event id %s delivered twice", second.evs[i].ID)
		}
	}
}

// TestFollowEventsResumeInsideABatch: a tenant revoke-all over several
// batches (one stream entry each) reaches the client as one event per
// session; a follower that stops after any of them and follows again from
// the returned id gets exactly the rest, none twice, none skipped.
func TestFollowEventsResumeInsideABatch(t *testing.T) {
	e := newEnvWith(t, envOptions{revokeBatch: 4})
	ctx := context.Background()
	tenant := uniq("t")
	var live collector
	lctx, stopLive := context.WithCancel(ctx)
	done := follow(lctx, e.service, "", &live)
	e.waitFollowers(t, 1)
	for i := 0; i < 10; i++ {
		e.mustCreate(t, client.CreateSessionRequest{UserID: "u", TenantID: tenant})
	}
	if res, err := e.admin.RevokeTenantSessions(ctx, tenant); err != nil || res.RevokedCount != 10 {
		t.Fatalf("RevokeTenantSessions: %+v, %v", res, err)
	}
	testserver.WaitFor(t, "10 events", func() bool { return live.len() == 10 })
	stopLive()
	wait(t, done)
	all := live.sessionIDs()
	for k := 1; k < len(all); k++ {
		from := live.evs[k-1].ID
		var rest collector
		rctx, cancel := context.WithCancel(ctx)
		rdone := follow(rctx, e.service, from, &rest)
		testserver.WaitFor(t, "the rest", func() bool { return rest.len() >= len(all)-k })
		time.Sleep(50 * time.Millisecond) // nothing more may come
		cancel()
		wait(t, rdone)
		if diff := cmp.Diff(all[k:], rest.sessionIDs()); diff != "" {
			t.Errorf("resume after event %d (%s) (-want +got):\n%s", k, from, diff)
		}
	}
}

// TestFollowEventsReset: resuming from an id retention has dropped starts
// with a stream.reset, then the oldest retained events.
func TestFollowEventsReset(t *testing.T) {
	e := newEnvWith(t, envOptions{retention: 10})
	tenant := uniq("t")
	ctx := context.Background()
	for range 250 {
		e.mustCreate(t, client.CreateSessionRequest{UserID: "u", TenantID: tenant})
	}
	// One bulk revocation: 250 events, of which about 10 (XADD MAXLEN ~,
	// whole stream nodes) are kept.
	res, err := e.admin.RevokeTenantSessions(ctx, tenant)
	if err != nil || res.RevokedCount != 250 {
		t.Fatalf("RevokeTenantSessions: %+v, %v", res, err)
	}
	var col collector
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := follow(cctx, e.service, "1-0", &col)
	testserver.WaitFor(t, "the reset and the retained events", func() bool { return col.len() > 1 })
	cancel()
	r := wait(t, done)
	if got := col.evs[0]; got.Type != client.EventStreamReset || got.ID != "" {
		t.Errorf("got first event %+v, want a stream.reset without id", got)
	}
	if got := col.evs[1]; got.Type != client.EventSessionRevoked || got.ID == "" {
		t.Errorf("got second event %+v, want a session.revoked", got)
	}
	if r.last == "1-0" || r.last == "" {
		t.Errorf("got last id %q, want the last retained event's", r.last)
	}
}

// TestFollowEventsServerFailure: Redis failing under a live stream ends it
// with the server's error event, which matches ErrUnavailable.
func TestFollowEventsServerFailure(t *testing.T) {
	e, dedicated := newEnvOnOwnRedis(t)
	var col collector
	done := follow(context.Background(), e.service, "", &col)
	e.waitFollowers(t, 1)
	if err := dedicated.Stop(); err != nil {
		t.Fatal(err)
	}
	r := wait(t, done)
	checkSentinel(t, r.err, client.ErrUnavailable)
	var ce *client.Error
	if !errors.As(r.err, &ce) || ce.Detail != "session store unavailable" {
		t.Errorf("got %v, want the server's error event as an *Error", r.err)
	}
}

func TestFollowEventsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name string
		c    *client.Client
		want error
	}{
		{name: "no token", c: e.anon, want: client.ErrUnauthorized},
		{name: "admin token", c: e.admin, want: client.ErrForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			last, err := tc.c.FollowEvents(ctx, "5-0", func(client.Event) error { return nil })
			checkSentinel(t, err, tc.want)
			if last != "5-0" {
				t.Errorf("got last id %q, want the given 5-0", last)
			}
		})
	}
	t.Run("bad Last-Event-ID", func(t *testing.T) {
		_, err := e.service.FollowEvents(ctx, "not-an-id", func(client.Event) error { return nil })
		checkSentinel(t, err, client.ErrValidation)
	})
}

// TestSSEParsing drives the parser with streams a test server writes
// verbatim.
func TestSSEParsing(t *testing.T) {
	revoked := func(sid string) string {
		return fmt.Sprintf(`{"type":"session.revoked","session_id":%q,"user_id":"u","tenant_id":"t","partner_id":null,"revoked_at":"2026-05-01T10:00:00.123Z","reason":"r","actor":"a"}`, sid)
	}
	at := time.Date(2026, 5, 1, 10, 0, 0, 123e6, time.UTC)
	rev := func(id, sid string) client.Event {
		return client.Event{ID: id, Type: client.EventSessionRevoked, SessionID: sid, UserID: "u", TenantID: "t",
			RevokedAt: at, Reason: "r", Actor: "a", Data: []byte(revoked(sid))}
	}
	tests := []struct {
		name        string
		contentType string
		stream      string
		from        string
		want        []client.Event
		wantLast    string
		wantErr     error
	}{
		{
			name:   "events, comments and keep-alives",
			stream: ": connected\n\nid: 1-0\nevent: session.revoked\ndata: " + revoked("a") + "\n\n: keep-alive\n\nid: 2-0\nevent: session.revoked\ndata: " + revoked("b") + "\n\n",
			want:   []client.Event{rev("1-0", "a"), rev("2-0", "b")}, wantLast: "2-0", wantErr: client.ErrStreamClosed,
		},
		{
			name:   "CRLF and CR line ends",
			stream: "id: 1-0\r\nevent: session.revoked\r\ndata: " + revoked("a") + "\r\n\r\nid: 2-0\revent: session.revoked\rdata: " + revoked("b") + "\r\r",
			want:   []client.Event{rev("1-0", "a"), rev("2-0", "b")}, wantLast: "2-0", wantErr: client.ErrStreamClosed,
		},
		{
			name:   "multi-line data, no space after colon, unknown fields",
			stream: "id:7-1\nevent:custom\nretry: 1000\nfoo: bar\ndata:line one\ndata: line two\ndata\n\n",
			want:   []client.Event{{ID: "7-1", Type: "custom", Data: []byte("line one\nline two\n")}}, wantLast: "7-1", wantErr: client.ErrStreamClosed,
		},
		{
			name:   "message without event name",
			stream: "data: {}\n\n",
			want:   []client.Event{{Type: "message", Data: []byte("{}")}}, wantLast: "9-9", from: "9-9", wantErr: client.ErrStreamClosed,
		},
		{
			name:     "id-only block moves the resume point",
			stream:   "id: 3-0\n\nevent: session.revoked\n\n",
			wantLast: "3-0", wantErr: client.ErrStreamClosed,
		},
		{
			name:   "reset",
			stream: "event: reset\ndata: {\"type\":\"stream.reset\"}\n\nid: 4-0\nevent: session.revoked\ndata: " + revoked("c") + "\n\n",
			from:   "1-0",
			want: []client.Event{{Type: client.EventStreamReset, Data: []byte(`{"type":"stream.reset"}`)},
				rev("4-0", "c")},
			wantLast: "4-0", wantErr: client.ErrStreamClosed,
		},
		{
			name:     "error event",
			stream:   "id: 1-0\nevent: session.revoked\ndata: " + revoked("a") + "\n\nevent: error\ndata: {\"detail\":\"session store unavailable\"}\n\n",
			want:     []client.Event{rev("1-0", "a")},
			wantLast: "1-0", wantErr: client.ErrUnavailable,
		},
		{
			name:     "undecodable revocation",
			stream:   "id: 1-0\nevent: session.revoked\ndata: {not json\n\n",
			wantLast: "", wantErr: client.ErrUnavailable,
		},
		{
			name:     "revocation without session id",
			stream:   "id: 1-0\nevent: session.revoked\ndata: {}\n\n",
			wantLast: "", wantErr: client.ErrUnavailable,
		},
		{
			name:     "unterminated last event is dropped",
			stream:   "id: 1-0\nevent: session.revoked\ndata: " + revoked("a"),
			wantLast: "", wantErr: client.ErrStreamClosed,
		},
		{
			name:        "not an event stream",
			contentType: "application/json",
			stream:      "{}",
			wantErr:     client.ErrUnavailable,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var gotLastEventID string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotLastEventID = r.Header.Get("Last-Event-ID")
				ct := tc.contentType
				if ct == "" {
					ct = "text/event-stream; charset=utf-8"
				}
				w.Header().Set("Content-Type", ct)
				// Byte by byte, so that lines and line ends arrive split.
				for i := 0; i < len(tc.stream); i++ {
					_, _ = w.Write([]byte{tc.stream[i]})
					w.(http.Flusher).Flush()
				}
			}))
			t.Cleanup(srv.Close)
			var col collector
			last, err := mustClient(t, srv.URL).FollowEvents(context.Background(), tc.from, col.fn)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("got error %v, want %v", err, tc.wantErr)
			}
			if last != tc.wantLast {
				t.Errorf("got last id %q, want %q", last, tc.wantLast)
			}
			if gotLastEventID != tc.from {
				t.Errorf("server got Last-Event-ID %q, want %q", gotLastEventID, tc.from)
			}
			if diff := cmp.Diff(tc.want, col.evs); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSSEEventTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		line := "data: " + strings.Repeat("x", 1000) + "\n"
		for range 2000 {
			if _, err := w.Write([]byte(line)); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	_, err := mustClient(t, srv.URL).FollowEvents(context.Background(), "", func(client.Event) error { return nil })
	if !errors.Is(err, client.ErrUnavailable) || errors.Is(err, client.ErrStreamClosed) {
		t.Errorf("got %v, want an oversized-event error", err)
	}
}
