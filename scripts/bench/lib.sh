# lib.sh — what pyhost's benchmark scripts share; sourced, not run.

# log MSG...: a line on stderr. die MSG...: that line, named for the script, then exit 1.
log() { printf '%s\n' "$*" >&2; }
die() {
	log "$(basename "$0"): $*"
	exit 1
}

# whole_numbers VAR...: die unless each named variable holds a whole number.
whole_numbers() {
	local v
	for v in "$@"; do
		[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
	done
}

# clean_up_on_exit STOP: when the script exits, run STOP (its function that stops the servers
# it started), then remove $WORK unless KEEP is set; SIGINT and SIGTERM end it (130, 143).
clean_up_on_exit() {
	_stop_servers=$1
	trap _clean_up EXIT
	trap 'log "interrupted"; exit 130' INT
	trap 'exit 143' TERM
}
_clean_up() {
	trap - EXIT INT TERM
	"$_stop_servers"
	if [[ -n ${KEEP:-} ]]; then
		log "kept the logs and configs in $WORK"
	else
		rm -rf "$WORK"
	fi
}

# free_port: set PORT to a loopback port that nothing listens on, counting up from
# $NEXT_PORT (start it at $PORT_BASE).
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	while port_in_use "$NEXT_PORT"; do
		NEXT_PORT=$((NEXT_PORT + 1))
	done
	PORT=$NEXT_PORT
	NEXT_PORT=$((NEXT_PORT + 1))
}

# allow_root BIN: "--allow-root" when running as root and BIN knows the flag (pyhost refuses
# to run apps as root without it; older builds have no such flag). grep reads the whole help:
# with -q it may stop first, pyhost then dies of SIGPIPE and pipefail (set by the scripts)
# fails the test at random.
allow_root() {
	[ "$(id -u)" -eq 0 ] && timeout 10 "$1" serve --help 2>&1 | grep -- '-allow-root' >/dev/null &&
		echo --allow-root
	return 0
}

# tree_ticks PID: utime+stime, in clock ticks, of PID and its children (a supervisor and its
# workers).
tree_ticks() {
	local pids
	pids="$1 $(pgrep -P "$1" | tr '\n' ' ')"
	for p in $pids; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done |
		awk '{s += $1} END {print s}'
}

# measure_pyhost LOG BIN SERVE_ARGS...: serves $APP with BIN on 127.0.0.1:$PORT (from $ROOT,
# its log in LOG), warms up, runs wrk for $DURATION s with $CONNECTIONS connections against
# $URLPATH and prints "req/s p99_ms cpu_us_per_req" (CPU of the server's process tree). The
# server's pid is in $server while it runs, for the caller's cleanup.
measure_pyhost() {
	local log=$1 bin=$2
	shift 2
	(cd "$ROOT" && exec "$bin" serve "$APP" --listen "127.0.0.1:$PORT" $(allow_root "$bin") "$@") \
		2>"$log" &
	server=$!
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:$PORT$URLPATH" 2>/dev/null && break
		sleep 0.1
	done
	wrk -t2 -c"$CONNECTIONS" -d1s "http://127.0.0.1:$PORT$URLPATH" >/dev/null # warm-up
	local before after out
	before=$(tree_ticks "$server")
	out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT$URLPATH")
	after=$(tree_ticks "$server")
	kill "$server"
	wait "$server" 2>/dev/null || true
	server=""
	local hz requests rps p99
	hz=$(getconf CLK_TCK)
	requests=$(awk '/requests in/ {print $1}' <<<"$out")
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		echo "$(basename "$0"): $bin $* answered errors:" >&2
		grep "Non-2xx\|Socket errors" <<<"$out" >&2
	fi
	awk -v r="$rps" -v p="$p99" -v t=$((after - before)) -v hz="$hz" -v n="$requests" \
		'BEGIN { printf "%.0f %.2f %.1f\n", r, p, t / hz * 1e6 / n }'
}

# median: the median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
