package testredis

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testproc"
)

// nodeReadyTimeout is longer than Start's: a node may load an AOF or an
// RDB before it answers.
const nodeReadyTimeout = 10 * time.Second

// Node is a redis-server on a port the test chose, with arguments it keeps
// across restarts: Down stops it, Up starts it again on the same port and
// directory, with its data, so that clients which keep their address must
// find it back; fault tests freeze and crash it with Signal.
type Node struct {
	tb   testing.TB
	path string
	port int
	args []string

	mu   sync.Mutex
	proc *testproc.Proc
}

// StartNode runs redis-server on 127.0.0.1:port with args after --port and
// --bind, waits until it answers PING (loading its data first), and stops it
// when the test ends.
func StartNode(tb testing.TB, port int, args ...string) *Node {
	tb.Helper()
	path, err := testproc.LookPath("redis-server", InstallHint)
	if err != nil {
		tb.Fatalf("testredis: %v", err)
	}
	n := &Node{tb: tb, path: path, port: port, args: args}
	n.Up()
	tb.Cleanup(n.Down)
	return n
}

// StartNodeOnFreePort is StartNode on a free port, with persistence to the
// test's directory (dump.rdb), so that Down and Up keep what SAVE wrote.
func StartNodeOnFreePort(tb testing.TB) *Node {
	tb.Helper()
	ports, err := testproc.FreePorts(1)
	if err != nil {
		tb.Fatalf("testredis: pick a free port: %v", err)
	}
	return StartNode(tb, ports[0], "--save", "", "--appendonly", "no", "--dir", tb.TempDir(), "--dbfilename", "dump.rdb")
}

// Addr is "127.0.0.1:port"; it does not change across restarts.
func (n *Node) Addr() string { return testproc.Addr(n.port) }

// Port is the node's port.
func (n *Node) Port() int { return n.port }

// Up starts the node (again). The port was the test's a moment ago; another
// process taking it in between fails the test.
func (n *Node) Up() {
	n.tb.Helper()
	args := append([]string{"--port", strconv.Itoa(n.port), "--bind", "127.0.0.1"}, n.args...)
	p, err := testproc.Start(context.Background(), testproc.Spec{
		Name: "redis-server", Path: n.path, Args: args, Addr: n.Addr(),
		Ready: testproc.RedisReady, ReadyTimeout: nodeReadyTimeout,
	})
	if err != nil {
		n.tb.Fatalf("testredis: %v", err)
	}
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
}

// Down stops the node (SIGTERM, which saves when persistence is on; SIGKILL
// after 5s) and waits until it is gone. It is safe to call more than once.
func (n *Node) Down() {
	n.tb.Helper()
	if err := n.current().Stop(stopGrace); err != nil {
		n.tb.Errorf("testredis: %v", err)
	}
}

// Signal sends sig to the node: SIGSTOP freezes it, SIGCONT resumes it,
// SIGKILL crashes it.
func (n *Node) Signal(sig os.Signal) {
	n.tb.Helper()
	if err := n.current().Signal(sig); err != nil {
		n.tb.Fatalf("testredis: %v", err)
	}
}

// Output is the tail of what the running (or last) process logged.
func (n *Node) Output() string { return n.current().Output() }

func (n *Node) current() *testproc.Proc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}
