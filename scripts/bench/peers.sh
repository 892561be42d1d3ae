#!/usr/bin/env bash
# peers.sh: the peer-comparison benchmark (README, "Benchmarks").
#
# In one run, serves each app with pyhost and with the WSGI servers a user would
# pick instead (uWSGI, gunicorn, Apache mod_wsgi, waitress), plus a bare Go
# net/http handler as the ceiling on hello; runs wrk against each one in turn on
# 127.0.0.1 and reports, per app and server: req/s, p99 and p99.9 latency (from
# wrk's own histogram, printed by scripts/bench/wrk-percentiles.lua), server CPU per
# request, and the ratios of req/s and of CPU to pyhost's (or to the bare Go
# handler's when pyhost is skipped). One markdown table per app is written to
# $OUT/bench-peers.md and printed; the same rows, tab-separated, go to
# $OUT/bench-peers.tsv (app server shape req_s p99_ms p999_ms errors cpu_us_per_req procs
# conns_answered; open-loop rows start with "open")
# for scripts that judge them (scripts/bench/tail-targets.sh).
#
# Apps (the same file is served by every server, at /):
#   hello   testdata/hello.py              the smallest complete WSGI response
#   flask   testdata/bench/flask_page.py   a Flask page rendered from a Jinja template
#   django  testdata/bench/django_page.py  a Django view rendering a template (single-file
#                                          project configured in code, no database)
# Before measuring, each server's answer to GET / must be byte for byte the body the
# app gives when called in-process (scripts/bench/wsgi_body.py); a server that
# answers anything else is reported FAILED and the script exits non-zero.
#
# Process x thread counts: $PROCS x $THREADS (default 2 x 8) for every server that has
# both knobs (uWSGI, gunicorn gthread, mod_wsgi daemon; waitress has threads only).
# pyhost runs as `serve APP --processes $PROCS --threads $THREADS`, or with PROCS=1
# as `serve APP --threads $THREADS` (one process, no supervisor).
#
# Server CPU per request: the utime+stime of the server's whole process tree
# (supervisor/master, workers, Apache's children and mod_wsgi daemons) spent
# between the start and the end of the measured wrk run, divided by the requests
# wrk completed. Each server runs in its own session (setsid), so its tree is
# every process whose session id is the server's pid plus, to catch one that
# started a session of its own, every descendant of those by parent pid. Just
# before and just after the run, /proc/PID/stat of every process in the tree is
# read and utime+stime+cutime+cstime summed over all of them: a worker that
# exits during the run (recycled, crashed) leaves the live set, but its parent
# reaps it and its whole time (its own and its reaped children's) moves into the
# parent's cutime+cstime, which is in the sum, so nothing is lost and nothing
# counted twice (a live process's cutime/cstime only ever holds reaped, hence no
# longer listed, processes). The difference of the two sums, in clock ticks
# (getconf CLK_TCK), is the run's CPU. Not counted: a process reaped by
# something outside the tree (none of these servers double-forks), and wrk's
# own CPU (it is the load, not the server).
#
# Environment:
#   APPS          space-separated apps to run (default "hello flask django")
#   DURATION      seconds of each measured wrk run (default 10)
#   CONNECTIONS   wrk connections (default 32)
#   WRK_THREADS   wrk threads (default 2)
#   PROCS THREADS processes x threads of every server (default 2 x 8); with PROCS=1
#                 pyhost runs as one process, without a supervisor
#   WARMUP        seconds of an unmeasured wrk run before each measurement (default 1; 0 = none)
#   ONLY          space-separated subset of server names (default: all of them)
#   OUT           folder for bench-peers.md (default /tmp)
#   PORT_BASE     first loopback port tried (default 18400)
#   READY_TIMEOUT seconds to wait for a server to answer (default 30)
#   PYHOST        the pyhost binary (default bin/pyhost, built by make build)
#   PYHOST_ARGS   more flags for pyhost serve (e.g. "--cpu-affinity 1"), shown in its config
#   KEEP          non-empty: keep the temp folder (server logs, configs, wrk output)
#   FAIRNESS      seconds of the connection check after each run (default 2; 0 = none):
#                 conn_fairness.py keeps one request in flight on each of $CONNECTIONS
#                 connections and the table's "conns answered" says how many got any answer.
#                 uWSGI --http11-socket keeps each connection on one thread for its life and
#                 leaves the rest unanswered in the listen queue, so with more connections than
#                 threads wrk's percentiles cover only the connections it served.
#   RATES         space-separated request rates (req/s): after the closed-loop run, an
#                 open-loop run at each rate with `pyhost bench --load --rate` (every request
#                 timed from when it was due, so stalls are charged to the requests that
#                 queued behind them), $OPEN_CONNECTIONS connections (default PROCS × THREADS:
#                 as many as every server here can serve at once); one more table per app
#
# Server names: baregohttp pyhost uwsgi uwsgi-http11 gunicorn-sync
#   gunicorn-gthread modwsgi-embedded modwsgi-daemon waitress
# (baregohttp only answers hello's body, so it runs for hello only.)
#
# Missing Debian packages are installed with apt-get (needs root). Every
# server runs with the system Python (/usr/bin/python3), listens on 127.0.0.1
# only, and is stopped before the next one starts; everything this script
# started is stopped on exit, error or Ctrl-C. Every wait is bounded.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
APPS=${APPS:-hello flask django}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
WRK_THREADS=${WRK_THREADS:-2}
WARMUP=${WARMUP:-1}
ONLY=${ONLY:-}
OUT=${OUT:-/tmp}
PORT_BASE=${PORT_BASE:-18400}
READY_TIMEOUT=${READY_TIMEOUT:-30}
PYHOST=${PYHOST:-$ROOT/bin/pyhost}
PYHOST_ARGS=${PYHOST_ARGS:-}
FAIRNESS=${FAIRNESS:-2}
RATES=${RATES:-}

