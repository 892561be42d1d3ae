// Package worker is the protocol between the supervisor of --processes and its worker
// processes: both ends of what crosses between them, so that each side reads what the other
// writes from one place.
//
// A worker's life, as the protocol sees it:
//
//  1. Spawn. The supervisor re-executes its own binary with serve's arguments; Attach gives
//     the command an environment (Env: the slot, the process group, the descriptors' numbers)
//     and descriptors (Files): the listening sockets as 3, 4, ..., then the write end of the
//     worker's status pipe, then the lifeline's read end and the worker's control socket.
//     In the worker, LookupEnv reads the environment back, Env.WatchSupervisor watches the
//     lifeline, Env.Inherit takes the sockets and Env.OpenStatus the status pipe; ClearEnv
//     then hides the variables from the app.
//  2. Loaded. Once its apps are loaded the worker writes Ready on the status pipe and
//     accepts; if it cannot start it writes Failed, with why, and exits.
//  3. Serving. The supervisor asks a worker for its metrics, or what its request threads do,
//     over HTTP on the control socket (the handlers are the server's, the queries the
//     supervisor's).
//  4. Recycle. A worker that reached a recycling limit, or has a request or a GIL stuck,
//     writes Recycle with a RecycleReason; the supervisor starts its replacement and, once
//     that one is Ready, stops this one with SIGTERM.
//  5. Exit. A worker that has drained writes its final counters (Metrics) and exits; one
//     that crashes leaves the Go runtime's crash report on the pipe (Crashed). The
//     supervisor reads the pipe with ReadStatus until it closes. If the supervisor dies
//     first, the lifeline's write end closes with it and every worker exits at once.
//
// The status pipe carries one line per event: "ready", "failed DETAIL", "recycle REASON
// DETAIL", "metrics BASE64"; any other line is the crash report.
//
// The package holds no policy: when to spawn, respawn or give up is the supervisor's; what a
// worker serves, and when it wants recycling, is the server's. It builds without cgo.
package worker
