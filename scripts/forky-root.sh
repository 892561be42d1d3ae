#!/usr/bin/env bash
# forky-root.sh — lays out a Debian forky root file system with CPython 3.14 and 3.15 (Debian's
# binary packages, with their -dev packages), gcc, pkg-config and the frameworks the test suite
# imports, caches it, and prints its path on the last line of stdout:
#
#   ROOT=$(scripts/forky-root.sh | tail -n 1)
#   scripts/in-forky.sh "$ROOT" go test ./pyhost/...      # see in-forky.sh
#
# Why a root: Debian serves 3.14 and 3.15 (and Flask 3.1, Django 5.2, NumPy 2.4 built for them)
# only as forky binaries, which need forky's C library; their sources are not in the archive,
# so they cannot be built here as build-python.sh builds 3.13. pyhost is built and tested
# inside the root, as a user with a forky machine would (scripts/in-forky.sh binds Go in).
#
# The root is ${PYHOST_FORKY_ROOT:-/var/cache/pyhost/forky}. Its stamp file (.pyhost-stamp)
# holds the package list and the suite: when they match this script's, the script prints the
# path and exits at once; when they differ (the list changed), the root is made again. The new
# root is laid out beside the old one and moved into place in one step. mmdebstrap's output
# goes to ROOT.log. First run: ~40 s and ~660 MB with a nearby mirror.
#
# The archive is the one this machine's apt already uses (scripts/debian-archive.sh;
# PYHOST_DEBIAN_MIRROR overrides it). forky's Release file may be past its Valid-Until date
# on a mirror that snapshots it, so apt in the root does not check that date.
set -euo pipefail

readonly PROG=${0##*/}
readonly SUITE=forky
# Interpreters and headers; the compiler and pkg-config (cgo, scripts/python-pc.sh); the
# frameworks the integration suite serves (pyhost/frameworks_test.go and testdata/); CA
# certificates so that Python's ssl finds a trust store. binutils (nm, readelf) comes with gcc.
readonly PACKAGES='python3.14 libpython3.14-dev python3.15 libpython3.15-dev
gcc libc6-dev pkg-config libzstd-dev ca-certificates
python3-flask python3-django python3-numpy python3-bottle python3-falcon'

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
[[ $# -eq 0 ]] || { printf 'usage: %s   (no arguments; PYHOST_FORKY_ROOT names the directory)\n' "$PROG" >&2; exit 2; }

root=${PYHOST_FORKY_ROOT:-/var/cache/pyhost/forky}
[[ $root == /* ]] || root=$PWD/$root
[[ $root != *[[:space:]]* ]] || die "PYHOST_FORKY_ROOT must not contain white space: $root"
root=${root%/}
stamp_file=$root/.pyhost-stamp
# shellcheck disable=SC2086 # one package a line
stamp=$(printf 'suite %s\n' "$SUITE"; printf '%s\n' $PACKAGES | sort)

ready() { [[ -f $stamp_file && $(cat "$stamp_file") == "$stamp" && -x $root/usr/bin/python3.15 ]]; }

if ready; then
	printf '%s\n' "$root"
	exit 0
fi

# ---------------------------------------------------------------------------
# Slow path. One layout at a time; a second caller waits and then takes the fast path.
((EUID == 0)) || die "laying out $root needs root (mmdebstrap, chroot); run this script as root"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: scripts/deps.sh test installs it (apt-get install mmdebstrap)"
parent=$(dirname "$root")
mkdir -p "$parent" || die "cannot create $parent; set PYHOST_FORKY_ROOT to a writable directory"
exec 9>"$parent/.$(basename "$root").lock"
flock 9
if ready; then
	printf '%s\n' "$root"
	exit 0
fi

archive=$("$(dirname "$0")/debian-archive.sh") || exit 1
IFS=$'\t' read -r mirror keyring <<<"$archive"

log=$root.log
new=$root.new
rm -rf "$new"
start=$SECONDS
say "laying out a Debian $SUITE root in $root from $mirror (log: $log)"
opts=(--variant=apt --quiet --aptopt='Acquire::Check-Valid-Until "false"'
	--aptopt='Acquire::Retries "3"' --include="$(printf '%s' "$PACKAGES" | tr -s ' \n' ',,')")
[[ -z $keyring ]] || opts+=(--keyring="$keyring")
if ! mmdebstrap "${opts[@]}" "$SUITE" "$new" "$mirror" >"$log" 2>&1; then
	say "mmdebstrap failed; the full log is $log. Its last lines:"
	tail -n 25 "$log" >&2 || true
	rm -rf "$new"
	exit 1
fi
printf '%s\n' "$stamp" >"$new/.pyhost-stamp"
[[ -x $new/usr/bin/python3.14 && -x $new/usr/bin/python3.15 ]] ||
	die "the $SUITE root has no /usr/bin/python3.14 and python3.15 (see $log): does $SUITE still carry them?"
rm -rf "$root.old"
[[ ! -e $root ]] || mv "$root" "$root.old"
mv "$new" "$root"
rm -rf "$root.old"
say "$SUITE root ready in $((SECONDS - start))s, $(du -sh "$root" | cut -f1)"
printf '%s\n' "$root"