PY=/usr/bin/python3 # the system Python, which the Debian peers are built for
# Same process x thread counts for every peer that has both knobs.
PROCS=${PROCS:-2}
THREADS=${THREADS:-8}
OPEN_CONNECTIONS=${OPEN_CONNECTIONS:-$((PROCS * THREADS))}

ALL_SERVERS="baregohttp pyhost uwsgi uwsgi-http11 gunicorn-sync gunicorn-gthread modwsgi-embedded modwsgi-daemon waitress"
ALL_APPS="hello flask django"

# The system Python must not pick up another interpreter's settings.
unset PYTHONHOME PYTHONPATH


whole_numbers PROCS THREADS DURATION CONNECTIONS WRK_THREADS WARMUP PORT_BASE READY_TIMEOUT FAIRNESS OPEN_CONNECTIONS
for r in $RATES; do
	[[ $r =~ ^[0-9]+$ && $r != 0 ]] || die "RATES must hold whole numbers of requests per second, got '$r'"
done
((DURATION > 0)) || die "DURATION must be at least 1"

SERVERS=$ALL_SERVERS
if [[ -n $ONLY ]]; then
	for s in $ONLY; do
		[[ " $ALL_SERVERS " == *" $s "* ]] || die "unknown server '$s' in ONLY; known: $ALL_SERVERS"
	done
	SERVERS=$ONLY
fi
wants() { [[ " $SERVERS " == *" $1 "* ]]; }

[[ -n ${APPS// /} ]] || die "APPS is empty; known apps: $ALL_APPS"
for a in $APPS; do
	[[ " $ALL_APPS " == *" $a "* ]] || die "unknown app '$a' in APPS; known: $ALL_APPS"
done
wants_app() { [[ " $APPS " == *" $1 "* ]]; }

# app_file APP: the WSGI script (callable `application`) that every server loads.
app_file() {
	case $1 in
	hello) echo "$ROOT/testdata/hello.py" ;;
	flask) echo "$ROOT/testdata/bench/flask_page.py" ;;
	django) echo "$ROOT/testdata/bench/django_page.py" ;;
	esac
}
for a in $APPS; do
	[[ -f $(app_file "$a") ]] || die "missing $(app_file "$a")"
done

# ---------------------------------------------------------------- packages --

# need FILE PACKAGE: PACKAGE is missing when FILE is.
MISSING=()
need() { [[ -e $1 ]] || MISSING+=("$2"); }

need /usr/bin/wrk wrk
need /usr/bin/curl curl
need "$PY" python3
if wants_app flask; then
	need /usr/lib/python3/dist-packages/flask python3-flask
fi
if wants_app django; then
	need /usr/lib/python3/dist-packages/django python3-django
fi
if wants uwsgi || wants uwsgi-http11; then
	need /usr/bin/uwsgi uwsgi-core # the binary; the "uwsgi" package only adds init scripts
	need /usr/lib/uwsgi/plugins/python3_plugin.so uwsgi-plugin-python3
