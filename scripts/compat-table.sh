#!/usr/bin/env bash
# compat-table.sh — measures which frameworks run in which GIL mode on which Python, and prints
# the README's compatibility table (markdown) on stdout; progress goes to stderr.
#
#   scripts/compat-table.sh                 every build: system 3.11, 3.13, 3.13t (host), 3.14, 3.15 (forky root)
#   scripts/compat-table.sh --rows PYTHON   the rows of one interpreter (empty string: the system's)
#
# Each cell builds nothing: the binary for a Python is built once (build/compat/), then every app
# is started in every placement the build can have, asked for a few pages over loopback, and
# stopped with SIGTERM. A cell says what an operator sees: "ok", the line pyhost refused the
# mode with, the failure of the load, or the first page that came back wrong; "ok, warns" when the
# load logged a warning (e.g. NumPy on sub-interpreters).
set -euo pipefail
cd "$(dirname "$0")/.."
readonly FORKY_PYTHONS='/usr/bin/python3.14 /usr/bin/python3.15'
readonly APPS='flask django bottle falcon numpy'
readonly PLACEMENTS='global sub own free'
fw=$PWD/testdata/frameworks

say() { printf 'compat-table: %s\n' "$*" >&2; }

# app_args APP: the target and flags that serve APP.
app_args() {
	case $1 in
	django) echo "djangosite.wsgi:application --chdir $fw --python-path $fw --python-path $dist" ;;
	numpy) echo "$PWD/testdata/numpy_app.py --python-path $dist" ;;
	*) echo "$fw/${1}_app.py --python-path $fw --python-path $dist" ;;
	esac
}

# placement_args PLACEMENT: the flags of a placement.
placement_args() {
	case $1 in
	global) echo "--gil shared --application-group %{GLOBAL}" ;;
	sub) echo "--gil shared --application-group compat" ;;
	own) echo "--gil own --application-group compat --interpreters 2" ;;
	free) echo "--gil free --application-group %{GLOBAL}" ;;
	esac
}

# get URL: the body (curl where there is one; the forky root has Python but no curl).
get() {
	if command -v curl >/dev/null; then
		curl -sS --max-time 10 "$1"
	else
		python3 -c 'import sys, urllib.request
try:
    sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())
except Exception as e:
    sys.exit(str(e))' "$1"
	fi
}

# check_pages APP BASE: prints nothing when the pages are right, else what was wrong.
check_pages() {
	local app=$1 base=$2 body
	if [ "$app" = numpy ]; then
		body=$(get "$base/" 2>&1) || { echo "GET /: $body"; return; }
		case $body in numpy*sum=45*) ;; *) echo "GET /: ${body:0:80}" ;; esac
		return
	fi
	body=$(get "$base/" 2>&1) || { echo "GET /: $body"; return; }
	[ "$body" = "index $app" ] || { echo "GET /: ${body:0:80}"; return; }
	body=$(get "$base/hello/J%C3%BCrgen" 2>&1) || { echo "GET /hello: $body"; return; }
	[ "$body" = "hello Jürgen" ] || { echo "GET /hello: ${body:0:80}"; return; }
	# Eight at once, so the threads (and interpreters) of the mode are all used.
	local i codes
	codes=$(for i in 1 2 3 4 5 6 7 8; do (get "$base/hello/x$i" >/dev/null 2>&1 && echo 200 || echo failed) & done; wait 2>/dev/null)
	[ "$(grep -c '^200$' <<<"$codes")" = 8 ] || echo "8 parallel GETs: $(tr '\n' ' ' <<<"$codes")"
}

