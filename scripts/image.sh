#!/usr/bin/env bash
# image.sh — the pyhost container image, built from Debian's archive (no registry, no Docker):
# mmdebstrap lays out a minimal bookworm root, bin/pyhost and the app go on top, umoci writes an
# OCI image layout and skopeo a docker-archive of the same image (`make image` runs this).
#
#   build/image/oci         OCI image layout, tags VERSION and latest (podman, skopeo, umoci, crane)
#   build/image/pyhost.tar  docker-archive of it (docker load / podman load), with the health check
#
# Variables:
#   APP=PATH          a folder copied to /srv/app, or one .py file copied to /srv/app/app.py
#                     (default testdata/hello.py); the default command serves /srv/app/app.py
#   PACKAGES="a b"    more Debian packages in the root (python3-flask, python3-psycopg2, ...)
#   IMAGE_ENV="K=V .."  more environment in the image (PYHOST_THREADS=16, PYHOST_PYTHON_HOME=...)
#   IMAGE_DIR=DIR     where the image goes (default build/image)
#   PYHOST_DEBIAN_MIRROR=URI   a Debian archive instead of this machine's apt sources
#   PYHOST_IMAGE_CACHE=DIR     the cached Debian roots (default /var/cache/pyhost/image)
#
# Two layers: the Debian root (cached in PYHOST_IMAGE_CACHE by its package list, its recipe and
# the apt sources), then pyhost, its health check and the app. The image is rebuilt only when one
# of those, this script or the settings change; when nothing did, nothing is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
readonly PROG=${0##*/}
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
say() { printf '%s: %s\n' "$PROG" "$*" >&2; }

readonly USER_ID=10001 # numeric, so Kubernetes' runAsNonRoot can check it
readonly BIN=bin/pyhost HEALTHCHECK=deploy/image/pyhost-healthcheck
app=${APP:-testdata/hello.py}
out=${IMAGE_DIR:-build/image}
cache=${PYHOST_IMAGE_CACHE:-/var/cache/pyhost/image}

[ -x $BIN ] || die "$BIN is missing: run make build (make image does)"
[ -e "$app" ] || die "APP=$app: no such file or folder"
info=$($BIN version) || die "$BIN version failed"
version=$(sed -n 's/^pyhost //p' <<<"$info")
pyver=$(sed -n 's/^Python \([0-9.]*\).*/\1/p' <<<"$info")
pybuild=$(sed -n 's/^build: //p' <<<"$info")
linkage=$(sed -n 's/^libpython: \([a-z]*\).*/\1/p' <<<"$info")
# The root carries bookworm's Python: the binary must be linked against that one.
[[ $pyver == 3.11.* ]] || die "$BIN is linked against Python $pyver; the image carries Debian 12's Python 3.11: rebuild with make build (no PYTHON=)"

packages="libc6 zlib1g libexpat1 libpython3.11-stdlib ca-certificates"
[ "$linkage" = shared ] && packages+=" libpython3.11"
packages+=" ${PACKAGES:-}"
packages=$(tr ' ' '\n' <<<"$packages" | sed '/^$/d' | sort -u | paste -sd, -)

# Apt sources: this machine's Debian entries (suite, updates, security), or PYHOST_DEBIAN_MIRROR.
sources=()
if [ -n "${PYHOST_DEBIAN_MIRROR:-}" ]; then
	sources=("$PYHOST_DEBIAN_MIRROR")
else
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
		[ -f "$f" ] && grep -Eq '^[[:space:]]*(deb[[:space:]]|Types:.*deb)' "$f" && grep -q bookworm "$f" && sources+=("$f")
	done
	[ ${#sources[@]} -gt 0 ] || die "found no bookworm entry in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list; set PYHOST_DEBIAN_MIRROR to the URI of a Debian archive"
fi

# 1. The Debian root, cached by what decides its content.
root_key=$( {
	echo "$packages"
	sed -n '/^# --- root recipe/,/^# --- end of root recipe/p' "$0"
	for s in "${sources[@]}"; do [ -f "$s" ] && cat "$s" || echo "$s"; done
} | sha256sum | cut -c1-16)
root_tar=$cache/root-$root_key.tar
# --- root recipe (changing these lines rebuilds the root)
build_root() {
	mkdir -p "$cache"
	say "building the Debian root ($packages)"
	local tmp=$root_tar.tmp
	# essential: dpkg, a shell and coreutils, no apt. No docs, man pages or translations (the
	# copyright files stay; the exclusions stay in /etc/dpkg/dpkg.cfg.d for layers added later);
	# mmdebstrap leaves no apt lists or caches; a system user for the app.
	# mmdebstrap's merged-usr hook: else init-system-helpers gets usrmerge, and perl with it (50 MB).
	mmdebstrap --quiet --format=tar --variant=essential --include="$packages" \
		--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
		--customize-hook='rm -rf "$1"/var/cache/ldconfig/aux-cache "$1"/var/log/*' \
		--customize-hook="echo 'pyhost:x:$USER_ID:$USER_ID:pyhost:/srv/app:/usr/sbin/nologin' >>\"\$1\"/etc/passwd" \
		--customize-hook="echo 'pyhost:x:$USER_ID:' >>\"\$1\"/etc/group" \
		--customize-hook="echo 'pyhost:*:19000:0:99999:7:::' >>\"\$1\"/etc/shadow" \
		bookworm "$tmp" "${sources[@]}" >"$root_tar.log" 2>&1 ||
		die "mmdebstrap failed (its log: $root_tar.log): is the Debian archive in ${sources[*]} reachable?"
	mv "$tmp" "$root_tar"
}
# --- end of root recipe

# 2. The image: skipped when nothing that goes into it changed.
stamp=$( {
	echo "$root_key $version $pyver ${IMAGE_ENV:-}"
	sha256sum $BIN $HEALTHCHECK "$0"
	tar -C "$(dirname "$app")" --sort=name --mtime=@0 --owner=0 --group=0 -cf - "$(basename "$app")" | sha256sum
} | sha256sum | cut -c1-16)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -f "$out/pyhost.tar" ] && [ -f "$root_tar" ]; then
	exit 0
fi
start=$SECONDS
[ -f "$root_tar" ] || build_root

work=$(mktemp -d "${TMPDIR:-/tmp}/pyhost-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The top layer: the binary, the health check, the app (owned by root: the app cannot rewrite itself).
mkdir -p "$work/top/usr/local/bin" "$work/top/srv"
install -m 0755 $BIN "$work/top/usr/local/bin/pyhost"
install -m 0755 $HEALTHCHECK "$work/top/usr/local/bin/pyhost-healthcheck"
if [ -d "$app" ]; then
	cp -a "$app/." "$work/top/srv/app"
else
	install -D -m 0644 "$app" "$work/top/srv/app/app.py"
fi
chmod -R u=rwX,go=rX "$work/top/srv/app"
tar -C "$work/top" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/top.tar" usr srv

layout=$work/oci
umoci init --layout "$layout"
umoci new --image "$layout:$version"
umoci raw add-layer --image "$layout:$version" --history.created_by="mmdebstrap bookworm: $packages" "$root_tar"
umoci raw add-layer --image "$layout:$version" --history.created_by="pyhost $version, /srv/app" "$work/top.tar"
cfg=(--config.entrypoint /usr/local/bin/pyhost
	--config.cmd serve --config.cmd /srv/app/app.py --config.cmd --listen --config.cmd 0.0.0.0:8000
	--config.user "$USER_ID:$USER_ID" --config.workingdir /srv/app --config.stopsignal SIGTERM
	--config.exposedports 8000/tcp --config.exposedports 9100/tcp
	--config.env PATH=/usr/local/bin:/usr/bin:/bin --config.env LANG=C.UTF-8
	--config.env PYHOST_METRICS_LISTEN=0.0.0.0:9100
	--config.label org.opencontainers.image.title=pyhost
	--config.label org.opencontainers.image.version="$version"
	--config.label org.opencontainers.image.base.name=debian:bookworm
	--config.label io.github.pyhost.python.version="$pyver"
	--config.label io.github.pyhost.python.build="$pybuild"
	--config.label io.github.pyhost.python.libpython="$linkage"
	--config.label io.github.pyhost.healthcheck="/usr/local/bin/pyhost-healthcheck")
for kv in ${IMAGE_ENV:-}; do cfg+=(--config.env "$kv"); done
umoci config --image "$layout:$version" --author=pyhost --history.created_by="pyhost image config" "${cfg[@]}"

# OCI's image config has no health check; Docker's (a superset of it) does, as config.Healthcheck.
# Written into the config blob here, it is kept verbatim by skopeo's conversion to a
# docker-archive (docker load, podman load and podman run honour it) and ignored by OCI tools.
healthcheck='{"Test":["CMD","/usr/local/bin/pyhost-healthcheck"],"Interval":10000000000,"Timeout":5000000000,"StartPeriod":30000000000,"Retries":3}'
blob() { echo "$layout/blobs/sha256/${1#sha256:}"; }
put_blob() { # put_blob FILE → prints the digest
	local d
	d=sha256:$(sha256sum "$1" | cut -d' ' -f1)
	mv "$1" "$(blob "$d")"
	echo "$d"
}
manifest=$(jq -r '.manifests[0].digest' "$layout/index.json")
config=$(jq -r '.config.digest' "$(blob "$manifest")")
jq -c --argjson hc "$healthcheck" '.config.Healthcheck = $hc' "$(blob "$config")" >"$work/config.json"
config_size=$(stat -c %s "$work/config.json")
config=$(put_blob "$work/config.json")
jq -c --arg d "$config" --argjson s "$config_size" '.config.digest = $d | .config.size = $s' "$(blob "$manifest")" >"$work/manifest.json"
manifest_size=$(stat -c %s "$work/manifest.json")
manifest=$(put_blob "$work/manifest.json")
jq -c --arg d "$manifest" --argjson s "$manifest_size" '.manifests[0].digest = $d | .manifests[0].size = $s' "$layout/index.json" >"$work/index.json"
mv "$work/index.json" "$layout/index.json"
umoci tag --image "$layout:$version" latest
umoci gc --layout "$layout"

skopeo copy --quiet "oci:$layout:$version" "docker-archive:$work/pyhost.tar:pyhost:$version"
skopeo inspect --raw --config "docker-archive:$work/pyhost.tar" | jq -e '.config.Healthcheck.Test[1] == "/usr/local/bin/pyhost-healthcheck"' >/dev/null ||
	die "the docker-archive lost the health check: skopeo no longer copies the config verbatim"

# Sizes: what a registry stores and a puller downloads (compressed layers, config, manifest),
# and what the root takes on disk once unpacked.
compressed=$(du -sb "$layout/blobs" | cut -f1)
unpacked=$(($(tar -tvf "$root_tar" | awk '{s += $3} END {print s}') + $(stat -c %s "$work/top.tar")))
rm -rf "$out"
mkdir -p "$out"
mv "$layout" "$out/oci"
mv "$work/pyhost.tar" "$out/pyhost.tar"
echo "$stamp" >"$out/stamp"
say "$(awk -v v="$version" -v o="$out" -v c="$compressed" -v u="$unpacked" -v t=$((SECONDS - start)) 'BEGIN {
	printf "pyhost:%s (and :latest) in %s/oci and %s/pyhost.tar: %.1f MB compressed, %.1f MB unpacked, built in %d s", v, o, o, c / 1e6, u / 1e6, t }')"