fi
if wants gunicorn-sync || wants gunicorn-gthread; then
	need /usr/lib/python3/dist-packages/gunicorn gunicorn
fi
if wants modwsgi-embedded || wants modwsgi-daemon; then
	need /usr/sbin/apache2 apache2
	need /usr/lib/apache2/modules/mod_wsgi.so libapache2-mod-wsgi-py3
fi
if wants waitress; then
	need /usr/lib/python3/dist-packages/waitress python3-waitress
fi

if ((${#MISSING[@]})); then
	[[ $(id -u) == 0 ]] || die "missing Debian packages: ${MISSING[*]}; run as root, or: apt-get install ${MISSING[*]}"
	log "installing: ${MISSING[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt_log=$(mktemp)
	if ! { timeout 600 apt-get update -qq && timeout 600 apt-get install -y -qq --no-install-recommends "${MISSING[@]}"; } >"$apt_log" 2>&1; then
		tail -n 20 "$apt_log" >&2
		rm -f "$apt_log"
		die "apt-get install ${MISSING[*]} failed"
	fi
	rm -f "$apt_log"
fi

# ------------------------------------------------------- process handling --

WORK=$(mktemp -d /tmp/bench-peers.XXXXXX)
chmod 755 "$WORK" # Apache's children run as www-data and must reach files here
STARTED=()        # pids of the servers we started; each leads its own process group
SERVER_PID=

# stop_pid PID: TERM the process group PID leads, then KILL it after 10 s.
stop_pid() {
	local pid=$1 i
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 -- "-$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

stop_started() {
	local pid
	for pid in "${STARTED[@]}"; do
		stop_pid "$pid"
	done
}
clean_up_on_exit stop_started

# start NAME CMD...: run CMD in its own session (so its workers can be
# stopped as one group, and found as one tree) with output to $WORK/NAME.log;
# sets SERVER_PID. setsid does not fork here (a background job of a script is
# no process group leader), so SERVER_PID is the server's own pid.
start() {
	local name=$1
	shift
	setsid "$@" >"$WORK/$name.log" 2>&1 </dev/null &
	SERVER_PID=$!
	STARTED+=("$SERVER_PID")
}

# stop_server: stop the last server started and forget it.
stop_server() {
	local pid=$SERVER_PID keep=() p
	[[ -n $pid ]] || return 0
	stop_pid "$pid"
	for p in "${STARTED[@]}"; do
		[[ $p == "$pid" ]] || keep+=("$p")
	done
	STARTED=("${keep[@]}")
	SERVER_PID=
}

# tree_ticks ROOT: prints "TICKS NPROCS": utime+stime+cutime+cstime summed over
# ROOT's process tree (its session plus every descendant by parent pid), in
# clock ticks, and the number of processes in it. See the header for why the
# children's fields are included. The fields after the command name (which may
# hold spaces and parentheses, hence the cut at the last ") ") are, from 1:
# state ppid pgrp session ... utime(12) stime(13) cutime(14) cstime(15).
tree_ticks() {
	# A process that exits while cat reads is missing from this snapshot; its
	# time is in its reaper's cutime/cstime by then.
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
		{
			pid = $1; rest = $0
			sub(/^.*\) /, "", rest)
			split(rest, f, " ")
			ppid[pid] = f[2]; sid[pid] = f[4]
			ticks[pid] = f[12] + f[13] + f[14] + f[15]
		}
		END {
			if (!(root in ticks)) { print "gone 0"; exit }
			tree[root] = 1
			for (p in sid) if (sid[p] == root) tree[p] = 1
			do {
				grew = 0
				for (p in ppid) if (!(p in tree) && (ppid[p] in tree)) { tree[p] = 1; grew = 1 }
			} while (grew)
			for (p in tree) { sum += ticks[p]; n++ }
			printf "%d %d\n", sum, n
		}'
}
CLK_TCK=$(getconf CLK_TCK)


NEXT_PORT=$PORT_BASE
PORT=

# wait_ready PORT LOGNAME: wait until the server answers GET / with 200 and
# exactly the app's body ($EXPECT). Anything else (an error page, another
# body) is retried until READY_TIMEOUT, since some servers answer 5xx while
# their workers start, then reported with what the server last answered.
wait_ready() {
	local port=$1 name=$2 deadline=$((SECONDS + READY_TIMEOUT)) code last=none
	local got=$WORK/$name.body
	while ((SECONDS < deadline)); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			log "$name exited before answering; last lines of its log:"
			tail -n 20 "$WORK/$name.log" >&2
			return 1
		fi
		if code=$(curl -sS -m 5 -o "$got" -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null); then
			if [[ $code == 200 ]] && cmp -s "$got" "$EXPECT"; then
				return 0
			fi
			last="HTTP $code"
			if [[ $code == 200 ]]; then
				log "$name answered 200 with a body that is not the app's; diff (expected, got):"
				diff "$EXPECT" "$got" | head -n 20 >&2 || true
				return 1
			fi
		fi
		sleep 0.2
	done
	log "$name did not answer 200 with the app's body on 127.0.0.1:$port within ${READY_TIMEOUT}s (last answer: $last)"
	if [[ -s $got ]]; then
		log "its last body began:"
		head -c 600 "$got" >&2
		log ""
	fi
	log "last lines of its log:"
	tail -n 20 "$WORK/$name.log" >&2
	return 1
}

# ------------------------------------------------------------------ peers --
# Each start_NAME PORT starts one server for the current app ($APP_NAME, file
# $APP in folder $APP_DIR, module $APP_MODULE importable from $IMPORT_DIR) and
# sets CONFIG to a one-line description and SHAPE to "processes x threads"; it
# returns 1 (failed) or 2 (skipped), after logging why, when it can't.

# applies NAME: the server can serve the current app (the bare Go handler
# only knows hello's body).
applies() { [[ $1 != baregohttp || $APP_NAME == hello ]]; }

CONFIG=
SHAPE=

start_baregohttp() {
	command -v go >/dev/null || {
		log "baregohttp skipped: no go toolchain in PATH"
		return 2
	}
	if [[ ! -x $WORK/baregohttp ]]; then
		(cd "$ROOT" && go build -o "$WORK/baregohttp" ./scripts/bench/baregohttp) || {
			log "baregohttp: go build failed"
			return 1
		}
	fi
	CONFIG="net/http, GOMAXPROCS=$(nproc), no Python"
	SHAPE="1 × Go"
	start "baregohttp-$APP_NAME" "$WORK/baregohttp" -listen "127.0.0.1:$1"
}

# pyhost_has_processes: the binary has the --processes flag (Go's flag package
# lists it as "-processes"; accept either spelling).
pyhost_has_processes() {
	timeout 10 "$PYHOST" serve --help 2>&1 | grep -qE -- '(^|[[:space:]])--?processes([[:space:]=]|$)'
}


start_pyhost() {
	[[ -x $PYHOST ]] || {
		log "pyhost skipped: $PYHOST not found (build it with: make build)"
		return 2
	}
	if pyhost_has_processes && ((PROCS > 1)); then
		CONFIG="serve --processes $PROCS --threads $THREADS${PYHOST_ARGS:+ $PYHOST_ARGS}"
		SHAPE="$PROCS × $THREADS"
		start "pyhost-$APP_NAME" "$PYHOST" serve "$APP" --listen "127.0.0.1:$1" \
			--processes "$PROCS" --threads "$THREADS" $PYHOST_ARGS $(allow_root "$PYHOST")
	else
		CONFIG="serve --threads $THREADS${PYHOST_ARGS:+ $PYHOST_ARGS}: one process, no supervisor"
		SHAPE="1 × $THREADS"
		start "pyhost-$APP_NAME" "$PYHOST" serve "$APP" --listen "127.0.0.1:$1" --threads "$THREADS" \
			$PYHOST_ARGS $(allow_root "$PYHOST")
	fi
}

# pyhost_crossings: cgo crossings per request of the pyhost just stopped, from the
# "request statistics" line(s) it logs at shutdown (one per worker process).
pyhost_crossings() {
	sed -n 's/.*request statistics.*crossings_per_request=\([0-9.]*\).*/\1/p' "$WORK/pyhost-$APP_NAME.log" |
		sort -u | paste -sd/ - | grep . || echo "n/a"
}

uwsgi_common() {
	start "$1-$APP_NAME" uwsgi --plugin python3 "--$2" "127.0.0.1:$3" \
		--master --processes "$PROCS" --threads "$THREADS" \
		--wsgi-file "$APP" --need-app --disable-logging --die-on-term "${@:4}"
}

start_uwsgi() {
	CONFIG="--http-socket (no keep-alive), --master, $PROCS processes x $THREADS threads"
	SHAPE="$PROCS × $THREADS"
	# --http-socket closes every connection after one response; saying so
	# lets the client reconnect cleanly instead of counting a read error.
	uwsgi_common uwsgi http-socket "$1" --add-header "Connection: close"
}

start_uwsgi-http11() {
	CONFIG="--http11-socket (keep-alive), --master, $PROCS processes x $THREADS threads"
	SHAPE="$PROCS × $THREADS"
	uwsgi_common uwsgi-http11 http11-socket "$1"
}

start_gunicorn-sync() {
	CONFIG="-k sync, $PROCS workers (no keep-alive)"
	SHAPE="$PROCS × 1"
	start "gunicorn-sync-$APP_NAME" "$PY" -m gunicorn --chdir "$IMPORT_DIR" -b "127.0.0.1:$1" \
		-k sync -w "$PROCS" --log-level warning "$APP_MODULE:application"
}

start_gunicorn-gthread() {
	CONFIG="-k gthread, $PROCS workers x $THREADS threads"
	SHAPE="$PROCS × $THREADS"
	start "gunicorn-gthread-$APP_NAME" "$PY" -m gunicorn --chdir "$IMPORT_DIR" -b "127.0.0.1:$1" \
		-k gthread -w "$PROCS" --threads "$THREADS" --log-level warning "$APP_MODULE:application"
}

start_waitress() {
	CONFIG="1 process x $THREADS threads"
	SHAPE="1 × $THREADS"
	# waitress puts the current folder on sys.path, so start it in the app's folder.
	start "waitress-$APP_NAME" env -C "$IMPORT_DIR" "$PY" -m waitress --listen="127.0.0.1:$1" \
		--threads="$THREADS" "$APP_MODULE:application"
}

# Apache's worker threads: enough to hold every wrk connection, and never
# fewer than the other peers' threads. With fewer threads than connections
# the event MPM closes keep-alive connections whenever all its workers are
# busy (wrk counts read errors, p99 reaches seconds), and the worker MPM
# leaves the extra connections unserved in the listen backlog.
APACHE_THREADS=$(((CONNECTIONS + PROCS - 1) / PROCS))
((APACHE_THREADS >= THREADS)) || APACHE_THREADS=$THREADS

# apache_start NAME PORT MODE: Apache with mod_wsgi, MODE embedded or daemon.
# Self-contained config in its own folder; /etc/apache2 is neither read nor
# changed. Children run as www-data (Apache refuses to serve as root).
apache_start() {
	local name=$1-$APP_NAME port=$2 mode=$3 dir=$WORK/$1-$APP_NAME app=$APP
	mkdir -p "$dir"
	chmod 755 "$dir"
	if ! runuser -u www-data -- test -r "$app" ||
		! runuser -u www-data -- test -x "$APP_DIR"; then
		# www-data can't read the checkout: serve a copy of the same files
		# (the bench apps' folder holds their templates and shared data).
		mkdir -p "$dir/app"
		if [[ $APP_NAME == hello ]]; then
			cp "$APP" "$dir/app/"
		else
			cp -r "$APP_DIR/." "$dir/app/"
		fi
		chmod -R a+rX "$dir/app"
		app=$dir/app/$(basename "$APP")
	fi
	{
		cat <<EOF
ServerRoot "$dir"
DefaultRuntimeDir "$dir"
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error.log"
LogLevel warn
ServerName 127.0.0.1
Listen 127.0.0.1:$port
User www-data
Group www-data
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule wsgi_module /usr/lib/apache2/modules/mod_wsgi.so
# event MPM: a fixed $PROCS processes x $APACHE_THREADS threads, no spawning or reaping.
StartServers $PROCS
ServerLimit $PROCS
ThreadLimit $APACHE_THREADS
ThreadsPerChild $APACHE_THREADS
MinSpareThreads $APACHE_THREADS
MaxSpareThreads $((PROCS * APACHE_THREADS))
MaxRequestWorkers $((PROCS * APACHE_THREADS))
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
DocumentRoot "$dir"
<Directory "$(dirname "$app")">
    Require all granted
</Directory>
WSGIScriptAlias / "$app"
WSGIApplicationGroup %{GLOBAL}
EOF
		if [[ $mode == daemon ]]; then
			cat <<EOF
WSGISocketPrefix "$dir/wsgi"
WSGIDaemonProcess bench processes=$PROCS threads=$THREADS
WSGIProcessGroup bench
WSGIRestrictEmbedded On
EOF
		fi
	} >"$dir/httpd.conf"
	timeout 30 apache2 -t -f "$dir/httpd.conf" >"$dir/configtest.log" 2>&1 || {
		log "$name: config test failed:"
		cat "$dir/configtest.log" >&2
		return 1
	}
	# -DFOREGROUND keeps the parent as our child so it is stopped like the rest.
	start "$name" apache2 -f "$dir/httpd.conf" -DFOREGROUND
}

start_modwsgi-embedded() {
	CONFIG="mpm_event $PROCS processes x $APACHE_THREADS threads, app in the Apache workers"
	SHAPE="$PROCS × $APACHE_THREADS"
	apache_start modwsgi-embedded "$1" embedded
}

start_modwsgi-daemon() {
	CONFIG="WSGIDaemonProcess processes=$PROCS threads=$THREADS, front mpm_event $PROCS x $APACHE_THREADS"
	SHAPE="$PROCS × $THREADS"
	apache_start modwsgi-daemon "$1" daemon
}

# ------------------------------------------------------------------ bench --

# One row per app and server, tab-separated:
# app name shape req/s p99ms p999ms errors cpu_us_per_req tree_procs
# (req/s is FAILED or skipped when the server did not run.)
ROWS=()
OROWS=() # open loop: app name rate connections req/s p50 p99 p999 errors unsent cpu
declare -A ANSWERED=()   # app/server -> "answered/connections" from conn_fairness.py
declare -A CONFIGS=()    # server name -> CONFIG (the same for every app)
declare -A CROSSINGS=()  # app -> pyhost's cgo crossings per request
declare -A TREES=()      # server name -> processes in its tree at the end of a run, per app

# row NAME REQS [P99 P999 ERRS CPU PROCS]: append a row for the current app.
row() {
	ROWS+=("$APP_NAME"$'\t'"$1"$'\t'"${SHAPE:--}"$'\t'"$2"$'\t'"${3:--}"$'\t'"${4:--}"$'\t'"${5:--}"$'\t'"${6:--}"$'\t'"${7:--}")
	[[ -z $CONFIG ]] || CONFIGS[$1]=$CONFIG
}

# bench NAME: start, check, measure and stop one server on the current app; appends to ROWS.
bench() {
	local name=$1 lname=$1-$APP_NAME port rc=0 url out rps p99 p999 errs reqs
	local t0 n0 t1 n1 cpu
	applies "$name" || return 0
	free_port
	port=$PORT
	url="http://127.0.0.1:$port/"
	CONFIG=
	SHAPE=
	log "== $APP_NAME: $name on 127.0.0.1:$port"
	"start_$name" "$port" || rc=$?
	if ((rc == 2)); then
		row "$name" skipped
		return 0
	fi
	if ((rc != 0)) || ! wait_ready "$port" "$lname"; then
		stop_server
		row "$name" FAILED
		return 0
	fi
	if ((WARMUP > 0)); then
		timeout $((WARMUP + 30)) wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url" >/dev/null 2>&1 || true
	fi
	read -r t0 n0 < <(tree_ticks "$SERVER_PID")
	if ! out=$(timeout $((DURATION + 30)) wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
		-s "$ROOT/scripts/bench/wrk-percentiles.lua" "$url" 2>&1); then
		log "$name: wrk failed:"
		log "$out"
		stop_server
		row "$name" FAILED
		return 0
	fi
	read -r t1 n1 < <(tree_ticks "$SERVER_PID")
	printf '%s\n' "$out" >"$WORK/$lname.wrk"
	if ((FAIRNESS > 0)); then
		ANSWERED[$APP_NAME/$name]=$(timeout $((FAIRNESS + 30)) "$PY" "$ROOT/scripts/bench/conn_fairness.py" \
			127.0.0.1 "$port" "$CONNECTIONS" "$FAIRNESS" 2>>"$WORK/$lname.fairness" | awk '{print $2}') || true
	fi
	open_loop "$name" "$port"
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
	# Percentiles in µs from wrk's histogram (wrk-percentiles.lua), as ms.
	p99=$(awk '$1 == "percentile" && $2 == "99" { printf "%.2f", $3 / 1000 }' <<<"$out")
	p999=$(awk '$1 == "percentile" && $2 == "99.9" { printf "%.2f", $3 / 1000 }' <<<"$out")
	reqs=$(awk '/ requests in / { print $1 }' <<<"$out")
	# Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers.
	errs=$(awk '
		/Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx responses:/ { e += $NF }
		END { print e + 0 }' <<<"$out")
	if [[ -z $rps || -z $p99 || -z $p999 || ! $reqs =~ ^[0-9]+$ ]]; then
		log "$name: could not read wrk's output:"
		log "$out"
		stop_server
		row "$name" FAILED
		return 0
	fi
	if [[ $t0 == gone || $t1 == gone ]]; then
		log "$name: its process $SERVER_PID vanished during the run; last lines of its log:"
		tail -n 20 "$WORK/$lname.log" >&2
		stop_server
		row "$name" FAILED
		return 0
	fi
	cpu=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" \
		'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "-" }')
	stop_server
	if [[ $name == pyhost ]]; then
		CROSSINGS[$APP_NAME]=$(pyhost_crossings)
	fi
	log "   $rps req/s, p99 $p99 ms, p99.9 $p999 ms, $errs errors, CPU $cpu µs/req ($((t1 - t0)) ticks over $reqs requests, tree of $n0 → $n1 processes)"
	if ((errs > 0)); then
		grep -E 'Socket errors|Non-2xx' <<<"$out" | sed 's/^ */   /' >&2 || true
	fi
	row "$name" "$rps" "$p99" "$p999" "$errs" "$cpu" "$n1"
	TREES[$name]="${TREES[$name]:+${TREES[$name]}, }$APP_NAME $n1"
}

# open_loop NAME PORT: one `pyhost bench --load --rate R` run per rate in $RATES against the
# running server; appends to OROWS.
open_loop() {
	local r j
	for r in $RATES; do
		j=$(timeout $((DURATION + 60)) "$PYHOST" bench --load "127.0.0.1:$2" --rate "$r" \
			--concurrency "$OPEN_CONNECTIONS" --duration "${DURATION}s" --warmup 1s --timeout 5s \
			--pid "$SERVER_PID" 2>>"$WORK/$1-$APP_NAME.open") || true
		if [[ -z $j ]]; then
			OROWS+=("$APP_NAME"$'\t'"$1"$'\t'"$r"$'\t'"$OPEN_CONNECTIONS"$'\t'FAILED)
			continue
		fi
		OROWS+=("$APP_NAME"$'\t'"$1"$'\t'"$r"$'\t'"$OPEN_CONNECTIONS"$'\t'"$("$PY" -c '
import json, sys
r = json.load(sys.stdin)
l = r["latency_ms"]
errs = sum((r.get("errors") or {}).values())
print("%.0f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%.0f" % (r["requests_per_second"], l["p50"], l["p99"], l["p99_9"],
      errs, r.get("unsent", 0), r["server_cpu_per_request_us"]))' <<<"$j")")
		log "   open loop at $r req/s: $(tail -n 1 "$WORK/$1-$APP_NAME.open")"
	done
}

START=$SECONDS
for APP_NAME in $APPS; do
	APP=$(app_file "$APP_NAME")
	APP_DIR=$(dirname "$APP")
	APP_MODULE=$(basename "$APP" .py)
	# gunicorn and waitress import the app as a module from IMPORT_DIR, which
	# goes first on sys.path. testdata/ holds many test apps, any of which
	# could one day shadow a standard module (a concurrent.py once broke
	# gunicorn's gthread worker), so hello is imported from a folder that
	# holds only a link to the same file.
	IMPORT_DIR=$APP_DIR
	if [[ $APP_NAME == hello ]]; then
		IMPORT_DIR=$WORK/import-hello
		mkdir -p "$IMPORT_DIR"
		ln -sf "$APP" "$IMPORT_DIR/"
	fi
	EXPECT=$WORK/expect-$APP_NAME.body
	if ! (cd "$WORK" && timeout 120 "$PY" "$ROOT/scripts/bench/wsgi_body.py" "$APP") >"$EXPECT" 2>"$WORK/expect-$APP_NAME.log"; then
		cat "$WORK/expect-$APP_NAME.log" >&2
		die "$APP does not answer GET / when called in-process with $PY; fix the app before benchmarking it"
	fi
	for s in $SERVERS; do
		bench "$s"
	done
done
ELAPSED=$((SECONDS - START))

# ------------------------------------------------------------------ table --

# ratio A B: A / B to two decimals, or "-" when either is no number.
ratio() {
	if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] && [[ $2 != 0 ]]; then
		awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
	else
		echo "-"
	fi
}

# group NUMBER: 12345 -> 12,345 (other text unchanged).
group() {
	if [[ $1 =~ ^[0-9]+$ ]]; then
		LC_ALL=C printf '%s' "$1" | rev | sed 's/[0-9]\{3\}/&,/g; s/,$//' | rev
	else
		printf '%s' "$1"
	fi
}

PYVER=$("$PY" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "?")
HEADER="wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s --latency (warm-up ${WARMUP}s), 127.0.0.1, $(nproc) CPUs (wrk and the server share them), $(uname -sr), system Python $PYVER"

mkdir -p "$OUT"
MD=$OUT/bench-peers.md
{
	printf '# pyhost peer benchmark, %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf '%s. CPU µs/req: utime+stime of the server'"'"'s whole process tree over the measured run ÷ requests completed.\n\n' "$HEADER"
	printf 'Servers:\n\n'
	for s in $SERVERS; do
		if [[ -n ${CONFIGS[$s]:-} ]]; then
			printf -- '- %s: %s%s\n' "$s" "${CONFIGS[$s]}" "${TREES[$s]:+ (processes measured: ${TREES[$s]})}"
		fi
	done
	for APP_NAME in $APPS; do
		# The reference: pyhost when it ran, else the bare Go handler.
		ref_name= ref_rps= ref_cpu=
		for want in pyhost baregohttp; do
			for r in "${ROWS[@]}"; do
				IFS=$'\t' read -r a n _ q _ _ _ c _ <<<"$r"
				if [[ $a == "$APP_NAME" && $n == "$want" && $q =~ ^[0-9]+$ && $q != 0 ]]; then
					ref_name=$n ref_rps=$q ref_cpu=$c
					break 2
				fi
			done
		done
		printf '\n### %s (%s)\n\n' "$APP_NAME" "$(app_file "$APP_NAME" | sed "s|^$ROOT/||")"
		printf '| server | processes × threads | req/s | req/s ÷ %s | p99 ms | p99.9 ms | CPU µs/req | CPU ÷ %s | errors | conns answered |\n' "${ref_name:-ref}" "${ref_name:-ref}"
		printf '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n'
		for r in "${ROWS[@]}"; do
			IFS=$'\t' read -r a n sh q p p3 e c _ <<<"$r"
			[[ $a == "$APP_NAME" ]] || continue
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$sh" "$(group "$q")" "$(ratio "$q" "$ref_rps")" \
				"$p" "$p3" "$c" "$(ratio "$c" "$ref_cpu")" "$e" "${ANSWERED[$APP_NAME/$n]:--}"
		done
		if [[ -n $RATES ]]; then
			printf '\nOpen loop (`pyhost bench --load --rate`, %s connections, latency from when each request was due):\n\n' "$OPEN_CONNECTIONS"
			printf '| server | rate req/s | served req/s | p50 ms | p99 ms | p99.9 ms | errors | unsent | CPU µs/req |\n'
			printf '|---|--:|--:|--:|--:|--:|--:|--:|--:|\n'
			for r in "${OROWS[@]}"; do
				IFS=$'\t' read -r a n rate oc q p50 p p3 e u c <<<"$r"
				[[ $a == "$APP_NAME" ]] || continue
				printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$(group "$rate")" "$(group "$q")" \
					"${p50:--}" "${p:--}" "${p3:--}" "${e:--}" "${u:--}" "${c:--}"
			done
		fi
		if [[ -n ${CROSSINGS[$APP_NAME]:-} ]]; then
			printf '\npyhost cgo crossings per request: %s\n' "${CROSSINGS[$APP_NAME]}"
		fi
	done
	printf '\ntotal time: %ss\n' "$ELAPSED"
} >"$MD"
{
	for r in "${ROWS[@]}"; do
		IFS=$'\t' read -r a n _ <<<"$r"
		printf '%s\t%s\n' "$r" "${ANSWERED[$a/$n]:--}"
	done
	for r in "${OROWS[@]}"; do printf 'open\t%s\n' "$r"; done
} >"$OUT/bench-peers.tsv"
printf '\n'
cat "$MD"
log "wrote $MD"

# Exit non-zero when a server that should have run did not.
for r in "${ROWS[@]}"; do
	IFS=$'\t' read -r _ _ _ q _ <<<"$r"
	[[ $q != FAILED ]] || exit 1
done
