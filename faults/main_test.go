//go:build unix

// Package faults holds fault-injection tests of sessiond on real Redis
// processes (loopback only). Every test drives the real router
// (handlers.New) over HTTP on a redisstore.Store whose client is made by
// redisstore.Connect, as cmd/sessiond does, and stops by itself: every wait
// is bounded.
//
//   - TestAOFRestart: an AOF-persisted server restarted on the same port and
//     directory under a running sessiond; nothing is lost or changed.
//   - TestFreeze: Redis frozen (SIGSTOP) for 3s under load: bounded 503s,
//     recovery, consistency, no goroutine leak.
//   - TestSentinelFailover: WAIT latency, then the master SIGKILLed under
//     load: 503s, recovery time, no acknowledged revocation lost.
//   - TestWaitShortfall, TestRetryAfterShortfall: revocations a replica did
//     not acknowledge.
//   - TestLatencySpikeOnRevoke, TestLatencySpikeOnCreate: a reply delayed
//     past the Redis timeout by a proxy, once.
package faults

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when any test leaves a goroutine behind once
// every test and its cleanups have run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
