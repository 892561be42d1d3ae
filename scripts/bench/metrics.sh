#!/usr/bin/env bash
# metrics.sh: what --metrics-listen costs on the hello hot path. Serves testdata/hello.py
# with the same binary twice, metrics off then on (one process; PROCESSES=N for a supervisor
# and N workers), and runs wrk for $DURATION s against each; prints req/s, p99 and the
# server's CPU per request of both runs and the ratios (on / off).
#
#   DURATION=5 scripts/bench/metrics.sh          (BIN, PORT, CONNECTIONS, PROCESSES)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/scripts/bench/lib.sh"
BIN=${BIN:-$ROOT/bin/pyhost}
APP=testdata/hello.py URLPATH=/
PORT=${PORT:-18190} CONNECTIONS=${CONNECTIONS:-32} DURATION=${DURATION:-5}
extra=()
[ -n "${PROCESSES:-}" ] && extra=(--processes "$PROCESSES")
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; true' EXIT
log=${LOG:-$(mktemp)}
off=$(measure_pyhost "$log" "$BIN" "${extra[@]}")
on=$(measure_pyhost "$log" "$BIN" "${extra[@]}" --metrics-listen "127.0.0.1:$((PORT + 1))")
[ -z "${LOG:-}" ] && rm -f "$log"
echo "metrics  req/s  p99_ms  cpu_us_per_req"
echo "off      $off"
echo "on       $on"
awk -v a="$off" -v b="$on" 'BEGIN { split(a, x, " "); split(b, y, " ");
	printf "on/off   req/s %.3f, CPU per request %.3f\n", y[1] / x[1], y[3] / x[3] }'
