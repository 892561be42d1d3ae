#!/usr/bin/env bash
# libpython-link.sh — what linking libpython statically buys, without a server in the way:
# the same Flask page (testdata/bench/flask_page.py) called in a loop, in a loop of N
# iterations, by the same two-line C program linked three ways against the system Python:
#
#   shared   libpython3.11.so (what uWSGI's and mod_wsgi's Python plugins load)
#   pic      libpython3.11-pic.a, statically (the same PIC code, only linked in)
#   static   libpython3.11.a, statically (non-PIC, profile-guided: what make build links)
#
# and by /usr/bin/python3.11 itself. Prints µs per call (best of 5 runs of N, after a warm-up)
# for each, ROUNDS times, alternating. Environment: N (2000), ROUNDS (2).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${N:-2000}
ROUNDS=${ROUNDS:-2}
PY=/usr/bin/python3.11
libpl=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("LIBPL"))')
libs=$("$PY" -c 'import sysconfig as s; v = s.get_config_var; print(v("MODLIBS"), v("LIBS"), v("SYSLIBS"))')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/main.c" <<'C'
#include <Python.h>
int main(int argc, char **argv) { return Py_BytesMain(argc, argv); }
C
cflags=$(pkg-config --cflags python3-embed)
# shellcheck disable=SC2086 # the flag lists are meant to split
{
	gcc -O2 $cflags "$work/main.c" -o "$work/shared" $(pkg-config --libs python3-embed)
	gcc -O2 -Wl,--export-dynamic $cflags "$work/main.c" -o "$work/pic" "$libpl/libpython3.11-pic.a" $libs
	gcc -O2 -no-pie -Wl,--export-dynamic $cflags "$work/main.c" -o "$work/static" "$libpl/libpython3.11.a" $libs
}

cat >"$work/loop.py" <<'PY'
import io, sys, time
sys.path.insert(0, sys.argv[1])
from flask_page import application as app
def environ():
    return {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "localhost", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": False,
            "wsgi.multiprocess": False, "wsgi.run_once": False}
def call():
    body = app(environ(), lambda status, headers, exc_info=None: None)
    b"".join(body)
    body.close()
n = int(sys.argv[2])
for _ in range(n // 4):
    call()
best = float("inf")
for _ in range(5):
    t = time.perf_counter()
    for _ in range(n):
        call()
    best = min(best, (time.perf_counter() - t) / n)
print(f"{best * 1e6:.1f}")
PY

printf '%-6s %-22s %s\n' round linkage 'µs per call'
for r in $(seq "$ROUNDS"); do
	for b in shared pic static /usr/bin/python3.11; do
		exe=$b
		[ "${b#/}" = "$b" ] && exe=$work/$b
		printf '%-6s %-22s %s\n' "$r" "$b" "$("$exe" "$work/loop.py" "$ROOT/testdata/bench" "$N")"
	done
done
