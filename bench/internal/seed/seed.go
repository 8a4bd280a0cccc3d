// Package seed fills a tenant with realistic sessions through the real
// store, and reads Redis's memory figure, for the benchmark programs under
// bench/ (each run by hand, never by the tests).
package seed

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
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

// UsedMemory is Redis's used_memory (INFO memory), in bytes.
func UsedMemory(ctx context.Context, rdb redis.Cmdable) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("INFO memory: %w", err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("used_memory not in INFO")
}

// StartRedis starts a redis-server for a benchmark program, with extraArgs
// on its command line, and connects the store's client to its database 0.
// stop closes the client and stops the server.
func StartRedis(extraArgs ...string) (srv *testredis.Server, rdb redis.UniversalClient, stop func(), err error) {
	srv, err = testredis.StartMain(extraArgs...)
	if err != nil {
		return nil, nil, nil, err
	}
	rdb, err = redisstore.Connect(redisstore.ConnectOptions{URL: srv.URL(0), Timeout: 10 * time.Second})
	if err != nil {
		_ = srv.Stop()
		return nil, nil, nil, err
	}
	return srv, rdb, func() { _ = rdb.Close(); _ = srv.Stop() }, nil
}
