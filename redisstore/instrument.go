package redisstore

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// Observer receives the latency and outcome of every Redis command.
type Observer interface {
	ObserveRedis(command string, d time.Duration, failed bool)
}

// Instrument adds a go-redis hook that reports every command (and every
// pipeline, as "pipeline") to o. Command names are Redis's own, a bounded set.
func Instrument(rdb redis.UniversalClient, o Observer) {
	rdb.AddHook(hook{o: o})
}

type hook struct{ o Observer }

func (h hook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		start := time.Now()
		conn, err := next(ctx, network, addr)
		h.o.ObserveRedis("dial", time.Since(start), err != nil)
		return conn, err
	}
}

func (h hook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.o.ObserveRedis(cmd.Name(), time.Since(start), failed(err))
		return err
	}
}

func (h hook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.o.ObserveRedis("pipeline", time.Since(start), failed(err))
		return err
	}
}

func failed(err error) bool { return err != nil && !errors.Is(err, redis.Nil) }

// PoolStats reports the client's connection pool.
func PoolStats(rdb redis.UniversalClient) (hits, misses, timeouts, total, idle uint32) {
	s := rdb.PoolStats()
	if s == nil {
		return 0, 0, 0, 0, 0
	}
	return s.Hits, s.Misses, s.Timeouts, s.TotalConns, s.IdleConns
}