# cell BIN APP PLACEMENT: starts BIN, checks the pages, stops it; prints the cell's text.
cell() {
	local bin=$1 app=$2 place=$3 log port pid problem status
	log=$(mktemp)
	export PYHOST_DJANGO_DB
	PYHOST_DJANGO_DB=$(mktemp -u)
	# shellcheck disable=SC2046
	"$bin" serve $(app_args "$app") $(placement_args "$place") --threads 4 --preload \
		--listen 127.0.0.1:0 --allow-root --log-format text >"$log" 2>&1 &
	pid=$!
	port=''
	for _ in $(seq 300); do
		port=$(grep -o 'msg=serving listen=http://127.0.0.1:[0-9]*' "$log" | head -n1 | sed 's/.*://') || true
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$port" ]; then
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		# A load failure's last traceback line is its exception; otherwise the first error line.
		problem=$(grep -m1 -E 'level=ERROR|error:|refus|needs' "$log" | sed -E 's/.*traceback="(.*)"$/\1/; s/.*\\n//; s/.*msg="?//; s/"? *$//' | cut -c1-110)
		case $problem in
		*"needs Python ≥ 3.12"*) echo "— (needs ≥ 3.12)" ;;
		*"needs a free-threaded"*) echo "— (needs a free-threaded build)" ;;
		*"needs a CPython built with the GIL"*) echo "— (free-threaded build)" ;;
		*"No module named 'numpy"*) echo "— (no NumPy built for this Python)" ;;
		*) echo "**no**: ${problem:-did not start}" ;;
		esac
		rm -f "$log" "$PYHOST_DJANGO_DB"
		return
	fi
	problem=$(check_pages "$app" "http://127.0.0.1:$port")
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	if [ -n "$problem" ]; then
		echo "**no**: $problem"
	elif [ "$status" != 0 ]; then
		echo "**no**: exit status $status after SIGTERM"
	elif grep -q 'level=WARN.*modules=' "$log"; then
		# pyhost's own warning names the modules that load there against their nature.
		echo "ok, warns: $(grep -m1 -o 'level=WARN.*modules=[^ ]*' "$log" | sed 's/.*modules=//; s/,/, /g') (no sub-interpreter support)"
	elif grep -q 'level=WARN' "$log"; then
		# The warning's own words, without the record's fields or a file name before them.
		echo "ok, warns: $(grep -m1 'level=WARN' "$log" | sed -E 's/.*(text|msg)="?//; s/^[^ ]*: ([A-Za-z]*Warning: )?//; s/"? *$//' | cut -c1-80)"
	else
		echo ok
	fi
	rm -f "$log" "$PYHOST_DJANGO_DB"
}

# rows PYTHON: builds pyhost against PYTHON and prints its table rows. The frameworks are
# Debian's for the interpreter's own Debian (12 for the system 3.11, forky for 3.14/3.15); our
# 3.13 builds take forky's pure-Python ones (Flask 3.1, Django 5.2, Bottle 0.13, Falcon 4.3),
# since Debian 12's Django 3.2 and Bottle 0.12 need the cgi module 3.13 removed.
rows() {
	local py=$1 name bin ver app place line
	dist=/usr/lib/python3/dist-packages
	if [[ -n $py && $py != /usr/bin/* && -d ${FORKY_ROOT:-/var/cache/pyhost/forky}$dist ]]; then
		dist=${FORKY_ROOT:-/var/cache/pyhost/forky}$dist
	fi
	name=$(echo "${py:-system}" | tr / _)
	bin=build/compat/$name/pyhost
	mkdir -p "$(dirname "$bin")"
	LIBPYTHON=${LIBPYTHON:-$( [[ $py == /usr/bin/python3.1[45] ]] && echo shared || echo auto)} \
		scripts/with-python.sh "$py" go build -o "$bin" .
	ver=$("$bin" version | sed -n 's/^Python \([^ ]*\).*/\1/p')
	grep -q 'free-threaded' <("$bin" version) && ver="${ver}t"
	for app in $APPS; do
		line="| $ver | $app |"
		for place in $PLACEMENTS; do
			say "$ver $app $place"
			line+=" $(cell "$bin" "$app" "$place") |"
		done
		echo "$line"
	done
}

if [ "${1:-}" = --rows ]; then
	rows "${2:-}"
	exit
fi
echo "| Python | app | \`%{GLOBAL}\` (shared GIL) | shared-GIL sub-interpreter | own GIL ×2 | free-threaded |"
echo "|---|---|---|---|---|---|"
rows ""
FORKY_ROOT=$(scripts/forky-root.sh | tail -n 1)
export FORKY_ROOT
rows "$(scripts/build-python.sh 3.13 | tail -n 1)/bin/python3.13"
rows "$(scripts/build-python.sh 3.13 --free-threaded | tail -n 1)/bin/python3.13t"
for py in $FORKY_PYTHONS; do
	${FORKY_RUN:-scripts/in-forky.sh} scripts/compat-table.sh --rows "$py"
done
