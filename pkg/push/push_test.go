package push_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/pkg/delivery"
	"github.com/sessiond/sessiond/pkg/push"
	"github.com/sessiond/sessiond/pkg/receiver"
	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/redisstore"
)

var red *testredis.Server

func TestMain(m *testing.M) {
	var err error
	if red, err = testredis.StartMain(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = red.Stop()
	os.Exit(code)
}

// recorder is a Sender that records which receiver URL got which event.
type recorder struct {
	mu  sync.Mutex
	got map[string][]string // url -> "tenant/session"
}

func (r *recorder) Send(_ context.Context, url, _ string, body []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[url] = append(r.got[url], string(body))
	return nil
}

// plain encodes an event as "tenant/session/reason", so the recorder sees
// what went where.
type plain struct{}

func (plain) Encode(_ receiver.Receiver, e session.Event) (string, []byte, error) {
	return "text/plain", []byte(e.TenantID + "/" + e.SessionID + "/" + e.Reason), nil
}

// TestReceiversGetOnlyTheirOwners is a property test: random receivers of
// tenants, partners and the platform (some filtering by reason), random
// revocations through the real store and queue; every receiver gets exactly
// the revocations of its tenant, of its partner's tenants or, for the
// platform's, of every tenant, that its filter wants, once each, and
// nothing else.
func TestReceiversGetOnlyTheirOwners(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d", seed)
	ctx := context.Background()
	st := redisstore.New(red.NewClient(t), redisstore.Options{})
	reasons := []string{"admin_revoke", "tenant_revoke", "user_revoke"}
	tenants := []string{"ta", "tb", "tc", "td"}
	partnerOf := map[string]string{"ta": "pa", "tb": "pa", "tc": "pc", "td": ""}
	// Receivers of a tenant, of a partner (every tenant of the partner) and
	// of the platform (every tenant).
	owners := []receiver.Owner{receiver.PlatformOwner(), receiver.PartnerOwner("pa"), receiver.PartnerOwner("pc")}
	for _, tn := range tenants {
		owners = append(owners, receiver.TenantOwner(tn), receiver.TenantOwner(tn))
	}
	gets := func(o receiver.Owner, tn string) bool {
		switch o.Scope {
		case receiver.ScopeTenant:
			return o.ID == tn
		case receiver.ScopePartner:
			return o.ID == partnerOf[tn]
		}
		return true
	}
	var rcvs []receiver.Receiver
	for i := 0; i < 14; i++ {
		o := owners[rng.IntN(len(owners))]
		r := receiver.Receiver{ID: fmt.Sprintf("r%d", i), Owner: o, URL: fmt.Sprintf("https://rp%d.example/", i),
			Kind: receiver.KindCAEP, Audience: "rp", CreatedAt: time.Now()}
		if rng.IntN(3) == 0 {
			r.Events = []string{reasons[rng.IntN(len(reasons))]}
		}
		if err := st.AddReceiver(ctx, r); err != nil {
			t.Fatal(err)
		}
		rcvs = append(rcvs, r)
	}
	rec := &recorder{got: map[string][]string{}}
	w := &push.Worker{Queue: st, Store: st, Encoder: plain{}, Sender: rec, Consumer: "c1", ReclaimIdle: time.Second}
	// The group starts at the stream's end: create it before the revocations.
	if _, err := st.Claim(ctx, "c1", 1, 0); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]bool{} // url -> expected bodies
	for _, x := range rcvs {
		want[x.URL] = map[string]bool{}
	}
	total := 0
	for i := 0; i < 60; i++ {
		tn := tenants[rng.IntN(len(tenants))]
		reason := reasons[rng.IntN(len(reasons))]
		s := &session.Session{ID: fmt.Sprintf("s%d", i), UserID: "u", TenantID: tn, PartnerID: partnerOf[tn], CreatedAt: time.Now(),
			ExpiresAt: time.Now().Add(time.Hour), DeviceType: session.DeviceDesktop}
		if err := st.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: tn}, IDs: []string{s.ID}, Reason: reason}); err != nil {
			t.Fatal(err)
		}
		for _, x := range rcvs {
			if gets(x.Owner, tn) && x.Wants(reason) {
				want[x.URL][tn+"/"+s.ID+"/"+reason] = true
				total++
			}
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(runCtx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec.mu.Lock()
		n := 0
		for _, b := range rec.got {
			n += len(b)
		}
		rec.mu.Unlock()
		if n >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // anything extra would arrive now
	cancel()
	<-done
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, x := range rcvs {
		got := rec.got[x.URL]
		seen := map[string]bool{}
		for _, b := range got {
			if !want[x.URL][b] {
				t.Errorf("receiver %s of %s (events %v) got %q", x.ID, x.Owner, x.Events, b)
			}
			if seen[b] {
				t.Errorf("receiver %s got %q twice", x.ID, b)
			}
			seen[b] = true
		}
		if len(seen) != len(want[x.URL]) {
			t.Errorf("receiver %s of %s got %d of its %d revocations", x.ID, x.Owner, len(seen), len(want[x.URL]))
		}
	}
}

func TestRetryDelay(t *testing.T) {
	const base, maxDelay = 100 * time.Millisecond, 10 * time.Second
	// The jittered backoff of attempt 0 for a generator of this seed.
	backoff := delivery.Backoff(0, base, maxDelay, rand.New(rand.NewPCG(1, 2)))
	tests := []struct {
		name string
		err  error
		want time.Duration
	}{
		{"backoff, full jitter", errors.New("refused"), backoff},
		{"a longer Retry-After wins", &delivery.Error{StatusCode: 503, RetryAfter: 3 * time.Second}, 3 * time.Second},
		{"a shorter Retry-After does not", &delivery.Error{StatusCode: 503, RetryAfter: time.Nanosecond}, max(backoff, time.Nanosecond)},
		{"Retry-After capped at the maximum", &delivery.Error{StatusCode: 429, RetryAfter: time.Hour}, maxDelay},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := push.RetryDelay(tc.err, 0, base, maxDelay, rand.New(rand.NewPCG(1, 2))); got != tc.want {
				t.Errorf("RetryDelay = %v, want %v", got, tc.want)
			}
		})
	}
}

