#!/usr/bin/env bash
# gil-wait.sh: what each GIL mode makes a request wait for the GIL, read from pyhost's own
# metrics (pyhost_gil_wait_seconds, which counts the wait at the GIL gate and inside
# PyEval_RestoreThread). The CPU-bound app (testdata/cpu.py, ~1 ms of pure Python) is served
# by the CPython 3.13 build with 2 request threads, 4 wrk connections:
#
#   shared   --gil shared                   one GIL: one request runs, the other waits
#   own      --gil own --interpreters 2     a GIL per interpreter: both run
#
# and the table gives req/s, requests measured, the mean GIL wait per request and the share
# of requests that waited over 1.024 ms (from the histogram's buckets). Shared must show more
# wait than own: this is the ordering the metrics exist to show, reported, not asserted.
#
# Environment: DURATION (default 10), PYHOST313 (a pyhost built against 3.13; default: built
# here with make build PYTHON=...), PYTHON313 (default: scripts/build-python.sh 3.13), OUT
# (default /tmp: gil-wait.md), PORT (default 18600; the metrics listener uses PORT+1).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DURATION=${DURATION:-10}
OUT=${OUT:-/tmp}
PORT=${PORT:-18600}
MPORT=$((PORT + 1))
work=$(mktemp -d)
server=""
cleanup() {
	[[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

bin=${PYHOST313:-}
if [[ -z $bin ]]; then
	py=${PYTHON313:-$("$ROOT/scripts/build-python.sh" 3.13 | tail -n 1)/bin/python3.13}
	bin=$work/pyhost-3.13
	(cd "$ROOT" && make -s build PYTHON="$py" BIN="$bin") >"$work/build.log" 2>&1 ||
		{ tail -20 "$work/build.log" >&2; exit 1; }
fi

# gil_wait NAME ARGS...: one row.
gil_wait() {
	local name=$1
	shift
	(cd "$ROOT" && exec "$bin" serve testdata/cpu.py --listen "127.0.0.1:$PORT" --threads 2 \
		--metrics-listen "127.0.0.1:$MPORT" $(allow_root "$bin") "$@") 2>"$work/$name.log" &
	server=$!
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break
		sleep 0.1
	done
	wrk -t2 -c4 -d1s "http://127.0.0.1:$PORT/" >/dev/null
	curl -fsS "http://127.0.0.1:$MPORT/metrics" >"$work/$name.before"
	local out
	out=$(wrk -t2 -c4 -d"${DURATION}s" "http://127.0.0.1:$PORT/")
	curl -fsS "http://127.0.0.1:$MPORT/metrics" >"$work/$name.after"
	kill "$server"
	wait "$server" 2>/dev/null || true
	server=""
	# Sums over every interpreter's series: _sum, _count and the 1.024 ms bucket, after - before.
	local stats
	stats=$(awk '
		FNR == 1 { f++ }
		/^pyhost_gil_wait_seconds_sum/ { s[f] += $NF }
		/^pyhost_gil_wait_seconds_count/ { c[f] += $NF }
		/^pyhost_gil_wait_seconds_bucket/ && /le="0.001024"/ { b[f] += $NF }
		END {
			n = c[2] - c[1]
			if (n <= 0) { print "0 0 0"; exit }
			printf "%d %.1f %.1f\n", n, (s[2] - s[1]) / n * 1e6, 100 * (1 - (b[2] - b[1]) / n)
		}' "$work/$name.before" "$work/$name.after")
	printf '| %s | %s | %s | %s µs | %s%% |\n' "$name $*" \
		"$(awk '/Requests\/sec/ {print $2}' <<<"$out")" $stats
}

{
	echo "### GIL wait by mode (\`DURATION=$DURATION scripts/bench/gil-wait.sh\`, $(date -u '+%Y-%m-%d %H:%M') UTC)"
	echo
	echo "testdata/cpu.py, CPython 3.13, 2 request threads, wrk -c4 on 127.0.0.1, $(nproc) CPUs."
	echo
	echo "| mode | req/s | requests | mean GIL wait | waited > 1 ms |"
	echo "|---|--:|--:|--:|--:|"
	gil_wait shared --gil shared
	gil_wait own --gil own --interpreters 2
} | tee "$OUT/gil-wait.md"
