package events_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/pkg/events"
	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/redisstore"
)

var srv *testredis.Server

func TestMain(m *testing.M) {
	var err error
	if srv, err = testredis.StartMain(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = srv.Stop()
	os.Exit(code)
}

func revokeOne(tb testing.TB, st *redisstore.Store, tenant string) string {
	tb.Helper()
	now := time.Now()
	s := &session.Session{ID: fmt.Sprintf("s%d", now.UnixNano()), UserID: "u", TenantID: tenant, CreatedAt: now, ExpiresAt: now.Add(time.Hour), DeviceType: "desktop"}
	ctx := context.Background()
	if err := st.Create(ctx, s); err != nil {
		tb.Fatal(err)
	}
	if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: tenant}, IDs: []string{s.ID}}); err != nil {
		tb.Fatal(err)
	}
	return s.ID
}

func TestBrokerWakesEveryFollower(t *testing.T) {
	st := redisstore.New(srv.NewClient(t), redisstore.Options{})
	b := events.NewBroker(st, 200*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx, func(err error) { t.Errorf("broker: %v", err) }); close(done) }()
	defer func() { cancel(); <-done }()

	a, stopA := b.Subscribe()
	c, stopC := b.Subscribe()
	if n := b.Followers(); n != 2 {
		t.Fatalf("followers %d, want 2", n)
	}
	time.Sleep(300 * time.Millisecond) // let Run learn the log's end
	revokeOne(t, st, "t1")
	for name, ch := range map[string]<-chan struct{}{"a": a, "c": c} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("follower %s was not woken", name)
		}
	}
	stopA()
	stopC()
	if n := b.Followers(); n != 0 {
		t.Errorf("followers after unsubscribe %d, want 0", n)
	}
}

func TestBrokerSurvivesRedisOutage(t *testing.T) {
	red := testredis.Start(t)
	st := redisstore.New(red.NewClient(t), redisstore.Options{})
	b := events.NewBroker(st, 100*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 100)
	done := make(chan struct{})
	go func() {
		b.Run(ctx, func(err error) {
			select {
			case errs <- err:
			default:
			}
		})
		close(done)
	}()
	_ = red.Signal(os.Interrupt) // SIGINT stops redis-server
	select {
	case <-errs:
	case <-time.After(10 * time.Second):
		t.Fatal("no error reported while Redis is down")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

// watcher records what the broker tells a Watcher.
type watcher struct {
	events chan []session.Event
	live   chan bool
	resets chan struct{}
}

func (w *watcher) Events(evs []session.Event) { w.events <- evs }
func (w *watcher) SetLive(l bool) {
	select {
	case w.live <- l:
	default:
	}
}
func (w *watcher) Reset() { w.resets <- struct{}{} }

// TestBrokerWatcher: the watcher hears each revocation, goes live once the
// tail reads, and not live when Redis is gone.
func TestBrokerWatcher(t *testing.T) {
	red := testredis.Start(t)
	st := redisstore.New(red.NewClient(t), redisstore.Options{})
	b := events.NewBroker(st, 100*time.Millisecond)
	w := &watcher{events: make(chan []session.Event, 10), live: make(chan bool, 1000), resets: make(chan struct{}, 10)}
	b.Watch(w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx, nil); close(done) }()
	defer func() { cancel(); <-done }()
	waitLive := func(want bool) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l := <-w.live:
				if l == want {
					return
				}
			case <-deadline:
				t.Fatalf("the watcher never heard live=%v", want)
			}
		}
	}
	waitLive(true)
	sid := revokeOne(t, st, "tw")
	select {
	case evs := <-w.events:
		if len(evs) != 1 || evs[0].SessionID != sid {
			t.Errorf("events %+v, want the revocation of %s", evs, sid)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the watcher did not hear the revocation")
	}
	_ = red.Signal(os.Interrupt)
	waitLive(false)
}
