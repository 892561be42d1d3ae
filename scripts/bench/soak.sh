#!/usr/bin/env bash
# soak.sh: does a server's memory stay flat under an everyday Flask workload?
#
# Serves testdata/soak/soak_app.py with pyhost (and, with PEERS=1, gunicorn's gthread worker:
# the same app file, the same processes × threads) and runs scripts/bench/soakload against it
# on 127.0.0.1 for DURATION seconds after an unmeasured WARMUP. The mix: a template page, JSON,
# a streamed response read to the end, a stream the client leaves after its first KiB, an
# exception the server must answer 500, a 64 KiB POST, and a file through wsgi.file_wrapper;
# every answer is checked. soakload samples the resident memory (RSS) of the server's whole
# process tree (supervisor or master and every worker) every second and prints it per phase
# (PHASES equal parts of the run) with the growth per 100k requests over the second half: end
# minus middle, and the least-squares slope of RSS against requests served (the steadier of
# the two while RSS saw-tooths with Go's and Python's collectors). With PATH_DURATION > 0
# each path then runs alone, on a fresh server, for that many seconds, to tell which one keeps
# memory. A table of every run is written to $OUT/bench-soak.md and printed.
#
# Environment:
#   DURATION      seconds of each measured mixed run (default 600)
#   WARMUP        seconds of load before measuring: imports, caches, pools (default 30)
#   PEERS         1: gunicorn gthread too, after pyhost, never at the same time
#   SERVERS       the servers, in order (default "pyhost", or "pyhost gunicorn-gthread" with PEERS=1)
#   PROCS THREADS processes × threads of every server (default 2 × 8); PROCS=1 runs pyhost
#                 as one process without a supervisor
#   CONNECTIONS   concurrent keep-alive clients (default 16)
#   PHASES        the run is reported in this many phases (default 10)
#   PATH_DURATION seconds of each path alone after the mix (default 0: the mix only)
#   MIX           0: skip the mixed run (with PATH_DURATION: the paths alone only)
#   MAX_GROWTH    MB per 100k requests (least squares, second half): above it the run fails
#                 with exit status 3 (the leak check of scripts/test.sh); unset: report only
#   MAX_GROWTH_FLOOR  with MAX_GROWTH: growth of at most this many MB over the second half
#                 never fails, whatever its rate (default 3; an allocator's arena step is ~1 MB)
#   SOAK_LEAK_BYTES  passed to the app: each request keeps this many bytes (a deliberate leak)
#   PYHOST        the pyhost binary (default bin/pyhost; make build)
#   PYHOST_ARGS   more flags for pyhost serve
#   OUT           folder for bench-soak.md (default /tmp)
#   PORT_BASE     first loopback port tried (default 18500)
#   KEEP          non-empty: keep the temp folder (server logs, soakload output)
#
# Exit status: 0 when every run answered right (and stayed under MAX_GROWTH), 3 when a run
# grew past MAX_GROWTH, 1 for anything else. Every wait is bounded; every server this script
# started is stopped on exit, error or Ctrl-C.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DURATION=${DURATION:-600}
WARMUP=${WARMUP:-30}
PROCS=${PROCS:-2}
THREADS=${THREADS:-8}
CONNECTIONS=${CONNECTIONS:-16}
PHASES=${PHASES:-10}
PATH_DURATION=${PATH_DURATION:-0}
MIX=${MIX:-1}
MAX_GROWTH=${MAX_GROWTH:-}
MAX_GROWTH_FLOOR=${MAX_GROWTH_FLOOR:-3}
PYHOST=${PYHOST:-$ROOT/bin/pyhost}
PYHOST_ARGS=${PYHOST_ARGS:-}
OUT=${OUT:-/tmp}
PORT_BASE=${PORT_BASE:-18500}
if [[ ${PEERS:-} == 1 ]]; then
	SERVERS=${SERVERS:-pyhost gunicorn-gthread}
else
	SERVERS=${SERVERS:-pyhost}
fi
APP=$ROOT/testdata/soak/soak_app.py
PATHS="page json stream abandon error upload file" # soakload's names
PY=/usr/bin/python3                                 # the system Python, which Debian's gunicorn runs on
unset PYTHONHOME PYTHONPATH

