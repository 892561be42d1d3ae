#!/usr/bin/env bash
# Build CPython from Debian's source package into a cache directory and print
# the installation prefix (the last line on stdout; everything else goes to
# stderr or to the build log PREFIX.log):
#
#   PY=$(scripts/build-python.sh 3.13)/bin/python3.13
#   PYT=$(scripts/build-python.sh 3.13 --free-threaded)/bin/python3.13t
#
# The prefix is ${PYHOST_PYTHON_CACHE:-/var/cache/pyhost/python}/VERSION, or
# VERSIONt for --free-threaded (--disable-gil). When the prefix already holds
# an interpreter that runs, the script prints it and exits at once.
#
# Source: `apt-get source pythonX.Y` from the trixie suite (override with
# PYHOST_DEBIAN_SUITE). The deb-src entry is derived from the Debian archive
# already configured for this machine's own suite in /etc/apt (or from
# PYHOST_DEBIAN_MIRROR) and written to its own file in sources.list.d; it is a
# source-only entry, so no binary package can come from that suite.
#
# What is built: the pristine upstream tarball shipped in the source package
# (pythonX.Y_*.orig.tar.xz) plus those of Debian's patches that are upstream
# bug and security fixes (CVE-*.patch and friends). Debian's layout and policy
# patches (DEBIAN_ONLY_PATCHES below: dist-packages instead of site-packages, a
# posix_local sysconfig scheme that sends installs to PREFIX/local, multiarch
# paths, ensurepip disabled, ...) are skipped: they assume the interpreter
# lives in /usr and would get in the way of a self-contained prefix.
#
# Configure: --prefix=PREFIX --enable-shared, an rpath to PREFIX/lib (so neither
# the interpreter nor programs linked to libpython need LD_LIBRARY_PATH), test
# modules on (_testcapi, _testinternalcapi, _testsinglephase), no PGO/LTO.
# Build dependencies come from this machine's own (bookworm) binary packages.
set -euo pipefail

readonly PROG=${0##*/}
# Debian patches that change layout or policy rather than fix bugs.
readonly DEBIAN_ONLY_PATCHES='deb-locations.diff distutils-install-layout.diff
sysconfig-debian-schemes.diff tkinter-import.diff gdbm-import.diff link-opt.diff
setup-modules.diff profiled-build.diff langpack-gettext.diff disable-sem-check.diff
lto-link-flags.diff multiarch.diff ensurepip-disabled.diff destshared-location.diff
makefile-bootstrap.diff test-freeze-strip-libdir.diff stable-abi-multiarch.diff
Add-Debian-specific-documentation-path-to-IDLE-menu.diff git-updates.diff
patchlevel-noplus.diff'
# Build dependencies (bookworm package names). Optional ones only add modules.
readonly REQUIRED_DEPS='build-essential pkg-config xz-utils patch libssl-dev zlib1g-dev
libffi-dev libbz2-dev liblzma-dev libsqlite3-dev uuid-dev libreadline-dev libncurses-dev'
# No libmpdec-dev: bookworm has none, so _decimal uses CPython's bundled mpdecimal.
readonly OPTIONAL_DEPS='libgdbm-dev libgdbm-compat-dev'
# Modules the installed interpreter must be able to import.
readonly REQUIRED_MODULES='ssl _hashlib sqlite3 ctypes zlib bz2 lzma _uuid _decimal
pyexpat _testcapi _testinternalcapi _testsinglephase _testmultiphase'
readonly OPTIONAL_MODULES='readline _curses _gdbm _dbm'

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
usage() {
	printf 'usage: %s VERSION [--free-threaded]   (VERSION like 3.13)\n' "$PROG" >&2
	exit 2
}

version='' ft=''
for arg in "$@"; do
	case $arg in
	--free-threaded) ft=t ;;
	-h | --help) usage ;;
	3.[0-9]*) [[ -z $version ]] || usage; version=$arg ;;
	*) usage ;;
	esac
