package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessiond/sessiond/pkg/client"
)

// BenchmarkCachingVerifierHit is the gateway's hot path when the cache
// answers: hashing the token and one map lookup.
func BenchmarkCachingVerifierHit(b *testing.B) {
	e := newEnv(b)
	r := startCache(b, e, client.CacheOptions{MaxStaleness: time.Hour})
	s, tok := e.liveToken(b, uniq("t"))
	mustVerify(b, r.v, tok, s)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.v.Verify(ctx, tok); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	if st := r.v.Stats(); st.Misses != 1 {
		b.Errorf("got %d misses, want only the first verify to miss", st.Misses)
	}
}

// BenchmarkVerifyNetwork is Client.Verify over loopback against the real
// router and redis-server, for comparison.
func BenchmarkVerifyNetwork(b *testing.B) {
	e := newEnv(b)
	s, tok := e.liveToken(b, uniq("t"))
	c := mustClient(b, e.url)
	mustVerify(b, c, tok, s)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Verify(ctx, tok); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
