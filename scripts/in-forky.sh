#!/usr/bin/env bash
# in-forky.sh COMMAND [ARG...] — runs COMMAND inside the Debian forky root of
# scripts/forky-root.sh (laid out on first use), in the current directory of this repository,
# with what building and testing pyhost there needs bound in:
#
#   scripts/in-forky.sh scripts/with-python.sh /usr/bin/python3.14 go build -o bin/pyhost-3.14 .
#   scripts/in-forky.sh env PYHOST_TEST_PYTHON=/usr/bin/python3.15 \
#       scripts/with-python.sh /usr/bin/python3.15 go test -run TestFrameworks ./pyhost/
#
# Bound in at the same paths as here: the repository (read-write; bin/ and build/ outputs land
# in it), the Go toolchain (`go env GOROOT`), the Go module cache (`go env GOMODCACHE`; the root
# cannot reach the module proxy, so GOPROXY=off inside and `go mod download` runs here first),
# and promtool where scripts/deps.sh unpacks it. The root's own Go build cache is
# ROOT/root/.cache/go-build (its objects are compiled against forky's headers and gcc, and go
# away with the root). /tmp inside is a fresh tmpfs. /proc, /sys and /dev are the host's.
#
# Everything happens in a private mount namespace (unshare -m): the bind mounts vanish with the
# command, however it ends, and nothing is mounted on the host. The network is the host's, so
# servers on 127.0.0.1 inside are reachable inside. The environment inside is a clean one
# (HOME=/root, PATH with Go first, GOPROXY=off, GOFLAGS=-buildvcs=false: git and the
# repository's .git are not there) plus LIBPYTHON, CGO_CFLAGS, FUZZTIME and every PYHOST_*
# variable set here. Needs root (unshare, mount, chroot).
set -euo pipefail
readonly PROG=${0##*/}
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
(($#)) || { printf 'usage: %s COMMAND [ARG...]\n' "$PROG" >&2; exit 2; }
((EUID == 0)) || die "needs root (unshare -m, mount --bind, chroot); run it as root"

repo=$(cd "$(dirname "$0")/.." && pwd -P)
cwd=$(pwd -P)
case $cwd/ in "$repo"/*) ;; *) cwd=$repo ;; esac
root=$("$repo/scripts/forky-root.sh" | tail -n 1)
goroot=$(go env GOROOT)
modcache=$(go env GOMODCACHE)
# The modules the build and the tests need, into the module cache (quiet and quick when there).
(cd "$repo" && go mod download)
promtool=/var/cache/pyhost/promtool
[[ -d $promtool ]] || promtool=''

env=(HOME=/root "PATH=$goroot/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOCACHE=/root/.cache/go-build
	"GOMODCACHE=$modcache" TMPDIR=/tmp LANG=C.UTF-8)
while IFS= read -r -d '' var; do
	case ${var%%=*} in PYHOST_* | LIBPYTHON | CGO_CFLAGS | FUZZTIME) env+=("$var") ;; esac
done < <(env -0)

# shellcheck disable=SC2016 # expanded by the inner shell
exec unshare --mount --propagation private -- bash -euo pipefail -c '
root=$1 repo=$2 goroot=$3 modcache=$4 promtool=$5 cwd=$6
shift 6
for d in proc sys dev; do mount --rbind "/$d" "$root/$d"; done
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
bind() { mkdir -p "$root$1"; mount --bind "$1" "$root$1"; }
bind "$repo"
bind "$goroot"
mount -o remount,bind,ro "$root$goroot"
bind "$modcache"
[[ -z $promtool ]] || bind "$promtool"
mkdir -p "$root/root/.cache/go-build"
exec chroot "$root" /usr/bin/env -i "$@"
' "$PROG" "$root" "$repo" "$goroot" "$modcache" "$promtool" "$cwd" \
	"${env[@]}" /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$cwd" "$@"