done
[[ $version =~ ^3\.[0-9]+$ ]] || usage
if [[ -n $ft ]] && ((${version#3.} < 13)); then
	die "--free-threaded needs Python 3.13 or newer, not $version"
fi

cache=${PYHOST_PYTHON_CACHE:-/var/cache/pyhost/python}
[[ $cache == /* ]] || cache=$PWD/$cache
[[ $cache != *[[:space:]]* ]] || die "PYHOST_PYTHON_CACHE must not contain white space: $cache"
name=$version$ft
prefix=$cache/$name
exe=$prefix/bin/python$version$ft
log=$prefix.log

works() { [[ -x $exe ]] && "$exe" -c '' >/dev/null 2>&1; }

if works; then
	printf '%s\n' "$prefix"
	exit 0
fi

# ---------------------------------------------------------------------------
# Slow path from here on. One build per prefix at a time; a second caller waits
# and then takes the fast path.

mkdir -p "$cache" || die "cannot create $cache; run as root or set PYHOST_PYTHON_CACHE to a writable directory"
exec 9>"$cache/.$name.lock"
flock 9
if works; then
	printf '%s\n' "$prefix"
	exit 0
fi

: >"$log"
start=$SECONDS
step=starting
on_exit() {
	local rc=$?
	((rc == 0)) && return
	say "failed while $step; the full log is $log. Its last lines:"
	tail -n 25 "$log" >&2 || true
	exit "$rc"
}
trap on_exit EXIT
run() { "$@" >>"$log" 2>&1; } # a command whose output belongs in the log only

as_root() {
	if ((EUID == 0)); then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root for: $*; run this script as root (or with sudo)"
	fi
}

apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
((EUID == 0)) && apt_opts+=(-o APT::Sandbox::User=root)

# --- build dependencies ---------------------------------------------------
missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || printf '%s\n' "$p"
	done
}
install_pkgs() {
	as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "$@" >>"$log" 2>&1 && return 0
	say "apt-get install failed; updating the package lists and trying once more"
	as_root apt-get "${apt_opts[@]}" update -q >>"$log" 2>&1 || true
	as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "$@" >>"$log" 2>&1
}
step="installing build dependencies"
# shellcheck disable=SC2086 # word splitting of the package lists is intended
mapfile -t need < <(missing $REQUIRED_DEPS)
# shellcheck disable=SC2086
mapfile -t want < <(missing $OPTIONAL_DEPS)
if ((${#need[@]} + ${#want[@]})); then
	all=("${need[@]}" "${want[@]}")
	say "installing build dependencies: ${all[*]}"
	if ! install_pkgs "${need[@]}" "${want[@]}"; then
		if ((${#need[@]})) && ! install_pkgs "${need[@]}"; then
			die "could not install the build dependencies ${need[*]}; install them with apt-get and run again"
		fi
		say "optional packages ${want[*]} could not be installed; building without them"
	fi
fi

# --- deb-src entry -----------------------------------------------------------
suite=${PYHOST_DEBIAN_SUITE:-trixie}
srcpkg=python$version
srclist=/etc/apt/sources.list.d/pyhost-$suite-src.sources

step="writing the deb-src entry for $suite"
archive=$("$(dirname "$0")/debian-archive.sh" --exclude "$srclist") || exit 1
IFS=$'\t' read -r mirror keyring <<<"$archive"
entry="# Written by pyhost's scripts/build-python.sh: Debian $suite *source* packages
# only (deb-src), for apt-get source $srcpkg. Safe to delete.
Types: deb-src
URIs: $mirror
Suites: $suite
Components: main
${keyring:+Signed-By: $keyring
}"

# Serialise apt work and source downloads between builds of different prefixes.
exec 8>"$cache/.apt.lock"
flock 8

update_sources() {
	say "fetching the $suite source index from $mirror"
	as_root apt-get "${apt_opts[@]}" update -q -o Dir::Etc::sourcelist="$srclist" \
		-o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >>"$log" 2>&1 ||
		die "apt-get update for $srclist failed; see $log (is $mirror reachable, and does debian-archive-keyring know the $suite keys?)"
}
if [[ ! -f $srclist ]] || [[ $(cat "$srclist") != "${entry%$'\n'}" ]]; then
	say "writing $srclist"
	printf '%s' "$entry" | as_root tee "$srclist" >/dev/null
	update_sources
elif ! apt-cache showsrc --only-source "$srcpkg" 2>/dev/null | grep -q '^Package:'; then
	update_sources
fi

# --- source package -----------------------------------------------------------
step="downloading the $srcpkg source package"
dl=$cache/src
mkdir -p "$dl"
fetch_source() {
	(cd "$dl" && apt-get "${apt_opts[@]}" source --download-only "$srcpkg/$suite") >>"$log" 2>&1
}
if ! fetch_source; then
	update_sources
	fetch_source || die "apt-get source $srcpkg/$suite failed; see $log (does $suite carry $srcpkg?)"
fi
# The file names apt picked (the newest version in the index).
uris=$(apt-get "${apt_opts[@]}" source --print-uris "$srcpkg/$suite" 2>>"$log")
dsc=$(awk '$2 ~ /\.dsc$/ { print $2; exit }' <<<"$uris")
orig=$(awk '$2 ~ /\.orig\.tar\.[a-z0-9]+$/ { print $2; exit }' <<<"$uris")
debian=$(awk '$2 ~ /\.debian\.tar\.[a-z0-9]+$/ { print $2; exit }' <<<"$uris")
[[ -n $dsc && -n $orig && -n $debian && -f $dl/$orig && -f $dl/$debian ]] ||
	die "unexpected layout of the $srcpkg source package (want .orig.tar and .debian.tar); see $log"
debver=${dsc#"${srcpkg}"_}
debver=${debver%.dsc}
flock -u 8

# --- unpack and patch ---------------------------------------------------------
step="unpacking $orig"
build=$cache/build/$name
rm -rf "$build"
mkdir -p "$build/debian-pkg"
say "building Python $version${ft:+ (free-threaded)} from Debian $srcpkg $debver into $prefix (log: $log)"
printf '== %s %s %s -> %s\n' "$srcpkg" "$debver" "${ft:+free-threaded}" "$prefix" >>"$log"
run tar -xf "$dl/$orig" -C "$build"
run tar -xf "$dl/$debian" -C "$build/debian-pkg"
srcdir=$(find "$build" -mindepth 1 -maxdepth 1 -type d -name 'Python-*' -print -quit)
[[ -n $srcdir && -x $srcdir/configure ]] || die "no Python-*/configure in $orig"
patches=$build/debian-pkg/debian/patches
applied=() skipped=()
if [[ -f $patches/series ]]; then
	step="applying Debian's fix patches"
	while read -r patch _; do
		case $patch in '' | '#'*) continue ;; esac
		if [[ $DEBIAN_ONLY_PATCHES =~ (^|[[:space:]])"$patch"($|[[:space:]]) || $patch == min-* || $patch == no-sphinx-* ]]; then
			skipped+=("$patch")
			continue
		fi
		printf '== patch %s\n' "$patch" >>"$log"
		(cd "$srcdir" && patch -p1 -N -s -f --no-backup-if-mismatch <"$patches/$patch") >>"$log" 2>&1 ||
			die "Debian patch $patch does not apply to $orig; add it to DEBIAN_ONLY_PATCHES in $0 if it is Debian policy, otherwise report it"
		applied+=("$patch")
	done <"$patches/series"
fi
printf '== applied: %s\n== skipped (Debian layout/policy): %s\n' "${applied[*]}" "${skipped[*]}" >>"$log"

# --- configure, build, install --------------------------------------------------
step="configuring"
conf=(--prefix="$prefix" --enable-shared "LDFLAGS=-Wl,-rpath,$prefix/lib")
[[ -z $ft ]] || conf+=(--disable-gil)
printf '== ./configure %s\n' "${conf[*]}" >>"$log"
(cd "$srcdir" && ./configure "${conf[@]}") >>"$log" 2>&1

step="compiling (make -j$(nproc))"
(cd "$srcdir" && make -j"$(nproc)") >>"$log" 2>&1

# Install into a staging directory and move it into place in one step, so an
# interrupted build never leaves a prefix that looks finished.
step="installing"
stage=$build/stage
(cd "$srcdir" && make install DESTDIR="$stage") >>"$log" 2>&1
[[ -x $stage$prefix/bin/python$version$ft ]] || die "make install produced no bin/python$version$ft; see $log"
rm -rf "$prefix" "$prefix.broken"
mv "$stage$prefix" "$prefix"

# --- check ----------------------------------------------------------------------
step="checking the installed interpreter"
# shellcheck disable=SC2016 # $-free Python source
check='
import sys, sysconfig, importlib
req, opt, ft = sys.argv[1].split(), sys.argv[2].split(), sys.argv[3] == "t"
bad = []
for m in req:
    try:
        importlib.import_module(m)
    except ImportError as e:
        bad.append(f"{m} ({e})")
gone = []
for m in opt:
    try:
        importlib.import_module(m)
    except ImportError:
        gone.append(m)
if sysconfig.get_config_var("Py_ENABLE_SHARED") != 1:
    bad.append("Py_ENABLE_SHARED is not 1")
if ft and (sysconfig.get_config_var("Py_GIL_DISABLED") != 1 or sys._is_gil_enabled()):
    bad.append("the GIL is enabled in a --disable-gil build")
if gone:
    print("optional modules missing: " + " ".join(gone))
if bad:
    print("required modules or settings missing: " + "; ".join(bad))
    sys.exit(1)
print(sys.version)
'
if ! out=$(env -u LD_LIBRARY_PATH -u PYTHONPATH -u PYTHONHOME "$exe" -c "$check" \
	"$REQUIRED_MODULES" "$OPTIONAL_MODULES" "$ft" 2>&1); then
	printf '%s\n' "$out" >>"$log"
	mv "$prefix" "$prefix.broken"
	die "the installed interpreter fails its check, moved to $prefix.broken: $out"
fi
printf '== check: %s\n' "$out" >>"$log"
grep -A3 'necessary bits to build these optional modules were not found' "$log" >&2 || true
grep -i -A3 'Following modules built successfully but were removed\|Failed to build these modules' "$log" >&2 || true
grep '^optional modules missing' <<<"$out" >&2 || true

rm -rf "$build"
say "Python $version$ft ready in $((SECONDS - start))s"
printf '%s\n' "$prefix"
