// Package seed is what the benchmark programs under bench/ (each run by
// hand, never by the tests) share: it fills a tenant with realistic sessions
// through the real store, reads Redis's memory figure, starts Redis, serves
// the router, calls it, and runs a program's body.
package seed

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessiond/sessiond/pkg/device"
	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/redisstore"
)

// UserAgent is a real desktop Chrome user agent, 110 bytes long.
const UserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.3"

// Shape is what the seeded sessions look like: session i belongs to user
// i/PerUser, whose id is UserFormat (e.g. "user-%07d") of that number.
type Shape struct {
	Tenant, Partner string
	PerUser         int
	UserFormat      string
}

// Session is session i of the shape: a UUIDv7-sized id, an e-mail, a display
// name, an IP, the 110-byte user agent and its device type, a location, and
// 24 hours to live from now.
func (sh Shape) Session(i int64) *session.Session {
	now := time.Now().UTC()
	uid := fmt.Sprintf(sh.UserFormat, i/int64(sh.PerUser))
	return &session.Session{
		ID:     fmt.Sprintf("01936f%026d", i),
		UserID: uid, TenantID: sh.Tenant, PartnerID: sh.Partner,
		UserEmail: uid + "@example.com", UserDisplayName: "Ada Lovelace",
		IPAddress: "203.0.113.42", UserAgent: UserAgent, DeviceType: device.Classify(UserAgent),
		Location: "Berlin, DE", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
	}
}

// Create writes sessions 0..n-1 of the shape through st.Create with the
// given number of workers. It stops at the first error or when ctx ends;
// created (may be nil) is called after each session written.
func Create(ctx context.Context, st *redisstore.Store, sh Shape, n, workers int, created func()) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				if err := st.Create(ctx, sh.Session(i)); err != nil {
					errc <- fmt.Errorf("seed: create %d: %w", i, err)
					return
				}
				if created != nil {
					created()
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	return ctx.Err()
}