whole_numbers DURATION WARMUP PROCS THREADS CONNECTIONS PHASES PATH_DURATION PORT_BASE
((DURATION >= 2 && PROCS >= 1 && THREADS >= 1)) || die "DURATION must be at least 2, PROCS and THREADS at least 1"
[[ -z $MAX_GROWTH || $MAX_GROWTH =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "MAX_GROWTH must be a number of MB per 100k requests, got '$MAX_GROWTH'"
[[ $MAX_GROWTH_FLOOR =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "MAX_GROWTH_FLOOR must be a number of MB, got '$MAX_GROWTH_FLOOR'"
for s in $SERVERS; do
	case $s in
	pyhost) [[ -x $PYHOST ]] || die "no pyhost binary at $PYHOST: build it with make build, or set PYHOST" ;;
	gunicorn-gthread) [[ -d /usr/lib/python3/dist-packages/gunicorn ]] || die "gunicorn is missing: scripts/deps.sh bench" ;;
	*) die "unknown server '$s' in SERVERS; known: pyhost gunicorn-gthread" ;;
	esac
done
[[ -d /usr/lib/python3/dist-packages/flask ]] || die "Flask is missing: scripts/deps.sh test (python3-flask)"
command -v go >/dev/null || die "no go toolchain in PATH to build scripts/bench/soakload"

WORK=$(mktemp -d /tmp/bench-soak.XXXXXX)
SERVER_PID=

# stop_server: TERM the server (pyhost's supervisor and gunicorn's master stop their
# workers), wait up to 15 s, then KILL it and whatever children it left, by pid.
stop_server() {
	local pid=$SERVER_PID kids i
	[[ -n $pid ]] || return 0
	SERVER_PID=
	kids=$(pgrep -P "$pid" || true)
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	for p in $pid $kids; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait "$pid" 2>/dev/null || true
}

clean_up_on_exit stop_server

(cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/soakload" ./scripts/bench/soakload) ||
	die "go build ./scripts/bench/soakload failed"

NEXT_PORT=$PORT_BASE

# start_SERVER PORT LOG: start one server in the background, its pid in SERVER_PID and a
# one-line description in CONFIGS.
declare -A CONFIGS=()
start_pyhost() {
	local shape=(--processes "$PROCS" --threads "$THREADS")
	((PROCS > 1)) || shape=(--threads "$THREADS")
	CONFIGS[pyhost]="pyhost serve ${shape[*]}${PYHOST_ARGS:+ $PYHOST_ARGS}"
	# shellcheck disable=SC2086 # PYHOST_ARGS is a list of flags
	"$PYHOST" serve "$APP" --listen "127.0.0.1:$1" "${shape[@]}" $PYHOST_ARGS $(allow_root "$PYHOST") \
		>"$2" 2>&1 </dev/null &
	SERVER_PID=$!
}
start_gunicorn-gthread() {
	CONFIGS[gunicorn-gthread]="gunicorn -k gthread -w $PROCS --threads $THREADS"
	"$PY" -m gunicorn --chdir "$(dirname "$APP")" -b "127.0.0.1:$1" -k gthread -w "$PROCS" \
		--threads "$THREADS" --log-level warning soak_app:application >"$2" 2>&1 </dev/null &
	SERVER_PID=$!
}

# wait_ready PORT LOG: until GET /json answers 200, at most 30 s.
wait_ready() {
	local deadline=$((SECONDS + 30))
	while ((SECONDS < deadline)); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		curl -fsS -m 5 -o /dev/null "http://127.0.0.1:$1/json" 2>/dev/null && return 0
		sleep 0.2
	done
	log "the server did not answer GET /json on 127.0.0.1:$1 within 30 s; last lines of its log:"
	tail -n 20 "$2" >&2
	return 1
}

RESULTS=()  # soakload's RESULT lines
STATUS=0    # 3 once a run grew past MAX_GROWTH, 1 once anything else failed

# soak SERVER PATH SECONDS: one run on a fresh server.
soak() {
	local name=$1 path=$2 secs=$3 lg rc=0 out
	free_port
	lg=$WORK/$name-$path.log
	out=$WORK/$name-$path.out
	log "== $name, $path: ${WARMUP}s warm-up, ${secs}s measured, 127.0.0.1:$PORT"
	"start_$name" "$PORT" "$lg"
	if ! wait_ready "$PORT" "$lg"; then
		stop_server
		STATUS=1
		return 0
	fi
	timeout $((WARMUP + secs + 120)) "$WORK/soakload" -url "http://127.0.0.1:$PORT" -pid "$SERVER_PID" \
		-duration "${secs}s" -warmup "${WARMUP}s" -connections "$CONNECTIONS" -phases "$PHASES" \
		-path "$path" -label "$name" ${MAX_GROWTH:+-fail-above "$MAX_GROWTH" -fail-floor "$MAX_GROWTH_FLOOR"} >"$out" 2>&1 || rc=$?
	stop_server
	grep -v '^RESULT ' "$out" || true
	RESULTS+=("$(grep '^RESULT ' "$out" || echo "RESULT label=$name path=$path failed=1")")
	if ((rc != 0)); then
		log "$name, $path: soakload exited $rc; last lines of the server's log ($lg):"
		grep -v 'WSGI application failed\|client disconnected' "$lg" | tail -n 10 >&2 || true
		if ((rc == 3)); then
			STATUS=3
		elif ((STATUS == 0)); then
			STATUS=1
		fi
	fi
}

START=$SECONDS
for s in $SERVERS; do
	[[ $MIX == 0 ]] || soak "$s" mix "$DURATION"
	if ((PATH_DURATION > 0)); then
		for p in $PATHS; do
			soak "$s" "$p" "$PATH_DURATION"
		done
	fi
done

# ------------------------------------------------------------------ table --

# field LINE KEY: the value of KEY=VALUE in a RESULT line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# mixrow TITLE KEY [PHASE]: a row of the mixed runs' table, one column per server; with
# PHASE, the PHASE-th of the comma-separated values.
mixrow() {
	printf '| %s |' "$1"
	for s in $SERVERS; do
		local r v
		r=$(printf '%s\n' "${RESULTS[@]}" | grep " label=$s path=mix " || true)
		v=$(field "$r" "$2")
		[[ -z ${3:-} ]] || v=$(cut -d, -f$(($3 + 1)) <<<"$v")
		printf ' %s |' "${v:--}"
	done
	printf '\n'
}

mkdir -p "$OUT"
MD=$OUT/bench-soak.md
{
	printf '# pyhost soak, %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	measured="${DURATION}s measured (mix)"
	[[ $MIX != 0 ]] || measured=""
	((PATH_DURATION == 0)) || measured="${measured:+$measured, }${PATH_DURATION}s (each path alone)"
	printf 'testdata/soak/soak_app.py, scripts/bench/soakload: %s connections on 127.0.0.1, %ss warm-up then %s, %s CPUs shared by the load and the server, %s, system Python %s. RSS: the server'"'"'s whole process tree, MB = 10⁶ bytes.\n\n' \
		"$CONNECTIONS" "$WARMUP" "$measured" "$(nproc)" "$(uname -sr)" "$("$PY" -c 'import platform; print(platform.python_version())')"
	for s in $SERVERS; do
		printf -- '- %s: %s\n' "$s" "${CONFIGS[$s]:-not started}"
	done
	if [[ $MIX != 0 ]]; then
		printf '\n| mix | %s |\n|---|%s\n' "$(sed 's/ / | /g' <<<"$SERVERS")" "$(for _ in $SERVERS; do printf -- '--:|'; done)"
		mixrow "requests served" requests
		for ((k = 0; k <= PHASES; k++)); do
			mixrow "RSS MB at $((DURATION * k / PHASES))s" rss_mb "$k"
		done
		mixrow "growth over the second half, MB" half_mb
		mixrow "… per 100k requests (end − middle)" per100k_mb
		mixrow "… per 100k requests (least squares)" slope100k_mb
		mixrow "wrong answers" wrong
	fi
	if ((PATH_DURATION > 0)); then
		printf '\nEach path alone, %ss on a fresh server:\n\n| server | path | requests | RSS MB per phase | second half MB | per 100k (end − middle) | per 100k (least squares) | wrong |\n|---|---|--:|---|--:|--:|--:|--:|\n' "$PATH_DURATION"
		for r in "${RESULTS[@]}"; do
			[[ $(field "$r" path) != mix ]] || continue
			printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(field "$r" label)" "$(field "$r" path)" \
				"$(field "$r" requests)" "$(field "$r" rss_mb | sed 's/,/ → /g')" "$(field "$r" half_mb)" \
				"$(field "$r" per100k_mb)" "$(field "$r" slope100k_mb)" "$(field "$r" wrong)"
		done
	fi
	printf '\ntotal time: %ss\n' "$((SECONDS - START))"
} >"$MD"
printf '\n'
cat "$MD"
log "wrote $MD"
exit "$STATUS"
