package seed

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/redisstore"
)

// UsedMemory is Redis's used_memory (INFO memory), in bytes.
func UsedMemory(ctx context.Context, rdb redis.Cmdable) (int64, error) {
	v, err := Info(ctx, rdb, "memory", "used_memory")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

// ServerVersion is Redis's redis_version (INFO server), or "?".
func ServerVersion(ctx context.Context, rdb redis.Cmdable) string {
	v, err := Info(ctx, rdb, "server", "redis_version")
	if err != nil {
		return "?"
	}
	return v
}

// Info is the value of field in the section of Redis's INFO.
func Info(ctx context.Context, rdb redis.Cmdable, section, field string) (string, error) {
	info, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return "", fmt.Errorf("INFO %s: %w", section, err)
	}
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s not in INFO %s", field, section)
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

// StartPool starts a redis-server for a benchmark program and connects a
// plain client of poolSize connections (one per seeding worker and a few
// more) to its database 0, then sets config, a comma list of name=value,
// with CONFIG SET. stop closes the client and stops the server.
func StartPool(ctx context.Context, poolSize int, config string) (rdb *redis.Client, stop func(), err error) {
	srv, err := testredis.StartMain()
	if err != nil {
		return nil, nil, err
	}
	rdb = redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: poolSize})
	stop = func() { _ = rdb.Close(); _ = srv.Stop() }
	for _, kv := range strings.Split(config, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			if err := rdb.ConfigSet(ctx, k, v).Err(); err != nil {
				stop()
				return nil, nil, fmt.Errorf("config set %s: %w", k, err)
			}
		}
	}
	return rdb, stop, nil
}

// ConfigGet is the value of Redis's configuration parameter name, or "?".
func ConfigGet(ctx context.Context, rdb redis.Cmdable, name string) string {
	v, err := rdb.ConfigGet(ctx, name).Result()
	if err != nil {
		return "?"
	}
	return v[name]
}
