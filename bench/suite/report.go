package main

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"
)

// series is one figure measured once per run.
type series []float64

func (s series) sorted() []float64 {
	c := append([]float64(nil), s...)
	sort.Float64s(c)
	return c
}

func (s series) median() float64 {
	c := s.sorted()
	if len(c) == 0 {
		return math.NaN()
	}
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

func (s series) min() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return s.sorted()[0]
}

func (s series) max() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return s.sorted()[len(s)-1]
}

// ratios divides a by b run by run.
func ratios(a, b series) series {
	out := make(series, 0, len(a))
	for i := range a {
		if i < len(b) && b[i] != 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// aim is a figure's target; check reports whether v meets it.
type aim struct {
	text  string
	check func(v float64) bool
}

func atLeast(x float64, text string) *aim {
	return &aim{text: text, check: func(v float64) bool { return v >= x }}
}

func atMost(x float64, text string) *aim {
	return &aim{text: text, check: func(v float64) bool { return v <= x }}
}

// row is one line of a results table.
type row struct {
	figure  string
	unit    string
	vals    series
	digits  int
	ratio   series // ratio to the paired figure, run by run (optional)
	ratioOf string
	aim     *aim
	note    string
}

// report is the results file, rewritten after every phase so that an
// interrupted run still leaves what it measured.
type report struct {
	path     string
	header   string
	sections []section
	failures []string
}

type section struct {
	title string
	intro string
	rows  []row
	extra string // markdown after the table (micro-benchmark table, raw output)
}

func (r *report) add(s section) { r.sections = append(r.sections, s) }

func (r *report) fail(phase string, err error) {
	r.failures = append(r.failures, fmt.Sprintf("%s: %v", phase, err))
}

func (r *report) write() error {
	sort.SliceStable(r.sections, func(i, j int) bool { return r.sections[i].title < r.sections[j].title })
	var b strings.Builder
	b.WriteString(r.header)
	if len(r.failures) > 0 {
		b.WriteString("\n## Phases that failed\n\n")
		for _, f := range r.failures {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(f, "\n", "\n  "))
		}
	}
	// Summary: every row with an aim.
	var aimed []row
	for _, s := range r.sections {
		for _, rw := range s.rows {
			if rw.aim != nil {
				aimed = append(aimed, rw)
			}
		}
	}
	if len(aimed) > 0 {
		b.WriteString("\n## Aims\n\n| Figure | Value (median) | Aim | Met |\n|---|---:|---|---|\n")
		for _, rw := range aimed {
			v := rw.vals
			if len(rw.ratio) > 0 {
				v = rw.ratio
			}
			met := "no"
			if rw.aim.check(v.median()) {
				met = "yes"
			}
			val := num(v.median(), 2) + " " + rw.ratioOf
			if len(rw.ratio) == 0 {
				val = num(v.median(), rw.digits) + " " + rw.unit
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", rw.figure, val, rw.aim.text, met)
		}
	}
	for _, s := range r.sections {
		fmt.Fprintf(&b, "\n## %s\n\n", s.title)
		if s.intro != "" {
			b.WriteString(s.intro + "\n\n")
		}
		if len(s.rows) > 0 {
			b.WriteString("| Figure | Median | Min | Max | Ratio (median, min–max) | Aim |\n|---|---:|---:|---:|---|---|\n")
			for _, rw := range s.rows {
				ratio := ""
				if len(rw.ratio) > 0 {
					ratio = fmt.Sprintf("%s %s (%s–%s)", num(rw.ratio.median(), 2), rw.ratioOf, num(rw.ratio.min(), 2), num(rw.ratio.max(), 2))
				}
				a := ""
				if rw.aim != nil {
					a = rw.aim.text
				}
				fig := rw.figure
				if rw.unit != "" {
					fig += " (" + rw.unit + ")"
				}
				if rw.note != "" {
					fig += " — " + rw.note
				}
				lo, hi := num(rw.vals.min(), rw.digits), num(rw.vals.max(), rw.digits)
				if len(rw.vals) == 1 {
					lo, hi = "–", "–" // measured once
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", fig, num(rw.vals.median(), rw.digits), lo, hi, ratio, a)
			}
		}
		if s.extra != "" {
			b.WriteString("\n" + s.extra + "\n")
		}
	}
	return os.WriteFile(r.path, []byte(b.String()), 0o644)
}

// num formats v with digits decimals and thousands separators.
func num(v float64, digits int) string {
	if math.IsNaN(v) {
		return "–"
	}
	s := fmt.Sprintf("%.*f", digits, v)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var out []byte
	for i := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, intPart[i])
	}
	res := string(out)
	if neg {
		res = "-" + res
	}
	if frac != "" {
		res += "." + frac
	}
	return res
}
