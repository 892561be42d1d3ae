#!/usr/bin/env bash
# bench-vs-wrk.sh — checks `pyhost bench`'s load generator against wrk (README, "Choosing a
# GIL mode"): the same app, the same server flags (--gil shared --threads 2) and the same 8
# keep-alive connections, alternating ROUNDS times: `pyhost bench` (its own child server), then
# wrk -t2 -c8 against a pyhost serve started here (with --metrics-listen, as the bench's are). Prints req/s of each and their ratio, and the
# CPU each load generator spent per request. Apps: hello and the Flask page.
#
# Environment: PYHOST (binary, default bin/pyhost), DURATION (s, default 5), ROUNDS (default 2).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYHOST=${PYHOST:-$ROOT/bin/pyhost}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-2}
whole_numbers DURATION ROUNDS
command -v wrk >/dev/null || die "needs wrk (scripts/deps.sh bench)"
WORK=$(mktemp -d)
SERVER=
stop_server() { [ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true; SERVER=; }; }
clean_up_on_exit stop_server
root=$(allow_root "$PYHOST")
NEXT_PORT=18900

for app in testdata/hello.py testdata/bench/flask_page.py; do
	for round in $(seq "$ROUNDS"); do
		"$PYHOST" bench "$ROOT/$app" --modes shared --parallelism 2 --concurrency 8 \
			--duration "${DURATION}s" --warmup 1s --json "$WORK/b.json" -- $root >/dev/null 2>&1
		b=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["cells"][0]["median"]; print("%.0f %.1f" % (c["requests_per_second"], c["client_cpu_per_request_us"]))' "$WORK/b.json")
		free_port
		listen=$PORT
		free_port # the bench's servers have metrics on (it reads GIL wait there): so does this one
		"$PYHOST" serve "$ROOT/$app" --listen "127.0.0.1:$listen" --metrics-listen "127.0.0.1:$PORT" \
			--gil shared --threads 2 $root 2>"$WORK/serve.log" &
		PORT=$listen
		SERVER=$!
		for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
		wrk -t2 -c8 -d1s "http://127.0.0.1:$PORT/" >/dev/null
		/usr/bin/time -f "%U %S" -o "$WORK/time" wrk -t2 -c8 -d"${DURATION}s" "http://127.0.0.1:$PORT/" >"$WORK/wrk"
		stop_server
		w=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk")
		n=$(awk '/requests in/ {print $1}' "$WORK/wrk")
		wcpu=$(awk -v n="$n" '{printf "%.1f", ($1+$2)*1e6/n}' "$WORK/time")
		set -- $b
		printf '%-32s round %d: pyhost bench %6.0f req/s (%s µs CPU/req)  wrk %6.0f req/s (%s µs CPU/req)  ratio %.3f\n' \
			"$app" "$round" "$1" "$2" "$w" "$wcpu" "$(awk -v a="$1" -v b="$w" 'BEGIN{print a/b}')"
	done
done