// flaky answers 503 with Retry-After once per body, then 200.
type flaky struct {
	mu    sync.Mutex
	tries map[string]int
}

func (f *flaky) Send(_ context.Context, _, _ string, body []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries[string(body)]++
	if f.tries[string(body)] == 1 {
		return &delivery.Error{StatusCode: 503, RetryAfter: 2 * time.Second}
	}
	return nil
}

// TestWorkerHonoursRetryAfter: the worker waits what the receiver's
// Retry-After asks before its retry (the waits are recorded, not slept).
func TestWorkerHonoursRetryAfter(t *testing.T) {
	ctx := context.Background()
	st := redisstore.New(red.NewClient(t), redisstore.Options{})
	if err := st.AddReceiver(ctx, receiver.Receiver{ID: "r", Owner: receiver.TenantOwner("tw"), URL: "https://rp.example/", Kind: receiver.KindCAEP, Audience: "rp", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Claim(ctx, "c", 1, 0); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var waits []time.Duration
	snd := &flaky{tries: map[string]int{}}
	w := &push.Worker{Queue: st, Store: st, Encoder: plain{}, Sender: snd, Consumer: "c",
		BaseDelay: time.Millisecond, MaxDelay: time.Minute}
	w.Sleep = func(_ context.Context, d time.Duration) bool {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return true
	}
	s := &session.Session{ID: "s1", UserID: "u", TenantID: "tw", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), DeviceType: session.DeviceDesktop}
	if err := st.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "tw"}, IDs: []string{"s1"}, Reason: "admin_revoke"}); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(runCtx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		snd.mu.Lock()
		n := snd.tries["tw/s1/admin_revoke"]
		snd.mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 1 || waits[0] != 2*time.Second {
		t.Errorf("waits before the retries: %v, want [2s] (the Retry-After)", waits)
	}
}

// slow is a receiver that takes a while to answer, counting what it got.
type slow struct {
	mu    sync.Mutex
	got   map[string]int
	delay time.Duration
}

func (s *slow) Send(ctx context.Context, _, _ string, body []byte) error {
	s.mu.Lock()
	s.got[string(body)]++
	s.mu.Unlock()
	select {
	case <-time.After(s.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestSlowDeliveryIsNotTakenOver: a delivery that outlasts the reclaim
// idle time stays with the live instance that works on it (its heartbeat
// extends the entry), so another instance does not deliver it again
// (e2e/push_test.go kills an instance and proves that what it left is
// taken over).
func TestSlowDeliveryIsNotTakenOver(t *testing.T) {
	ctx := context.Background()
	st := redisstore.New(red.NewClient(t), redisstore.Options{})
	if err := st.AddReceiver(ctx, receiver.Receiver{ID: "r", Owner: receiver.TenantOwner("ts"), URL: "https://rp.example/", Kind: receiver.KindCAEP, Audience: "rp", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Claim(ctx, "a", 1, 0); err != nil {
		t.Fatal(err)
	}
	snd := &slow{got: map[string]int{}, delay: 1500 * time.Millisecond}
	worker := func(name string) *push.Worker {
		return &push.Worker{Queue: st, Store: st, Encoder: plain{}, Sender: snd, Consumer: name,
			ReclaimIdle: 300 * time.Millisecond, Timeout: 5 * time.Second}
	}
	actx, stopA := context.WithCancel(ctx)
	aDone := make(chan struct{})
	go func() { worker("a").Run(actx); close(aDone) }()
	s := &session.Session{ID: "s1", UserID: "u", TenantID: "ts", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), DeviceType: session.DeviceDesktop}
	if err := st.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "ts"}, IDs: []string{"s1"}, Reason: "admin_revoke"}); err != nil {
		t.Fatal(err)
	}
	// a claims the entry and is busy with it for 1.5 s, five idle times.
	deadline := time.Now().Add(5 * time.Second)
	for {
		snd.mu.Lock()
		n := snd.got["ts/s1/admin_revoke"]
		snd.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	bctx, stopB := context.WithCancel(ctx)
	bDone := make(chan struct{})
	go func() { worker("b").Run(bctx); close(bDone) }()
	time.Sleep(2 * time.Second) // a finishes and acknowledges meanwhile
	stopB()
	<-bDone
	stopA()
	<-aDone
	snd.mu.Lock()
	defer snd.mu.Unlock()
	if n := snd.got["ts/s1/admin_revoke"]; n != 1 {
		t.Errorf("the slow delivery was sent %d times, want once (b took over a live instance's entry)", n)
	}
}
