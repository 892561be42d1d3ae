#!/usr/bin/env bash
# processes.sh — one process × 8 threads against --processes 2 × 8 threads, same binary, same
# app, in alternation (ROUNDS times) while wrk loads them on 127.0.0.1. Prints req/s, p99 and
# the CPU per request of the whole process tree (utime+stime of the supervisor and its workers
# over the measured run ÷ requests), then the medians.
#
#   scripts/bench/processes.sh
#   APP=testdata/hello.py URLPATH=/ scripts/bench/processes.sh
#
# Environment: APP (default testdata/frameworks/flask_app.py), URLPATH (/hello/bench),
# DURATION (seconds per run, 5), CONNECTIONS (32), ROUNDS (3), PORT (18600), BIN (bin/pyhost).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
APP=${APP:-testdata/frameworks/flask_app.py}
URLPATH=${URLPATH:-/hello/bench}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18600}
BIN=${BIN:-$ROOT/bin/pyhost}
"$ROOT/scripts/deps.sh" bench

work=$(mktemp -d)
server=""
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

printf '%-5s %-10s %10s %9s %14s\n' round setup 'req/s' 'p99 ms' 'cpu us/req'
for i in $(seq "$ROUNDS"); do
	for label in 1x8 2x8; do
		if [ "$label" = 1x8 ]; then flags=(--threads 8); else flags=(--processes 2 --threads 8); fi
		read -r rps p99 cpu < <(measure_pyhost "$work/$label.log" "$BIN" "${flags[@]}")
		printf '%-5s %-10s %10s %9s %14s\n' "$i" "$label" "$rps" "$p99" "$cpu"
		echo "$rps $p99 $cpu" >>"$work/$label.results"
	done
done
for label in 1x8 2x8; do
	printf 'median %-10s %10s req/s\n' "$label" "$(cut -d' ' -f1 "$work/$label.results" | median)"
done
