#!/usr/bin/env bash
# python-pc.sh PYTHON OUTDIR — writes OUTDIR/python3-embed.pc for the CPython installation that
# PYTHON belongs to, so `#cgo pkg-config: python3-embed` builds against it. The rpath makes the
# binary find that libpython at run time.
set -euo pipefail
py=$1 out=$2
if ! "$py" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
	echo "python-pc.sh: $py is not a runnable CPython ≥ 3.11" >&2
	exit 1
fi
mkdir -p "$out"
"$py" - "$out/python3-embed.pc" <<'PY'
import sys, sysconfig
v = sysconfig.get_config_var
if not v("Py_ENABLE_SHARED"):
    sys.exit(f"{sys.executable} was built without --enable-shared: pyhost needs libpython as a "
             "shared library (scripts/build-python.sh builds one)")
libdir = v("LIBDIR")
ldlib = v("LDLIBRARY")  # libpython3.13t.so
lib = ldlib[3:].split(".so")[0]
with open(sys.argv[1], "w") as f:
    f.write(f"""Name: Python
Description: embed {sys.version.split()[0]} from {sys.executable}
Version: {sys.version_info.major}.{sys.version_info.minor}
Cflags: -I{v("INCLUDEPY")}
Libs: -L{libdir} -l{lib} -Wl,-rpath,{libdir}
""")
PY
