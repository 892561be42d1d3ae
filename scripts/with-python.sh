#!/usr/bin/env bash
# with-python.sh PYTHON COMMAND... — runs COMMAND (go build, go test, go vet) with cgo pointed
# at the CPython installation PYTHON belongs to; an empty PYTHON means the system's
# (pkg-config's python3-embed, python3-dev on Debian). LIBPYTHON=auto|static|shared chooses how
# libpython is linked (scripts/python-pc.sh; auto links Debian's static archive).
#
# Go's build cache does not see PKG_CONFIG_PATH, but it does see CGO_CFLAGS: the include
# directory and the linkage named there keep builds for different Pythons, and for the two
# linkages of one Python, apart.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=$1
shift
if [ -z "$py" ]; then
	ver=$(pkg-config --modversion python3-embed)
	py=$(pkg-config --variable=exec_prefix python3-embed)/bin/python$ver
fi
pc="$root/build/pc/$(echo "$py" | tr / _)-${LIBPYTHON:-auto}"
"$root/scripts/python-pc.sh" "$py" "$pc"
inc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
export PKG_CONFIG_PATH=$pc
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -I$inc -DPYH_LIBPYTHON_$(tr a-z A-Z <"$pc/linkage")"
exec "$@"
