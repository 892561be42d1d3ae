#!/usr/bin/env bash
# test.sh — lint, then the Go test suite against the real interpreter and the real binary:
# first the system Python (3.11 on Debian 12, with Debian's frameworks), then CPython 3.13 and
# 3.13t built from Debian's source package (cached after the first build), then Debian forky's
# 3.14 and 3.15 inside a forky root, then every other interpreter named in PYTHONS (e.g.
# PYTHONS=~/.pyenv/versions/3.12.1/bin/python3.12).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/lint.sh
# Every fuzz target for a bounded time (FUZZTIME, default 15s each), against the system Python.
scripts/fuzz.sh

results=()
# The metrics tests check the exposition with promtool (scripts/deps.sh test unpacked it).
export PYHOST_REQUIRE_PROMTOOL=1
run_suite() { # run_suite LABEL PYTHON(empty = system) PACKAGES...
	local label=$1 py=$2 start=$SECONDS
	shift 2
	echo "== go test against $label" >&2
	if [ -z "$py" ]; then
		scripts/with-python.sh "" go test -count=1 -timeout 20m "$@"
	else
		${IN_ROOT:-} env PYHOST_TEST_PYTHON="$py" scripts/with-python.sh "$py" go test -count=1 -timeout 20m "$@"
	fi
	results+=("$label: passed in $((SECONDS - start)) s")
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

# The container image (scripts/image.sh; built once, ~2 min, then cached): unpacked and run in
# its own namespaces, it serves the example app and stops cleanly (scripts/image-test.sh).
# It needs root (namespaces, chroot): skipped, and said so, without it.
echo "== container image" >&2
if [ "$(id -u)" -eq 0 ]; then
	scripts/image-test.sh
	results+=("container image (unshare + chroot): passed")
else
	results+=("container image: SKIPPED (scripts/image-test.sh needs root)")
fi

extra=()
extra+=("$(scripts/build-python.sh 3.13 | tail -n 1)/bin/python3.13")
extra+=("$(scripts/build-python.sh 3.13 --free-threaded | tail -n 1)/bin/python3.13t")
for py in "${extra[@]}"; do
	run_suite "$py" "$py" ./pyhost/...
done

# 3.14 and 3.15: Debian forky's own packages (no sources to build them from here), with
# forky's Flask 3.1, Django 5.2, NumPy 2.4, Bottle and Falcon, in a forky root
# (scripts/forky-root.sh: ~1.5 min and ~670 MB the first time, cached) where pyhost is built
# and tested (scripts/in-forky.sh). python-pc.sh's auto links their libpython .so: their
# static archives lack the HACL* objects their hash modules need. No free-threaded build in
# forky: 3.13t stays the free-threaded one. The cgo and wsgi unit tests embed the
# interpreter directly and run the C-API paths outside the server, so they run here too.
scripts/forky-root.sh >/dev/null
for v in 3.14 3.15; do
	IN_ROOT=scripts/in-forky.sh run_suite "/usr/bin/python$v (Debian forky root)" "/usr/bin/python$v" \
		./pyhost/... ./cgo/... ./wsgi/...
done

for py in ${PYTHONS:-}; do
	run_suite "$py" "$py" ./pyhost/...
done
printf '%s\n' "${results[@]}" >&2
