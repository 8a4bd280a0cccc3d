package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/client"
)

// watcher is a `sessionctl watch` running in the background.
type watcher struct {
	cancel context.CancelFunc
	out    *testserver.SyncBuffer
	errb   *testserver.SyncBuffer
	done   chan int
}

// startWatch runs watch with the service token against url and waits until
// its stream is followed.
func startWatch(t *testing.T, url string, args ...string) *watcher {
	t.Helper()
	before := srv.broker.Followers()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{cancel: cancel, out: &testserver.SyncBuffer{}, errb: &testserver.SyncBuffer{}, done: make(chan int, 1)}
	getenv := env("SESSIOND_URL", url, "SESSIOND_TOKEN", srv.serviceToken)
	go func() {
		w.done <- runConsole(ctx, append([]string{"watch"}, args...), console{in: strings.NewReader(""), out: w.out, err: w.errb}, getenv)
	}()
	t.Cleanup(cancel)
	testserver.WaitFor(t, "the stream to be followed", func() bool { return srv.broker.Followers() > before })
	return w
}

// stop cancels watch as Ctrl-C would and returns its exit code.
func (w *watcher) stop(t *testing.T) result {
	t.Helper()
	w.cancel()
	r := result{code: <-w.done, stdout: w.out.String(), stderr: w.errb.String()}
	checkNoToken(t, r)
	return r
}

// waitLines waits until stdout has a line for each session id.
func (w *watcher) waitLines(t *testing.T, sids ...string) {
	t.Helper()
	testserver.WaitFor(t, "events of "+strings.Join(sids, ", "), func() bool {
		out := w.out.String()
		for _, id := range sids {
			if !strings.Contains(out, id) {
				return false
			}
		}
		return true
	})
}

// watchEvent is a line of watch -o json: the event and its stream id.
type watchEvent struct {
	ID string `json:"id"`
	testserver.Event
}

// jsonEvents decodes watch's JSON lines, keeping those of tenant.
func jsonEvents(t *testing.T, out, tenant string) []watchEvent {
	t.Helper()
	var evs []watchEvent
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var ev watchEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", line, err)
		}
		if ev.TenantID == tenant {
			evs = append(evs, ev)
		}
	}
	return evs
}

func TestWatchTable(t *testing.T) {
	tenant := uniq("acme")
	ss := mustCreate(t, tenant, uniq("p"), uniq("mallory"), 2)
	w := startWatch(t, srv.url)
	mustOK(t, sessionctl(t, "revoke", ss[0].ID))
	mustOK(t, sessionctl(t, "revoke-tenant", tenant, "--yes"))
	w.waitLines(t, ss[0].ID, ss[1].ID)
	r := mustOK(t, w.stop(t))

	var lines []string
	for _, l := range strings.Split(strings.TrimRight(r.stdout, "\n"), "\n") {
		if strings.Contains(l, "tenant="+tenant+" ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("got %d lines of the tenant, want 2:\n%s", len(lines), r.stdout)
	}
	for i, want := range []string{"session=" + ss[0].ID, "session=" + ss[1].ID} {
		f := strings.Fields(lines[i])
		if len(f) != 9 || f[1] != "session.revoked" || f[2] != want || !strings.HasPrefix(f[8], "id=") {
			t.Errorf("got line %q, want <time> session.revoked %s user= tenant= partner= reason= actor= id=", lines[i], want)
		}
	}
	if !strings.Contains(lines[0], "reason=admin_revoke actor=root") {
		t.Errorf("got %q, want reason=admin_revoke actor=root", lines[0])
	}
	if r.stderr != "" {
		t.Errorf("got stderr %q, want nothing", r.stderr)
	}
}

func TestWatchJSONAndFrom(t *testing.T) {
	tenant, user := uniq("acme"), uniq("niaj")
	ss := mustCreate(t, tenant, "", user, 3)
	w := startWatch(t, srv.url, "-o", "json")
	mustOK(t, sessionctl(t, "revoke", ss[0].ID))
	w.waitLines(t, ss[0].ID)
	r := mustOK(t, w.stop(t))
	evs := jsonEvents(t, r.stdout, tenant)
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1:\n%s", len(evs), r.stdout)
	}
	ev := evs[0]
	if ev.ID == "" || ev.Type != client.EventSessionRevoked || ev.SessionID != ss[0].ID || ev.UserID != user ||
		ev.PartnerID != nil || ev.Reason != "admin_revoke" || ev.Actor != "root" || ev.RevokedAt == "" {
		t.Errorf("got %+v, want the revocation of %s with its id, a null partner_id", ev, ss[0].ID)
	}

	// Revocations while nobody watches are there with --from.
	mustOK(t, sessionctl(t, "revoke", ss[1].ID))
	mustOK(t, sessionctl(t, "revoke", ss[2].ID))
	w = startWatch(t, srv.url, "--from", ev.ID, "--output", "json")
	w.waitLines(t, ss[1].ID, ss[2].ID)
	r = mustOK(t, w.stop(t))
	var got []string
	for _, e := range jsonEvents(t, r.stdout, tenant) {
		got = append(got, e.SessionID)
	}
	if strings.Join(got, " ") != ss[1].ID+" "+ss[2].ID {
		t.Errorf("got events of %v after --from, want %s %s", got, ss[1].ID, ss[2].ID)
	}
}

// TestWatchResume cuts the stream: watch reconnects and resumes after the
// last event it printed, missing and repeating nothing.
func TestWatchResume(t *testing.T) {
	tenant := uniq("acme")
	ss := mustCreate(t, tenant, "", uniq("olivia"), 3)
	sse := httptest.NewServer(srv.handler)
	defer sse.Close()
	w := startWatch(t, sse.URL, "-o", "json")
	mustOK(t, sessionctl(t, "revoke", ss[0].ID))
	w.waitLines(t, ss[0].ID)

	before := srv.broker.Followers()
	sse.CloseClientConnections()
	// Revoked while the stream is down.
	mustOK(t, sessionctl(t, "revoke", ss[1].ID))
	testserver.WaitFor(t, "the stream to be lost", func() bool { return strings.Contains(w.errb.String(), "stream lost") })
	testserver.WaitFor(t, "a reconnection", func() bool { return srv.broker.Followers() >= before })
	mustOK(t, sessionctl(t, "revoke", ss[2].ID))
	w.waitLines(t, ss[1].ID, ss[2].ID)
	r := mustOK(t, w.stop(t))

	var got []string
	for _, e := range jsonEvents(t, r.stdout, tenant) {
		got = append(got, e.SessionID)
	}
	if want := []string{ss[0].ID, ss[1].ID, ss[2].ID}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got events of %v, want each of %v once, in order", got, want)
	}
	if !strings.Contains(r.stderr, "resuming after event ") {
		t.Errorf("got stderr %q, want it to say where it resumes", r.stderr)
	}
}
