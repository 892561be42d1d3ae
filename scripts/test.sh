#!/usr/bin/env bash
# test.sh — lint, then the Go test suite against the real interpreter and the real binary:
# first the system Python (3.11 on Debian 12, with Debian's frameworks), then CPython 3.13 and
# 3.13t built from Debian's source package (cached after the first build), then every other
# interpreter named in PYTHONS (e.g. PYTHONS=~/.pyenv/versions/3.12.1/bin/python3.12).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/lint.sh
# Every fuzz target for a bounded time (FUZZTIME, default 15s each), against the system Python.
scripts/fuzz.sh

results=()
# The metrics tests check the exposition with promtool (scripts/deps.sh test unpacked it).
export PYHOST_REQUIRE_PROMTOOL=1
run_suite() { # run_suite LABEL PYTHON(empty = system) PACKAGES...
	local label=$1 py=$2
	shift 2
	echo "== go test against $label" >&2
	if [ -z "$py" ]; then
		scripts/with-python.sh "" go test -count=1 -timeout 20m "$@"
	else
		PYHOST_TEST_PYTHON=$py scripts/with-python.sh "$py" go test -count=1 -timeout 20m "$@"
	fi
	results+=("$label: passed")
}

# The Kubernetes manifests, decoded strictly into Kubernetes' types and checked against the
# real binary (a module of its own: deploy/kubernetes/go.mod).
echo "== go test deploy/kubernetes" >&2
scripts/with-python.sh "" sh -c 'cd deploy/kubernetes && go test -count=1 -timeout 5m ./...'
results+=("deploy/kubernetes manifests: passed")

run_suite "system python3 $(pkg-config --modversion python3-embed) ($(scripts/with-python.sh "" sh -c 'cat "$PKG_CONFIG_PATH/linkage"') libpython)" "" ./...

# Memory under the everyday Flask mix, system Python: ~90 s (a deliberate leak must fail the
# check, then 10 s warm-up + 60 s measured must stay flat); scripts/soak-check.sh.
echo "== soak check (system python3)" >&2
scripts/soak-check.sh
results+=("soak check (system python3): passed")

extra=()
extra+=("$(scripts/build-python.sh 3.13 | tail -n 1)/bin/python3.13")
extra+=("$(scripts/build-python.sh 3.13 --free-threaded | tail -n 1)/bin/python3.13t")
for py in ${PYTHONS:-}; do
	extra+=("$py")
done
for py in "${extra[@]}"; do
	run_suite "$py" "$py" ./pyhost/...
done
printf '%s\n' "${results[@]}" >&2
