package e2e

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
)

// redisProc is a redis-server that a test stops and starts again on the
// same port with the same data: a client that keeps its address
// (sessiond's go-redis pool) must find Redis back by itself.
type redisProc struct {
	*testredis.Node
	t *testing.T
}

// startRedisProc starts a redis-server on a free loopback port, stopped when
// the test ends.
func startRedisProc(t *testing.T) *redisProc {
	t.Helper()
	return &redisProc{Node: testredis.StartNodeOnFreePort(t), t: t}
}

// Down saves the data to disk and stops the server: its port refuses
// connections until Up.
func (r *redisProc) Down() {
	r.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer c.Close()
	if err := c.Save(context.Background()).Err(); err != nil {
		r.t.Fatalf("SAVE before stopping redis-server: %v", err)
	}
	r.Node.Down()
	if err := testredis.Ping(r.Addr(), 500*time.Millisecond); err == nil {
		r.t.Fatalf("redis-server on %s still answers after being stopped", r.Addr())
	}
}

// Freeze stops the process without closing its connections (SIGSTOP), as a
// hung or overloaded Redis looks to clients; Thaw resumes it.
func (r *redisProc) Freeze() { r.Signal(syscall.SIGSTOP) }
func (r *redisProc) Thaw()   { r.Signal(syscall.SIGCONT) }
