// Package e2e runs sessiond as its users meet it: behind the shipped gateway
// configs in a real nginx and a real Caddy, in front of a test application
// (one table for both); its admin console in a real Chromium; its
// revocation push to HTTPS receivers that verify every token, from two
// instances at once. sessiond is served in-process (internal/testserver) on
// a real redis-server. It also checks that the shipped Traefik and Envoy
// files parse and say what the README promises.
//
// Missing nginx, caddy, chromium or redis-server fails the tests with an
// install hint; they never skip.
package e2e

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
)

// sharedRedis serves the tests that do not stop Redis, one database each.
var sharedRedis *testredis.Server

func TestMain(m *testing.M) {
	// The outage tests make go-redis log every refused dial; the tests check
	// what sessiond answers instead.
	redis.SetLogger(quiet{})
	os.Exit(testredis.RunMain(m, func(srv *testredis.Server) { sharedRedis = srv }))
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
