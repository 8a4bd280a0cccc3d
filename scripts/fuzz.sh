#!/usr/bin/env bash
# Runs every fuzz target of the module (each `func FuzzX(f *testing.F)` in a
# _test.go file) for a while, one after the other:
#
#   bash scripts/fuzz.sh [seconds per target, default 10] [target regexp, default all]
#
# Each target runs as `go test -run '^$' -fuzz '^FuzzX$' -fuzztime Ns ./pkg`.
# A failing input is kept where go writes it, testdata/fuzz/FuzzX/<hash> in
# the target's package, ready to commit as a regression seed; the script
# lists every new one with the command that replays it and exits 1. The
# handler targets need redis-server (their TestMain starts one per process).
#
# Environment: FUZZ_PARALLEL (workers, default GOMAXPROCS), FUZZ_MINIMIZE
# (-fuzzminimizetime, default 5s: new coverage is minimized too, and long
# inputs would otherwise eat the budget), FUZZ_KEEP_DIR (when set, every new
# failing input is also copied there as <FuzzX>-<hash>). Each new failing
# input is printed in full as well, so a CI log keeps it even when the clone
# it was written in is thrown away (`make test` runs this for 10 s a target).
#
# Go 1.26 can end a run with "context deadline exceeded" and no failing
# input when -fuzztime expires while a worker is busy (go.dev/issue/75804,
# fixed in Go 1.27): that is reported as a flake, not a failure.
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:-10}
filter=${2:-.}
[[ $secs =~ ^[0-9]+$ ]] || { echo "usage: $0 [seconds per target] [target regexp]" >&2; exit 2; }
minimize=${FUZZ_MINIMIZE:-5s}
parallel=()
[[ -n ${FUZZ_PARALLEL:-} ]] && parallel=(-parallel "$FUZZ_PARALLEL")

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# "<package dir> <FuzzName>" for every target, in a stable order.
mapfile -t targets < <(
	find . -name '*_test.go' -not -path './.git/*' -not -path './vendor/*' -print0 |
		xargs -0 grep -H -o '^func Fuzz[A-Za-z0-9_]*(f \*testing.F)' |
		sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' |
		grep -E " ($filter)" | sort -u
)
if ((${#targets[@]} == 0)); then
	echo "no fuzz target matches $filter" >&2
	exit 2
fi

# failure_reasons prints what go reported under "--- FAIL", one reason a line.
failure_reasons() {
	awk '/^--- FAIL/ { f = 1; next } f && NF' "$1" | sed 's/^[[:space:]]*//' |
		grep -v -E '^(FAIL|exit status|ok )' | sort -u
}

failed=0
flaky=0
found=()
rows=()
for t in "${targets[@]}"; do
	dir=${t% *}
	name=${t#* }
	corpus="$dir/testdata/fuzz/$name"
	before=$(ls "$corpus" 2>/dev/null | sort)
	log="$logs/$name.log"
	printf '%-28s %-16s ' "$name" "$dir" >&2
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" -fuzzminimizetime "$minimize" \
		-timeout "$((secs + 600))s" "${parallel[@]}" "$dir" >"$log" 2>&1
	rc=$?
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
	# No execs line yet: the run ended while replaying the seed corpus.
	[[ -n $execs ]] || execs=$(grep -o 'baseline coverage: [0-9]*/[0-9]*' "$log" | tail -1 | awk '{print "seeds:" $3}')
	after=$(ls "$corpus" 2>/dev/null | sort)
	new=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed '/^$/d')
	if [[ -n $new ]] || grep -q 'Failing input written to' "$log"; then
		result=FAIL
		failed=1
		for f in $new; do
			found+=("$corpus/$f   (replay: go test -run '^${name}/${f}\$' $dir)")
			echo "--- new failing input $corpus/$f:" >&2
			cat "$corpus/$f" >&2
			if [[ -n ${FUZZ_KEEP_DIR:-} ]]; then
				mkdir -p "$FUZZ_KEEP_DIR" && cp "$corpus/$f" "$FUZZ_KEEP_DIR/$name-$f"
			fi
		done
		grep -E -A12 -- '^--- FAIL' "$log" | head -30 >&2
	elif ((rc != 0)) && [[ $(failure_reasons "$log") == "context deadline exceeded" ]]; then
		result="ok (flake: go.dev/issue/75804)"
		flaky=$((flaky + 1))
	elif ((rc != 0)); then
		result="FAIL (exit $rc)"
		failed=1
		tail -20 "$log" >&2
	else
		result=ok
	fi
	echo "$result" >&2
	rows+=("$(printf '%-28s %-16s %10s  %s' "$name" "$dir" "${execs:-?}" "$result")")
done

echo
printf '%-28s %-16s %10s  %s\n' target package "execs/${secs}s" result
printf '%s\n' "${rows[@]}"
if ((${#found[@]} > 0)); then
	echo
	echo "new failing inputs (kept; commit them with the fix):"
	printf '  %s\n' "${found[@]}"
fi
((flaky > 0)) && echo && echo "$flaky run(s) ended with go's fuzztime deadline race and no failing input"
exit "$failed"
