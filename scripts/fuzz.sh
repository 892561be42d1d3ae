#!/usr/bin/env bash
# fuzz.sh — runs every Go fuzz target of the module (every func Fuzz* in a _test.go file,
# found anew each run) for a bounded time each, and fails on the first crash or failure.
#
#   scripts/fuzz.sh                      every target, FUZZTIME each (default 15s; CI keeps ≤ 30s)
#   FUZZTIME=5m scripts/fuzz.sh ./wsgi   longer, one package (any go package patterns)
#   FUZZMINIMIZETIME=60s ...             Go's default shrinking time per input (here 3s)
#
# Seed corpora live in testdata/fuzz/<FuzzName>/ at the top of the repository; each package
# with fuzz targets links its testdata/fuzz there, so `go test` runs those seeds as ordinary
# tests and `go test -fuzz` writes any failing input there too (commit it: it becomes a
# regression test). Inputs the fuzzer finds interesting stay in Go's cache ($(go env GOCACHE)/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-15s}
# Go shrinks every new interesting input before going on, for up to a minute by default; in a
# 15 s run that can eat the whole budget (seen: 12 s without a new exec). Crashers are shrunk
# under the same bound: still small enough to read.
minimizetime=${FUZZMINIMIZETIME:-3s}
patterns=("$@")
[ ${#patterns[@]} -gt 0 ] || patterns=(./...)

ran=0
results=()
# Listing runs a test binary (and its TestMain): only list packages whose tests hold a target.
while read -r pkg dir; do
	grep -qs '^func Fuzz' "$dir"/*_test.go || continue
	if [ ! -e "$dir/testdata/fuzz" ]; then
		echo "fuzz.sh: $dir/testdata/fuzz is missing; link it to the shared corpora:" >&2
		echo "  mkdir -p $dir/testdata && ln -s $(realpath --relative-to="$dir/testdata" testdata/fuzz) $dir/testdata/fuzz" >&2
		exit 1
	fi
	listed=$(go test -list '^Fuzz' "$pkg") # a package that does not build fails here
	targets=$(grep '^Fuzz' <<<"$listed" || true)
	for name in $targets; do
		echo "== fuzzing $pkg $name for $fuzztime" >&2
		log=$(mktemp)
		corpus="$dir/testdata/fuzz/$name"
		before=$(ls "$corpus" 2>/dev/null | sort || true)
		# Quiet unless it fails: the progress lines are noise in make test's output.
		if ! go test -run "^$name\$" -fuzz "^$name\$" -fuzztime "$fuzztime" \
			-fuzzminimizetime "$minimizetime" "$pkg" >"$log" 2>&1; then
			after=$(ls "$corpus" 2>/dev/null | sort || true)
			# Go 1.26's fuzz coordinator can report its own -fuzztime deadline as a failure
			# ("context deadline exceeded", golang/go#75804, fixed in 1.27) with no failing
			# input written: that is no crash, and the target counts as run.
			if [ "$before" = "$after" ] && grep -q 'context deadline exceeded' "$log" &&
				! grep -q -- '--- FAIL: .*\(panic\|Failing input\)' "$log"; then
				execs=$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 || true)
				rm -f "$log"
				results+=("$pkg $name: ${execs:-execs: ?}, no crash (Go's end-of-fuzztime race ignored)")
				ran=$((ran + 1))
				continue
			fi
			cat "$log" >&2
			echo "fuzz.sh: $pkg $name FAILED; the failing input is under testdata/fuzz/$name/" \
				"(re-run: go test -run '$name/<file>' $pkg)" >&2
			rm -f "$log"
			exit 1
		fi
		execs=$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 || true)
		rm -f "$log"
		results+=("$pkg $name: ${execs:-execs: ?}, no crash")
		ran=$((ran + 1))
	done
done < <(go list -f '{{.ImportPath}} {{.Dir}}' "${patterns[@]}")

if [ "$ran" -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets found in ${patterns[*]}" >&2
	exit 1
fi
printf '%s\n' "${results[@]}" >&2
