package main

import (
	"runtime/debug"
	"testing"
)

// TestTuneGC: the GC target is defaultGCPercent unless GOGC is set, in which
// case the runtime's own reading of GOGC stands.
func TestTuneGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	tests := []struct {
		name string
		gogc string
		want int
	}{
		{"unset", "", defaultGCPercent},
		{"set", "100", 100},
		{"off", "off", 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			tuneGC(func(k string) string {
				if k == "GOGC" {
					return tc.gogc
				}
				return ""
			})
			if got := debug.SetGCPercent(100); got != tc.want {
				t.Errorf("GC percent: got %d, want %d", got, tc.want)
			}
		})
	}
}
