#!/usr/bin/env bash
# ab.sh OLD NEW — before/after benchmark of two git revisions of pyhost on the same machine, in
# one sitting: each revision is built into a temporary worktree, then the two binaries serve
# the same app in alternation (ROUNDS times, so drift hits both alike) while wrk loads them on
# 127.0.0.1. Prints, per run, req/s, p99 and the server's CPU per request (utime+stime of the
# server process over the measured run ÷ requests), then the medians and the NEW/OLD ratios.
#
#   scripts/bench/ab.sh HEAD~3 HEAD
#   APP=testdata/frameworks/flask_app.py URLPATH=/hello/bench scripts/bench/ab.sh main~5 main
#
# Environment: APP (default testdata/hello.py), URLPATH (/), ARGS (extra serve flags, default
# "--threads 8"), DURATION (seconds per run, 5), CONNECTIONS (32), ROUNDS (3), PORT (18500).
set -euo pipefail

# allow_root BIN: "--allow-root" when running as root and BIN knows the flag (pyhost refuses
# to run apps as root without it; older builds have no such flag).
allow_root() {
	[ "$(id -u)" -eq 0 ] && timeout 10 "$1" serve --help 2>&1 | grep -q -- '-allow-root' &&
		echo --allow-root
	return 0
}
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
	(cd "$work/$1" && go build -o "$work/pyhost-$1" .) >&2
}
build old "$OLD"
build new "$NEW"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() { # run LABEL: prints "req/s p99_ms cpu_us_per_req"
	local label=$1
	(cd "$ROOT" && exec "$work/pyhost-$label" serve "$APP" --listen "127.0.0.1:$PORT" $ARGS \
		$(allow_root "$work/pyhost-$label")) \
		2>"$work/$label.log" &
	server=$!
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:$PORT$URLPATH" 2>/dev/null && break
		sleep 0.1
	done
	wrk -t2 -c"$CONNECTIONS" -d1s "http://127.0.0.1:$PORT$URLPATH" >/dev/null # warm-up
	local before after out
	before=$(cpu_ticks "$server")
	out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT$URLPATH")
	after=$(cpu_ticks "$server")
	kill "$server"
	wait "$server" 2>/dev/null || true
	server=""
	local hz requests rps p99
	hz=$(getconf CLK_TCK)
	requests=$(awk '/requests in/ {print $1}' <<<"$out")
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
	if grep -q "Non-2xx" <<<"$out"; then
		echo "ab.sh: $label answered errors:" >&2
		grep "Non-2xx" <<<"$out" >&2
	fi
	awk -v r="$rps" -v p="$p99" -v t=$((after - before)) -v hz="$hz" -v n="$requests" \
		'BEGIN { printf "%.0f %.2f %.1f\n", r, p, t / hz * 1e6 / n }'
}

printf '%-5s %-4s %10s %9s %14s\n' round rev 'req/s' 'p99 ms' 'cpu us/req'
for i in $(seq "$ROUNDS"); do
	for label in old new; do
		read -r rps p99 cpu < <(run "$label")
		printf '%-5s %-4s %10s %9s %14s\n' "$i" "$label" "$rps" "$p99" "$cpu"
		echo "$rps $p99 $cpu" >>"$work/$label.results"
	done
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for col in 1 2 3; do
	o=$(cut -d' ' -f$col "$work/old.results" | median)
	n=$(cut -d' ' -f$col "$work/new.results" | median)
	name=$(echo "req/s p99_ms cpu_us_per_req" | cut -d' ' -f$col)
	awk -v name="$name" -v o="$o" -v n="$n" 'BEGIN { printf "median %-15s old %10.2f  new %10.2f  new/old %.3f\n", name, o, n, n / o }'
done
