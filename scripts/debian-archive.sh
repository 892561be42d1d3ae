#!/usr/bin/env bash
# debian-archive.sh [--exclude FILE] — prints "URI<TAB>KEYRING" (one line) of the Debian archive
# this machine's apt already uses for its own suite (or for "stable"), so that scripts fetching
# from other suites (build-python.sh: trixie sources; forky-root.sh: a forky root) use the same
# mirror without naming one. PYHOST_DEBIAN_MIRROR overrides the URI. KEYRING is the entry's
# Signed-By file, else Debian's archive keyring, else empty. --exclude FILE skips an entry file
# the caller wrote itself.
set -euo pipefail
readonly PROG=${0##*/}
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
exclude=''
if [[ ${1:-} == --exclude ]]; then
	exclude=${2:?--exclude needs a file}
fi

# Print "URI<TAB>KEYRING" for each enabled binary entry of suite $1 configured
# in /etc/apt (deb822 .sources files and one-line .list files).
configured_archives() {
	local wanted=$1 f
	local -a deb822=() oneline=()
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f && $f != "$exclude" ]] && deb822+=("$f")
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] && oneline+=("$f")
	done
	if ((${#deb822[@]})); then
		awk -v want="$wanted" '
			function flush(  n, i, s, u, hit) {
				if (types ~ /(^| )deb( |$)/ && enabled != "no") {
					n = split(suites, s, " ")
					for (i = 1; i <= n; i++) if (s[i] == want) hit = 1
					split(uris, u, " ")
					if (hit && u[1] != "") print u[1] "\t" (signed ~ /^\// ? signed : "")
				}
				types = uris = suites = signed = enabled = field = ""
			}
			FNR == 1 { flush() }
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ { if (field == "uris" || field == "suites" || field == "types") {
					v = $0; gsub(/[ \t]+/, " ", v)
					if (field == "uris") uris = uris v
					else if (field == "suites") suites = suites v
					else types = types v
				}
				next }
			{
				i = index($0, ":"); if (!i) next
				field = tolower(substr($0, 1, i - 1)); v = substr($0, i + 1)
				gsub(/[ \t]+/, " ", v); sub(/^ /, "", v); sub(/ $/, "", v)
				if (field == "types") types = v
				else if (field == "uris") uris = v
				else if (field == "suites") suites = v
				else if (field == "signed-by") signed = v
				else if (field == "enabled") enabled = tolower(v)
			}
			END { flush() }' "${deb822[@]}"
	fi
	if ((${#oneline[@]})); then
		awk -v want="$wanted" '
			{ sub(/#.*/, "") }
			$1 == "deb" {
				line = $0; signed = ""
				if (match(line, /signed-by=[^] \t]+/)) signed = substr(line, RSTART + 10, RLENGTH - 10)
				gsub(/\[[^]]*\]/, "", line)
				split(line, f, " ")
				if (f[3] == want) print f[2] "\t" (signed ~ /^\// ? signed : "")
			}' "${oneline[@]}"
	fi
}

mirror=${PYHOST_DEBIAN_MIRROR:-} keyring=''
if [[ -z $mirror ]]; then
	# shellcheck disable=SC1091
	own_suite=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}") || own_suite=
	[[ -n $own_suite ]] || die "cannot tell this machine's Debian suite from /etc/os-release; set PYHOST_DEBIAN_MIRROR to the URI of a Debian archive"
	IFS=$'\t' read -r mirror keyring < <(configured_archives "$own_suite"; configured_archives stable) || true
	[[ -n $mirror ]] || die "found no Debian archive for suite '$own_suite' in /etc/apt/sources.list or /etc/apt/sources.list.d/; configure one, or set PYHOST_DEBIAN_MIRROR to its URI"
fi
mirror=${mirror%/}
[[ -n $keyring && -f $keyring ]] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -f $keyring ]] || keyring=
printf '%s\t%s\n' "$mirror" "$keyring"
