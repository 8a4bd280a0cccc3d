package main

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSeries(t *testing.T) {
	tests := []struct {
		name        string
		s           series
		med, lo, hi float64
	}{
		{"odd", series{3, 1, 2}, 2, 1, 3},
		{"even", series{4, 1, 3, 2}, 2.5, 1, 4},
		{"one", series{7}, 7, 7, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.median(); got != tc.med {
				t.Errorf("median: got %v, want %v", got, tc.med)
			}
			if got := tc.s.min(); got != tc.lo {
				t.Errorf("min: got %v, want %v", got, tc.lo)
			}
			if got := tc.s.max(); got != tc.hi {
				t.Errorf("max: got %v, want %v", got, tc.hi)
			}
		})
	}
	if got := (series{}).median(); !math.IsNaN(got) {
		t.Errorf("median of nothing: got %v, want NaN", got)
	}
	if d := cmp.Diff(series{2, 0.5}, ratios(series{4, 1, 9}, series{2, 2})); d != "" {
		t.Errorf("ratios pair run by run (-want +got):\n%s", d)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{{50, 100 * time.Millisecond}, {99, 198 * time.Millisecond}, {100, 200 * time.Millisecond}, {0, time.Millisecond}}
	for _, tc := range tests {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("p%v: got %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestNum(t *testing.T) {
	tests := []struct {
		v      float64
		digits int
		want   string
	}{
		{1234567.891, 0, "1,234,568"},
		{1234.5, 1, "1,234.5"},
		{999, 0, "999"},
		{-12345.25, 2, "-12,345.25"},
		{0.4567, 3, "0.457"},
		{math.NaN(), 2, "–"},
	}
	for _, tc := range tests {
		if got := num(tc.v, tc.digits); got != tc.want {
			t.Errorf("num(%v, %d): got %q, want %q", tc.v, tc.digits, got, tc.want)
		}
	}
}

func TestParseBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/sessiond/sessiond/pkg/client
BenchmarkCachingVerifierHit/serial-2         	 4041170	       295.2 ns/op	       0 B/op	       0 allocs/op
BenchmarkCachingVerifierHit/serial-2         	 4041170	       301.0 ns/op	       0 B/op	       0 allocs/op
pkg: github.com/sessiond/sessiond/redisstore
BenchmarkKeys/verify-2   	 2270880	       102.5 ns/op	      64 B/op	       1 allocs/op
BenchmarkThroughput   	 10	       5.0 ns/op	      12.5 MB/s
PASS
ok  	github.com/sessiond/sessiond/redisstore	1.426s
`
	got := parseBench(strings.NewReader(out))
	if len(got) != 3 {
		t.Fatalf("got %d benchmarks, want 3", len(got))
	}
	hit := find(got, "pkg/client", "BenchmarkCachingVerifierHit/serial")
	if hit == nil || cmp.Diff(series{295.2, 301.0}, hit.ns) != "" || cmp.Diff(series{0, 0}, hit.allocs) != "" {
		t.Errorf("CachingVerifierHit: got %+v, want two counts of ns/op and allocs/op", hit)
	}
	keys := find(got, "redisstore", "BenchmarkKeys/verify")
	if keys == nil || keys.bytes.median() != 64 || keys.allocs.median() != 1 {
		t.Errorf("Keys/verify: got %+v, want 64 B/op, 1 allocs/op", keys)
	}
	tp := find(got, "redisstore", "BenchmarkThroughput")
	if tp == nil || cmp.Diff([]string{"MB/s"}, tp.extraUnits) != "" || tp.extra["MB/s"].median() != 12.5 {
		t.Errorf("Throughput: got %+v, want 12.5 MB/s as an extra unit", tp)
	}
}

func TestRevokeRunLine(t *testing.T) {
	tests := []struct {
		line      string
		ok        bool
		run, side string
		d         time.Duration
	}{
		{"run 1 raw  845ms", true, "1", "raw", 845 * time.Millisecond},
		{"run 2 rest 2.39s", true, "2", "rest", 2390 * time.Millisecond},
		{"  events appended: 100000; response 3500149 bytes", false, "", "", 0},
		{"raw  DEL+ZREM pipelined: median 644ms min 565ms max 845ms", false, "", "", 0},
	}
	for _, tc := range tests {
		m := revokeRun.FindStringSubmatch(strings.TrimSpace(tc.line))
		if (m != nil) != tc.ok {
			t.Errorf("%q: matched %v, want %v", tc.line, m != nil, tc.ok)
			continue
		}
		if m == nil {
			continue
		}
		d, err := time.ParseDuration(m[3])
		if m[1] != tc.run || m[2] != tc.side || err != nil || d != tc.d {
			t.Errorf("%q: got run %s side %s %v (%v), want run %s side %s %v", tc.line, m[1], m[2], d, err, tc.run, tc.side, tc.d)
		}
	}
}

func TestParseRevokecmp(t *testing.T) {
	tests := []struct {
		name                       string
		out                        string
		raw, rest, rawCPU, restCPU series
	}{
		{
			name: "wall times only",
			out: `seeded 100000 sessions in 15.572s
run 1 raw  845ms
  events appended: 100000; response 3500149 bytes
run 1 rest 2.711s
run 2 rest 2.39s
run 2 raw  644ms
run 3 raw  565ms
n=100000 runs=3
raw  DEL+ZREM pipelined: median 644ms min 565ms max 845ms
`,
			// run 3 has no rest line: left out.
			raw: series{0.845, 0.644}, rest: series{2.711, 2.39},
		},
		{
			name: "with redis-server CPU",
			out: `run 1 raw  187ms (redis-server CPU 31ms)
run 1 rest 246ms (redis-server CPU 106ms)
run 2 rest 545ms (redis-server CPU 115ms)
run 2 raw  93ms (redis-server CPU 35ms)
redis-server CPU (user+sys, medians): raw 35ms, REST 115ms, ratio 3.33
`,
			raw: series{0.187, 0.093}, rest: series{0.246, 0.545},
			rawCPU: series{0.031, 0.035}, restCPU: series{0.106, 0.115},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseRevokecmp(strings.NewReader(tc.out))
			want := revokeTimes{raw: tc.raw, rest: tc.rest, rawCPU: tc.rawCPU, restCPU: tc.restCPU}
			if d := cmp.Diff(want, got, cmp.AllowUnexported(revokeTimes{}), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestPprofTable(t *testing.T) {
	out := "File: sessiond\nBuild ID: abc\nType: cpu\nTime: 2026-11-26 02:15:39 UTC\nDuration: 3s, Total samples = 3.44s (114.67%)\n      flat  flat%\n"
	want := "Duration: 3s, Total samples = 3.44s (114.67%)\n      flat  flat%"
	if got := pprofTable(out); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestCPUTime reads this test process's own /proc/<pid>/stat: the figure
// grows while the process burns CPU, and is never below what it burnt.
func TestCPUTime(t *testing.T) {
	before, err := cpuTimeOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	var x uint64
	var burnt time.Duration
	for burnt < 300*time.Millisecond { // thread CPU, by the Go runtime's clock
		start := time.Now()
		for i := 0; i < 1_000_000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		burnt += time.Since(start)
	}
	after, err := cpuTimeOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Ticks are 10 ms, and wall time may exceed CPU time on a busy machine,
	// so only a loose lower bound: some of the burn must show.
	if after <= before {
		t.Errorf("cpuTime did not grow: %v then %v (x=%d)", before, after, x)
	}
}

func TestServerProcs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    []string
		wantErr bool
	}{
		{args: nil, want: nil},
		{args: []string{"-server-procs", "1"}, want: []string{"GOMAXPROCS=1"}},
		{args: []string{"-server-procs", "0"}, want: nil},
		{args: []string{"-server-procs", "-1"}, wantErr: true},
	} {
		saved := os.Args
		os.Args = append([]string{"suite"}, tc.args...)
		c, err := parseFlags()
		os.Args = saved
		if (err != nil) != tc.wantErr {
			t.Fatalf("%v: error %v", tc.args, err)
		}
		if err != nil {
			continue
		}
		if got := procsEnv(c.serverProcs); !cmp.Equal(got, tc.want) {
			t.Errorf("%v: env %q, want %q", tc.args, got, tc.want)
		}
	}
}
