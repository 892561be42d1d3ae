#!/usr/bin/env bash
# soak-check.sh — the short soak of `make test` (scripts/test.sh): does pyhost's memory stay
# flat under the everyday Flask mix (scripts/bench/soak.sh, testdata/soak/soak_app.py) on the
# system Python? About 2 minutes, bounded by timeout.
#
# First the check is proven able to fail: the same app keeping 1 KiB per request
# (SOAK_LEAK_BYTES=1024, ~110 MB per 100k requests) must be reported as a leak (exit status 3)
# within 12 s. Then the real run: 10 s warm-up, 60 s measured, failing when resident memory
# grows over MAX_GROWTH MB per 100k requests over the second half (default 10, i.e. 100 bytes
# per request; today's pyhost grows ~1 MB per 100k in its first minute and flattens later)
# and by more than 3 MB in all. The full soak for comparison with gunicorn is
# `PEERS=1 scripts/bench/soak.sh` (10 minutes per server).
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${MAX_GROWTH:-10}
work=$(mktemp -d /tmp/soak-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
scripts/with-python.sh "" go build -o "$work/pyhost" .
export PYHOST=$work/pyhost OUT=$work MAX_GROWTH=$LIMIT SERVERS=pyhost PEERS=

echo "== soak check: a leaking app (1 KiB kept per request) must fail it" >&2
rc=0
SOAK_LEAK_BYTES=1024 WARMUP=3 DURATION=12 PHASES=4 timeout 120 scripts/bench/soak.sh >"$work/leak.out" 2>&1 || rc=$?
if ((rc != 3)); then
	cat "$work/leak.out" >&2
	echo "soak-check.sh: the run with a deliberate leak exited $rc, want 3 (leak reported); its output is above. If it ran and found no leak, the check cannot catch a real one: fix scripts/bench/soakload before trusting it" >&2
	exit 1
fi
grep 'LEAK' "$work/leak.out" >&2

echo "== soak check: pyhost's memory over 60 s of the Flask mix" >&2
rc=0
WARMUP=10 DURATION=60 PHASES=6 timeout 300 scripts/bench/soak.sh >"$work/soak.out" 2>&1 || rc=$?
# soakload's own lines; the markdown table repeats them.
grep -v '^|\|^$\|^#\|^- \|^testdata/soak\|^total time\|^wrote ' "$work/soak.out" >&2 || true
if ((rc != 0)); then
	echo "soak-check.sh: the soak failed (exit status $rc: 3 = memory grew, else the server answered wrong or did not run; see above)" >&2
	exit 1
fi
