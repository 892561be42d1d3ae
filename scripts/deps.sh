#!/usr/bin/env bash
# deps.sh build|test|image|bench — installs the Debian packages pyhost needs, only those missing, quietly.
set -euo pipefail
case ${1:-build} in
build) pkgs=(gcc pkg-config python3-dev) ;;
# chromium: pyhost bench's HTML report, looked at; mmdebstrap lays out the forky root that 3.14
# and 3.15 are tested in (scripts/forky-root.sh); python3-yaml: PyYAML's C extension, built by
# Cython < 3.1, loads in one interpreter per process (pyhost/oneinterp_test.go).
test) pkgs=(curl python3-flask python3-django python3-bottle python3-falcon python3-numpy python3-yaml chromium mmdebstrap) ;;
image) pkgs=(mmdebstrap umoci skopeo jq curl iproute2 util-linux) ;; # make image, scripts/image-test.sh
bench) pkgs=(wrk gunicorn) ;;
*) echo "deps.sh: unknown set '$1' (build, test, image, bench)" >&2; exit 2 ;;
esac
# promtool (the metrics tests check the exposition with it) comes out of Debian's prometheus
# package without installing it: installing would add a user and start a Prometheus daemon.
PROMTOOL_DIR=/var/cache/pyhost/promtool
fetch_promtool() {
	[ -x "$PROMTOOL_DIR/usr/bin/promtool" ] && return 0
	local tmp
	tmp=$(mktemp -d)
	echo "fetching promtool (Debian's prometheus package, unpacked in $PROMTOOL_DIR)" >&2
	(cd "$tmp" && { apt-get download -qq prometheus >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null && apt-get download -qq prometheus >/dev/null; }; })
	mkdir -p "$PROMTOOL_DIR"
	dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
	install -D -m 0755 "$tmp/x/usr/bin/promtool" "$PROMTOOL_DIR/usr/bin/promtool"
	rm -rf "$tmp"
}
[ "${1:-build}" = test ] && fetch_promtool
# deploy/kubernetes is a Go module of its own (Kubernetes' types stay out of pyhost's): its
# modules, for its test (scripts/test.sh).
[ "${1:-build}" = test ] && (cd "$(dirname "$0")/../deploy/kubernetes" && go mod download)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]} (apt)" >&2
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
