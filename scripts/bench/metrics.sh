#!/usr/bin/env bash
# metrics.sh: what --metrics-listen costs. Serves each app with the same binary, metrics off
# and on, alternating for $ROUNDS rounds (so neither always runs second), one process
# (PROCESSES=N: a supervisor and N workers), wrk for $DURATION s each; prints the medians of
# req/s and of the server's CPU per request, and the ratios on / off (issue 9's target: req/s
# on ≥ 97% of off).
#
#   DURATION=5 ROUNDS=3 scripts/bench/metrics.sh   (APPS="hello flask", BIN, PORT, CONNECTIONS,
#                                                   PROCESSES)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/scripts/bench/lib.sh"
BIN=${BIN:-$ROOT/bin/pyhost}
URLPATH=/
PORT=${PORT:-18190} CONNECTIONS=${CONNECTIONS:-32} DURATION=${DURATION:-5} ROUNDS=${ROUNDS:-3}
APPS=${APPS:-hello flask}
extra=()
[ -n "${PROCESSES:-}" ] && extra=(--processes "$PROCESSES")
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; true' EXIT
log=${LOG:-$(mktemp)}
echo "| app | metrics | req/s (median of $ROUNDS) | CPU µs/req | on ÷ off req/s | on ÷ off CPU |"
echo "|---|---|--:|--:|--:|--:|"
for app in $APPS; do
	case $app in
	hello) APP=testdata/hello.py ;;
	flask) APP=testdata/bench/flask_page.py ;;
	*) echo "metrics.sh: unknown app $app (hello, flask)" >&2; exit 2 ;;
	esac
	offs=() ons=()
	for ((r = 0; r < ROUNDS; r++)); do
		if ((r % 2 == 0)); then
			offs+=("$(measure_pyhost "$log" "$BIN" "${extra[@]}")")
			ons+=("$(measure_pyhost "$log" "$BIN" "${extra[@]}" --metrics-listen "127.0.0.1:$((PORT + 1))")")
		else
			ons+=("$(measure_pyhost "$log" "$BIN" "${extra[@]}" --metrics-listen "127.0.0.1:$((PORT + 1))")")
			offs+=("$(measure_pyhost "$log" "$BIN" "${extra[@]}")")
		fi
	done
	off_rps=$(printf '%s\n' "${offs[@]}" | awk '{print $1}' | median)
	off_cpu=$(printf '%s\n' "${offs[@]}" | awk '{print $3}' | median)
	on_rps=$(printf '%s\n' "${ons[@]}" | awk '{print $1}' | median)
	on_cpu=$(printf '%s\n' "${ons[@]}" | awk '{print $3}' | median)
	echo "| $app | off | $off_rps | $off_cpu | | |"
	awk -v a="$off_rps" -v b="$on_rps" -v c="$off_cpu" -v d="$on_cpu" -v app="$app" \
		'BEGIN { printf "| %s | on | %s | %s | %.3f | %.3f |\n", app, b, d, b / a, d / c }'
done
[ -z "${LOG:-}" ] && rm -f "$log"
