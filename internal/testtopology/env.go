// Package testtopology starts the Redis topologies sessiond runs on in
// production, for tests: a Redis Cluster of 3 masters and 3 replicas, and a
// master with 2 replicas watched by 3 sentinels. Every process is Debian's
// redis-server or redis-sentinel on a free 127.0.0.1 port, in its own process
// group and temporary directory, with persistence off; all of them are
// killed by Stop (and, on Linux, by the kernel if the test binary dies).
//
// A missing program is an error that says how to install it, never a skip.
//
// The package suites run against these topologies when SESSIOND_TEST_TOPOLOGIES
// asks for them (see Requested); each package starts them once in TestMain:
//
//	func TestMain(m *testing.M) {
//		topo, err := testtopology.StartRequested(os.Stderr)
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		code := m.Run()
//		_ = topo.Stop()
//		os.Exit(code)
//	}
package testtopology

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// EnvVar names the topologies the suites should also run against, separated
// by commas or spaces: "cluster", "sentinel", or both.
const EnvVar = "SESSIOND_TEST_TOPOLOGIES"

// Requested reads EnvVar. An unknown name is an error, so that a typo does
// not silently run nothing.
func Requested() (cluster, sentinel bool, err error) {
	v := os.Getenv(EnvVar)
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		switch strings.ToLower(f) {
		case "cluster":
			cluster = true
		case "sentinel":
			sentinel = true
		default:
			return false, false, fmt.Errorf("testtopology: %s=%q: unknown topology %q (want cluster and/or sentinel)", EnvVar, v, f)
		}
	}
	return cluster, sentinel, nil
}

// Topologies are the topologies EnvVar asked for; a field is nil when not
// requested. The methods are nil-safe.
type Topologies struct {
	Cluster  *Cluster
	Sentinel *Sentinel
}

// StartRequested starts, concurrently, the topologies EnvVar asks for, and
// writes how long each took to log (nil: no log). With EnvVar unset it
// starts nothing. On error nothing is left running.
func StartRequested(log io.Writer) (*Topologies, error) {
	wantCluster, wantSentinel, err := Requested()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	t := &Topologies{}
	var wg sync.WaitGroup
	var cErr, sErr error
	if wantCluster {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			t.Cluster, cErr = StartClusterMain()
			if cErr == nil {
				fmt.Fprintf(log, "testtopology: cluster (3 masters, 3 replicas) %v started in %s\n", t.Cluster.Addrs(), time.Since(start).Round(time.Millisecond))
			}
		}()
	}
	if wantSentinel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			t.Sentinel, sErr = StartSentinelMain()
			if sErr == nil {
				fmt.Fprintf(log, "testtopology: sentinel (master, 2 replicas, 3 sentinels %v) started in %s\n", t.Sentinel.SentinelAddrs(), time.Since(start).Round(time.Millisecond))
			}
		}()
	}
	wg.Wait()
	if cErr != nil || sErr != nil {
		_ = t.Stop()
		if cErr != nil {
			return nil, cErr
		}
		return nil, sErr
	}
	return t, nil
}

// Stop stops every started topology and returns the first error.
func (t *Topologies) Stop() error {
	if t == nil {
		return nil
	}
	var first error
	if t.Cluster != nil {
		first = t.Cluster.Stop()
	}
	if t.Sentinel != nil {
		if err := t.Sentinel.Stop(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
