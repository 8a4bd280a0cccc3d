package testserver

import "sort"

// SetDiff returns, sorted, the keys only a holds and the keys only b holds:
// what a test that keeps two lists in step (routes and their documentation,
// variables read and documented) reports.
func SetDiff(a, b map[string]bool) (onlyA, onlyB []string) {
	for k := range a {
		if !b[k] {
			onlyA = append(onlyA, k)
		}
	}
	for k := range b {
		if !a[k] {
			onlyB = append(onlyB, k)
		}
	}
	sort.Strings(onlyA)
	sort.Strings(onlyB)
	return onlyA, onlyB
}
