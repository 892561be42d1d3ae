#!/usr/bin/env bash
# peers.sh: the peer-comparison benchmark (see DESIGN.md, "Benchmarks").
#
# Serves testdata/hello.py with pyhost and with the WSGI servers a user would
# pick instead (uWSGI, gunicorn, Apache mod_wsgi, waitress), plus a bare Go
# net/http handler as the ceiling; runs wrk against each one in turn on
# 127.0.0.1 and prints req/s, p99 latency and the ratio to pyhost (or to the
# bare Go handler when pyhost is skipped). The table is also written as
# markdown to $OUT/bench-peers.md.
#
# Environment:
#   DURATION      seconds of each measured wrk run (default 10)
#   CONNECTIONS   wrk connections (default 32)
#   WRK_THREADS   wrk threads (default 2)
#   WARMUP        seconds of an unmeasured wrk run before each measurement (default 1; 0 = none)
#   ONLY          space-separated subset of server names (default: all of them)
#   OUT           folder for bench-peers.md (default /tmp)
#   PORT_BASE     first loopback port tried (default 18400)
#   READY_TIMEOUT seconds to wait for a server to answer (default 30)
#   PYHOST        the pyhost binary (default bin/pyhost, built by make build)
#   KEEP          non-empty: keep the temp folder (server logs, configs, wrk output)
#
# Server names: baregohttp pyhost uwsgi uwsgi-http11 gunicorn-sync
#   gunicorn-gthread modwsgi-embedded modwsgi-daemon waitress
#
# Missing Debian packages are installed with apt-get (needs root). Every
# server runs with the system Python (/usr/bin/python3), listens on 127.0.0.1
# only, and is stopped before the next one starts; everything this script
# started is stopped on exit, error or Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
WRK_THREADS=${WRK_THREADS:-2}
WARMUP=${WARMUP:-1}
ONLY=${ONLY:-}
OUT=${OUT:-/tmp}
PORT_BASE=${PORT_BASE:-18400}
READY_TIMEOUT=${READY_TIMEOUT:-30}
PYHOST=${PYHOST:-$ROOT/bin/pyhost}

PY=/usr/bin/python3 # the system Python, which the Debian peers are built for
APP_DIR=$ROOT/testdata
APP=$APP_DIR/hello.py
EXPECT_BODY='Hello, World!'
# Same process x thread counts for every peer that has both knobs.
PROCS=2
THREADS=8

ALL_SERVERS="baregohttp pyhost uwsgi uwsgi-http11 gunicorn-sync gunicorn-gthread modwsgi-embedded modwsgi-daemon waitress"

# The system Python must not pick up another interpreter's settings.
unset PYTHONHOME PYTHONPATH

log() { printf '%s\n' "$*" >&2; }
die() {
	log "peers.sh: $*"
	exit 1
}

for v in DURATION CONNECTIONS WRK_THREADS WARMUP PORT_BASE READY_TIMEOUT; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
[[ -f $APP ]] || die "missing $APP"

SERVERS=$ALL_SERVERS
if [[ -n $ONLY ]]; then
	for s in $ONLY; do
		[[ " $ALL_SERVERS " == *" $s "* ]] || die "unknown server '$s' in ONLY; known: $ALL_SERVERS"
	done
	SERVERS=$ONLY
fi
wants() { [[ " $SERVERS " == *" $1 "* ]]; }

# ---------------------------------------------------------------- packages --

# need FILE PACKAGE: PACKAGE is missing when FILE is.
MISSING=()
need() { [[ -e $1 ]] || MISSING+=("$2"); }

need /usr/bin/wrk wrk
need /usr/bin/curl curl
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
if wants gunicorn-sync || wants gunicorn-gthread || wants waitress; then
	need "$PY" python3
fi

