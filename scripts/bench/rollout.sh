#!/usr/bin/env bash
# rollout.sh — a rolling update as deploy/kubernetes's Deployment does it, on loopback: two
# pyhost "pods" (the ConfigMap's config, testdata/hello.py) behind a TCP balancer that behaves
# as kube-proxy does are replaced one by one (maxSurge 1, maxUnavailable 0): a new pod starts
# and turns ready (/readyz), joins the endpoints while the old one leaves them, the old one
# keeps serving for the preStop sleep (5 s) and then gets SIGTERM. 16 clients ask throughout;
# the failures are counted (README, "Scaling out").
#
#   scripts/bench/rollout.sh                 POSTs on kept-alive connections
#   LOAD="-get" scripts/bench/rollout.sh     GETs (net/http retries them on a closed kept-alive connection)
#   LOAD="-close" scripts/bench/rollout.sh   a new connection per request
#   WRK=1 scripts/bench/rollout.sh           wrk's kept-alive GETs instead (no retries)
#
# Environment: BIN (default bin/pyhost, built by make build), APP (default testdata/hello.py),
# DURATION (30s), PORT (18600: the balancer; PORT+11.. the pods, PORT+1011.. their metrics).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin/pyhost}
APP=${APP:-testdata/hello.py}
DURATION=${DURATION:-30s}
PORT=${PORT:-18600}
[ -x "$BIN" ] || { echo "rollout.sh: no $BIN (make build)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pyhost-rollout.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/rolloutload" ./scripts/bench/rolloutload
# The ConfigMap's pyhost.toml, as the pod reads it.
sed -n '/pyhost.toml: |/,$p' deploy/kubernetes/configmap.yaml | tail -n +2 | sed 's/^    //' >"$work/pyhost.toml"
mkdir -p "$work/app" && cp "$APP" "$work/app/app.py" && chmod -R a+rX "$work"
asuser=()
[ "$(id -u)" -eq 0 ] && asuser=(--user nobody)

declare -A pod
start() { # start NAME N: a pod on PORT+10+N, ready when this returns
	"$BIN" serve --config "$work/pyhost.toml" --chdir "$work/app" "${asuser[@]}" \
		--listen "127.0.0.1:$((PORT + 10 + $2))" --metrics-listen "127.0.0.1:$((PORT + 1010 + $2))" \
		>/dev/null 2>"$work/pod-$1.log" &
	pod[$1]=$!
	pids+=("$!")
	until curl -fs "127.0.0.1:$((PORT + 1010 + $2))/readyz" >/dev/null; do sleep 0.1; done
	echo "$(date +%T) pod $1 ready" >&2
}
endpoints() { # endpoints N...: the balancer's backends
	local n
	for n in "$@"; do echo "127.0.0.1:$((PORT + 10 + n))"; done >"$work/backends"
	kill -HUP "$balancer"
}
stop() { # stop NAME: the preStop sleep, then SIGTERM and the drain
	sleep 5
	echo "$(date +%T) SIGTERM pod $1" >&2
	kill -TERM "${pod[$1]}"
	local rc=0
	wait "${pod[$1]}" || rc=$?
	echo "$(date +%T) pod $1 exited $rc" >&2
}

start A 1
start B 2
printf '127.0.0.1:%s\n127.0.0.1:%s\n' $((PORT + 11)) $((PORT + 12)) >"$work/backends"
"$work/rolloutload" balance -listen "127.0.0.1:$PORT" -backends "$work/backends" 2>"$work/balancer.log" &
balancer=$!
pids+=("$balancer")
sleep 0.3
if [ -n "${WRK:-}" ]; then
	wrk -t2 -c16 -d"$DURATION" "http://127.0.0.1:$PORT/" >"$work/load.out" &
else
	# shellcheck disable=SC2086 # LOAD is flags
	"$work/rolloutload" load -url "http://127.0.0.1:$PORT/" -c 16 -d "$DURATION" ${LOAD:-} >"$work/load.out" &
fi
load=$!
sleep 4
start C 3
endpoints 2 3 # C in, A out
stop A
start D 4
endpoints 3 4 # D in, B out
stop B
wait "$load"
cat "$work/load.out"
