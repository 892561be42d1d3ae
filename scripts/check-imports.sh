#!/usr/bin/env bash
# check-imports.sh — the package arrows of "How it is built" (README), checked: every package
# of the module has a layer, and may import only packages of lower layers (so imports point one
# way: root → supervisor/server → httpd/observe/worker/proc → config → the cgo-free leaves).
# Only pyhost/server (and the cgo layer below it) may import cgo, wsgi or subinterp; and the
# packages that must build without Python do, with CGO_ENABLED=0.
set -euo pipefail
cd "$(dirname "$0")/.."
module=$(go list -m)

# layer PACKAGE (relative to the module) -> a number; an unknown package fails the check, so a
# new package has to be placed here (and in the README's picture) on purpose.
layer() {
	case "$1" in
	wsgi/request | gil) echo 0 ;;
	pyhost/httpd/plainhead) echo 1 ;;
	cgo) echo 2 ;;
	subinterp) echo 3 ;;
	wsgi) echo 4 ;;
	pyhost/config) echo 10 ;;
	pyhost/config/apache) echo 11 ;;
	pyhost/httpd | pyhost/observe | pyhost/worker | pyhost/proc | pyhost/systemd) echo 20 ;;
	pyhost/observe/top) echo 21 ;;
	pyhost/bench) echo 21 ;; # runs pyhost binaries; imports nothing of pyhost's
	pyhost/server | pyhost/supervisor) echo 30 ;;
	pyhost) echo 40 ;;
	.) echo 50 ;; # the main package
	scripts/* | testdata/*) echo 50 ;; # tools and test programs, never imported
	*) echo "check-imports.sh: package $1 has no layer: place it in scripts/check-imports.sh" >&2
		echo -1 ;;
	esac
}
# The packages that may import cgo, wsgi or subinterp: pyhost/server and those layers
# themselves (the root and the main package reach Python only through the server).
python_ok() { case "$1" in pyhost/server | cgo | subinterp | wsgi | scripts/* | testdata/*) return 0 ;; esac; return 1; }

fail=0
while read -r pkg imports; do
	rel=${pkg#"$module"}
	rel=${rel#/}
	[ -n "$rel" ] || rel=.
	from=$(layer "$rel")
	[ "$from" -ge 0 ] || { fail=1; continue; }
	for imp in $imports; do
		case "$imp" in "$module"/*) ;; *) continue ;; esac
		to_rel=${imp#"$module"/}
		to=$(layer "$to_rel")
		[ "$to" -ge 0 ] || { fail=1; continue; }
		if [ "$to" -ge "$from" ]; then
			echo "check-imports.sh: $rel (layer $from) imports $to_rel (layer $to): imports point down only" >&2
			fail=1
		fi
		case "$to_rel" in cgo | wsgi | subinterp)
			if ! python_ok "$rel"; then
				echo "check-imports.sh: $rel imports $to_rel: only pyhost/server reaches Python" >&2
				fail=1
			fi ;;
		esac
	done
done < <(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./...)

# Without a Python build: these must compile and vet with cgo off (their tests run so too).
cgo_free=(./wsgi/request ./gil ./pyhost/config/... ./pyhost/httpd/... ./pyhost/observe/... ./pyhost/worker/... ./pyhost/proc/... ./pyhost/systemd/... ./pyhost/supervisor/... ./pyhost/bench)
present=()
for p in "${cgo_free[@]}"; do
	[ -d "${p%/...}" ] && present+=("$p")
done
if ! CGO_ENABLED=0 go vet "${present[@]}"; then
	echo "check-imports.sh: ${present[*]} must build without cgo (CGO_ENABLED=0)" >&2
	fail=1
fi
exit $fail
