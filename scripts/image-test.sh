#!/usr/bin/env bash
# image-test.sh — runs the container image as a container runtime would, without one: builds it
# if needed (scripts/image.sh, cached), unpacks it with umoci, and starts the image's process
# (its args, env, user, working directory from the runtime config umoci derives from the image
# config) as PID 1 of its own PID, mount and network namespaces (unshare) in the unpacked root
# (chroot), with /proc, /dev and /tmp mounted as a runtime would. Then: the example app answers
# on the image's listener, the image's health check (from the docker-archive's config, where
# Docker and podman read it) passes and fails when it should, the process runs as the image's
# non-root user, and the image's stop signal ends it with exit 0.
#
# Why not podman: see the README, "Container image" (on the machines this was written on, crun
# cannot set the container's rlimits: no CAP_SYS_RESOURCE). Needs root (namespaces, chroot).
set -euo pipefail
cd "$(dirname "$0")/.."
readonly PROG=${0##*/}
fail() { printf '%s: FAIL: %s\n' "$PROG" "$*" >&2; [ -f "${work:-}/pyhost.log" ] && sed 's/^/  pyhost| /' "$work/pyhost.log" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "$PROG: needs root (unshare, chroot)" >&2; exit 2; }

scripts/with-python.sh "" go build -o bin/pyhost .
scripts/image.sh
img=${IMAGE_DIR:-build/image}

work=$(mktemp -d "${TMPDIR:-/tmp}/pyhost-image-test.XXXXXX")
upid=""
cleanup() {
	if [ -n "$upid" ]; then kill -KILL "$upid" 2>/dev/null || true; wait "$upid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
start=$SECONDS

umoci unpack --image "$img/oci:latest" "$work/bundle" >/dev/null
root=$work/bundle/rootfs
spec=$work/bundle/config.json
mapfile -t args < <(jq -r '.process.args[]' "$spec")
mapfile -t env < <(jq -r '.process.env[]' "$spec")
cwd=$(jq -r '.process.cwd' "$spec")
user=$(jq -r '"\(.process.user.uid):\(.process.user.gid)"' "$spec")
# The docker-archive's config: what docker load / podman load see (health check, stop signal).
config=$(tar -xOf "$img/pyhost.tar" "$(tar -xOf "$img/pyhost.tar" manifest.json | jq -r '.[0].Config')")
stopsignal=$(jq -r '.config.StopSignal' <<<"$config")
mapfile -t health < <(jq -r '.config.Healthcheck.Test[]' <<<"$config")

# What the image must (not) hold.
[ "${user%%:*}" != 0 ] || fail "the image runs as root ($user)"
[ "$stopsignal" = SIGTERM ] || fail "stop signal is '$stopsignal', not SIGTERM"
[ "${health[0]:-}" = CMD ] || fail "no health check (CMD form) in the image config: ${health[*]:-none}"
jq -e '.config.Labels["org.opencontainers.image.version"] and .config.Labels["io.github.pyhost.python.version"]' <<<"$config" >/dev/null ||
	fail "version labels missing: $(jq -c .config.Labels <<<"$config")"
for f in usr/bin/gcc usr/bin/cc usr/bin/apt usr/bin/apt-get usr/bin/python3; do
	[ ! -e "$root/$f" ] || fail "the image holds /$f"
done
extra=$(find "$root/var/lib/apt/lists" "$root/usr/share/man" -type f ! -name lock 2>/dev/null | head -3)
[ -z "$extra" ] || fail "apt lists or man pages in the image: $extra"
docs=$(find "$root/usr/share/doc" -type f ! -name copyright 2>/dev/null | head -3)
[ -z "$docs" ] || fail "documentation in the image: $docs"

# The container: PID 1 of new namespaces, the image's user, env and working directory.
listen=$(printf '%s\n' "${args[@]}" | grep -A1 -x -- --listen | tail -n 1)
port=${listen##*:}
unshare --mount --net --pid --fork --kill-child -- /bin/sh -c '
	set -e
	r=$1 user=$2 cwd=$3
	shift 3
	ip link set lo up
	mount -t proc proc "$r/proc"
	mount --rbind /dev "$r/dev"
	mount -t tmpfs tmpfs "$r/tmp"
	exec chroot --userspec="$user" "$r" /usr/bin/env -i -C "$cwd" "$@"
' sh "$root" "$user" "$cwd" "${env[@]}" "${args[@]}" >"$work/pyhost.log" 2>&1 &
upid=$!

pid=""
for _ in $(seq 300); do
	pid=$(cat "/proc/$upid/task/$upid/children" 2>/dev/null | awk '{print $1}') || true
	[ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$root/usr/local/bin/pyhost" ] && break
	kill -0 "$upid" 2>/dev/null || fail "the container exited before serving"
	sleep 0.1
done
[ -n "$pid" ] || fail "no process in the container"
in_container() { nsenter -t "$pid" -n -m -- "$@"; }

body=""
for _ in $(seq 300); do
	body=$(in_container curl -sS -m 2 "http://127.0.0.1:$port/" 2>/dev/null) && break
	kill -0 "$upid" 2>/dev/null || fail "the container exited before serving"
	sleep 0.1
done
[ "$body" = "Hello, World!" ] || fail "GET / on the image's listener :$port answered '$body'"
ids=$(awk '/^Uid:/ {u = $2} /^Gid:/ {g = $2} END {print u ":" g}' "/proc/$pid/status")
[ "$ids" = "$user" ] || fail "pyhost runs as $ids, not the image's user $user"

health_run() { in_container chroot --userspec="$user" "$root" /usr/bin/env -i -C "$cwd" "${env[@]}" "$@"; }
health_run "${health[@]:1}" || fail "the image's health check (${health[*]:1}) failed against the running server"
! health_run "${health[@]:1}" 127.0.0.1:1 2>/dev/null || fail "the health check passed against a port nobody listens on"

kill -s "${stopsignal#SIG}" "$pid"
rc=0
for _ in $(seq 400); do kill -0 "$upid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$upid" 2>/dev/null && fail "still running 40 s after $stopsignal"
wait "$upid" || rc=$?
upid=""
[ "$rc" -eq 0 ] || fail "exit status $rc after $stopsignal, not 0"
echo "$PROG: the image served GET / as $user, passed its health check and stopped on $stopsignal with exit 0 (unpacked and run with unshare + chroot, $((SECONDS - start)) s)" >&2
