package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/sessiond/sessiond/internal/testserver"
)

const pathEvents = "/api/v1/internal/sessions/events"

// sseEvent is one Server-Sent Event; comment is set for ": …" lines.
type sseEvent struct {
	id, event, data, comment string
}

// sseStream reads the event stream of one follower.
type sseStream struct {
	resp   *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

// follow opens the event stream at url with token, resuming at lastID when set.
func follow(tb testing.TB, url, token, lastID string) *sseStream {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	hr, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+pathEvents, nil)
	hr.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		hr.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		cancel()
		tb.Fatalf("open event stream: %v", err)
	}
	s := &sseStream{resp: resp, events: make(chan sseEvent, 4096), cancel: cancel}
	tb.Cleanup(s.close)
	if resp.StatusCode != http.StatusOK {
		return s
	}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur != (sseEvent{}) {
					s.events <- cur
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, ":"):
				cur.comment = strings.TrimSpace(line[1:])
			default:
				k, v, _ := strings.Cut(line, ": ")
				switch k {
				case "id":
					cur.id = v
				case "event":
					cur.event = v
				case "data":
					cur.data = v
				}
			}
		}
	}()
	return s
}

func (s *sseStream) close() { s.cancel(); _ = s.resp.Body.Close() }

// next returns the next event (comments skipped), failing after a while.
func (s *sseStream) next(tb testing.TB) sseEvent {
	tb.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				tb.Fatalf("event stream ended")
			}
			if ev.event == "" && ev.data == "" {
				continue // a comment, or the id-only block that starts a stream
			}
			return ev
		case <-timeout:
			tb.Fatalf("no event within 5s")
		}
	}
}

func decodeEvent(tb testing.TB, ev sseEvent) testserver.Event {
	tb.Helper()
	var e testserver.Event
	if err := json.Unmarshal([]byte(ev.data), &e); err != nil {
		tb.Fatalf("event data %q: %v", ev.data, err)
	}
	return e
}

// serve runs the router on a loopback HTTP server (streams need one).
func (e *env) serve(tb testing.TB) string {
	tb.Helper()
	srv := httptest.NewServer(e.router)
	tb.Cleanup(srv.Close)
	return srv.URL
}

func TestEventsAccess(t *testing.T) {
	e := newEnvWith(t, backends[0].client(t), envConfig{events: true})
	url := e.serve(t)
	cases := []struct {
		name   string
		token  string
		lastID string
		status int
	}{
		{"sessions:read", e.token(t, serviceRead), "", http.StatusOK},
		{"sessions:write grants read", e.token(t, serviceWrite), "", http.StatusOK},
		{"super admin", e.token(t, superAdmin), "", http.StatusForbidden},
		{"user", e.token(t, userU1), "", http.StatusForbidden},
		{"no token", "", "", http.StatusUnauthorized},
		{"bad Last-Event-ID", e.token(t, serviceRead), "abc", http.StatusUnprocessableEntity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := follow(t, url, tc.token, tc.lastID)
			if s.resp.StatusCode != tc.status {
				t.Errorf("status: got %d, want %d", s.resp.StatusCode, tc.status)
			}
			if tc.status == http.StatusOK {
				if ct := s.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
					t.Errorf("content type %q", ct)
				}
			}
		})
	}
}

