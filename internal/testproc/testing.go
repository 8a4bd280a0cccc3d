package testproc

import (
	"fmt"
	"runtime"
	"testing"
)

// Stopper is what ForTest stops when the test ends: a server or a topology.
type Stopper interface{ Stop() error }

// ForTest calls start and fails tb when it fails; what it started is
// stopped when the test ends, and a failure to stop fails the test.
func ForTest[S Stopper](tb testing.TB, start func() (S, error)) S {
	tb.Helper()
	s, err := start()
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return s
}

// Record runs f with a testing.TB whose Fatal and Skip calls are recorded
// instead of acted on (f ends there, as it would with tb); everything else
// goes to tb. It returns the Fatal message and whether f skipped, for tests
// that a helper fails, rather than skips, when a program is missing.
func Record(tb testing.TB, f func(testing.TB)) (fatal string, skipped bool) {
	r := &recordTB{TB: tb}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.fatal, r.skipped
}

type recordTB struct {
	testing.TB
	fatal   string
	skipped bool
}

func (r *recordTB) Helper() {}
func (r *recordTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recordTB) Fatal(args ...any)    { r.Fatalf("%s", fmt.Sprint(args...)) }
func (r *recordTB) FailNow()             { r.Fatalf("FailNow") }
func (r *recordTB) Skip(...any)          { r.SkipNow() }
func (r *recordTB) Skipf(string, ...any) { r.SkipNow() }
func (r *recordTB) SkipNow() {
	r.skipped = true
	runtime.Goexit()
}
