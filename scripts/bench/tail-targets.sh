#!/usr/bin/env bash
# tail-targets.sh: issue 19's targets (tail latency, CPU per request under queued
# connections, own-GIL interpreters against processes), measured in one run on this machine
# and printed as a markdown table with each target met or missed.
#
#   2 × 8, wrk 32 connections (hello, Flask, Django): pyhost p99 ≤ uWSGI --http11-socket's
#   2 × 8, 16 connections (= threads, so uWSGI answers every connection): the same
#   open loop at 50% and 80% of the lower capacity of the two: p99 and p99.9 ≤ uWSGI's
#   1 × 1 Flask at 1, 8, 32, 64 connections: pyhost CPU per request ≤ 1.05 × uWSGI's
#   CPython 3.13 Flask, own ×2 against processes ×2, 16 connections: req/s ≥, p99 ≤
#
# Every figure comes from scripts/bench/peers.sh (wrk, plus `pyhost bench --load --rate` for
# the open loop) and `pyhost bench` (own against processes); the tables they printed are kept
# in $OUT. uWSGI --http11-socket keeps each keep-alive connection on one thread for its life,
# so with 32 connections at 2 × 8 it answers 16 and wrk's percentiles cover those 16 only; the
# "conns answered" column of the tables says so, and the 16-connection rows compare like with
# like.
#
# Environment: DURATION (seconds per measurement, default 8), OUT (default /tmp: receives
# tail-targets.md and the tables), PYHOST (default bin/pyhost), PYHOST313 (a pyhost binary
# linked against CPython 3.13; default: built with scripts/with-python.sh when the 3.13 build
# is cached, else that target is skipped), FLASK313_PATH (Flask for 3.13: default the forky
# root's dist-packages, scripts/forky-root.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
OUT=${OUT:-/tmp}
export DURATION=${DURATION:-8}
export PYHOST=${PYHOST:-$ROOT/bin/pyhost}
[[ -x $PYHOST ]] || die "no $PYHOST: run make build first (or set PYHOST)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$OUT"

# peers OUTDIR VAR=VALUE...: one peers.sh run, pyhost against uWSGI --http11-socket.
peers() {
	local dir=$work/$1
	shift
	mkdir -p "$dir"
	env OUT="$dir" ONLY="pyhost uwsgi-http11" "$@" "$here/peers.sh" >/dev/null
}
# col DIR APP SERVER N: field N of the closed-loop row (4 req/s, 5 p99, 6 p99.9, 8 CPU µs/req).
col() { awk -F'\t' -v a="$2" -v s="$3" -v n="$4" '$1 == a && $2 == s { print $n; exit }' "$work/$1/bench-peers.tsv"; }
# ocol DIR APP SERVER RATE N: field N of an open-loop row (8 p99, 9 p99.9, 10 errors, 11 unsent).
ocol() {
	awk -F'\t' -v a="$2" -v s="$3" -v r="$4" -v n="$5" \
		'$1 == "open" && $2 == a && $3 == s && $4 == r { print $n; exit }' "$work/$1/bench-peers.tsv"
}
num() { [[ $1 =~ ^[0-9.]+$ ]]; }
ROWS=()
# judge TARGET A B [FACTOR [CMP]]: CMP "le" (the default): met when A ≤ FACTOR × B; "ge": met
# when A ≥ FACTOR × B. A is pyhost's figure, B the reference; either not a number (a run that
# failed or was skipped): "not measured".
judge() {
	local t=$1 a=$2 b=$3 f=${4:-1} cmp=${5:-le} v="not measured" r="-"
	if num "$a" && num "$b" && [[ $b != 0 ]]; then
		r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')
		v=$(awk -v a="$a" -v b="$b" -v f="$f" -v ge="$([[ $cmp == ge ]] && echo 1 || echo 0)" \
			'BEGIN { print ((ge ? a >= f * b : a <= f * b) ? "met" : "missed") }')
	fi
	ROWS+=("| $t | $a | $b | $r | $v |")
}

log "tail-targets: 2 × 8, 32 connections"
peers c32 APPS="hello flask django" CONNECTIONS=32
for app in hello flask django; do
	judge "$app 2 × 8, 32 conns: p99 ms ≤ uWSGI's ($(col c32 $app uwsgi-http11 10 || true) conns answered by uWSGI)" \
		"$(col c32 $app pyhost 5)" "$(col c32 $app uwsgi-http11 5)"
	ROWS+=("| $app 2 × 8, 32 conns: p99.9 ms (reported) | $(col c32 $app pyhost 6) | $(col c32 $app uwsgi-http11 6) | | |")
	ROWS+=("| $app 2 × 8, 32 conns: req/s (reported) | $(col c32 $app pyhost 4) | $(col c32 $app uwsgi-http11 4) | | |")