func TestEventsFollowAndResume(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvWith(t, b.client(t), envConfig{events: true})
		e.seedWorld(t)
		url := e.serve(t)
		svc := e.token(t, serviceRead)
		a := follow(t, url, svc, "")
		c := follow(t, url, svc, "")
		time.Sleep(100 * time.Millisecond)

		mustStatus(t, e.del(t, pathAdmin+"/t1-u1-a", e.token(t, superAdmin)), http.StatusNoContent)
		first := a.next(t)
		got := decodeEvent(t, first)
		p1 := "P1"
		want := testserver.Event{Type: "session.revoked", SessionID: "t1-u1-a", UserID: "u1", TenantID: "T1", PartnerID: &p1,
			RevokedAt: got.RevokedAt, Reason: "admin_revoke", Actor: "root"}
		if d := cmp.Diff(want, got); d != "" || first.event != "session.revoked" || first.id == "" {
			t.Errorf("event %s %s (-want +got):\n%s", first.id, first.event, d)
		}
		mustWireTime(t, "revoked_at", got.RevokedAt)
		if ev := c.next(t); ev.id != first.id {
			t.Errorf("second follower got %s, want %s", ev.id, first.id)
		}

		// a disconnects; three revocations happen; it resumes from its last id.
		a.close()
		mustStatus(t, e.post(t, pathTenant("T1")+"/revoke-all", e.token(t, superAdmin), nil), http.StatusOK)
		mustStatus(t, e.del(t, pathTenant("T2")+"/t2-u3", e.token(t, superAdmin)), http.StatusNoContent)
		var missed []string
		for i := 0; i < 3; i++ {
			missed = append(missed, decodeEvent(t, c.next(t)).SessionID)
		}
		r := follow(t, url, svc, first.id)
		var replayed []string
		var replayedLast string
		for i := 0; i < 3; i++ {
			ev := r.next(t)
			replayedLast = ev.id
			replayed = append(replayed, decodeEvent(t, ev).SessionID)
		}
		if d := cmp.Diff(missed, replayed); d != "" {
			t.Errorf("replay after Last-Event-ID (-live +replayed):\n%s", d)
		}
		sort.Strings(replayed)
		if d := cmp.Diff([]string{"t1-u1-b", "t1-u2", "t2-u3"}, replayed); d != "" {
			t.Errorf("replayed sessions (-want +got):\n%s", d)
		}
		// Nothing more: the next thing on the resumed stream is a keep-alive.
		select {
		case ev := <-r.events:
			if ev.event != "" {
				t.Errorf("unexpected extra event %+v", ev)
			}
		case <-time.After(time.Second):
			t.Errorf("no keep-alive comment within 1s")
		}
		// A new follower is told where it starts, so that it can resume
		// even if it drops before its first event.
		fresh := follow(t, url, svc, "")
		select {
		case ev := <-fresh.events:
			for ev.id == "" && ev.comment != "" {
				ev = <-fresh.events
			}
			if ev.id != replayedLast {
				t.Errorf("a new stream starts with id %q, want the newest event %q", ev.id, replayedLast)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("no start id on a new stream")
		}
	})
}

// TestEventsResumeInsideABatch: a revoke-all over several batches is one
// stream entry per batch, but the stream shows one event per session, and a
// follower that resumes from any of their ids, inside a batch or at its
// end, gets exactly the events after it: none replayed, none skipped.
func TestEventsResumeInsideABatch(t *testing.T) {
	e := newEnvWith(t, backends[0].client(t), envConfig{events: true, revokeBatch: 3})
	url := e.serve(t)
	svc := e.token(t, serviceRead)
	live := follow(t, url, svc, "")
	time.Sleep(100 * time.Millisecond)
	const n = 7
	for i := 0; i < n; i++ {
		e.mustCreate(t, sess{"id": fmt.Sprintf("b-%d", i), "user_id": "u1", "tenant_id": "T1"})
	}
	mustStatus(t, e.post(t, pathTenant("T1")+"/revoke-all", e.token(t, superAdmin), nil), http.StatusOK)
	var ids, sids []string
	for i := 0; i < n; i++ {
		ev := live.next(t)
		ids = append(ids, ev.id)
		sids = append(sids, decodeEvent(t, ev).SessionID)
	}
	if !strings.Contains(ids[0], ".") {
		t.Errorf("event ids %v: the batch's events are numbered within their entry", ids)
	}
	for i, from := range ids {
		r := follow(t, url, svc, from)
		var got []string
		for range ids[i+1:] {
			got = append(got, decodeEvent(t, r.next(t)).SessionID)
		}
		if d := cmp.Diff(sids[i+1:], got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("resume after %s (-want +got):\n%s", from, d)
		}
		select {
		case ev := <-r.events:
			if ev.event != "" {
				t.Errorf("after %s, an extra event %+v", from, ev)
			}
		case <-time.After(300 * time.Millisecond):
		}
		r.close()
	}
}

