#!/usr/bin/env bash
# accesslog.sh — the access log's cost: the same server with --access-log off, on (a file,
# combined format, a write per line) and buffered (--access-log-buffer $BUFFER), in alternation
# (ROUNDS times) while wrk loads it on 127.0.0.1. Prints req/s, p99 and the CPU per request of
# the server's process tree, then the medians and the on/off and buffered/off ratios.
#
#   scripts/bench/accesslog.sh
#   APP=testdata/frameworks/flask_app.py URLPATH=/hello/bench scripts/bench/accesslog.sh
#
# Environment: APP (default testdata/hello.py), URLPATH (/), DURATION (seconds per run, 5),
# CONNECTIONS (32), ROUNDS (2), PORT (18637), BIN (bin/pyhost), FLAGS (more serve flags,
# default "--threads 8"), FORMAT (combined or json), BUFFER (64K).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
APP=${APP:-testdata/hello.py}
URLPATH=${URLPATH:-/}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-18637}
BIN=${BIN:-$ROOT/bin/pyhost}
FORMAT=${FORMAT:-combined}
read -r -a extra <<<"${FLAGS:---threads 8}"
"$ROOT/scripts/deps.sh" bench

work=$(mktemp -d)
server=""
cleanup() {
	local rc=$?
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	if [ "$rc" -ne 0 ]; then
		for f in "$work"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -5 "$f" >&2; }; done
	fi
	rm -rf "$work"
}
trap cleanup EXIT

printf '%-5s %-6s %10s %9s %14s\n' round log 'req/s' 'p99 ms' 'cpu us/req'
for i in $(seq "$ROUNDS"); do
	for label in off on buffered; do
		flags=("${extra[@]}")
		if [ "$label" != off ]; then
			flags+=(--access-log "$work/access.log" --access-log-format "$FORMAT")
		fi
		if [ "$label" = buffered ]; then
			flags+=(--access-log-buffer "${BUFFER:-64K}")
		fi
		read -r rps p99 cpu < <(measure_pyhost "$work/$label.log" "$BIN" "${flags[@]}")
		printf '%-5s %-6s %10s %9s %14s\n' "$i" "$label" "$rps" "$p99" "$cpu"
		echo "$rps $p99 $cpu" >>"$work/$label.results"
		rm -f "$work/access.log"
	done
done
for label in off on buffered; do
	for col in 1 2 3; do
		awk -v c=$col '{print $c}' "$work/$label.results" | median >"$work/$label.m$col"
	done
done
for label in off on buffered; do
	printf 'median %-8s %s req/s, %s µs CPU/req\n' "$label:" "$(cat "$work/$label.m1")" "$(cat "$work/$label.m3")"
done
for label in on buffered; do
	awk -v l="$label" -v a="$(cat "$work/$label.m1")" -v b="$(cat "$work/off.m1")" \
		-v c="$(cat "$work/$label.m3")" -v d="$(cat "$work/off.m3")" \
		'BEGIN { printf "%s/off: req/s %.3f, CPU per request %.3f\n", l, a / b, c / d }'
done
