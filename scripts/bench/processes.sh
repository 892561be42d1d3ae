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

# allow_root BIN: "--allow-root" when running as root and BIN knows the flag (pyhost refuses
# to run apps as root without it; older builds have no such flag).
allow_root() {
	[ "$(id -u)" -eq 0 ] && timeout 10 "$1" serve --help 2>&1 | grep -q -- '-allow-root' &&
		echo --allow-root
	return 0
}
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

tree_ticks() { # utime+stime of $1 and its children
	local pids
	pids="$1 $(pgrep -P "$1" | tr '\n' ' ')"
	for p in $pids; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done |
		awk '{s += $1} END {print s}'
}

run() { # run LABEL FLAGS...: prints "req/s p99_ms cpu_us_per_req"
	local label=$1
	shift
	(cd "$ROOT" && exec "$BIN" serve "$APP" --listen "127.0.0.1:$PORT" $(allow_root "$BIN") "$@") \
		2>"$work/$label.log" &
	server=$!
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:$PORT$URLPATH" 2>/dev/null && break
		sleep 0.1
	done
	wrk -t2 -c"$CONNECTIONS" -d1s "http://127.0.0.1:$PORT$URLPATH" >/dev/null # warm-up
	local before after out
	before=$(tree_ticks "$server")
	out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT$URLPATH")
	after=$(tree_ticks "$server")
	kill "$server"
	wait "$server" 2>/dev/null || true
	server=""
	local hz requests rps p99
	hz=$(getconf CLK_TCK)
	requests=$(awk '/requests in/ {print $1}' <<<"$out")
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		echo "processes.sh: $label answered errors:" >&2
		grep "Non-2xx\|Socket errors" <<<"$out" >&2
	fi
	awk -v r="$rps" -v p="$p99" -v t=$((after - before)) -v hz="$hz" -v n="$requests" \
		'BEGIN { printf "%.0f %.2f %.1f\n", r, p, t / hz * 1e6 / n }'
}

printf '%-5s %-10s %10s %9s %14s\n' round setup 'req/s' 'p99 ms' 'cpu us/req'
for i in $(seq "$ROUNDS"); do
	for label in 1x8 2x8; do
		if [ "$label" = 1x8 ]; then flags=(--threads 8); else flags=(--processes 2 --threads 8); fi
		read -r rps p99 cpu < <(run "$label" "${flags[@]}")
		printf '%-5s %-10s %10s %9s %14s\n' "$i" "$label" "$rps" "$p99" "$cpu"
		echo "$rps $p99 $cpu" >>"$work/$label.results"
	done
done
for label in 1x8 2x8; do
	sort -n "$work/$label.results" | awk -v l="$label" \
		'{r[NR]=$1} END {printf "median %-10s %10s req/s\n", l, r[int((NR+1)/2)]}'
done