// TestEventsSlowFollowerLosesNothing: a follower that reads slowly gets every
// event, in order, while another keeps up.
func TestEventsSlowFollowerLosesNothing(t *testing.T) {
	e := newEnvWith(t, backends[0].client(t), envConfig{events: true})
	url := e.serve(t)
	svc := e.token(t, serviceRead)
	fast := follow(t, url, svc, "")
	slow := follow(t, url, svc, "")
	time.Sleep(100 * time.Millisecond)
	const n = 300
	var want []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("slow-%03d", i)
		e.mustCreate(t, sess{"id": id, "user_id": "u1", "tenant_id": "T1"})
		want = append(want, id)
	}
	mustStatus(t, e.post(t, pathTenant("T1")+"/users/u1/revoke", e.token(t, superAdmin), map[string]any{"revoke_all": true, "except_current": false}), http.StatusOK)
	var gotFast, gotSlow []string
	for i := 0; i < n; i++ {
		gotFast = append(gotFast, decodeEvent(t, fast.next(t)).SessionID)
	}
	for i := 0; i < n; i++ {
		if i%50 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		gotSlow = append(gotSlow, decodeEvent(t, slow.next(t)).SessionID)
	}
	if d := cmp.Diff(gotFast, gotSlow); d != "" {
		t.Errorf("slow follower saw another sequence (-fast +slow):\n%s", d)
	}
	sort.Strings(gotSlow)
	if d := cmp.Diff(want, gotSlow); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

// TestEventsResetAfterTrim: resuming from an id older than retention gets a
// reset event first, so the follower drops what it cached.
func TestEventsResetAfterTrim(t *testing.T) {
	e := newEnvWith(t, realRedis.NewClient(t), envConfig{retention: 10, events: true})
	url := e.serve(t)
	svc := e.token(t, serviceRead)
	for i := 0; i < 250; i++ {
		id := fmt.Sprintf("trim-%03d", i)
		e.mustCreate(t, sess{"id": id, "user_id": "u1", "tenant_id": "T1"})
		mustStatus(t, e.del(t, pathAdmin+"/"+id, e.token(t, superAdmin)), http.StatusNoContent)
	}
	s := follow(t, url, svc, "1-0")
	if ev := s.next(t); ev.event != "reset" || !strings.Contains(ev.data, "stream.reset") {
		t.Fatalf("first event %+v, want a reset", ev)
	}
	if ev := s.next(t); ev.event != "session.revoked" {
		t.Errorf("after the reset: %+v, want the oldest retained revocation", ev)
	}
}

// TestRevokeToEventLatency measures revoke-to-event latency on loopback
// (figures in the log; no wall-clock assertion).
func TestRevokeToEventLatency(t *testing.T) {
	e := newEnvWith(t, backends[0].client(t), envConfig{events: true})
	url := e.serve(t)
	s := follow(t, url, e.token(t, serviceRead), "")
	time.Sleep(100 * time.Millisecond)
	admin := e.token(t, superAdmin)
	const n = 200
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("lat-%03d", i)
		e.mustCreate(t, sess{"id": id, "user_id": "u1", "tenant_id": "T1"})
		start := time.Now()
		mustStatus(t, e.del(t, pathAdmin+"/"+id, admin), http.StatusNoContent)
		if got := decodeEvent(t, s.next(t)).SessionID; got != id {
			t.Fatalf("event for %s, want %s", got, id)
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("revoke-to-event latency over %d revocations (DELETE call included): p50 %v, p99 %v, max %v",
		n, lat[n/2], lat[n*99/100], lat[n-1])
}