done

for app in hello flask django; do
	p=$(col c32 $app pyhost 4) u=$(col c32 $app uwsgi-http11 4)
	if ! num "$p" || ! num "$u"; then
		log "tail-targets: no capacity for $app; skipping its open-loop runs"
		continue
	fi
	cap=$((p < u ? p : u))
	r50=$((cap / 2)) r80=$((cap * 8 / 10))
	log "tail-targets: $app 2 × 8, 16 connections, open loop at $r50 and $r80 req/s"
	peers "c16-$app" APPS="$app" CONNECTIONS=16 RATES="$r50 $r80"
	judge "$app 2 × 8, 16 conns: p99 ms ≤ uWSGI's" "$(col c16-$app $app pyhost 5)" "$(col c16-$app $app uwsgi-http11 5)"
	ROWS+=("| $app 2 × 8, 16 conns: p99.9 ms (reported) | $(col c16-$app $app pyhost 6) | $(col c16-$app $app uwsgi-http11 6) | | |")
	for r in $r50 $r80; do
		pct=$((r * 100 / cap))
		judge "$app open loop $r req/s (${pct}%): p99 ms ≤ uWSGI's" \
			"$(ocol c16-$app $app pyhost $r 8)" "$(ocol c16-$app $app uwsgi-http11 $r 8)"
		judge "$app open loop $r req/s (${pct}%): p99.9 ms ≤ uWSGI's" \
			"$(ocol c16-$app $app pyhost $r 9)" "$(ocol c16-$app $app uwsgi-http11 $r 9)"
	done
done

for c in 1 8 32 64; do
	log "tail-targets: Flask 1 × 1, $c connections"
	peers "one-c$c" APPS=flask PROCS=1 THREADS=1 CONNECTIONS=$c WRK_THREADS=$((c < 2 ? 1 : 2)) FAIRNESS=0
	judge "flask 1 × 1, $c conns: CPU µs/req ≤ 1.05 × uWSGI's" \
		"$(col one-c$c flask pyhost 8)" "$(col one-c$c flask uwsgi-http11 8)" 1.05
done

py313=/var/cache/pyhost/python/3.13/bin/python3.13
flask313=${FLASK313_PATH:-${PYHOST_FORKY_ROOT:-/var/cache/pyhost/forky}/usr/lib/python3/dist-packages}
PYHOST313=${PYHOST313:-}
if [[ -z $PYHOST313 && -x $py313 && -d $flask313/flask ]]; then
	PYHOST313=$work/pyhost-3.13
	(cd "$ROOT" && scripts/with-python.sh "$py313" go build -o "$PYHOST313" .) >&2
fi
if [[ -n $PYHOST313 && -d $flask313/flask ]]; then
	log "tail-targets: CPython 3.13, own ×2 against processes ×2"
	"$PYHOST" bench "$ROOT/testdata/bench/flask_page.py" --pyhost "$PYHOST313" --modes own,processes \
		--parallelism 2 --concurrency 16 --rounds 3 --duration "${DURATION}s" --warmup 2s \
		--json "$work/own.json" -- --python-path "$flask313" $(allow_root "$PYHOST313") >"$work/own.txt" 2>&1 || true
	# The median round of each cell (pyhost bench --json).
	read -r orps op99 prps pp99 < <(python3 - "$work/own.json" <<'PY'
import json, sys
cells = {c["mode"]: c.get("median") for c in json.load(open(sys.argv[1]))["cells"]}
out = []
for mode in ("own", "processes"):
    m = cells.get(mode)
    out += [round(m["requests_per_second"]), "%.2f" % m["latency_ms"]["p99"]] if m else ["-", "-"]
print(*out)
PY
	) || true
	judge "3.13 Flask own ×2 vs processes ×2: req/s ≥ processes'" "${orps:-}" "${prps:-}" 1 ge
	judge "3.13 Flask own ×2 vs processes ×2: p99 ms ≤ processes'" "${op99:-}" "${pp99:-}"
	cp "$work/own.txt" "$OUT/tail-targets-own.txt"
else
	ROWS+=("| 3.13 own ×2 vs processes ×2 | | | | skipped: no CPython 3.13 build or no Flask for it |")
fi

{
	echo "### Tail targets (\`DURATION=$DURATION scripts/bench/tail-targets.sh\`, $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) CPUs)"
	echo
	echo "| target | pyhost | reference | ratio | |"
	echo "|---|--:|--:|--:|---|"
	printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/tail-targets.md"
for d in "$work"/*/; do
	[[ -f $d/bench-peers.md ]] && cp "$d/bench-peers.md" "$OUT/tail-targets-$(basename "$d").md"
done
exit 0
