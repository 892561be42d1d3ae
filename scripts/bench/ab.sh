#!/usr/bin/env bash
# ab.sh OLD NEW — before/after benchmark of two git revisions of pyhost on the same machine, in
# one sitting: each revision is built into a temporary worktree, then the two binaries serve
# the same app in alternation (ROUNDS times, so drift hits both alike) while wrk loads them on
# 127.0.0.1. Prints, per run, req/s, p99 and the server's CPU per request (utime+stime of the
# server's process tree over the measured run ÷ requests), then the medians and the NEW/OLD ratios.
#
#   scripts/bench/ab.sh HEAD~3 HEAD
#   APP=testdata/frameworks/flask_app.py URLPATH=/hello/bench scripts/bench/ab.sh main~5 main
#
# Environment: APP (default testdata/hello.py), URLPATH (/), ARGS (extra serve flags, default
# "--threads 8"), DURATION (seconds per run, 5), CONNECTIONS (32), ROUNDS (3), PORT (18500).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OLD=${1:?usage: ab.sh OLD NEW}
NEW=${2:?usage: ab.sh OLD NEW}
APP=${APP:-testdata/hello.py}
URLPATH=${URLPATH:-/}
ARGS=${ARGS:---threads 8}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18500}
"$ROOT/scripts/deps.sh" bench

work=$(mktemp -d)
server=""
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	for label in old new; do
		git -C "$ROOT" worktree remove --force "$work/$label" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

build() { # build LABEL REV
	git -C "$ROOT" worktree add -q --detach "$work/$1" "$2"
	# Built as make build builds (the static libpython where there is one), for any revision.
	(cd "$work/$1" && "$ROOT/scripts/with-python.sh" "" go build -o "$work/pyhost-$1" .) >&2
}
build old "$OLD"
build new "$NEW"

printf '%-5s %-4s %10s %9s %14s\n' round rev 'req/s' 'p99 ms' 'cpu us/req'
for i in $(seq "$ROUNDS"); do
	for label in old new; do
		read -r rps p99 cpu < <(measure_pyhost "$work/$label.log" "$work/pyhost-$label" $ARGS)
		printf '%-5s %-4s %10s %9s %14s\n' "$i" "$label" "$rps" "$p99" "$cpu"
		echo "$rps $p99 $cpu" >>"$work/$label.results"
	done
done
for col in 1 2 3; do
	o=$(cut -d' ' -f$col "$work/old.results" | median)
	n=$(cut -d' ' -f$col "$work/new.results" | median)
	name=$(echo "req/s p99_ms cpu_us_per_req" | cut -d' ' -f$col)
	awk -v name="$name" -v o="$o" -v n="$n" 'BEGIN { printf "median %-15s old %10.2f  new %10.2f  new/old %.3f\n", name, o, n, n / o }'
done
