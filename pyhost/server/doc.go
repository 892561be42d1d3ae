// Package server is one serving process: the whole of pyhost serve without --processes, and
// each worker process with it. It is the only package of pyhost/ that reaches Python (through
// wsgi, subinterp and gil, which stand on cgo).
//
// It owns:
//   - start-up, in New (Options: the configuration, the logger and, for a worker, a
//     WorkerLink): validating the configuration, starting the embedded runtime, opening the
//     listeners (or taking the worker's inherited ones), and loading the apps into their
//     application groups (%{GLOBAL} always, every group with --preload);
//   - the request threads (gil.Limiter) and the handlers of each listener and mount;
//   - the order of shutdown, in Run: stop accepting (a worker first drains: its sockets stay
//     open in its siblings), wait for the requests still owed a response (not for those
//     --request-timeout answered whose Python code is stuck: abandoned.go), wait for the GIL
//     probes, tell the apps process_stopping, finalise Python — or exit without finalising
//     when something still runs inside it;
//   - the recycling watch (recycle.go): the worker's request count, age, idleness, CPU time
//     and memory against the --processes recycling limits;
//   - the deadlock watch (deadlock.go): an interpreter whose GIL cannot be taken for
//     --deadlock-timeout;
//   - GOMAXPROCS tuning and the yield before long calls, in a worker among siblings
//     (goprocs.go);
//   - the worker's side of the supervisor protocol (WorkerMain): Ready or Failed on the
//     status pipe, Recycle when it wants replacing, its metrics and threads on the control
//     channel, its final counters as it exits; the messages themselves are pyhost/worker's;
//   - `pyhost check`'s import in a throwaway interpreter (Check), and what the binary says of
//     the CPython it links (LinkedBuild, PythonVersion, Libpython).
//
// The path of a request inside the process: the listener's connection guard and HTTP/1
// server (pyhost/httpd: the fast path or net/http) → observe.Wrap (metrics, access log) → the
// recycling count → httpd.HTTP1Rules → the router (httpd.Router: static aliases and the
// mounts by URL prefix; behind the supervisor's router, first the public listener named by
// the forwarded header fields) → wsgi.Handler (a request thread, the WSGI environ, the
// response) → cgo (the call into the app's interpreter and back).
//
// It does not own the command line or the configuration (pyhost, pyhost/config), the HTTP/1
// serving itself (pyhost/httpd), the metrics and logs (pyhost/observe), the worker processes
// and their policy (pyhost/supervisor), nor privileges and CPU affinity, which the command
// line sets before calling Main or WorkerMain (pyhost/proc).
package server
