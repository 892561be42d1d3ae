#!/usr/bin/env bash
# per-core-targets.sh: issue 8's per-core efficiency targets, measured in one run with
# peers.sh (same machine, same system Python, wrk on loopback), printed as a markdown table
# with each target met or missed:
#
#   flask 1 × 1   pyhost CPU/req ≤ uWSGI --http11-socket 1 × 1's, and req/s ≥ uWSGI's
#   flask 1 × 8   pyhost CPU/req ≤ 1.1 × pyhost's own 1 × 1 figure
#   hello 1 × 1   pyhost CPU/req ≤ 0.8 × uWSGI 1 × 1's
#
# Environment: DURATION (default 10) and CONNECTIONS as for peers.sh; OUT (default /tmp)
# receives per-core-targets.md and the peers.sh tables it was computed from.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
OUT=${OUT:-/tmp}
export DURATION=${DURATION:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/one" "$work/eight"
OUT=$work/one APPS="hello flask" ONLY="pyhost uwsgi-http11" PROCS=1 THREADS=1 \
	"$here/peers.sh" >/dev/null
OUT=$work/eight APPS="flask" ONLY="pyhost" PROCS=1 THREADS=8 "$here/peers.sh" >/dev/null

# figure FILE APP SERVER COLUMN: a number from peers.sh's table (3 = req/s, 7 = CPU µs/req).
figure() {
	awk -v app="$2" -v server="$3" -v col="$4" -F'|' '
		/^### / { cur = $0; sub(/^### /, "", cur); sub(/ .*/, "", cur) }
		cur == app && $2 ~ "^ *" server " *$" { v = $(col + 1); gsub(/[ ,]/, "", v); print v; exit }
	' "$1"
}
one=$work/one/bench-peers.md
eight=$work/eight/bench-peers.md
f1=$(figure "$one" flask pyhost 7)
f1r=$(figure "$one" flask pyhost 3)
u1=$(figure "$one" flask uwsgi-http11 7)
u1r=$(figure "$one" flask uwsgi-http11 3)
f8=$(figure "$eight" flask pyhost 7)
h1=$(figure "$one" hello pyhost 7)
hu=$(figure "$one" hello uwsgi-http11 7)
for v in f1 f1r u1 u1r f8 h1 hu; do
	[[ ${!v} =~ ^[0-9.]+$ ]] || {
		echo "per-core-targets.sh: could not read $v from peers.sh's tables (in $work)" >&2
		exit 1
	}
done

verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? "met" : "missed" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	echo "### Per-core targets (\`DURATION=$DURATION scripts/bench/per-core-targets.sh\`, $(date -u '+%Y-%m-%d %H:%M') UTC)"
	echo
	echo "| target | measured | ratio | |"
	echo "|---|---|--:|---|"
	echo "| flask 1 × 1: pyhost CPU/req ≤ uWSGI's | $f1 µs vs $u1 µs | $(ratio "$f1" "$u1") | $(verdict "$f1" "$u1") |"
	echo "| flask 1 × 1: pyhost req/s ≥ uWSGI's | $f1r vs $u1r | $(ratio "$f1r" "$u1r") | $(verdict "$u1r" "$f1r") |"
	echo "| flask 1 × 8: CPU/req ≤ 1.1 × pyhost 1 × 1 | $f8 µs vs $f1 µs | $(ratio "$f8" "$f1") | $(verdict "$f8" "$(awk -v a="$f1" 'BEGIN { print a * 1.1 }')") |"
	echo "| hello 1 × 1: pyhost CPU/req ≤ 0.8 × uWSGI's | $h1 µs vs $hu µs | $(ratio "$h1" "$hu") | $(verdict "$h1" "$(awk -v a="$hu" 'BEGIN { print a * 0.8 }')") |"
} | tee "$OUT/per-core-targets.md"
cp "$one" "$OUT/per-core-1x1.md"
cp "$eight" "$OUT/per-core-1x8.md"
