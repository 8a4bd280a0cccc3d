//go:build unix

package faults

import (
	"testing"

	"github.com/sessiond/sessiond/internal/testredis"
)

// startRedisAt runs redis-server on 127.0.0.1:port with args (a port and
// directory of the test's choosing: the AOF test restarts a server on the
// data another left), waits until it answers PING, loading its data first,
// and stops it at the end of the test.
func startRedisAt(tb testing.TB, port int, args ...string) *testredis.Node {
	tb.Helper()
	return testredis.StartNode(tb, port, args...)
}
