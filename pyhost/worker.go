package pyhost

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/pyhost/pyhost/pyhost/config"
)

// The worker's side of --processes: today's server on the sockets the supervisor bound,
// telling the supervisor over the status pipe when it is ready (or why it could not start).

// Status-pipe events, one line each.
const (
	eventReady  = "ready"  // the apps to preload are loaded; accepting from now on
	eventFailed = "failed" // followed by a one-line summary: the worker could not start
	// eventRecycle, followed by the reason: a request did not unwind after its timeout, or an
	// interpreter's GIL could not be taken; the supervisor starts a replacement and then
	// drains this worker.
	eventRecycle = "recycle"
	// eventMetrics, followed by the worker's final counters (base64 of Prometheus's delimited
	// protobuf encoding), once it has drained: what the supervisor keeps of it after it exits.
	eventMetrics = "metrics"
	// Any other line is the Go runtime's crash report (debug.SetCrashOutput); its first line
	// says what happened ("SIGSEGV: segmentation violation", "fatal error: ...", "panic: ...").
)

// runWorker serves as one worker of a supervisor and returns the exit code.
func runWorker(cfg config.Config, log *slog.Logger) int {
	status := statusPipe(len(cfg.Listen))
	defer status.Close()
	// A fatal signal in C code (a segfault in an extension) ends a Go program with exit
	// status 2 and a dump on stderr; a copy on the status pipe lets the supervisor name the
	// signal when it logs the exit.
	if err := debug.SetCrashOutput(status, debug.CrashOptions{}); err != nil {
		log.Warn("the supervisor will not see this worker's crash reports", "error", err)
	}
	lns, err := inheritedListeners()
	control, ctlErr := inheritedControl()
	// Python reads the environment when it starts, below: a pyhost the app runs must not
	// take itself for a worker.
	os.Unsetenv(workerEnv)
	os.Unsetenv(workerListenEnv)
	if err == nil {
		err = ctlErr
	}
	if err == nil && len(lns) != len(cfg.Listen) {
		err = fmt.Errorf("pyhost worker: inherited %d listeners for %d --listen addresses",
			len(lns), len(cfg.Listen))
	}
	if err != nil {
		report(status, eventFailed, err.Error())
		log.Error("pyhost worker could not start", "error", err)
		return 1
	}
	var recycleOnce sync.Once
	return serveHere(cfg, log, lns, &workerLink{
		loaded: func(err error) {
			if err != nil {
				report(status, eventFailed, err.Error())
				return
			}
			report(status, eventReady, "")
		},
		recycle: func(reason string) {
			recycleOnce.Do(func() { report(status, eventRecycle, reason) })
		},
		control: control,
		stopped: func(srv *Server) { reportFinalMetrics(status, srv, log) },
	})
}

// workerLink is what a worker adds to serveHere.
type workerLink struct {
	loaded  func(error)         // told whether the apps loaded
	recycle func(reason string) // asks the supervisor for a replacement
	control net.Listener        // the worker control channel (nil: none)
	stopped func(*Server)       // once the server has drained, before the process exits
}

// report writes one event line; a supervisor that is gone cannot read it, and the
// parent-death signal ends this worker soon anyway, so a failed write is not an error here.
func report(status *os.File, event, detail string) {
	line := event
	if detail != "" {
		// One line per event: a summary, never a whole traceback (the worker logs that).
		first, _, _ := strings.Cut(detail, "\n")
		line += " " + first
	}
	_, _ = status.WriteString(line + "\n")
}
