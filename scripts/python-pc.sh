#!/usr/bin/env bash
# python-pc.sh PYTHON OUTDIR — writes OUTDIR/python3-embed.pc for the CPython installation that
# PYTHON belongs to, so `#cgo pkg-config: python3-embed` builds against it, and OUTDIR/linkage
# (one word: static or shared, how the .pc links libpython).
#
# LIBPYTHON=auto (default), static or shared chooses how:
#
# - static links the installation's libpythonX.Y.a into the binary. Debian's is worth it: it is
#   the non-PIC, profile-guided build that /usr/bin/python3.11 itself is made of, while
#   libpython3.11.so is compiled position-independent. The same Flask page costs ~18% less CPU
#   in it (scripts/bench/per-core-efficiency.md, item 7). Extension modules find the C-API in
#   the binary's own symbol table (--export-dynamic), as they do in /usr/bin/python3.
# - shared links libpythonX.Y.so, with an rpath so the binary finds it without LD_LIBRARY_PATH.
# - auto picks static where the archive holds non-PIC code (x86-64 absolute relocations in its
#   code sections; debug sections have them in any build), and
#   shared otherwise: a --enable-shared source build's archive is made of the same PIC objects
#   as its .so, so linking it statically would only make the binary bigger. A static candidate
#   must also link a program on its own (the libs below, no PIE, as Go links): Debian forky's
#   libpython3.14.a and libpython3.15.a do not, their _sha2/_sha3/... objects need the HACL*
#   archives (libHacl_*.a) that the packages leave out, so auto links their .so.
set -euo pipefail
py=$1 out=$2
mode=${LIBPYTHON:-auto}
case $mode in auto | static | shared) ;; *)
	echo "python-pc.sh: LIBPYTHON=$mode: use auto, static or shared" >&2
	exit 2
	;;
esac
if ! "$py" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
	echo "python-pc.sh: $py is not a runnable CPython ≥ 3.11" >&2
	exit 1
fi
# Whether a program calling Py_Initialize links against the archive and the libs its built-in
# modules need (those the .pc below names; ~0.2 s).
links_static() {
	local inc libs tmp rc=0
	inc=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("INCLUDEPY"))')
	libs=$("$py" -c 'import sysconfig as s
print(" ".join(w for k in ("MODLIBS", "LIBS", "SYSLIBS") for w in (s.get_config_var(k) or "").split() if w != "\\"))')
	tmp=$(mktemp)
	# shellcheck disable=SC2086 # the libs are separate words
	printf '#include <Python.h>\nint main(void) { Py_Initialize(); return 0; }\n' |
		"${CC:-gcc}" -no-pie -o "$tmp" -I"$inc" -x c - -x none "$archive" $libs \
			-Wl,--export-dynamic >/dev/null 2>&1 || rc=$?
	rm -f "$tmp"
	return "$rc"
}
archive=$("$py" -c 'import os, sysconfig as s; print(os.path.join(s.get_config_var("LIBPL"), s.get_config_var("LIBRARY")))')
if [ "$mode" = auto ]; then
	mode=shared
	if [ -f "$archive" ] && command -v readelf >/dev/null &&
		{ readelf -r "$archive" 2>/dev/null || true; } | awk '
			/^Relocation section/ { code = ($3 ~ /^.\.rela\.text/) }
			code && / R_X86_64_32S? / { found = 1; exit }
			END { exit !found }'; then
		mode=static
		if ! links_static; then mode=shared; fi
	fi
fi
if [ "$mode" = static ] && [ ! -f "$archive" ]; then
	echo "python-pc.sh: LIBPYTHON=static, but $py's installation has no $archive: use LIBPYTHON=shared" >&2
	exit 1
fi
mkdir -p "$out"
"$py" - "$out/python3-embed.pc" "$mode" "$archive" <<'PY'
import sys, sysconfig
path, mode, archive = sys.argv[1:]
v = sysconfig.get_config_var
if mode == "static":
    # The archive, then what its built-in modules and the core need (Debian's builds zlib and
    # pyexpat into it), and the symbol table that extension modules link against at dlopen.
    libs = " ".join([archive, v("MODLIBS") or "", v("LIBS") or "", v("SYSLIBS") or "",
                     "-Wl,--export-dynamic"])
    # Makefile line continuations can survive into sysconfig (3.15's MODLIBS holds "\\ "): a
    # lone backslash is not a flag, and cgo refuses the whole line for it.
    libs = " ".join(dict.fromkeys(w for w in libs.split() if w != "\\"))
else:
    if not v("Py_ENABLE_SHARED"):
        sys.exit(f"{sys.executable} was built without --enable-shared: link it with "
                 "LIBPYTHON=static, or use a shared-library build (scripts/build-python.sh "
                 "builds one)")
    libdir = v("LIBDIR")
    lib = v("LDLIBRARY")[3:].split(".so")[0]  # libpython3.13t.so -> python3.13t
    libs = f"-L{libdir} -l{lib} -Wl,-rpath,{libdir}"
with open(path, "w") as f:
    f.write(f"""Name: Python
Description: embed {sys.version.split()[0]} from {sys.executable}, {mode} libpython
Version: {sys.version_info.major}.{sys.version_info.minor}
Cflags: -I{v("INCLUDEPY")}
Libs: {libs}
""")
PY
echo "$mode" >"$out/linkage"
