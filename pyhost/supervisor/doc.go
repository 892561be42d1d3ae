// Package supervisor runs pyhost's worker processes: serve --processes N (Run), and a config
// file's several process groups behind one set of listeners (RunProcessGroups). It spawns the
// workers, waits for them to be ready, respawns the ones that die (backing off when they keep
// failing), reloads them on SIGHUP, drains and stops them, and serves the supervisor's own
// /metrics, /healthz, /readyz and /debug/threads, put together from every worker's.
//
// A worker's life, as the supervisor drives it (state.go names its states):
//
//  1. Spawn (spawn.go). Every worker is this binary re-executed as serve with the same
//     arguments, in a slot: one of the N places a worker serves in. worker.Attach gives it its
//     environment (worker.Env: slot, process group) and descriptors (worker.Files: the
//     listening sockets, its status pipe, the lifeline, its control socket). All workers are
//     started from one locked OS thread, so that their parent-death signal fires when the
//     supervisor dies and only then.
//  2. Ready or failed. The worker writes Ready on its status pipe once its apps are loaded,
//     and the slot's sockets are its from then on; or Failed, and exits. One not ready within
//     --startup-timeout is killed.
//  3. Serving. It accepts on the sockets itself (no proxy hop) until it asks to be recycled
//     (a Recycle line: a recycling limit, a stuck request or GIL), the supervisor reloads, or
//     it dies.
//  4. Recycle or reload. The slot's replacement starts first; the old worker drains only once
//     the new one is ready, so the listeners always have a worker accepting. SIGHUP does this
//     in every slot at once, and also retries slots that were backing off.
//  5. Drain. SIGTERM: the worker stops accepting, finishes its requests, writes its final
//     counters and exits; one still running --graceful-timeout after it was replaced, or
//     --shutdown-timeout (plus a margin) after a stop, is killed.
//  6. Exit and respawn (respawn.go). A stop the supervisor asked for is logged. A worker that
//     died before it was ready (the app cannot load) is a boot failure: the slot retries after
//     1 s, 2 s, 4 s ... up to 30 s, and after --boot-attempts failures in a row with no worker
//     serving, the supervisor stops everything and exits 3. A worker that died while serving
//     (a crash) is replaced at once, backing off like a boot failure when it keeps dying soon
//     after it gets ready. How it ended (a signal, a crash report) is logged with a hint.
//
// Signals: SIGTERM or SIGINT stops (a second one kills what still runs); SIGHUP reloads;
// SIGUSR1 reopens the supervisor's log files and is passed on to every worker, which reopens
// its own. The lifeline (worker.Lifeline) is a pipe whose write end only the supervisor holds:
// when the supervisor dies, however it dies, every worker sees it close and exits, even one
// that changed user and lost its parent-death signal.
//
// --reload (watch.go, devreload.go) runs serve under the supervisor even without --processes
// (one worker, told no --processes was given). An inotify watcher of the app's source trees
// turns each settled burst of changes into the reload SIGHUP does, for the groups run with
// --reload; a worker of theirs that cannot import the changed code is not retried (nor
// counted for --boot-attempts): the old worker keeps serving and the next change tries again.
//
// The front (front.go) is the one word here for routing between process groups: with several
// groups, the supervisor accepts on the public listeners itself, serves the static aliases,
// and forwards each request, by the longest mount prefix (an httpd.Router), to the least busy
// slot of its group over that slot's Unix socket. A frontGroup is one group behind the front, a
// frontSlot one of its slots. Serve's single group has no front.
//
// The supervisor never links Python: it imports neither cgo nor wsgi nor subinterp and builds
// with CGO_ENABLED=0, so nothing an app does can take it down. What a worker serves, and when
// it wants recycling, is pyhost/server's; the protocol between the two ends is pyhost/worker's;
// metrics, log files and the thread view are pyhost/observe's.
package supervisor
