//go:build unix

package faults

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/redisstore"
)

// Freeze timeline.
const (
	freezeAfter = time.Second     // load before SIGSTOP
	freezeFor   = 3 * time.Second // SIGSTOP .. SIGCONT
	// maxRequest is the generous bound every request must end within,
	// whatever Redis does; the observed maximum is reported.
	maxRequest = 5 * time.Second
	// maxRecovery bounds the time from SIGCONT to the first good answer.
	maxRecovery = 5 * time.Second
)

// TestFreeze freezes Redis (SIGSTOP) for 3s under concurrent list, verify,
// create and revoke requests, with a 500ms Redis timeout. Every request must
// end within maxRequest; a request that starts and ends inside the freeze is
// a 503; a verify of a session revoked before the freeze never answers 200;
// nothing answers 500. After SIGCONT the service recovers by itself, the
// sessions are consistent, and no goroutine is left once the router, its
// server and the Redis client are closed.
func TestFreeze(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	srv := testredis.Start(t)
	t.Cleanup(func() { _ = srv.Signal(syscall.SIGCONT) })
	rdb := connect(t, redisstore.ConnectOptions{URL: srv.URL(0), Timeout: redisTimeout})
	r := newRig(t, rdb, rigConfig{})

	const tenant = "TF"
	var stable, gone []sess
	for i := range 40 {
		s := r.mustCreate(t, tenant, fmt.Sprintf("u%d", i%8), "", "")
		if i%4 == 0 {
			gone = append(gone, s)
		} else {
			stable = append(stable, s)
		}
	}
	for _, s := range gone {
		if res := r.revokeOne(s); res.status != http.StatusNoContent {
			t.Fatalf("revoke before the freeze: %v", res)
		}
		if res := r.verify(s.Token); res.status != http.StatusUnauthorized {
			t.Fatalf("verify of a revoked session before the freeze: %v", res)
		}
	}

	// Sessions the revoke workers take, one or two at a time.
	var pools [2][]sess
	for w := range pools {
		for i := range 60 {
			pools[w] = append(pools[w], r.mustCreate(t, tenant, fmt.Sprintf("r%d-%d", w, i/2), "", ""))
		}
	}

	var rec recorder
	var (
		mu      sync.Mutex
		created = slices.Concat(pools[0], pools[1]) // every session not in stable or gone
		acked   = map[string]bool{}                 // revoked with 204
	)
	ld := newLoad()
	worker := func(fn func(i int)) { ld.worker(15*time.Millisecond, fn) }
	for w := range 2 {
		next := 0
		worker(func(int) {
			// Every third round revokes a user's two sessions by id in one
			// request; the others revoke one session.
			if next >= len(pools[w]) {
				return
			}
			batch := pools[w][next : next+1]
			if next%3 == 0 && next+2 <= len(pools[w]) && pools[w][next].User == pools[w][next+1].User {
				batch = pools[w][next : next+2]
			}
			next += len(batch)
			var res result
			if len(batch) == 1 {
				res = r.revokeOne(batch[0])
			} else {
				res = r.do(http.MethodPost, "/api/v1/tenants/"+tenant+"/sessions/users/"+batch[0].User+"/revoke", r.admin,
					map[string]any{"session_ids": []string{batch[0].ID, batch[1].ID}})
			}
			rec.add(record{kind: "revoke", result: res})
			mu.Lock()
			if res.status == http.StatusNoContent || res.status == http.StatusOK {
				for _, s := range batch {
					acked[s.ID] = true
				}
			}
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		})
		worker(func(int) { rec.add(record{kind: "list", result: r.list(tenant)}) })
		worker(func(i int) {
			if i%2 == 0 {
				s := gone[(i/2+w)%len(gone)]
				tok := s.Token
				if i%4 == 0 {
					tok = s.PointerToken
				}
				rec.add(record{kind: "verify", result: r.verify(tok), revokedBefore: true})
				return
			}
			rec.add(record{kind: "verify", result: r.verify(stable[(i+w)%len(stable)].Token)})
		})
		worker(func(i int) {
			// The id is the test's: a create that answered 503 may still
			// have happened, and is checked like the others at the end.
			s, res := r.createID(t, fmt.Sprintf("fz-%d-%d", w, i), tenant, fmt.Sprintf("w%d", w), "", "")
			rec.add(record{kind: "create", result: res})
			mu.Lock()
			created = append(created, s)
			mu.Unlock()
			if res.status != http.StatusCreated {
				return
			}
			res = r.revokeOne(s)
			rec.add(record{kind: "revoke", result: res})
			if res.status == http.StatusNoContent {
				mu.Lock()
				acked[s.ID] = true
				mu.Unlock()
			}
		})
	}

	time.Sleep(freezeAfter)
	if err := srv.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	time.Sleep(freezeFor)
	if err := srv.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	contAt := time.Now()
	// Keep the load on until a list started after SIGCONT succeeds, then a
	// little longer.
	var recovered atomic.Int64
	deadline := contAt.Add(maxRecovery)
	for recovered.Load() == 0 && time.Now().Before(deadline) {
		for _, x := range rec.snapshot() {
			if x.kind == "list" && x.status == http.StatusOK && !x.start.Before(contAt) {
				recovered.Store(int64(x.end.Sub(contAt)))
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	ld.end()

	all := rec.snapshot()
	if recovered.Load() == 0 {
		t.Errorf("no list answered 200 within %s of SIGCONT", maxRecovery)
	}
	var ta tally
	var maxFrozen time.Duration
	inside := map[string]int{}
	for _, x := range all {
		if x.end.After(stoppedAt) && x.start.Before(contAt) {
			maxFrozen = max(maxFrozen, x.dur())
		}
		ok := map[string][]int{
			"list":   {http.StatusOK, http.StatusServiceUnavailable},
			"verify": {http.StatusOK, http.StatusUnauthorized, http.StatusServiceUnavailable},
			"create": {http.StatusCreated, http.StatusServiceUnavailable},
			"revoke": {http.StatusNoContent, http.StatusOK, http.StatusServiceUnavailable},
		}[x.kind]
		if !ta.check(t, x, ok, "SIGSTOP", stoppedAt) {
			continue
		}
		if !x.start.Before(stoppedAt) && x.end.Before(contAt) {
			inside[x.kind]++
			if x.status != http.StatusServiceUnavailable {
				t.Errorf("%s started and ended during the freeze but answered %v, want 503", x.kind, x.result)
			}
		}
	}
	t.Logf("freeze %s with a %s Redis timeout: %d requests; max request time %s overall, %s during the freeze; recovered %s after SIGCONT",
		freezeFor, redisTimeout, len(all), ta.maxDur.Round(time.Millisecond), maxFrozen.Round(time.Millisecond),
		time.Duration(recovered.Load()).Round(time.Millisecond))
	t.Logf("answers by kind and status: %v; requests wholly inside the freeze: %v", ta.counts, inside)
	slices.SortFunc(all, func(a, b record) int { return int(b.dur() - a.dur()) })
	for _, x := range all[:min(3, len(all))] {
		t.Logf("slow: %s started %s after SIGSTOP: %d in %s", x.kind, x.start.Sub(stoppedAt).Round(time.Millisecond), x.status, x.dur().Round(time.Millisecond))
	}
	if inside["list"]+inside["verify"]+inside["create"]+inside["revoke"] < 5 {
		t.Errorf("too few requests ran wholly inside the freeze to judge it: %v", inside)
	}

	// After the freeze: everything answers, and the store is consistent. A
	// revoke that answered 503 may or may not have happened (Redis ran it on
	// SIGCONT); either way the session is wholly there or wholly gone.
	for _, s := range gone {
		if res := r.verify(s.Token); res.status != http.StatusUnauthorized {
			t.Errorf("verify of revoked %s after the freeze: %v", s.ID, res)
		}
	}
	for _, s := range stable {
		if res := r.verify(s.Token); res.status != http.StatusOK {
			t.Errorf("verify of live %s after the freeze: %v", s.ID, res)
		}
	}
	liveCount := len(stable)
	for _, s := range created {
		g, v, vp := r.tenantGet(s), r.verify(s.Token), r.verify(s.PointerToken)
		switch {
		case g.status == http.StatusOK && v.status == http.StatusOK && vp.status == http.StatusOK && !acked[s.ID]:
			liveCount++
		case g.status == http.StatusNotFound && v.status == http.StatusUnauthorized && vp.status == http.StatusUnauthorized:
		default:
			t.Errorf("session %s (revoke acknowledged: %v) is half there after the freeze: GET %v, verify %v, verify by pointer %v",
				s.ID, acked[s.ID], g, v, vp)
		}
	}
	res := r.list(tenant)
	if res.status != http.StatusOK {
		t.Fatalf("list after the freeze: %v", res)
	}
	if _, total := listPage(t, res); total != int64(liveCount) {
		t.Errorf("list total after the freeze: %d, want %d live sessions", total, liveCount)
	}

	// No goroutine outlives the router, its server, the Redis client and the
	// server process.
	r.close()
	if err := rdb.Close(); err != nil {
		t.Errorf("close the Redis client: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("stop redis: %v", err)
	}
	goleak.VerifyNone(t, ignore)
}
