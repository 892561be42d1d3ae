// Package systemd speaks the two protocols systemd has with a service it starts, written in
// Go (no libsystemd, no cgo):
//
//   - Socket activation: the sockets a .socket unit bound arrive as descriptors 3, 4, ... with
//     LISTEN_FDS (how many), LISTEN_PID (for which process) and LISTEN_FDNAMES (their
//     FileDescriptorName=). Activated returns them as listeners.
//   - Notification (sd_notify): datagrams to the unix socket NOTIFY_SOCKET names (a path, or an
//     abstract name written with a leading @): READY=1, STATUS=..., RELOADING=1 with
//     MONOTONIC_USEC, STOPPING=1 and WATCHDOG=1, the last every WatchdogSec/2 when
//     WATCHDOG_USEC (and WATCHDOG_PID, if set, names this process) asks for it.
//
// Take reads all of it once per process and removes the variables from the environment, so
// that the workers, the app and the programs it starts do not take the sockets or the
// notification socket for theirs. Under --processes only the supervisor talks to systemd
// (NotifyAccess=main); its workers never see the variables.
//
// What the service tells systemd, and when, is the callers' (pyhost/supervisor,
// pyhost/server); this package holds the wire formats only.
package systemd