if ((${#MISSING[@]})); then
	[[ $(id -u) == 0 ]] || die "missing Debian packages: ${MISSING[*]}; run as root, or: apt-get install ${MISSING[*]}"
	log "installing: ${MISSING[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt_log=$(mktemp)
	if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${MISSING[@]}"; } >"$apt_log" 2>&1; then
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

cleanup() {
	local pid
	trap - EXIT INT TERM
	for pid in "${STARTED[@]}"; do
		stop_pid "$pid"
	done
	if [[ -n ${KEEP:-} ]]; then
		log "kept logs and configs in $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'exit 143' TERM

# start NAME CMD...: run CMD in its own session (so its workers can be
# stopped as one group) with output to $WORK/NAME.log; sets SERVER_PID.
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

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

NEXT_PORT=$PORT_BASE
PORT=
# free_port: set PORT to a loopback port that nothing listens on.
free_port() {
	while port_in_use "$NEXT_PORT"; do
		NEXT_PORT=$((NEXT_PORT + 1))
	done
	PORT=$NEXT_PORT
	NEXT_PORT=$((NEXT_PORT + 1))
}

# wait_ready PORT NAME: wait until the server answers 200 with the hello body.
wait_ready() {
	local port=$1 name=$2 deadline=$((SECONDS + READY_TIMEOUT)) body
	while ((SECONDS < deadline)); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			log "$name exited before answering; last lines of its log:"
			tail -n 20 "$WORK/$name.log" >&2
			return 1
		fi
		if body=$(curl -fsS -m 2 "http://127.0.0.1:$port/" 2>/dev/null); then
			if [[ $body == "$EXPECT_BODY" ]]; then
				return 0
			fi
			log "$name answered with an unexpected body: $body"
			return 1
		fi
		sleep 0.2
	done
	log "$name did not answer on 127.0.0.1:$port within ${READY_TIMEOUT}s; last lines of its log:"
	tail -n 20 "$WORK/$name.log" >&2
	return 1
}

# ------------------------------------------------------------------ peers --
# Each start_NAME PORT starts one server and sets CONFIG to a one-line
# description; it returns non-zero (after logging why) when it can't.

CONFIG=

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
	CONFIG="net/http, GOMAXPROCS=$(nproc)"
	start baregohttp "$WORK/baregohttp" -listen "127.0.0.1:$1"
}

start_pyhost() {
	[[ -x $PYHOST ]] || {
		log "pyhost skipped: $PYHOST not found (build it with: make build)"
		return 2
	}
	CONFIG="1 process x $THREADS threads"
	start pyhost "$PYHOST" serve "$APP" --listen "127.0.0.1:$1" --threads "$THREADS"
}

# pyhost_crossings: cgo crossings per request of the pyhost just stopped, from the
# "request statistics" line it logs at shutdown.
pyhost_crossings() {
	sed -n 's/.*request statistics.*crossings_per_request=\([0-9.]*\).*/\1/p' "$WORK/pyhost.log" | tail -n 1 | grep . || echo "n/a"
}

uwsgi_common() {
	start "$1" uwsgi --plugin python3 "--$2" "127.0.0.1:$3" \
		--master --processes "$PROCS" --threads "$THREADS" \
		--wsgi-file "$APP" --need-app --disable-logging --die-on-term "${@:4}"
}

start_uwsgi() {
	CONFIG="--http-socket (no keep-alive), --master, $PROCS processes x $THREADS threads"
	# --http-socket closes every connection after one response; saying so
	# lets the client reconnect cleanly instead of counting a read error.
	uwsgi_common uwsgi http-socket "$1" --add-header "Connection: close"
}

start_uwsgi-http11() {
	CONFIG="--http11-socket (keep-alive), --master, $PROCS processes x $THREADS threads"
	uwsgi_common uwsgi-http11 http11-socket "$1"
}

start_gunicorn-sync() {
	CONFIG="-k sync, $PROCS workers (no keep-alive)"
	start gunicorn-sync "$PY" -m gunicorn --chdir "$APP_DIR" -b "127.0.0.1:$1" \
		-k sync -w "$PROCS" --log-level warning hello:application
}

start_gunicorn-gthread() {
	CONFIG="-k gthread, $PROCS workers x $THREADS threads"
	start gunicorn-gthread "$PY" -m gunicorn --chdir "$APP_DIR" -b "127.0.0.1:$1" \
		-k gthread -w "$PROCS" --threads "$THREADS" --log-level warning hello:application
}

start_waitress() {
	CONFIG="1 process x $THREADS threads"
	# waitress puts the current folder on sys.path, so start it in testdata/.
	start waitress env -C "$APP_DIR" "$PY" -m waitress --listen="127.0.0.1:$1" \
		--threads="$THREADS" hello:application
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
	local name=$1 port=$2 mode=$3 dir=$WORK/$1 app=$APP
	mkdir -p "$dir"
	chmod 755 "$dir"
	if ! runuser -u www-data -- test -r "$app"; then
		# www-data can't read the checkout: serve a copy of the same file.
		cp "$APP" "$dir/hello.py"
		chmod 644 "$dir/hello.py"
		app=$dir/hello.py
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
	apache2 -t -f "$dir/httpd.conf" >"$dir/configtest.log" 2>&1 || {
		log "$name: config test failed:"
		cat "$dir/configtest.log" >&2
		return 1
	}
	# -DFOREGROUND keeps the parent as our child so it is stopped like the rest.
	start "$name" apache2 -f "$dir/httpd.conf" -DFOREGROUND
}

start_modwsgi-embedded() {
	CONFIG="mpm_event $PROCS processes x $APACHE_THREADS threads, app in the Apache workers"
	apache_start modwsgi-embedded "$1" embedded
}

start_modwsgi-daemon() {
	CONFIG="WSGIDaemonProcess processes=$PROCS threads=$THREADS, front mpm_event $PROCS x $APACHE_THREADS"
	apache_start modwsgi-daemon "$1" daemon
}

# ------------------------------------------------------------------ bench --

# p99_ms VALUE: wrk's latency ("812.00us", "3.12ms", "1.02s") in milliseconds.
p99_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		printf "%.2f", n }'
}

ROWS=() # "name<TAB>config<TAB>req/s<TAB>p99ms<TAB>errors" or "...<TAB>FAILED/skipped"

# bench NAME: start, check, measure and stop one server; appends to ROWS.
bench() {
	local name=$1 port rc=0 url out rps p99 errs
	free_port
	port=$PORT
	url="http://127.0.0.1:$port/"
	CONFIG=
	log "== $name on 127.0.0.1:$port"
	"start_$name" "$port" || rc=$?
	if ((rc == 2)); then
		ROWS+=("$name"$'\t'"${CONFIG:--}"$'\t'"skipped"$'\t'"-"$'\t'"-")
		return 0
	fi
	if ((rc != 0)) || ! wait_ready "$port" "$name"; then
		stop_server
		ROWS+=("$name"$'\t'"${CONFIG:--}"$'\t'"FAILED"$'\t'"-"$'\t'"-")
		return 0
	fi
	if ((WARMUP > 0)); then
		timeout $((WARMUP + 30)) wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url" >/dev/null 2>&1 || true
	fi
	if ! out=$(timeout $((DURATION + 30)) wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url" 2>&1); then
		log "$name: wrk failed:"
		log "$out"
		stop_server
		ROWS+=("$name"$'\t'"$CONFIG"$'\t'"FAILED"$'\t'"-"$'\t'"-")
		return 0
	fi
	printf '%s\n' "$out" >"$WORK/$name.wrk"
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	# Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers.
	errs=$(awk '
		/Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx responses:/ { e += $NF }
		END { print e + 0 }' <<<"$out")
	if [[ -z $rps || -z $p99 ]]; then
		log "$name: could not read wrk's output:"
		log "$out"
		stop_server
		ROWS+=("$name"$'\t'"$CONFIG"$'\t'"FAILED"$'\t'"-"$'\t'"-")
		return 0
	fi
	stop_server
	if [[ $name == pyhost ]]; then
		PYHOST_CROSSINGS=$(pyhost_crossings)
	fi
	log "   $rps req/s, p99 $(p99_ms "$p99") ms, $errs errors"
	if ((errs > 0)); then
		grep -E 'Socket errors|Non-2xx' <<<"$out" | sed 's/^ */   /' >&2 || true
	fi
	ROWS+=("$name"$'\t'"$CONFIG"$'\t'"$rps"$'\t'"$(p99_ms "$p99")"$'\t'"$errs")
}

PYHOST_CROSSINGS=n/a
START=$SECONDS
for s in $SERVERS; do
	bench "$s"
done
ELAPSED=$((SECONDS - START))

# ------------------------------------------------------------------ table --

# The reference: pyhost when it ran, else the bare Go handler.
REF_NAME=
REF_RPS=
for want in pyhost baregohttp; do
	for row in "${ROWS[@]}"; do
		IFS=$'\t' read -r n _ r _ _ <<<"$row"
		if [[ $n == "$want" && $r =~ ^[0-9]+$ && $r != 0 ]]; then
			REF_NAME=$n
			REF_RPS=$r
			break 2
		fi
	done
done

ratio() {
	if [[ -n $REF_RPS && $1 =~ ^[0-9]+$ ]]; then
		awk -v a="$1" -v b="$REF_RPS" 'BEGIN { printf "%.2f", a / b }'
	else
		echo "-"
	fi
}

RATIO_HEAD="x ${REF_NAME:-ref}"
PYVER=$("$PY" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "?")
HEADER="wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s --latency (warm-up ${WARMUP}s), 127.0.0.1, $(nproc) CPUs, $(uname -sr), system Python $PYVER, app testdata/hello.py"

printf '\n%s\n\n' "$HEADER"
printf '%-17s %-75s %9s %9s %7s %9s\n' server config req/s "p99 ms" errors "$RATIO_HEAD"
for row in "${ROWS[@]}"; do
	IFS=$'\t' read -r n c r p e <<<"$row"
	printf '%-17s %-75s %9s %9s %7s %9s\n' "$n" "$c" "$r" "$p" "$e" "$(ratio "$r")"
done
printf '\npyhost cgo crossings per request: %s\n' "$PYHOST_CROSSINGS"
printf 'total time: %ss\n' "$ELAPSED"

mkdir -p "$OUT"
MD=$OUT/bench-peers.md
{
	printf '# pyhost peer benchmark, %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf '%s.\n\n' "$HEADER"
	printf '| server | config | req/s | p99 ms | errors | %s |\n' "$RATIO_HEAD"
	printf '|---|---|--:|--:|--:|--:|\n'
	for row in "${ROWS[@]}"; do
		IFS=$'\t' read -r n c r p e <<<"$row"
		printf '| %s | %s | %s | %s | %s | %s |\n' "$n" "$c" "$r" "$p" "$e" "$(ratio "$r")"
	done
	printf '\npyhost cgo crossings per request: %s\n' "$PYHOST_CROSSINGS"
} >"$MD"
log "wrote $MD"

# Exit non-zero when a server that should have run did not.
for row in "${ROWS[@]}"; do
	IFS=$'\t' read -r _ _ r _ _ <<<"$row"
	[[ $r != FAILED ]] || exit 1
done
